"""A room coalesces the document updates of one loop turn into one frame per socket, in stream order."""

from __future__ import annotations

import asyncio

from pycrdt import Array, Doc, Map

from realtime import yprotocol as Y
from realtime.sync_room import Room


class FakeConn:
    def __init__(self):
        self.frames: list[bytes] = []

    def send(self, frame: bytes) -> None:
        self.frames.append(frame)


def edits(n: int) -> tuple[bytes, list[bytes], Doc]:
    """A document's state before ``n`` edits, each edit's update, and the document after them."""
    doc = Doc(client_id=2**40 + 7)
    doc["m"] = m = Map()
    m["t"] = Array()
    before = doc.get_update()
    updates: list[bytes] = []
    doc.observe(lambda e: updates.append(e.update))
    for i in range(n):
        with doc.transaction():
            m["t"].append([i, "key"])
            m["head"] = i
    return before, updates, doc


def replica(before: bytes, frames: list[bytes]) -> Doc:
    doc = Doc()
    doc.apply_update(before)
    for f in frames:
        m = Y.parse(f)
        assert m.type is Y.MessageType.SYNC and m.sub is Y.SyncType.UPDATE
        doc.apply_update(m.payload)
    return doc


async def test_updates_of_one_turn_go_out_as_one_frame_to_every_socket():
    before, updates, doc = edits(5)
    room = Room("p", "s")
    a, b = FakeConn(), FakeConn()
    room.conns |= {a, b}
    for u in updates[:3]:
        room.push_update(u)
    assert a.frames == [] and b.frames == []  # nothing is sent within the turn
    await asyncio.sleep(0)
    assert len(a.frames) == 1 and a.frames == b.frames and room.frames_sent == 1
    for u in updates[3:]:
        room.push_update(u)
        await asyncio.sleep(0)
    assert len(a.frames) == 3 and room.frames_sent == 3
    got = replica(before, a.frames)
    assert got.get("m", type=Map).to_py() == doc["m"].to_py()
    assert got.get_state() == doc.get_state()


async def test_an_empty_room_sends_nothing_and_keeps_nothing():
    _, updates, _ = edits(2)
    room = Room("p", "s")
    room.push_update(updates[0])
    await asyncio.sleep(0)
    assert room.frames_sent == 0
    late = FakeConn()
    room.conns.add(late)
    room.push_update(updates[1])
    await asyncio.sleep(0)
    assert len(late.frames) == 1  # only the update pushed while it was there
