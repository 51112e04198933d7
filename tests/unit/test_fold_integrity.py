"""No event can wedge a shot: inputs are bounded where they enter, a command the check accepts applies, and a fold
that raises anyway rejects the event alike on every replica, leaving the world and the document as they were."""

from __future__ import annotations

import asyncio
import copy
import json

import pytest

from core import edit
from core.limits import MAX_ABS_FRAME, MAX_DEPTH
from core.ops import decode_ops, error_location
from events.envelope import Actor, Event, decode_command, encode_event
from events.log import MemoryLog
from projections import reducer as reducer_module
from projections.decode import world_from_doc
from projections.replay import plain_world_at, world_at
from projections.reducer import REDUCER_VERSION, ShotReducer
from projections.store import MemoryStore, Snapshot, WorldSnapshot
from projections.world_codec import decode_world, encode_world

ALICE = Actor(kind="user", id="alice")


def ops(*raw: dict) -> list:
    return decode_ops(json.dumps(list(raw)))


def raw_ops(text: str) -> list:
    return decode_ops(text)


def event(seq: int, op_list: list) -> Event:
    return Event(event_id=f"e{seq}", command_id=f"c{seq}", project="p", shot="s", actor=ALICE, ops=op_list, ts=0.0)


def keyed_p() -> ShotReducer:
    r = ShotReducer("p", "s")
    out = r.apply(1, event(1, ops({"type": "entity.create", "id": "p", "kind": "prop"},
                                  {"type": "key.set", "id": "p", "path": "transform.position", "frame": 1,
                                   "value": [0, 0, 0]})))
    assert out.applied
    return r


def refused(world, op_list, field: str, words: str, index: int = 0) -> edit.OpError:
    before = copy.deepcopy(world)
    with pytest.raises(edit.OpError) as info:
        edit.check(world, op_list, "user:alice")
    err = info.value
    assert (err.index, err.field) == (index, field), str(err)
    assert words in err.reason, err.reason
    assert not err.reason.startswith(edit.INTERNAL), err.reason
    assert world == before
    return err


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# ---------------------------------------------------------------- bounds at the check


def test_a_key_at_frame_1e300_is_refused_and_a_shift_after_it_applies():
    r = keyed_p()
    huge = ops({"type": "key.set", "id": "p", "path": "transform.position", "frame": 1e300, "value": [1, 0, 0]})
    shift = ops({"type": "track.shift", "id": "p", "path": "transform.position", "by": 1, "start": 0, "end": 10})
    refused(r.world, huge, "frame", "within ±")
    edit.check(r.world, shift, "user:alice")  # checked before the key reached the world, as a pipelined socket does
    # forced past the check straight into the log: rejected at the fold, and the shift after it applies
    out = r.apply_raw(2, encode_event(event(2, huge)))
    assert not out.applied and "frame" in out.reason
    assert r.apply_raw(3, encode_event(event(3, shift))).applied
    assert [k.frame for k in r.world.entities["p"].tracks["transform.position"]] == [2.0]
    assert world_from_doc(r.doc) == r.world


def test_a_shift_checked_before_the_key_it_moves_cannot_overflow_at_apply():
    r = keyed_p()
    edge = ops({"type": "key.set", "id": "p", "path": "transform.position", "frame": MAX_ABS_FRAME,
                "value": [1, 0, 0]})
    shift = ops({"type": "track.shift", "id": "p", "path": "transform.position", "by": 1})
    edit.check(r.world, edge, "user:alice")
    edit.check(r.world, shift, "user:alice")  # against the world without the edge key: passes
    assert r.apply(2, event(2, edge)).applied
    out = r.apply(3, event(3, shift))  # with it, the key would land beyond the bound: a plain rejection
    assert not out.applied and out.reason.startswith("op 0: by:") and "beyond" in out.reason
    assert world_from_doc(r.doc) == r.world


