"""The y-websocket framing and the command message types, without a network."""

from __future__ import annotations

import json
import os
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Awareness, Doc, Map, create_awareness_message, create_sync_message, create_update_message

from realtime import yprotocol as Y


def test_message_type_numbers_are_the_wire_contract():
    assert [int(t) for t in Y.MessageType] == [0, 1, 2, 3, 100, 101]
    assert [int(t) for t in Y.SyncType] == [0, 1, 2]


@given(st.integers(min_value=0, max_value=2**53 - 1))
def test_var_uint_round_trips_every_javascript_safe_integer(n):
    raw = Y.write_var_uint(n)
    assert Y.read_var_uint(raw + b"tail") == (n, len(raw))


def test_pycrdt_frames_parse_and_our_encoders_match_them():
    doc = Doc()
    doc["m"] = m = Map()
    m["x"] = 1.0
    step1 = create_sync_message(doc)
    assert Y.parse(step1) == (Y.MessageType.SYNC, Y.SyncType.STEP1, doc.get_state())
    assert Y.sync_step1(doc.get_state()) == step1
    upd = doc.get_update()
    assert Y.sync_update(upd) == create_update_message(upd)
    assert Y.parse(Y.sync_step2(upd)) == (Y.MessageType.SYNC, Y.SyncType.STEP2, upd)
    aw = Awareness(doc)
    aw.set_local_state({"user": "ann", "cursor": [1, 2]})
    payload = aw.encode_awareness_update([doc.client_id])
    assert Y.awareness(payload) == create_awareness_message(payload)
    (entry,) = Y.decode_awareness(Y.parse(Y.awareness(payload)).payload)
    assert entry.client_id == doc.client_id and json.loads(entry.state) == {"user": "ann", "cursor": [1, 2]}


def test_awareness_round_trip_and_removal_is_read_by_pycrdt():
    entries = [Y.AwarenessEntry(7, 3, '{"name":"é"}'), Y.AwarenessEntry(2**40, 0, "null")]
    raw = Y.encode_awareness(entries)
    assert Y.decode_awareness(raw) == entries
    assert not entries[0].removed and entries[1].removed
    peer = Awareness(Doc())
    peer.apply_awareness_update(Y.encode_awareness([entries[0]]), "test")
    assert peer.states[7] == {"name": "é"}
    # the server's disconnect message: same clock, null state — pycrdt (like Yjs) removes the client
    peer.apply_awareness_update(Y.encode_awareness([Y.AwarenessEntry(7, 3, "null")]), "test")
    assert 7 not in peer.states


def test_state_vector_decodes_to_client_clocks():
    a, b = Doc(client_id=5), Doc(client_id=2**33 + 1)
    a["m"] = Map({"k": 1})
    b["n"] = Map({"k": 2})
    b.apply_update(a.get_update())
    assert Y.decode_state_vector(b.get_state()) == {5: 1, 2**33 + 1: 1}
    assert Y.decode_state_vector(Doc().get_state()) == {}


def test_command_frames_carry_utf8_json_length_prefixed():
    body = json.dumps({"command_id": "c1", "ops": [{"type": "entity.remove", "id": "café"}]}).encode()
    frame = Y.command(body)
    assert frame[0] == 100 and Y.parse(frame) == (Y.MessageType.COMMAND, None, body)
    res = Y.command_result(b'{"command_id":"c1","seq":4,"status":"applied"}')
    assert Y.parse(res).type is Y.MessageType.COMMAND_RESULT


def test_auth_denied_and_query_awareness_shapes():
    assert Y.parse(Y.query_awareness()) == (Y.MessageType.QUERY_AWARENESS, None, b"")
    m = Y.parse(Y.auth_denied("read-only"))
    assert m.type is Y.MessageType.AUTH and m.sub == 0 and m.payload == b"read-only"
    assert Y.decode_awareness(Y.parse(Y.EMPTY_AWARENESS).payload) == []


@pytest.mark.parametrize("frame, words", [
    (b"", "empty"),
    (b"\x07\x00", "unknown message type 7"),
    (b"\x00\x05\x00", "unknown sync message type 5"),
    (b"\x00\x02\x10abc", "runs past the end"),
    (b"\x00\x00\x01\x00\xff", "trailing"),
    (b"\x03\x00", "trailing"),
    (b"\x00\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff", "longer than"),
    (b"\x00", "truncated"),
    (b"\xc8\x01", "unknown message type 200"),
])
def test_malformed_frames_raise_protocol_error_naming_the_problem(frame, words):
    with pytest.raises(Y.ProtocolError, match=words):
        Y.parse(frame)


def test_malformed_awareness_and_state_vectors_are_refused():
    with pytest.raises(Y.ProtocolError, match="claims"):
        Y.decode_awareness(b"\xff\x7f")
    with pytest.raises(Y.ProtocolError, match="not UTF-8"):
        Y.decode_awareness(b"\x01\x01\x01\x02\xff\xfe")
    with pytest.raises(Y.ProtocolError):
        Y.decode_state_vector(b"\x02\x01\x01\x02")
    with pytest.raises(Y.ProtocolError, match="trailing"):
        Y.decode_state_vector(b"\x00\x01")


@given(st.binary(max_size=64))
def test_random_bytes_either_parse_or_raise_protocol_error(data):
    try:
        m = Y.parse(data)
    except Y.ProtocolError:
        return
    assert isinstance(m.type, Y.MessageType)


def test_random_frames_never_escape_as_other_errors():
    for _ in range(2000):
        data = os.urandom(os.urandom(1)[0] % 40)
        for fn in (Y.parse, Y.decode_awareness, Y.decode_state_vector):
            try:
                fn(data)
            except Y.ProtocolError:
                pass


def test_an_update_declaring_more_clients_than_its_bytes_hold_is_refused_before_yrs_reads_it():
    from pycrdt import get_state

    doc = Doc()
    doc["m"] = m = Map()
    m["a"] = 1
    for ok in (doc.get_update(), Doc().get_update()):
        Y.check_update_header(ok)
        get_state(ok)
    bomb = Y.write_var_uint(200_000_000) + bytes(12)  # yrs would reserve room for 2·10⁸ clients (~1 s, ~250 MB)
    t = time.perf_counter()
    with pytest.raises(Y.ProtocolError, match="claims 200000000 clients"):
        Y.check_update_header(bomb)
    assert time.perf_counter() - t < 0.01


def test_a_state_vector_of_too_many_clients_is_refused_before_the_loop():
    sv = Y.write_var_uint(Y.MAX_STATE_VECTOR_CLIENTS + 1) + b"\x01\x01" * (Y.MAX_STATE_VECTOR_CLIENTS + 1)
    with pytest.raises(Y.ProtocolError, match="at most"):
        Y.decode_state_vector(sv)
    ok = Y.write_var_uint(2) + b"\x01\x01\x02\x05"
    assert Y.decode_state_vector(ok) == {1: 1, 2: 5}


def test_raw_awareness_entries_keep_states_undecoded_and_count_reads_one_integer():
    raw = Y.encode_awareness([Y.AwarenessEntry(7, 2, '{"a":1}'), Y.AwarenessEntry(8, 1, "null")])
    assert Y.decode_awareness_raw(raw) == [(7, 2, b'{"a":1}'), (8, 1, b"null")]
    assert Y.awareness_count(Y.write_var_uint(8000) + b"junk") == 8000
    with pytest.raises(Y.ProtocolError, match="claims"):
        Y.decode_awareness_raw(Y.write_var_uint(10) + bytes(20))
