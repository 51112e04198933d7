"""A room coalesces the document updates of one loop turn (or one projector batch) into one frame per socket, in
stream order; a connection writes a frame at once when its writer is idle, in order with what it queued."""

from __future__ import annotations

import asyncio

from pycrdt import Array, Doc, Map

from realtime import yprotocol as Y
from realtime.sync_room import Close, Connection, Room, SyncLimits


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


async def test_flush_sends_the_pushed_updates_at_once_and_the_next_turn_sends_nothing_more():
    before, updates, doc = edits(3)
    room = Room("p", "s")
    a = FakeConn()
    room.conns.add(a)
    for u in updates:
        room.push_update(u)
    room.flush()  # the projector's batch end
    assert len(a.frames) == 1
    await asyncio.sleep(0)
    assert len(a.frames) == 1 and room.frames_sent == 1
    assert replica(before, a.frames).get_state() == doc.get_state()


class FakeSocket:
    """An ASGI send: each message is recorded when sent; while ``paused`` is clear a send waits (a transport
    whose buffer is full); ``fail`` makes sends raise (the peer went away)."""

    def __init__(self):
        self.sent: list[dict] = []
        self.paused = asyncio.Event()
        self.paused.set()
        self.fail = False

    async def send(self, message: dict) -> None:
        await self.paused.wait()
        if self.fail:
            raise ConnectionResetError("peer went away")
        self.sent.append(message)


def _conn(sock: FakeSocket) -> Connection:
    return Connection(sock, Room("p", "s"), None, SyncLimits())


async def _settle(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def _writing() -> tuple[FakeSocket, Connection, asyncio.Task]:
    """A connection on a fake socket whose writer runs and waits on its empty queue."""
    sock = FakeSocket()
    conn = _conn(sock)
    writer = asyncio.create_task(conn.write_loop())
    await _settle()
    return sock, conn, writer


def _bytes(sock: FakeSocket) -> list[bytes]:
    return [m["bytes"] for m in sock.sent if m["type"] == "websocket.send"]


async def test_an_idle_writer_lets_a_frame_go_out_within_the_send_call():
    sock = FakeSocket()
    conn = _conn(sock)
    conn.send(b"queued before the writer")  # not started yet: queued
    assert _bytes(sock) == []
    writer = asyncio.create_task(conn.write_loop())
    await _settle()
    assert _bytes(sock) == [b"queued before the writer"]
    conn.send(b"now")
    assert _bytes(sock) == [b"queued before the writer", b"now"]  # no loop turn needed
    writer.cancel()


async def test_a_send_that_waits_keeps_the_frames_after_it_in_order():
    sock, conn, writer = await _writing()
    sock.paused.clear()
    conn.send(b"1")  # starts, then waits on the paused transport
    conn.send(b"2")
    conn.send(b"3")
    await _settle()
    assert _bytes(sock) == []
    sock.paused.set()
    await _settle(10)
    assert _bytes(sock) == [b"1", b"2", b"3"]
    conn.send(b"4")  # the writer is idle again: at once
    assert _bytes(sock) == [b"1", b"2", b"3", b"4"]
    writer.cancel()


async def test_a_failed_send_at_once_closes_the_connection_and_ends_its_writer():
    sock, conn, writer = await _writing()
    sock.fail = True
    conn.send(b"x")
    assert conn.closing == (Close.GOING_AWAY, "send failed")
    conn.send(b"y")  # closing: dropped
    await asyncio.wait_for(writer, 1)
    assert sock.sent == []


async def test_closing_drops_what_is_queued_behind_a_waiting_send_then_sends_the_close_frame():
    sock, conn, writer = await _writing()
    sock.paused.clear()
    conn.send(b"stuck")
    conn.send(b"behind it")
    await _settle()
    conn.close_soon(Close.TRY_AGAIN, "too slow")
    sock.paused.set()
    await asyncio.wait_for(writer, 1)
    # the frame being written when the close came ends (as a writer mid-send always did); what waited behind it
    # is dropped
    assert sock.sent == [{"type": "websocket.send", "bytes": b"stuck"},
                         {"type": "websocket.close", "code": Close.TRY_AGAIN, "reason": "too slow"}]


async def test_closing_before_the_writer_took_a_started_send_drops_it():
    sock, conn, writer = await _writing()
    sock.paused.clear()
    conn.send(b"stuck")  # started here; the writer has not taken it yet
    conn.close_soon(Close.TRY_AGAIN, "too slow")
    sock.paused.set()
    await asyncio.wait_for(writer, 1)
    assert sock.sent == [{"type": "websocket.close", "code": Close.TRY_AGAIN, "reason": "too slow"}]