@pytest.mark.parametrize("text, field, words", [
    ('[{"type": "track.shift", "id": "p", "path": "transform.position", "by": 1e300}]', "by", "within ±"),
    ('[{"type": "track.shift", "id": "p", "path": "transform.position", "by": 1, "start": -1e7}]', "start",
     "within ±"),
    ('[{"type": "track.shift", "id": "p", "path": "transform.position", "by": 1, "end": 1e7}]', "end", "within ±"),
    ('[{"type": "key.remove", "id": "p", "path": "transform.position", "frame": -1e9}]', "frame", "within ±"),
    ('[{"type": "shot.configure", "frame_end": 1e12}]', "frame_end", "within ±"),
    ('[{"type": "entity.set", "id": "p", "path": "transform.position", "value": [1' + "0" * 400 + ', 0, 0]}]',
     "value", "float range"),
    ('[{"type": "entity.set", "id": "p", "path": "transform.position", "value": [1e7, 0, 0]}]', "value", "±1e+06"),
    ('[{"type": "entity.set", "id": "p", "path": "parent", "value": [1]}]', "value", "entity id or null"),
    ('[{"type": "entity.set", "id": "p", "path": "parent", "value": {}}]', "value", "entity id or null"),
    ('[{"type": "entity.set", "id": "p", "path": "name", "value": 5}]', "value", "must be a string"),
    ('[{"type": "entity.set", "id": "p", "path": "name", "value": "' + "n" * 300 + '"}]', "value", "at most 256"),
    ('[{"type": "entity.set", "id": "' + "x" * 5000 + '", "path": "color", "value": [1, 1, 1]}]', "id",
     "at most 256"),
    ('[{"type": "entity.set", "id": "p", "path": "color", "value": ' + nested(400) + '}]', "value", "deeper than"),
    ('[{"type": "key.set", "id": "p", "path": "visible", "frame": 3, "value": true, "in_tangent": 1e300}]',
     "in_tangent", "≤ 1e+09"),
    ('[{"type": "directive.add", "id": "d1", "agent": "camera", "params": {"a": ' + nested(400) + '}}]',
     "params", f"deeper than {MAX_DEPTH}"),
    ('[{"type": "directive.add", "id": "d1", "agent": "camera", "params": {"a": 1' + "0" * 400 + '}}]',
     "params", "beyond float range"),
    ('[{"type": "directive.add", "id": "d1", "agent": "camera", "params": {"a": 1e300}}]', "params", "≤ 1e+15"),
    ('[{"type": "directive.add", "id": "d1", "agent": "camera", "params": {"a": "' + "s" * 5000 + '"}}]',
     "params", "at most 4096"),
    ('[{"type": "directive.add", "id": "d1", "agent": "camera", "params": {"a": ' + json.dumps(list(range(20000)))
     + '}}]', "params", "more than"),
    ('[{"type": "skeleton.set", "id": "p", "template": "biped", "scale": 1e300}]', "scale", "≤ 100"),
    ('[{"type": "entity.create", "id": "cam", "kind": "camera", "props": {"camera.far_m": 1e300}}]',
     "props.camera.far_m", "≤ 1e+06"),
])
def test_out_of_bound_inputs_are_refused_naming_the_field(text, field, words):
    r = keyed_p()
    if "skeleton.set" in text:
        r.apply(2, event(2, ops({"type": "entity.remove", "id": "p"},
                                {"type": "entity.create", "id": "p", "kind": "character"})))
    refused(r.world, raw_ops(text), field, words)


def test_a_400_level_directive_is_refused_at_check_and_rejected_at_fold_with_the_document_unchanged():
    deep = raw_ops('[{"type": "directive.add", "id": "d1", "agent": "camera", "params": {"a": ' + nested(400)
                   + '}}]')
    r = keyed_p()
    refused(r.world, deep, "params", "deeper than")
    before_hash, before_world = r.state_hash(), copy.deepcopy(r.world)
    out = r.apply_raw(2, encode_event(event(2, deep)))  # forced into the log past the check
    assert not out.applied and "params" in out.reason
    assert r.state_hash() == before_hash and r.world == before_world and "d1" not in r.world.directives
    ok = ops({"type": "directive.add", "id": "d1", "agent": "camera", "params": {"a": [[1]]}})
    assert r.apply(3, event(3, ok)).applied  # the id is free: nothing of the rejected event stayed
    restored = ShotReducer("p", "s", snapshot=r.snapshot())
    assert world_from_doc(restored.doc) == r.world and restored.state_hash() == r.state_hash()
    assert decode_world(encode_world(r.world)) == r.world


def test_world_and_hash_at_the_offset_of_a_poisoned_event_still_answer():
    async def go():
        log, store = MemoryLog(), MemoryStore()
        await log.ensure_project("p")
        first = event(1, ops({"type": "entity.create", "id": "p", "kind": "prop"}))
        deep = event(2, raw_ops('[{"type": "directive.add", "id": "d1", "agent": "camera", "params": {"a": '
                                + nested(400) + '}}]'))
        huge = event(3, ops({"type": "key.set", "id": "p", "path": "visible", "frame": 1e300, "value": True}))
        after = event(4, ops({"type": "entity.set", "id": "p", "path": "visible", "value": False}))
        for ev in (first, deep, huge, after):
            await log.append("p", "s", encode_event(ev), ev.command_id)
        r = ShotReducer("p", "s")
        outcomes = [r.apply(i, ev) for i, ev in enumerate((first, deep, huge), start=1)]
        assert [o.applied for o in outcomes] == [True, False, False]
        await store.commit_batch("p", [], [], [
            Snapshot(project="p", shot="s", seq=3, doc=r.snapshot(), state_hash=r.state_hash(),
                     reducer_version=REDUCER_VERSION),
            WorldSnapshot(project="p", shot="s", seq=3, world=encode_world(r.world),
                          reducer_version=REDUCER_VERSION)], 3)
        for seq in (2, 3, 4):
            at = await world_at(log, store, "p", "s", seq)
            plain, last = await plain_world_at(log, store, "p", "s", seq)
            assert plain == at.world and last == seq
            assert world_from_doc(at.doc) == at.world
        assert at.world.entities["p"].props["visible"] is False
        assert "d1" not in at.world.directives
    asyncio.run(go())


