"""Tests written against mutants that survived ``bench/mutation.sh`` (see the notes on mutation testing): each
pins a behaviour that no other test held.

Rotations given as Euler angles are folded into the replayed world (``core.values.rotation`` →
``core.quat.from_euler_deg``), so a mutant there changes every replica's world; the track evaluation ones change
sampled worlds and renders.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from core import quat, tracks, values
from core.world import Key


def q_axis(axis, deg):
    h = math.radians(deg) / 2
    return np.array([*(np.asarray(axis, float) * math.sin(h)), math.cos(h)])


# --- Euler angles → the stored rotation ------------------------------------------------------------------------

def test_euler_order_must_be_three_of_x_y_z_everywhere():
    for order in ("XY", "XYZW", "XYW", "", "ABC"):
        with pytest.raises(ValueError, match="euler order must be three of X, Y, Z"):
            quat.from_euler_deg([10.0, 20.0, 30.0], order)
        with pytest.raises(ValueError):
            values.rotation({"euler_deg": [10.0, 20.0, 30.0], "order": order})


def test_default_euler_order_is_xyz_and_lower_case_orders_read_the_same():
    angles = [30.0, 40.0, 50.0]
    want = quat.multiply(quat.multiply(q_axis([1, 0, 0], 30), q_axis([0, 1, 0], 40)), q_axis([0, 0, 1], 50))
    assert np.allclose(quat.from_euler_deg(angles), want)
    assert np.allclose(quat.from_euler_deg(angles, "xyz"), want)
    assert np.allclose(quat.from_euler_deg(angles, "ZYX"),
                       quat.multiply(quat.multiply(q_axis([0, 0, 1], 30), q_axis([0, 1, 0], 40)),
                                     q_axis([1, 0, 0], 50)))
    assert np.allclose(values.rotation({"euler_deg": angles}), want * np.sign(want[3]))


def test_euler_angles_batch_and_bad_shapes_are_refused():
    angles = np.array([[90.0, 0.0, 0.0], [0.0, 0.0, 90.0]])
    q = quat.from_euler_deg(angles)
    assert q.shape == (2, 4)
    assert np.allclose(q, [q_axis([1, 0, 0], 90), q_axis([0, 0, 1], 90)])
    with pytest.raises(ValueError, match=r"euler angles must have shape \(\.\.\., 3\)"):
        quat.from_euler_deg([1.0, 2.0])


def test_normalising_a_non_finite_quaternion_says_why():
    with pytest.raises(ValueError, match="non-finite"):
        quat.normalize([np.nan, 0.0, 0.0, 1.0])


# --- track evaluation -----------------------------------------------------------------------------------------

def test_a_rotation_track_holds_its_first_and_last_keys_outside_them():
    a, b, c = q_axis([0, 1, 0], 0), q_axis([0, 1, 0], 60), q_axis([0, 1, 0], 120)
    keys = [Key(10.0, a.tolist(), "linear"), Key(20.0, b.tolist(), "linear"), Key(30.0, c.tolist(), "linear")]
    out = tracks.evaluate(keys, [0.0, 5.0, 10.0, 15.0, 30.0, 45.0], "quat")
    assert np.allclose(out[[0, 1, 2]], a) and np.allclose(out[[4, 5]], c)
    assert np.allclose(out[3], q_axis([0, 1, 0], 30))


def test_static_tracks_step_and_unknown_kinds_are_refused():
    keys = [Key(0.0, {"primitive": "box", "size": [1, 1, 1]}, "step"),
            Key(10.0, {"primitive": "sphere", "radius": 0.5}, "step")]
    out = tracks.evaluate(keys, [0.0, 9.9, 10.0, 20.0], "static")
    assert [o["primitive"] for o in out] == ["box", "box", "sphere", "sphere"]
    with pytest.raises(ValueError, match="unknown track kind 'spline'"):
        tracks.evaluate(keys, [0.0], "spline")
    with pytest.raises(ValueError, match="cannot evaluate an empty track"):
        tracks.evaluate([], [0.0], "numeric")


def test_an_unkeyed_joint_rotation_is_the_identity():
    class Bare:
        tracks: dict = {}
        props: dict = {}

    out = tracks.value_at(Bare(), "joints.l_knee.rotation", [0.0, 5.0])
    assert np.allclose(out, [[0, 0, 0, 1], [0, 0, 0, 1]])
    with pytest.raises(ValueError, match="unknown attribute path 'transform.wobble'"):
        tracks.value_at(Bare(), "transform.wobble", [0.0])


# --- the quaternion algebra, against formulas written out here --------------------------------------------------

def hamilton(a, b):
    """The Hamilton product of [x, y, z, w] quaternions, written out by hand."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw,
                     aw * bw - ax * bx - ay * by - az * bz])


