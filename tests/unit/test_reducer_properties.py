"""Properties of the reduction a user relies on: determinism, snapshots, atomic rejection, lossless decoding."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings

from events.envelope import encode_event
from projections.decode import world_from_doc
from projections.reducer import ShotReducer

from .strategies import events

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reduce(evs, start=None, snapshot=None):
    r = ShotReducer("p", "s", snapshot=snapshot)
    if snapshot is not None:
        r.last_seq = start
    for seq, ev in enumerate(evs, start=(start or 0) + 1):
        r.apply(seq, ev)
    return r


@SETTINGS
@given(events())
def test_reducing_twice_gives_byte_identical_documents(evs):
    a, b = reduce(evs), reduce(evs)
    assert a.doc.get_update() == b.doc.get_update()
    assert a.state_hash() == b.state_hash()


@SETTINGS
@given(events())
def test_raw_bytes_reduce_like_decoded_events(evs):
    a = reduce(evs)
    b = ShotReducer("p", "s")
    for seq, ev in enumerate(evs, start=1):
        b.apply_raw(seq, encode_event(ev))
    assert a.state_hash() == b.state_hash()


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
    rejected = 0
    for seq, ev in enumerate(evs, start=1):
        before_hash, before_world = r.state_hash(), copy.deepcopy(r.world)
        out = r.apply(seq, ev)
        if not out.applied:
            rejected += 1
            assert out.reason
            assert r.state_hash() == before_hash
            assert r.world == before_world


@SETTINGS
@given(events())
def test_decoded_document_equals_the_directly_built_world(evs):
    r = reduce(evs)
    assert world_from_doc(r.doc) == r.world


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
