"""Edits a creator makes, and the clear errors bad input gets (nothing half-applied)."""

from __future__ import annotations

import copy
import math

import msgspec
import pytest

from core import edit
from core import ops as O
from core.ops import decode_ops
from core.world import World


def world_with(*ops) -> World:
    w = World(project="p", shot="s")
    edit.apply(w, list(ops), "user:alice")
    return w


def rejects(w: World, ops: list, field: str, words: str, index: int = 0):
    before = copy.deepcopy(w)
    with pytest.raises(edit.OpError) as info:
        edit.apply(w, ops, "user:alice")
    err = info.value
    assert err.index == index and err.field == field, str(err)
    assert words in err.reason, err.reason
    assert w == before, "a rejected event must change nothing"
    return err


CUP = O.EntityCreate(id="cup", kind="prop", props={"geometry": {"primitive": "cylinder", "radius": 0.04, "height": 0.1}})
CAM = O.EntityCreate(id="cam", kind="camera")


def test_create_set_key_and_remove():
    w = world_with(CUP, O.KeySet(id="cup", path="transform.position", frame=0, value=[0, 1, 0]),
                   O.KeySet(id="cup", path="transform.position", frame=10, value=[1, 1, 0], interp="linear"))
    keys = w.entities["cup"].tracks["transform.position"]
    assert [k.frame for k in keys] == [0.0, 10.0]
    assert keys[0].by == "user:alice" and keys[1].interp == "linear"
    edit.apply(w, [O.KeySet(id="cup", path="transform.position", frame=10, value=[2, 1, 0])], "user:bob")
    assert [k.value for k in keys] == [[0.0, 1.0, 0.0], [2.0, 1.0, 0.0]] and keys[1].by == "user:bob"
    edit.apply(w, [O.KeyRemove(id="cup", path="transform.position", frame=0)], "user:bob")
    assert len(w.entities["cup"].tracks["transform.position"]) == 1
    edit.apply(w, [O.EntityRemove(id="cup")], "user:bob")
    assert "cup" not in w.entities


def test_euler_rotation_is_normalised_to_a_quaternion():
    w = world_with(CUP, O.EntitySet(id="cup", path="transform.rotation", value={"euler_deg": [0, 90, 0]}))
    q = w.entities["cup"].props["transform.rotation"]
    assert q == pytest.approx([0, math.sqrt(0.5), 0, math.sqrt(0.5)])


def test_track_shift_moves_a_slice_and_refuses_to_overwrite():
    w = world_with(CUP, *[O.KeySet(id="cup", path="visible", frame=f, value=True) for f in (0, 10, 20)])
    edit.apply(w, [O.TrackShift(id="cup", path="visible", by=5, start=10, end=20)], "user:alice")
    assert [k.frame for k in w.entities["cup"].tracks["visible"]] == [0, 15, 25]
    rejects(w, [O.TrackShift(id="cup", path="visible", by=15, start=0, end=0)], "by", "existing keys")


def test_removing_an_entity_removes_its_relations_and_unparents_children():
    w = world_with(CUP, CAM, O.EntityCreate(id="saucer", kind="prop", parent="cup"),
                   O.RelationAdd(id="aim", kind="look_at", subject="cam", object="cup"))
    edit.apply(w, [O.EntityRemove(id="cup")], "user:alice")
    assert w.relations == {} and w.entities["saucer"].parent is None