def test_decode_errors_name_the_op_and_the_field():
    from realtime.commands import CommandError
    from realtime.commands import decode_command as decode_http

    assert error_location("Object missing required field `value` - at `$.ops[3]`") == (3, "value")
    assert error_location("Expected `float`, got `str` - at `$.ops[0].frame`") == (0, "frame")
    assert error_location("Object contains unknown field `zz` - at `$.ops[1]`") == (1, "zz")
    assert error_location("Invalid value 'entity.sett' - at `$.ops[0].type`") == (0, "type")
    assert error_location("Object missing required field `command_id`") == (None, "command_id")
    with pytest.raises(CommandError) as info:
        decode_http(b'{"command_id": "c", "ops": [{"type": "entity.set", "id": "p", "path": "color"}]}')
    assert (info.value.kind, info.value.index, info.value.field) == ("invalid", 0, "value")
    with pytest.raises(CommandError) as info:
        decode_http(b'{"command_id": "c", "ops": [{"type": "entity.set", "id": "p", "path": "color", "value": '
                    + nested(5000).encode() + b'}]}')
    assert info.value.kind == "invalid" and "deeply" in info.value.reason
    with pytest.raises(Exception) as info:
        decode_command(b'{"command_id": "c", "ops": [{"type": "entity.set", "value": ' + nested(5000).encode()
                       + b'}]}')
    r = ShotReducer("p", "s")
    out = r.apply_raw(1, b'{"event_id": "e", "ops": ' + nested(5000).encode() + b'}')
    assert not out.applied and out.reason.startswith("undecodable event")


# ---------------------------------------------------------------- a fold that raises anyway


def _panic_class():
    from pycrdt import Doc, Map

    d = Doc()
    d["m"] = Map()
    try:
        d.get("m", type=Map)["k"] = 2**64
    except BaseException as e:  # pyo3's PanicException derives from BaseException
        return type(e)
    raise AssertionError("pycrdt took a 65-bit integer")


def _two_op_event(seq):
    return event(seq, ops({"type": "entity.set", "id": "p", "path": "color", "value": [1, 0, 0]},
                          {"type": "key.set", "id": "p", "path": "transform.position", "frame": 5,
                           "value": [1, 1, 1]}))


@pytest.mark.parametrize("how", ["exception", "panic", "first write"])
def test_a_write_that_raises_half_way_rejects_the_event_and_restores_world_and_document(monkeypatch, how):
    panic = _panic_class()
    writers = dict(reducer_module._WRITERS)

    def bad_key_put(self, *args):
        if how == "panic":
            self._entity(args[0])["props"]["oops"] = 2**64  # a real pycrdt panic, mid-transaction
        raise RuntimeError("boom at 0xdeadbeef1234")

    def bad_prop_set(self, *args):
        raise RuntimeError("boom at 0xdeadbeef1234")

    reducers = []
    for _ in range(2):  # two replicas: the same verdict, reason and state
        r = keyed_p()
        before_world = copy.deepcopy(r.world)
        before_hash = r.state_hash()
        patched = dict(writers)
        if how == "first write":
            patched["prop.set"] = bad_prop_set
        else:
            patched["key.put"] = bad_key_put
        monkeypatch.setattr(reducer_module, "_WRITERS", patched)
        out = r.apply(2, _two_op_event(2))
        monkeypatch.setattr(reducer_module, "_WRITERS", writers)
        assert not out.applied
        assert out.reason.startswith("event could not be written: ")
        assert ("PanicException" if how == "panic" else "RuntimeError: boom") in out.reason
        assert "0xdeadbeef" not in out.reason
        assert r.world == before_world and world_from_doc(r.doc) == before_world
        if how == "first write":  # nothing was written: the document is byte for byte as before
            assert r.state_hash() == before_hash
        # folding goes on: the same edits apply once the writer works
        assert r.apply(3, _two_op_event(3)).applied
        assert world_from_doc(r.doc) == r.world and r.world.entities["p"].props["color"] == [1.0, 0.0, 0.0]
        reducers.append((out, r.state_hash()))
    assert reducers[0] == reducers[1]
    assert issubclass(panic, BaseException)


def test_an_unexpected_exception_in_an_op_handler_is_an_op_error_and_changes_nothing(monkeypatch):
    from core import ops as O

    def broken(world, op, actor, tx):
        tx.set(world.directives, "x", None)
        raise OverflowError("math range error")

    r = keyed_p()
    before = copy.deepcopy(r.world)
    monkeypatch.setitem(edit._HANDLERS, O.DirectiveRemove, broken)
    with pytest.raises(edit.OpError) as info:
        edit.check(r.world, ops({"type": "directive.remove", "id": "d"}), "user:a")
    assert info.value.reason == f"{edit.INTERNAL}: OverflowError: math range error"
    out = r.apply(2, event(2, ops({"type": "directive.remove", "id": "d"})))
    assert not out.applied and edit.INTERNAL in out.reason
    assert r.world == before and world_from_doc(r.doc) == before