def rot(axis, deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return {"X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def matrix_of(q):
    x, y, z, w = np.asarray(q) / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def test_quaternion_product_is_the_hamilton_product():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(2, 16, 4))
    got = quat.multiply(a, b)
    assert np.allclose(got, np.array([hamilton(x, y) for x, y in zip(a, b)]))


def test_euler_xyz_is_the_matrix_product_rx_ry_rz():
    for angles in ([30.0, 40.0, 50.0], [-120.0, 15.0, 170.0], [5.0, -80.0, 33.0]):
        for order in ("XYZ", "ZXY", "YZX"):
            want = rot(order[0], angles[0]) @ rot(order[1], angles[1]) @ rot(order[2], angles[2])
            assert np.allclose(matrix_of(quat.from_euler_deg(angles, order)), want), (angles, order)
            stored = values.rotation({"euler_deg": angles, "order": order})
            assert np.allclose(matrix_of(stored), want) and stored[3] >= 0


def test_axis_angle_takes_any_axis_length_but_not_zero():
    assert np.allclose(quat.from_axis_angle([0.0, 2.5, 0.0], math.radians(90)), q_axis([0, 1, 0], 90))
    with pytest.raises(ValueError, match="rotation axis has zero length"):
        quat.from_axis_angle([0.0, 0.0, 0.0], 1.0)


def test_slerp_turns_at_constant_speed_on_the_short_path_and_stays_unit():
    a, b = q_axis([0, 0, 1], 10), q_axis([0, 0, 1], 110)
    t = np.array([0.0, 0.3, 1.0])
    out = quat.slerp(np.broadcast_to(a, (3, 4)), np.broadcast_to(b, (3, 4)), t)
    assert np.allclose(out, [a, q_axis([0, 0, 1], 40), b])
    # -b is the same rotation: still the 100° short way, not the 260° long one
    out = quat.slerp(np.broadcast_to(a, (3, 4)), np.broadcast_to(-b, (3, 4)), t)
    assert np.allclose(np.abs(np.sum(out[1] * q_axis([0, 0, 1], 40))), 1.0)
    # nearly equal rotations fall back to a normalised lerp
    c = q_axis([0, 0, 1], 10 + 1e-5)
    mid = quat.slerp(a[None], c[None], np.array([0.5]))[0]
    assert abs(np.linalg.norm(mid) - 1) < 1e-12 and np.allclose(mid, a, atol=1e-6)
    long = quat.slerp((2 * a)[None], (3 * b)[None], np.array([0.5]))[0]
    assert abs(np.linalg.norm(long) - 1) < 1e-12


# --- the reducer's removals (no other unit test applied them) ---------------------------------------------------

def _event(seq, ops):
    from events.envelope import Event

    from .strategies import ACTORS

    return Event(event_id=f"e{seq}", command_id=f"c{seq}", project="p", shot="s", actor=ACTORS[0], ops=ops, ts=0.0)


def test_removals_reach_the_document_and_decode_to_the_world():
    from core import ops as O
    from projections.decode import world_from_doc
    from projections.reducer import ShotReducer

    r = ShotReducer("p", "s")
    steps = [
        [O.EntityCreate(id="lamp", kind="prop", props={"color": [1.0, 0.0, 0.0]}),
         O.EntityCreate(id="desk", kind="prop", name="desk")],
        [O.KeySet(id="lamp", path="transform.position", frame=f, value=[f, 0.0, 0.0]) for f in (0.0, 5.0, 10.0)]
        + [O.KeySet(id="lamp", path="visible", frame=3.0, value=False)],
        [O.KeyRemove(id="lamp", path="transform.position", frame=5.0)],      # one key of three
        [O.KeyRemove(id="lamp", path="visible", frame=3.0)],                 # a track's last key: the track goes
        [O.TrackClear(id="lamp", path="transform.position")],
        [O.EntitySet(id="lamp", path="parent", value="desk"), O.EntitySet(id="lamp", path="name", value="Lamp")],
        [O.EntitySet(id="lamp", path="color", value=None)],                   # a prop unset
    ]
    seen = []
    for seq, ops in enumerate(steps, start=1):
        out = r.apply(seq, _event(seq, ops))
        assert out.applied, (seq, out)
        decoded = world_from_doc(r.doc)
        assert decoded.to_json() == r.world.to_json(), f"after step {seq}"
        lamp = r.world.entities["lamp"]
        seen.append((sorted(lamp.tracks), len(lamp.tracks.get("transform.position", [])), lamp.parent,
                     lamp.name, "color" in lamp.props))
    assert seen[2][:2] == (["transform.position", "visible"], 2)
    assert seen[3][:2] == (["transform.position"], 2)
    assert seen[4][:2] == ([], 0)
    assert seen[5][2:4] == ("desk", "Lamp")
    assert seen[6][4] is False and seen[5][4] is True


def test_track_rewrite_chance_is_the_documented_rule():
    """README: a re-key of a track of n keys rewrites it when crc32("<seq>/<entity>/<path>") mod (2n + 64) is 0 —
    every replica of every build must draw the same events."""
    import zlib

    from projections.reducer import compacts

    hits = 0
    for seq in range(1, 3000):
        for n in (0, 1, 7, 40):
            want = zlib.crc32(f"{seq}/box/transform.position".encode()) % (2 * n + 64) == 0
            assert compacts(seq, "box", "transform.position", n) == want
            hits += want
    assert 50 < hits < 400


def test_lists_that_hold_objects_are_stored_as_arrays_of_sorted_maps():
    """A plain dict inside a plain list would be encoded in hash-map order, different run to run (skeleton joints,
    directive params)."""
    from pycrdt import Array, Doc, Map

    from projections.reducer import crdt_value

    doc = Doc()
    root = doc.get("t", type=Map)
    root["joints"] = crdt_value([{"name": "hips", "offset": [0, 1, 0]}, {"name": "spine", "parent": "hips"}])
    root["deep"] = crdt_value([1, [2, [{"b": 1, "a": 2}]]])
    root["flat"] = crdt_value([1, [2, 3], "x"])
    assert isinstance(root["joints"], Array) and all(isinstance(j, Map) for j in root["joints"])
    assert sorted(root["joints"][0].keys()) == ["name", "offset"]
    assert isinstance(root["deep"], Array) and isinstance(root["deep"][1], Array)
    assert isinstance(root["deep"][1][1], Array) and isinstance(root["deep"][1][1][0], Map)
    assert root["flat"] == [1, [2, 3], "x"]


def test_unkeyed_props_sample_as_their_value_at_every_frame():
    class Lamp:
        tracks: dict = {}
        props = {"geometry": {"primitive": "box", "size": [1, 2, 3]}, "transform.rotation": [0.0, 0.0, 0.0, 2.0],
                 "visible": False}

    geo = tracks.value_at(Lamp(), "geometry", [0.0, 4.0, 8.0])
    assert geo.shape == (3,) and all(g == {"primitive": "box", "size": [1, 2, 3]} for g in geo)
    assert np.allclose(tracks.value_at(Lamp(), "transform.rotation", [0.0, 1.0]), [[0, 0, 0, 1]] * 2)
    vis = tracks.value_at(Lamp(), "visible", [0.0, 1.0])
    assert vis.dtype == bool and not vis.any()
    # a stepped track past its last key holds it
    keys = [Key(0.0, True, "step"), Key(5.0, False, "step")]
    assert tracks.evaluate(keys, [-1.0, 0.0, 4.9, 5.0, 50.0], "bool").tolist() == [True, True, True, False, False]


def test_a_shots_client_id_is_pinned():
    """Every replica of every build writes a shot's document with the same client id (the document bytes and the
    state hash depend on it); a change is a new reducer version. Mutation ``client_id_for`` 7 (9 hash bytes)."""
    from projections.reducer import client_id_for

    assert client_id_for("p", "s", version=4) == 6331635282005843
    assert 2**32 <= client_id_for("a", "b") < 2**53


def test_tracks_written_after_their_entity_or_track_was_removed_reach_the_document():
    """The reducer caches each track's Yjs array; a cache entry left behind by a removal points at a detached
    array, and later keys would vanish from the document (mutations ``_entity_del`` 4–5, ``_track_del`` 4)."""
    from core import ops as O
    from projections.decode import world_from_doc
    from projections.reducer import ShotReducer

    r = ShotReducer("p", "s")
    key = lambda f, x: O.KeySet(id="lamp", path="transform.position", frame=f, value=[x, 0.0, 0.0])  # noqa: E731
    steps = [
        [O.EntityCreate(id="lamp", kind="prop"), O.EntityCreate(id="desk", kind="prop")],
        [key(0.0, 1.0), key(10.0, 2.0), O.KeySet(id="desk", path="visible", frame=0.0, value=True)],
        [O.TrackClear(id="lamp", path="transform.position")],
        [key(5.0, 3.0)],                                    # the same track again, after its removal
        [O.EntityRemove(id="lamp")],
        [O.EntityCreate(id="lamp", kind="prop")],
        [key(7.0, 4.0)],                                    # the same entity again, after its removal
        [O.KeySet(id="desk", path="visible", frame=4.0, value=False)],  # another entity's track still written
    ]
    for seq, ops in enumerate(steps, start=1):
        assert r.apply(seq, _event(seq, ops)).applied, seq
        assert world_from_doc(r.doc).to_json() == r.world.to_json(), f"after step {seq}"
    assert [k.frame for k in r.world.entities["lamp"].tracks["transform.position"]] == [7.0]
    assert [k.frame for k in r.world.entities["desk"].tracks["visible"]] == [0.0, 4.0]


# ---------------------------------------------------------------- the reducer's whole-track rewrites, pinned

def _rekey_history() -> list:
    """Events that re-key two tracks of one prop, two tracks per event, and now and then remove a key: some events
    rewrite one of their tracks whole (:func:`projections.reducer.compacts`) while writing the other in place."""
    from core.ops import decode_ops
    from events.envelope import Actor, Event

    alice = Actor(kind="user", id="alice")
    raw = [[{"type": "entity.create", "id": "p", "kind": "prop"}]]
    keyed = set()
    for seq in range(2, 600):
        ops = [{"type": "key.set", "id": "p", "path": "transform.position", "frame": seq % 12,
                "value": [seq, 0, 0]},
               {"type": "key.set", "id": "p", "path": "color", "frame": (seq * 7) % 12, "value": [seq % 2, 0, 1]}]
        keyed.add(seq % 12)
        gone = (seq + 5) % 12
        if seq % 5 == 0 and gone in keyed and gone != seq % 12:
            ops.append({"type": "key.remove", "id": "p", "path": "transform.position", "frame": gone})
            keyed.discard(gone)
        raw.append(ops)
    return [Event(event_id=f"e{i}", command_id=f"c{i}", project="p", shot="s", actor=alice,
                  ops=decode_ops(msgspec.json.encode(o)), ts=float(i)) for i, o in enumerate(raw, start=1)]



def test_a_re_keyed_history_has_a_pinned_state_hash():
    """Which tracks an event rewrites whole, and that it still writes its other tracks in place, decide the
    document's bytes: a different choice keeps the decoded world but changes the state hash on every replica of
    that build. Pinned here (with the shot's client id), and the history is checked to exercise both."""
    from unittest import mock

    from projections import reducer as reducer_module
    from projections.decode import world_from_doc
    from projections.reducer import ShotReducer, client_id_for

    hits: list[tuple[int, str]] = []
    real = reducer_module.compacts

    def spy(seq, eid, path, keys):
        hit = real(seq, eid, path, keys)
        hits.extend([(seq, path)] if hit else [])
        return hit

    r = ShotReducer("p", "s")
    assert r.doc.client_id == client_id_for("p", "s")
    with mock.patch.object(reducer_module, "compacts", spy):
        for seq, ev in enumerate(_rekey_history(), start=1):
            assert r.apply(seq, ev).applied, seq
    assert world_from_doc(r.doc) == r.world
    assert len(hits) >= 5 and {path for _, path in hits} == {"transform.position", "color"}, hits
    assert r.state_hash() == "f3d695c5519dd57b924af06d506ba19fa32a2f1c4303bfe1788c1f4a4f486e4e"


def test_an_event_that_fails_after_its_last_write_is_undone_in_the_document(monkeypatch):
    """The undo of a half-written event (ShotReducer._unwrite) on events of every op type: each event is folded
    into a restored copy of the shot whose writers fail right after the event's last write (the most it can
    leave half-written); the copy must reject it and hold the world from before, in its document too."""
    import copy

    from projections import reducer as reducer_module
    from projections.decode import world_from_doc
    from projections.reducer import ShotReducer

    from .strategies import random_events

    writers = dict(reducer_module._WRITERS)
    state = {"n": 0, "fail_at": None}

    def counted(fn):
        def write(self, *args):
            fn(self, *args)
            state["n"] += 1
            if state["n"] == state["fail_at"]:
                raise RuntimeError("planted after the last write")
        return write

    patched = {k: counted(f) for k, f in writers.items()}
    undone = set()
    for seed in range(8):
        r = ShotReducer("p", "s")
        for seq, ev in enumerate(random_events(seed, n=40), start=1):
            monkeypatch.setattr(reducer_module, "_WRITERS", patched)
            state.update(n=0, fail_at=None)
            probe = ShotReducer("p", "s", snapshot=r.snapshot())
            writes = state["n"] if probe.apply(seq, ev).applied else 0
            state["n"] = 0
            if writes:
                state["fail_at"] = writes
                before = copy.deepcopy(r.world)
                failing = ShotReducer("p", "s", snapshot=r.snapshot())
                out = failing.apply(seq, ev)
                assert not out.applied and "planted" in out.reason
                assert failing.world == before and world_from_doc(failing.doc) == before, (seed, seq)
                undone.update(type(op).__name__ for op in ev.ops)
            monkeypatch.setattr(reducer_module, "_WRITERS", writers)
            r.apply(seq, ev)
    assert len(undone) >= 10, undone  # most op types were undone at least once


def test_a_half_write_that_leaves_the_document_unreadable_is_undone_whole(monkeypatch):
    """When the failed write left the document undecodable, the undo rewrites all of it from the world."""
    import copy

    from projections import reducer as reducer_module
    from projections.decode import world_from_doc
    from projections.reducer import ShotReducer

    from .strategies import random_events

    writers = dict(reducer_module._WRITERS)

    def corrupt(self, *args):
        self.entities["zz"] = 5  # not an entity map: world_from_doc cannot read the document
        raise RuntimeError("planted")

    for seed in range(40):  # a history that left entities, relations and directives
        r = ShotReducer("p", "s")
        events = random_events(seed, n=40)
        for seq, ev in enumerate(events, start=1):
            r.apply(seq, ev)
        if r.world.entities and r.world.relations and r.world.directives:
            break
    assert r.world.entities and r.world.relations and r.world.directives
    before = copy.deepcopy(r.world)
    monkeypatch.setattr(reducer_module, "_WRITERS", {k: corrupt for k in writers})
    out = r.apply(len(events) + 1, _create("fresh"))
    monkeypatch.setattr(reducer_module, "_WRITERS", writers)
    assert not out.applied and "planted" in out.reason
    assert r.world == before and world_from_doc(r.doc) == before
    assert r.apply(len(events) + 2, _create("fresh")).applied


def _create(eid: str):
    from core.ops import decode_ops
    from events.envelope import Actor, Event

    return Event(event_id=f"e-{eid}", command_id=f"c-{eid}", project="p", shot="s",
                 actor=Actor(kind="user", id="alice"),
                 ops=decode_ops(msgspec.json.encode([{"type": "entity.create", "id": eid, "kind": "prop"}])), ts=1.0)


def test_an_event_that_re_keys_an_entity_and_then_removes_it_applies():
    """A replaced key on an entity the same event removes: the rewrite check finds no entity and skips it."""
    from projections.decode import world_from_doc
    from projections.reducer import ShotReducer

    r = ShotReducer("p", "s")
    events = _rekey_history()[:3]
    for seq, ev in enumerate(events, start=1):
        assert r.apply(seq, ev).applied
    both = msgspec.structs.replace(events[1], event_id="e-gone", command_id="c-gone", ops=[
        *events[1].ops, _remove("p")])
    assert r.apply(4, both).applied
    assert "p" not in r.world.entities and world_from_doc(r.doc) == r.world


def _remove(eid: str):
    from core.ops import decode_ops

    return decode_ops(msgspec.json.encode([{"type": "entity.remove", "id": eid}]))[0]


# ---------------------------------------------------------------- core on the fold's path: custom skeletons,
# rotations, relation ranges, the world's JSON

def test_a_custom_skeleton_is_normalised_exactly():
    from core.skeleton import normalize_joints

    out = normalize_joints([
        {"name": "tip", "parent": "root", "offset": [0, 1, 0], "rotation": [0, 0, 0, 2],
         "limits_deg": [[-10, 10], [-20, 20], [0, 90]], "radius_m": 0.05},
        {"name": "root"},
    ], "skeleton")
    assert out == [
        {"name": "root", "parent": None, "offset": [0.0, 0.0, 0.0], "rotation": [0.0, 0.0, 0.0, 1.0]},
        {"name": "tip", "parent": "root", "offset": [0.0, 1.0, 0.0], "rotation": [0.0, 0.0, 0.0, 1.0],
         "limits_deg": [[-10.0, 10.0], [-20.0, 20.0], [0.0, 90.0]], "radius_m": 0.05},
    ]
    at_most = normalize_joints([{"name": "j0"}] + [{"name": f"j{i}", "parent": f"j{i - 1}"} for i in range(1, 512)])
    assert len(at_most) == 512  # MAX_JOINTS itself is allowed
    edge = normalize_joints([{"name": "r", "limits_deg": [[-360, 360], [5, 5], [0, 0]], "radius_m": 10}])
    assert edge[0]["limits_deg"] == [[-360.0, 360.0], [5.0, 5.0], [0.0, 0.0]] and edge[0]["radius_m"] == 10.0


@pytest.mark.parametrize("joints, message", [
    ([], "skeleton must be a non-empty list"),
    ({"name": "r"}, "skeleton must be a non-empty list"),
    ([{"name": f"j{i}"} for i in range(513)], "skeleton has 513 joints; at most 512"),
    (["r"], "skeleton[0] must be an object"),
    ([{"name": "r", "size": 1}], "skeleton[0] has unknown fields ['size']"),
    ([{"name": "r bad"}], "skeleton[0].name"),
    ([{"name": "r"}, {"name": "r", "parent": "r"}], "skeleton[1]: duplicate joint name 'r'"),
    ([{"name": "r"}, {"name": "a", "parent": 5}], "skeleton[1].parent"),
    ([{"name": "r", "offset": [0, 0]}], "skeleton[0].offset"),
    ([{"name": "r", "rotation": [0, 0, 0]}], "skeleton[0].rotation"),
    ([{"name": "r", "limits_deg": [[0, 1], [0, 1]]}], "skeleton[0].limits_deg must be [[xmin, xmax]"),
    ([{"name": "r", "limits_deg": "x"}], "skeleton[0].limits_deg must be [[xmin, xmax]"),
    ([{"name": "r", "limits_deg": [[0, 1], [0, 400], [0, 1]]}], "skeleton[0].limits_deg.y"),
    ([{"name": "r", "limits_deg": [[0, 1], [0, 1], [5, 1]]}], "skeleton[0].limits_deg.z: min 5.0 > max 1.0"),
    ([{"name": "r", "radius_m": 0.0005}], "skeleton[0].radius_m"),
    ([{"name": "r", "radius_m": 11}], "skeleton[0].radius_m"),
    ([{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}], "skeleton has no root joint"),
    ([{"name": "r"}, {"name": "a", "parent": "zz"}], "unknown parent 'zz'"),
    ([{"name": "r"}, {"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}], "parent cycle among joints"),
])
def test_a_bad_custom_skeleton_is_refused_naming_the_joint_and_field(joints, message):
    from core.skeleton import normalize_joints

    with pytest.raises(ValueError) as info:
        normalize_joints(joints)
    assert message in str(info.value)


def test_rotations_are_stored_in_one_canonical_form():
    """Unknown fields are refused; a quaternion is stored with w ≥ 0 (negated when w < 0, kept when w = 0) and
    without negative zeros, so one rotation always has one stored value."""
    with pytest.raises(ValueError, match="euler_deg"):
        values.rotation({"euler_deg": [0, 0, 90], "spin": 1})
    with pytest.raises(ValueError, match="euler_deg"):
        values.rotation({"order": "XYZ"})
    assert values.rotation([1, 0, 0, 0]) == [1.0, 0.0, 0.0, 0.0]
    assert values.rotation([0, 0.6, 0, -0.8]) == [0.0, -0.6, 0.0, 0.8]
    flipped = values.rotation([0, 0, 0, -1])
    assert flipped == [0.0, 0.0, 0.0, 1.0] and all(math.copysign(1.0, c) == 1.0 for c in flipped)


@pytest.mark.parametrize("mine, theirs, overlap", [
    ((None, None), (None, None), True),
    ((0, 10), (10, 20), False),   # half-open: [0, 10) and [10, 20) share no frame
    ((0, 10), (9.5, 20), True),
    ((10, 20), (0, 10), False),
    ((None, 5), (4, None), True),
    ((None, 5), (5, None), False),
    ((3, None), (None, 3), False),
    ((3, None), (None, 4), True),
    ((0, 10), (None, None), True),
])
def test_relation_ranges_overlap_as_half_open_intervals(mine, theirs, overlap):
    from core.world import Relation

    r = Relation(id="r", kind="attached_to", subject="a", object="b", start=mine[0], end=mine[1])
    assert r.overlaps(*theirs) is overlap


def test_the_worlds_json_form_is_exact():
    from core.world import DEFAULT_AGENT_MODE, Directive, Entity, Relation, World

    w = World(project="p", shot="s", agents={"collision": "off"})
    w.entities["a"] = Entity(id="a", kind="prop", name="A", parent=None, props={"color": [1.0, 0.0, 0.0]},
                             tracks={"visible": [Key(frame=0.0, value=True, interp="constant", by="user:x")],
                                     "transform.position": [Key(frame=1.0, value=[0.0, 1.0, 2.0], interp="bezier",
                                                                by="user:x", in_tangent=[0.1, 0, 0],
                                                                out_tangent=[0.2, 0, 0])]})
    w.entities["b"] = Entity(id="b", kind="prop", parent="a")
    w.relations["r"] = Relation(id="r", kind="attached_to", subject="b", object="a")
    w.directives["d"] = Directive(id="d", agent="camera", params={"k": 1})
    j = w.to_json()
    assert list(j) == ["meta", "entities", "relations", "directives"]
    assert j["meta"] == w.meta()
    assert j["entities"]["a"] == {
        "kind": "prop", "name": "A", "parent": None, "props": {"color": [1.0, 0.0, 0.0]},
        "tracks": {"visible": [{"frame": 0.0, "value": True, "interp": "constant", "by": "user:x"}],
                   "transform.position": [{"frame": 1.0, "value": [0.0, 1.0, 2.0], "interp": "bezier",
                                           "by": "user:x", "in_tangent": [0.1, 0, 0],
                                           "out_tangent": [0.2, 0, 0]}]}}
    assert j["entities"]["b"]["parent"] == "a" and j["entities"]["b"]["tracks"] == {}
    assert j["relations"] == {"r": w.relations["r"].to_dict()} and j["directives"] == {"d": w.directives["d"].to_dict()}
    assert w.agent_mode("collision") == "off" and w.agent_mode("camera") == DEFAULT_AGENT_MODE


def test_ops_survive_their_encoding():
    from core import ops as O

    ops = O.decode_ops(msgspec.json.encode([{"type": "entity.create", "id": "a", "kind": "prop"},
                                            {"type": "key.set", "id": "a", "path": "color", "frame": 2,
                                             "value": [1, 0, 0]}]))
    assert O.decode_ops(O.encode_ops(ops)) == ops


# ---------------------------------------------------------------- skeleton templates (built when core.templates is
# imported, so mutmut cannot switch their mutants on: pinned here instead)

TEMPLATE_HASHES = {"biped": (29, "5307967293e3ad56"), "bird": (26, "f4ff04845a15bcc2"),
                   "fish": (13, "697fce8252d4c8ef"), "quadruped": (29, "d2022b81e3b39db9")}
"""sha256 of each template's joints as JSON (sorted keys), first 16 hex digits: a skeleton.set of a template stores
these joints, so any change to the tables or their mirroring changes replayed worlds."""


@pytest.mark.parametrize("name", sorted(TEMPLATE_HASHES))
def test_each_template_is_pinned_mirrored_and_free_of_negative_zeros(name):
    import hashlib
    import json

    from core.templates import SKELETON_EDGES, template_joints

    joints = template_joints(name)
    digest = hashlib.sha256(json.dumps(joints, sort_keys=True).encode()).hexdigest()[:16]
    assert (len(joints), digest) == TEMPLATE_HASHES[name]
    by = {j["name"]: j for j in joints}
    for j in joints:
        assert j["rotation"] == [0.0, 0.0, 0.0, 1.0]
        assert all(math.copysign(1.0, c) == 1.0 for c in j["offset"] if c == 0.0), j
        if j["name"].startswith("l_"):
            r = by["r_" + j["name"][2:]]
            assert r["offset"] == [-j["offset"][0] + 0.0, *j["offset"][1:]]
            assert r["parent"] == ("r_" + j["parent"][2:] if j["parent"].startswith("l_") else j["parent"])
            if "limits_deg" in j:
                (xa, xb), (ya, yb), (za, zb) = j["limits_deg"]
                assert r["limits_deg"] == [[xa, xb], [-yb + 0.0, -ya + 0.0], [-zb + 0.0, -za + 0.0]]
    assert SKELETON_EDGES[name] == [(j["parent"], j["name"]) for j in joints if j["parent"] is not None]
    doubled = template_joints(name, 2.0)
    assert [d["offset"] for d in doubled] == [[2 * c + 0.0 for c in j["offset"]] for j in joints]


def test_packages_export_their_public_api_lazily():
    import core
    from core import world

    assert core.World is world.World and "World" in core.__all__ and core.__all__ == sorted(core.__all__)
    with pytest.raises(AttributeError, match=r"^module 'core' has no attribute 'nope'$"):
        core.nope  # noqa: B018
