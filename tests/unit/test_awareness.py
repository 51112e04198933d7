"""Awareness is owned and bounded: a socket sets and clears only its own client ids, ``user.id`` comes from its
token, and oversized, crowded or too frequent updates cost the server little and keep nothing."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime import yprotocol as Y
from realtime.errors import TooLarge
from realtime.sync_room import Connection, Principal, Room, SyncLimits

T0 = 1000.0


def conn(room: Room, user: str = "ann", role: str = "editor") -> Connection:
    c = Connection(None, room, Principal(user, role), room.limits)
    room.conns.add(c)
    return c


def update(*entries: tuple[int, int, object]) -> bytes:
    return Y.encode_awareness([Y.AwarenessEntry(cid, clock, json.dumps(state)) for cid, clock, state in entries])


def relayed(raw: bytes | None) -> dict[int, object]:
    return {} if raw is None else {e.client_id: json.loads(e.state) for e in Y.decode_awareness(raw)}


def shown(room: Room) -> dict[int, object]:
    return {e.client_id: json.loads(e.state) for e in room.states(T0)}


def test_a_state_is_relayed_with_user_id_from_the_token_and_other_fields_kept():
    room = Room("p", "s")
    ann = conn(room, "ann")
    out = relayed(room.accept_local(ann, update((7, 1, {"user": {"id": "mallory", "name": "Ann"}, "frame": 3})), T0))
    assert out == {7: {"user": {"id": "ann", "name": "Ann"}, "frame": 3}}
    assert shown(room) == out
    # a user that is not an object, or none at all, becomes {id}
    assert relayed(room.accept_local(ann, update((7, 2, {"user": "bob"})), T0)) == {7: {"user": {"id": "ann"}}}
    assert relayed(room.accept_local(ann, update((7, 3, {})), T0)) == {7: {"user": {"id": "ann"}}}


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_one_socket_cannot_overwrite_or_clear_another_sockets_client(role):
    room = Room("p", "s")
    ann, eve = conn(room, "ann"), conn(room, "eve", role)
    room.accept_local(ann, update((7, 1, {"frame": 1})), T0)
    room.accept_local(eve, update((9, 1, {"frame": 5})), T0)
    # overwrite with a newer clock, clear with a null, both in one frame with eve's own entry
    frame = Y.encode_awareness([Y.AwarenessEntry(7, 50, json.dumps({"frame": 666})), Y.AwarenessEntry(7, 51, "null"),
                                Y.AwarenessEntry(9, 2, json.dumps({"frame": 6}))])
    out = relayed(room.accept_local(eve, frame, T0))
    assert out == {9: {"frame": 6, "user": {"id": "eve"}}}
    assert shown(room)[7] == {"frame": 1, "user": {"id": "ann"}}
    assert room.counts["not_owned"] == 2
    # a frame with only foreign entries (a stock client's echo) relays nothing and closes nothing
    assert room.accept_local(eve, update((7, 1, {"frame": 1})), T0) is None
    # the owner itself can clear its client
    assert relayed(room.accept_local(ann, Y.encode_awareness([Y.AwarenessEntry(7, 2, "null")]), T0)) == {7: None}
    assert 7 not in shown(room)


def test_a_socket_owns_at_most_a_few_ids_and_keeps_them_until_it_leaves():
    room = Room("p", "s", SyncLimits(awareness_ids_per_socket=2))
    ann, bob = conn(room, "ann"), conn(room, "bob")
    out = relayed(room.accept_local(ann, update((1, 1, {}), (2, 1, {}), (3, 1, {})), T0))
    assert set(out) == {1, 2} and ann.awareness_ids == {1, 2}
    room.accept_local(ann, Y.encode_awareness([Y.AwarenessEntry(1, 2, "null")]), T0)
    # cleared, still ann's: bob cannot take it
    assert room.accept_local(bob, update((1, 3, {})), T0) is None
    gone = room.forget(ann, T0)
    assert [e.client_id for e in gone] == [2] and all(e.removed for e in gone)
    assert room.owners == {} and shown(room) == {}


def test_a_late_echo_of_a_gone_clients_state_does_not_revive_it_but_a_newer_state_or_a_reconnect_does():
    room = Room("p", "s")
    ann, bob = conn(room, "ann"), conn(room, "bob")
    room.accept_local(bob, update((9, 1, {})), T0)
    room.accept_local(ann, update((7, 4, {"frame": 1})), T0)
    room.forget(ann, T0)
    room.conns.discard(ann)
    assert room.accept_local(bob, update((7, 4, {"frame": 1})), T0 + 1) is None  # bob's echo, arriving late
    assert 7 not in shown(room)
    again = conn(room, "ann")  # ann reconnects: her client's first state, same clock
    assert set(relayed(room.accept_local(again, update((7, 4, {"frame": 1})), T0 + 2))) == {7}
    assert room.owners[7] is again
    # once the tombstone has expired anyone may take a free id
    room.forget(again, T0 + 3)
    room.states(T0 + 3 + room.limits.awareness_timeout_s + 1)
    assert set(relayed(room.accept_local(bob, update((7, 1, {})), T0 + 40))) == {7}


def test_relayed_entries_cannot_touch_ids_owned_here_or_by_a_third_instance():
    room = Room("p", "s")
    ann = conn(room, "ann")
    room.accept_local(ann, update((7, 1, {"frame": 1})), T0)
    a, b = b"A" * 8, b"B" * 8
    assert relayed(room.accept_remote(a, update((5, 1, {"user": {"id": "cy"}})), T0)) == {5: {"user": {"id": "cy"}}}
    assert room.accept_remote(b, Y.encode_awareness([Y.AwarenessEntry(5, 9, "null")]), T0) is None
    assert room.accept_remote(b, update((7, 9, {"frame": 2})), T0) is None
    assert room.accept_remote(a, Y.encode_awareness([Y.AwarenessEntry(7, 9, "null")]), T0) is None
    assert set(shown(room)) == {5, 7} and shown(room)[7]["frame"] == 1
    # a socket here cannot take a client live on another instance
    assert room.accept_local(conn(room, "dan"), update((5, 2, {})), T0) is None
    # its own instance clears it
    assert relayed(room.accept_remote(a, Y.encode_awareness([Y.AwarenessEntry(5, 2, "null")]), T0)) == {5: None}
    assert set(shown(room)) == {7}
    assert room.accept_remote(a, b"\x05\x01", T0) is None and room.counts["remote_malformed"] == 1


def test_a_frame_declaring_thousands_of_entries_is_dropped_unread_and_keeps_nothing():
    room = Room("p", "s")
    eve = conn(room, "eve", "viewer")
    big = update(*[(i, 1, {"x": "y" * 2}) for i in range(8000)])
    assert len(big) < 200_000
    limits = SyncLimits(max_awareness_bytes=len(big))  # even under a frame size limit that lets it through
    room = Room("p", "s", limits)
    eve = conn(room, "eve", "viewer")
    tracemalloc.start()
    t = time.perf_counter()
    for _ in range(100):
        assert room.accept_local(eve, big, T0) is None
    took = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert took < 0.05 and peak < 100_000, (took, peak)
    assert room.presence == {} and room.counts["too_many_entries"] == 100
    with pytest.raises(TooLarge):
        Room("p", "s").accept_local(conn(Room("p", "s")), big, T0)


def test_changes_beyond_the_rate_are_dropped_but_a_30_hz_drag_and_removals_pass():
    room = Room("p", "s", SyncLimits(awareness_rate_per_s=60, awareness_burst=120))
    ann = conn(room, "ann")
    clock = [0.0]
    ann.awareness_bucket.clock = lambda: clock[0]
    ann.awareness_bucket.stamp = 0.0
    sent = kept = 0
    for i in range(300):  # ten seconds of a 30 Hz drag
        clock[0] = i / 30
        sent += 1
        kept += room.accept_local(ann, update((7, i + 1, {"drag": i})), T0) is not None
    assert kept == sent
    kept = 0
    for i in range(1000):  # a flood: 1000 in a third of a second
        clock[0] = 10 + i / 3000
        kept += room.accept_local(ann, update((7, 400 + i, {"drag": i})), T0) is not None
    assert 120 <= kept <= 140 and room.counts["over_rate"] == 1000 - kept
    assert relayed(room.accept_local(ann, Y.encode_awareness([Y.AwarenessEntry(7, 5000, "null")]), T0)) == {7: None}


@pytest.mark.parametrize("state, words", [
    (b"{not json", "not JSON"),
    (b"[" * 50_000 + b"]" * 50_000, "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b"3", "not a JSON object"),
])
def test_an_own_state_that_is_not_a_json_object_is_a_protocol_error(state, words):
    room = Room("p", "s", SyncLimits(max_awareness_bytes=1 << 20))
    ann = conn(room, "ann")
    raw = Y.write_var_uint(1) + Y.write_var_uint(7) + Y.write_var_uint(1) + Y.write_bytes(state)
    with pytest.raises(Y.ProtocolError, match=words):
        room.accept_local(ann, raw, T0)
    assert room.presence == {}


def test_a_shot_holds_at_most_max_presence_states():
    room = Room("p", "s", SyncLimits(max_presence=3))
    for i in range(5):
        room.accept_local(conn(room, f"u{i}"), update((i, 1, {})), T0)
    assert len(room.presence) == 3
    assert room.accept_remote(b"A" * 8, update((99, 1, {})), T0) is None


def test_awareness_rate_is_read_from_the_environment():
    lim = SyncLimits.from_env({"WNM_AWARENESS_RATE_PER_S": "90", "WNM_AWARENESS_BURST": "30"})
    assert (lim.awareness_rate_per_s, lim.awareness_burst) == (90.0, 30)
    assert SyncLimits.from_env({}).awareness_rate_per_s == SyncLimits().awareness_rate_per_s


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2),
                          st.lists(st.tuples(st.integers(0, 6), st.integers(0, 5), st.booleans()), max_size=4)),
                max_size=30))
def test_no_sequence_of_frames_lets_a_socket_touch_a_client_another_socket_owns(frames):
    room = Room("p", "s", SyncLimits(awareness_ids_per_socket=2))
    socks = [conn(room, u) for u in ("ann", "bob", "eve")]
    last: dict[int, tuple[int, bool]] = {}  # the owner's own last accepted (clock, removed) per id
    for who, entries in frames:
        c = socks[who]
        before = {cid: o for cid, o in room.owners.items()}
        raw = Y.encode_awareness([Y.AwarenessEntry(cid, clock, "null" if gone else "{}")
                                  for cid, clock, gone in entries])
        room.accept_local(c, raw, T0)
        for cid, o in before.items():
            assert room.owners[cid] is o  # nobody's ids are taken over
        for cid, clock, gone in entries:  # the model: an owner's own entries apply unless older than its state
            if before.get(cid) is c and (last[cid][1] or clock >= last[cid][0]):
                last[cid] = (clock, gone)
        for cid, o in room.owners.items():
            if before.get(cid) is None:  # claimed by this frame: its state is the claim's, or a later own entry's
                last[cid] = (room.presence[cid].clock, False) if cid in room.presence else (0, True)
        for s in socks:
            assert len(s.awareness_ids) <= 2
        for cid, p in room.presence.items():
            assert p.owner is room.owners[cid] and json.loads(p.state)["user"]["id"] == p.owner.principal.user
        for cid, (clock, gone) in last.items():
            assert (cid in room.presence) == (not gone), (cid, clock, gone)
