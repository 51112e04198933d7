"""Properties of the reduction a user relies on: determinism, snapshots, atomic rejection, lossless decoding.

The events come from :mod:`tests.unit.strategies`, built against a shadow world: most apply, every op type is
applied (``test_the_generated_events_apply_every_op_type`` keeps it so), some are rejected on purpose.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import json
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings

from core import ops as O
from events.envelope import Event, decode_command, encode_event
from projections.decode import world_from_doc
from projections.reducer import ShotReducer, compacts

from .strategies import ACTORS, events, examples, random_events

SETTINGS = settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reduce(evs, start=None, snapshot=None):
    r = ShotReducer("p", "s", snapshot=snapshot)
    if snapshot is not None:
        r.last_seq = start
    for seq, ev in enumerate(evs, start=(start or 0) + 1):
        r.apply(seq, ev)
    return r


def _tag(op) -> str:
    return type(op).__struct_config__.tag


def test_the_generated_events_apply_every_op_type():
    # The strategy's purpose: valid worlds in which every op applies. If it drifts back to producing mostly
    # rejected events, the properties below test little; this says so.
    applied_ops: collections.Counter = collections.Counter()
    applied = total = 0
    for seed in range(30):
        r = ShotReducer("p", "s")
        for seq, ev in enumerate(random_events(seed), start=1):
            out = r.apply(seq, ev)
            total += 1
            assert world_from_doc(r.doc) == r.world, (seed, seq, out)
            if out.applied:
                applied += 1
                applied_ops.update(_tag(op) for op in ev.ops)
            else:
                assert out.reason
    assert applied / total >= 0.75, (applied, total)
    missing = {t: applied_ops[t] for t in O.OP_TYPES if applied_ops[t] < 5}
    assert not missing, f"op types applied fewer than 5 times: {missing}"


@SETTINGS
@given(events())
def test_reducing_twice_gives_byte_identical_documents(evs):
    a, b = reduce(evs), reduce(evs)
    assert a.doc.get_update() == b.doc.get_update()
    assert a.state_hash() == b.state_hash()


@SETTINGS
@given(events())
def test_raw_bytes_reduce_like_decoded_events(evs):
    a, b = ShotReducer("p", "s"), ShotReducer("p", "s")
    for seq, ev in enumerate(evs, start=1):
        # (the reasons may differ: a NaN a Python op carries is null once encoded)
        assert b.apply_raw(seq, encode_event(ev)).applied == a.apply(seq, ev).applied
    assert a.state_hash() == b.state_hash()
    assert a.world == b.world


@SETTINGS
@given(events(max_events=12))
def test_snapshot_at_every_k_plus_tail_equals_from_scratch(evs):
    full = reduce(evs)
    for k in range(len(evs) + 1):
        head = reduce(evs[:k])
        resumed = reduce(evs[k:], start=k, snapshot=head.snapshot())
        assert resumed.state_hash() == full.state_hash(), k
        assert resumed.world == full.world


@SETTINGS
@given(events())
def test_a_rejected_event_changes_nothing(evs):
    r = ShotReducer("p", "s")
    for seq, ev in enumerate(evs, start=1):
        before_hash, before_world = r.state_hash(), copy.deepcopy(r.world)
        out = r.apply(seq, ev)
        event("applied" if out.applied else "rejected")
        if not out.applied:
            assert out.reason
            assert r.state_hash() == before_hash
            assert r.world == before_world


@SETTINGS
@given(events())
def test_the_decoded_document_equals_the_world_after_each_event_and_after_a_restore(evs):
    r = ShotReducer("p", "s")
    restored = None
    for seq, ev in enumerate(evs, start=1):
        out = r.apply(seq, ev)
        if out.applied:
            for op in ev.ops:
                event(f"applied {_tag(op)}")
        assert world_from_doc(r.doc) == r.world, (seq, out)
        if restored is not None:
            assert restored.apply(seq, ev) == out
            assert world_from_doc(restored.doc) == r.world == restored.world, seq
            assert restored.state_hash() == r.state_hash()
        if seq == len(evs) // 2:
            restored = ShotReducer("p", "s", snapshot=r.snapshot())
            assert world_from_doc(restored.doc) == r.world
            assert restored.world == r.world and restored.last_seq == r.world.head_seq
            restored.last_seq = seq


@SETTINGS
@given(events())
def test_sampling_the_decoded_document_equals_sampling_the_world(evs):
    import numpy as np

    from core.sampling import sample

    r = reduce(evs)
    frames = np.array([0.0, 3.5, 24.0, 60.0])
    direct, decoded = sample(r.world, frames), sample(world_from_doc(r.doc), frames)
    assert direct.ids == decoded.ids
    np.testing.assert_array_equal(direct.matrices, decoded.matrices)
    np.testing.assert_array_equal(direct.visible, decoded.visible)
    assert direct.joints.keys() == decoded.joints.keys()
    for k in direct.joints:
        np.testing.assert_array_equal(direct.joints[k].matrices, decoded.joints[k].matrices)
    for k in direct.cameras:
        np.testing.assert_array_equal(direct.cameras[k].K, decoded.cameras[k].K)


@SETTINGS
@given(events(max_events=12))
def test_tracks_rewritten_whole_reduce_like_tracks_edited_in_place(evs):
    # The rewrite that drops a track's tombstones (``compacts``) fires rarely by chance; here at every event that
    # replaces or removes a key, so any op mix (several keys of one track in one event, a clear then a key, a
    # removed entity) is folded through it.
    with mock.patch("projections.reducer.compacts", return_value=True):
        full = reduce(evs)
        assert world_from_doc(full.doc) == full.world
        assert full.state_hash() == reduce(evs).state_hash()
        k = len(evs) // 2
        resumed = reduce(evs[k:], start=k, snapshot=reduce(evs[:k]).snapshot())
        assert resumed.state_hash() == full.state_hash()
    assert world_from_doc(full.doc) == reduce(evs).world


@pytest.mark.slow
@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events(max_events=40))
def test_the_decoded_document_equals_the_world_many(evs):
    test_the_decoded_document_equals_the_world_after_each_event_and_after_a_restore.hypothesis.inner_test(evs)


def _event(seq: int, *ops: dict) -> Event:
    return Event(event_id=f"e{seq}", command_id=f"c{seq}", project="p", shot="s", actor=ACTORS[0],
                 ops=decode_command(json.dumps({"command_id": "x", "ops": list(ops)})).ops, ts=0.0)


def test_removing_an_entity_whose_keys_were_re_set_hashes_alike_from_a_snapshot():
    # Deleting a type that holds tombstones leaves a document whose raw update differs from that of a replica
    # restored from its snapshot; the state hash must not.
    def keys(seq, frames):
        return _event(seq, *({"type": "key.set", "id": "e", "path": "transform.position", "frame": f,
                              "value": [seq, 0, 0]} for f in frames))

    evs = [_event(1, {"type": "entity.create", "id": "e", "kind": "prop", "props": {}},
                  {"type": "entity.create", "id": "f", "kind": "prop", "props": {}}),
           keys(2, range(8)), keys(3, range(1, 7)), keys(4, [2, 5]),
           _event(5, {"type": "entity.remove", "id": "e"}),
           _event(6, {"type": "entity.set", "id": "f", "path": "visible", "value": False})]
    full = reduce(evs)
    for k in range(len(evs) + 1):
        resumed = reduce(evs[k:], start=k, snapshot=reduce(evs[:k]).snapshot())
        assert resumed.state_hash() == full.state_hash(), k
    restored = ShotReducer("p", "s", snapshot=full.snapshot())
    assert full.state_hash() == hashlib.sha256(restored.doc.get_update()).hexdigest()


def test_a_re_keyed_track_is_rewritten_at_the_same_events_from_scratch_and_from_a_snapshot():
    def key(seq):
        op = {"type": "key.set", "id": "e", "path": "transform.position", "frame": seq % 240,
              "value": [seq % 97, 0, 0], "interp": "linear"}
        return Event(event_id=f"e{seq}", command_id=f"c{seq}", project="p", shot="s", actor=ACTORS[0],
                     ops=decode_command(json.dumps({"command_id": "x", "ops": [op]})).ops, ts=0.0)

    create = decode_command(json.dumps({"command_id": "x", "ops": [
        {"type": "entity.create", "id": "e", "kind": "prop", "props": {}}]})).ops
    evs = [Event(event_id="e0", command_id="c0", project="p", shot="s", actor=ACTORS[0], ops=create, ts=0.0)]
    evs += [key(seq) for seq in range(2, 240 * 12)]
    rewrites = [seq for seq in range(241, 240 * 12) if compacts(seq, "e", "transform.position", 240)]
    assert 2 <= len(rewrites) <= 20  # about one in 2 × 240 + 64 re-keys
    full = reduce(evs)
    assert world_from_doc(full.doc) == full.world and len(full.world.entities["e"].tracks["transform.position"]) == 240
    for at in (rewrites[0] - 1, rewrites[0], rewrites[-1] - 1):
        resumed = reduce(evs[at:], start=at, snapshot=reduce(evs[:at]).snapshot())
        assert resumed.state_hash() == full.state_hash(), at