@pytest.mark.parametrize(
    "ops, index, field, words",
    [
        ([O.KeySet(id="cup", path="transform.position", frame=0, value=[float("nan"), 0, 0])], 0, "value", "finite"),
        ([O.KeySet(id="cup", path="transform.position", frame=float("inf"), value=[0, 0, 0])], 0, "frame", "finite"),
        ([O.EntitySet(id="ghost", path="color", value=[1, 0, 0])], 0, "id", "unknown entity"),
        ([O.EntitySet(id="cup", path="transform.position", value="up")], 0, "value", "list of 3"),
        ([O.EntitySet(id="cup", path="transform.rotation", value=[0, 0, 0, 0])], 0, "value", "zero length"),
        ([O.EntitySet(id="cup", path="transform.scale", value=[1, 0, 1])], 0, "value", "> 0"),
        ([O.EntitySet(id="cup", path="visible", value=1)], 0, "value", "true or false"),
        ([O.EntitySet(id="cup", path="colour", value=[1, 0, 0])], 0, "path", "unknown attribute"),
        ([O.EntitySet(id="cup", path="camera.f_stop", value=2.0)], 0, "path", "does not apply"),
        ([O.EntitySet(id="cam", path="camera.focal_length_mm", value=0.5)], 0, "value", "≥ 1"),
        ([O.EntitySet(id="cam", path="camera.focal_length_mm", value=2500)], 0, "value", "≤ 2000"),
        ([O.EntitySet(id="cam", path="camera.f_stop", value=200)], 0, "value", "≤ 128"),
        ([O.EntitySet(id="sun", path="light.color_temperature_k", value=500)], 0, "value", "≥ 1000"),
        ([O.EntitySet(id="sun", path="light.cone_deg", value=180)], 0, "value", "≤ 179"),
        ([O.EntitySet(id="sun", path="light.intensity", value=-1)], 0, "value", "≥ 0"),
        ([O.EntitySet(id="sun", path="light.type", value="laser")], 0, "value", "one of"),
        ([O.KeySet(id="cup", path="geometry", frame=0, value={"primitive": "sphere", "radius": 1})], 0, "path",
         "static"),
        ([O.EntitySet(id="cup", path="geometry", value={"primitive": "box", "size": [1, -1, 1]})], 0, "value", "> 0"),
        ([O.EntitySet(id="hero", path="joints.tail.rotation", value=[0, 0, 0, 1])], 0, "path", "unknown joint"),
        ([O.EntitySet(id="hero", path="joints.spine.position", value=[0, 0, 0])], 0, "path", "root joint"),
        ([O.EntityCreate(id="bad id!", kind="prop")], 0, "id", "must match"),
        ([O.EntityCreate(id="cup", kind="prop")], 0, "id", "already exists"),
        ([O.KeyRemove(id="cup", path="color", frame=3)], 0, "frame", "no key"),
        ([O.SkeletonSet(id="cup", joints=[{"name": "root"}])], 0, "id", "only characters"),
        ([O.RelationAdd(id="r", kind="attached_to", subject="cup", object="hero", joint="tail")], 0, "joint",
         "no joint"),
        ([O.DirectiveUpdate(id="nope", params={})], 0, "id", "unknown directive"),
        # the second op fails: the first (valid) op must not stay applied
        ([O.EntitySet(id="cup", path="color", value=[1, 0, 0]), O.EntitySet(id="cup", path="color", value=[2, 0, 0])],
         1, "value", "0–1"),
        ([O.EntityCreate(id="new", kind="prop"), O.EntityCreate(id="new", kind="light")], 1, "id", "already exists"),
    ],
)
def test_bad_input_is_rejected_whole_with_a_clear_reason(ops, index, field, words):
    w = world_with(CUP, CAM, O.EntityCreate(id="sun", kind="light"),
                   O.EntityCreate(id="hero", kind="character"),
                   O.SkeletonSet(id="hero", joints=[{"name": "hips"}, {"name": "spine", "parent": "hips",
                                                                     "offset": [0, 0.2, 0]}]))
    rejects(w, ops, field, words, index)


def test_parent_and_attachment_cycles_are_rejected():
    w = world_with(O.EntityCreate(id="a", kind="prop"), O.EntityCreate(id="b", kind="prop", parent="a"),
                   O.EntityCreate(id="c", kind="prop"),
                   O.RelationAdd(id="hold", kind="attached_to", subject="c", object="b"))
    rejects(w, [O.EntitySet(id="a", path="parent", value="b")], "value", "cycle")
    rejects(w, [O.RelationAdd(id="r2", kind="attached_to", subject="a", object="c")], "object", "cycle")


def test_skeleton_cycles_and_unknown_parents_are_rejected():
    w = world_with(O.EntityCreate(id="hero", kind="character"))
    rejects(w, [O.SkeletonSet(id="hero", joints=[{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}])],
            "joints", "no root")
    rejects(w, [O.SkeletonSet(id="hero", joints=[{"name": "r"}, {"name": "a", "parent": "b"},
                                                  {"name": "b", "parent": "a"}])], "joints", "cycle")
    rejects(w, [O.SkeletonSet(id="hero", joints=[{"name": "r"}, {"name": "a", "parent": "zz"}])], "joints",
            "unknown parent")


def test_check_validates_without_changing_the_world():
    w = world_with(CUP)
    before = copy.deepcopy(w)
    edit.check(w, [O.EntitySet(id="cup", path="color", value=[1, 0, 0]), O.EntityRemove(id="cup")], "user:a")
    assert w == before


@pytest.mark.parametrize(
    "raw, words",
    [
        (b'[{"type": "entity.explode", "id": "x"}]', "entity.explode"),
        (b'[{"type": "entity.set", "id": "x", "path": "color"}]', "value"),
        (b'[{"type": "key.set", "id": "x", "path": "color", "frame": "ten", "value": [1, 1, 1]}]', "$[0].frame"),
        (b'[{"type": "entity.create", "id": "x", "kind": "dragon"}]', "$[0].kind"),
        (b'[{"type": "entity.set", "id": "x", "path": "color", "value": [1, 1, 1], "extra": 1}]', "extra"),
        (b'[{"type": "key.set", "id": "x"', "truncated"),
    ],
)
def test_malformed_ops_fail_to_decode_naming_the_field(raw, words):
    with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)) as info:
        decode_ops(raw)
    assert words in str(info.value)
