"""Tests written against mutants of ``core/sampling.py`` that survived ``bench/mutation.sh 'core.sampling.*'``: the
sampled world (``GET …/world?frame=``, renders and exports) in the cases no other test pinned — the JSON form field
by field, attachment ranges at their ends, look_at on scaled props and on characters with and without a skeleton,
a camera's lens from a non-default sensor, an empty world (see ``bench/MUTATION.md``)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from core import camera, edit, subject
from core import ops as O
from core.sampling import sample, sample_json
from core.world import World


def _world(ops: list) -> World:
    w = World(project="p", shot="s")
    edit.apply(w, ops, "user:alice")
    return w


def test_the_json_form_holds_every_field_with_its_value():
    w = _world([
        O.EntityCreate(id="box", kind="prop", props={
            "transform.scale": [2, 3, 4], "color": [0.1, 0.2, 0.3], "visible": False,
            "geometry": {"asset": "statue"}}),
        O.EntityCreate(id="spot", kind="light", props={
            "light.type": "spot", "light.intensity": 50, "light.cone_deg": 30, "light.blend": 0.2,
            "light.size_m": 0.5, "light.shadow": False, "light.color": [1, 0.5, 0.25]}),
        O.EntityCreate(id="warm", kind="light", props={"light.color_temperature_k": 3200}),
    ])
    out = sample_json(w, 0)
    box, spot, warm = (out["entities"][i] for i in ("box", "spot", "warm"))
    assert (box["kind"], box["level"], box["scale"], box["visible"]) == ("prop", "L2", [2.0, 3.0, 4.0], False)
    assert box["color"] == pytest.approx([0.1, 0.2, 0.3])
    assert sample_json(w, 0, is_mesh_asset=lambda a: a == "statue")["entities"]["box"]["level"] == "L3"
    assert spot["light"] == {"type": "spot", "intensity": 50.0, "color": [1.0, 0.5, 0.25],
                             "color_temperature_k": None, "cone_deg": 30.0, "blend": 0.2, "size_m": 0.5,
                             "shadow": False}
    assert warm["light"]["color_temperature_k"] == 3200.0 and warm["light"]["shadow"] is True
    assert spot["visible"] is True and warm["visible"] is True
    assert sample_json(World(project="p", shot="s"), 3) == {"frame": 3.0, "entities": {}}


def test_an_empty_world_samples_to_empty_arrays_of_the_right_shapes():
    s = sample(World(project="p", shot="s"), [0, 1])
    assert s.matrices.shape == (2, 0, 4, 4) and s.visible.shape == (2, 0) and s.color.shape == (2, 0, 3)
    assert s.visible.dtype == bool
    s = sample(_world([O.EntityCreate(id="a", kind="prop")]), [0, 1])
    assert s.visible.dtype == bool and s.visible.all()


def test_frames_must_be_a_finite_vector():
    with pytest.raises(ValueError, match=r"^frames must be a number or have shape \(F,\), got \(1, 2\)$"):
        sample(World(project="p", shot="s"), [[0, 1]])
    with pytest.raises(ValueError, match="^frames must be finite$"):
        sample(World(project="p", shot="s"), [0, float("nan")])


def test_an_attachment_holds_from_its_start_frame_until_just_before_its_end():
    w = _world([
        O.EntityCreate(id="hand", kind="prop", props={"transform.position": [5, 0, 0]}),
        O.EntityCreate(id="shelf", kind="prop", props={"transform.position": [0, 0, 7]}),
        O.EntityCreate(id="cup", kind="prop"),
        O.RelationAdd(id="a-later", kind="attached_to", subject="cup", object="shelf", start=100, end=110),
        O.RelationAdd(id="b-hold", kind="attached_to", subject="cup", object="hand", start=10, end=20),
    ])
    s = sample(w, [9, 10, 19.5, 20])  # the shelf's relation, first in id order, holds at none of them
    m = s.matrices[:, s.ids.index("cup")]
    assert list(m[:, 0, 3]) == [0.0, 5.0, 5.0, 0.0] and list(m[:, 2, 3]) == [0.0] * 4
    s = sample(w, [105])
    assert list(s.matrices[0, s.ids.index("cup"), :3, 3]) == [0.0, 0.0, 7.0]


def test_a_cycle_in_a_hand_built_world_is_refused_naming_an_entity_on_it():
    w = _world([O.EntityCreate(id=i, kind="prop") for i in ("a", "b", "c", "d")] + [
        O.EntitySet(id="b", path="parent", value="a"),
        O.RelationAdd(id="r", kind="attached_to", subject="c", object="b")])
    sample(w, [0])
    w.entities["a"].parent = "c"  # no edit makes this: a → c → b → a
    with pytest.raises(ValueError, match=r"^parent/attachment cycle through 'a'$"):
        sample(w, [0])
    w.entities["0"] = copy.deepcopy(w.entities["d"])  # sorts first and enters the cycle from outside it
    w.entities["0"].id, w.entities["0"].parent = "0", "a"
    with pytest.raises(ValueError, match=r"^parent/attachment cycle through 'a'$"):
        sample(w, [0])
    w.entities["a"].parent = "a"
    with pytest.raises(ValueError, match=r"^parent/attachment cycle through 'a'$"):
        sample(w, [0])


def test_a_long_chain_of_attachments_and_parents_samples_without_deep_recursion():
    """600 links, each an attachment or a parent, named so that sorted order meets the tip first (resolving it
    lazily would recurse 600 deep); ``a1`` → ``a2`` makes an id that is reached before its own turn."""
    n = 600
    name = lambda i: f"z{n - i:04d}"  # noqa: E731 - the base is z0600, the tip z0001
    ops = [O.EntityCreate(id="a2", kind="prop"), O.EntityCreate(id="a1", kind="prop", parent="a2"),
           O.EntityCreate(id=name(0), kind="prop", props={"transform.position": [1, 0, 0]})]
    for i in range(1, n):
        ops.append(O.EntityCreate(id=name(i), kind="prop", props={"transform.position": [1, 0, 0]}))
        ops.append(O.RelationAdd(id=f"r{i}", kind="attached_to", subject=name(i), object=name(i - 1))
                   if i % 2 else O.EntitySet(id=name(i), path="parent", value=name(i - 1)))
    s = sample(_world(ops), [0])
    assert s.matrices[0, s.ids.index(name(n - 1)), 0, 3] == float(n)


def test_a_relation_to_an_entity_that_is_gone_is_ignored_and_the_rest_still_apply():
    """A hand-built world (a restore's target before its dangling relations are dropped) may name a missing
    entity; the relations after it in id order still apply."""
    w = _world([
        O.EntityCreate(id="hand", kind="prop", props={"transform.position": [5, 0, 0]}),
        O.EntityCreate(id="cup", kind="prop"), O.EntityCreate(id="ghost", kind="prop"),
        O.EntityCreate(id="saucer", kind="prop"),
        O.RelationAdd(id="a", kind="attached_to", subject="saucer", object="ghost"),
        O.RelationAdd(id="b", kind="attached_to", subject="cup", object="hand"),
    ])
    del w.entities["ghost"]
    s = sample(w, [0])
    assert s.matrices[0, s.ids.index("cup"), 0, 3] == 5.0


def test_look_at_turns_a_scaled_prop_and_keeps_its_scale():
    w = _world([
        O.EntityCreate(id="arrow", kind="prop", props={"transform.scale": [2, 3, 4],
                                                        "transform.rotation": {"euler_deg": [0, 0, 90]}}),
        O.EntityCreate(id="target", kind="prop", props={"transform.position": [3, 0, 0]}),
        O.RelationAdd(id="aim", kind="look_at", subject="arrow", object="target"),
    ])
    s = sample(w, [0])
    m = s.matrices[0, s.ids.index("arrow")]
    assert np.allclose(np.linalg.norm(m[:3, :3], axis=0), [2, 3, 4])
    assert np.allclose(-m[:3, 2] / 4, [1, 0, 0])  # −Z towards the target


def test_a_character_looking_at_something_above_turns_about_the_vertical_only():
    w = _world([
        O.EntityCreate(id="alice", kind="character"),
        O.EntityCreate(id="kite", kind="prop", props={"transform.position": [3, 10, 4]}),
        O.RelationAdd(id="aim", kind="look_at", subject="alice", object="kite"),
    ])
    s = sample(w, [0])
    m = s.matrices[0, s.ids.index("alice")]
    assert np.allclose(m[:3, 2], [0.6, 0, 0.8]) and np.allclose(m[:3, 1], [0, 1, 0])


def test_look_at_a_character_aims_at_its_body_centre_with_or_without_a_skeleton():
    for skeleton in (False, True):
        ops = [O.EntityCreate(id="bob", kind="character", props={"transform.position": [0, 0, -10]}),
               O.EntityCreate(id="cam", kind="camera", props={"transform.position": [0, 0.5, 0]}),
               O.RelationAdd(id="aim", kind="look_at", subject="cam", object="bob")]
        if skeleton:
            ops.insert(1, O.SkeletonSet(id="bob", template="biped"))
        s = sample(_world(ops), [0])
        if skeleton:
            centre = subject.body_centre(s.joints["bob"].matrices[:, :, :3, 3])[0]
        else:
            centre = np.array([0, subject.DEFAULT_BODY[1] / 2.0, -10])
        m = s.matrices[0, s.ids.index("cam")]
        want = (centre - m[:3, 3]) / np.linalg.norm(centre - m[:3, 3])
        assert np.allclose(-m[:3, 2], want), skeleton
    assert s.joints["bob"].parents[0] == -1 and list(s.joints["bob"].parents[1:3]) == [0, 0]


def test_look_at_a_joint_aims_at_that_joint_and_an_unknown_joint_at_the_body():
    base = [O.EntityCreate(id="bob", kind="character", props={"transform.position": [0, 0, -10]}),
            O.SkeletonSet(id="bob", template="biped"),
            O.EntityCreate(id="cam", kind="camera")]
    s = sample(_world(base + [O.RelationAdd(id="aim", kind="look_at", subject="cam", object="bob",
                                            joint="head")]), [0])
    head = s.joints["bob"].matrices[0, s.joints["bob"].names.index("head"), :3, 3]
    m = s.matrices[0, s.ids.index("cam")]
    assert np.allclose(-m[:3, 2], head / np.linalg.norm(head))
    w = _world(base + [O.RelationAdd(id="aim", kind="look_at", subject="cam", object="bob", joint="head")])
    w.relations["aim"].joint = "tail"  # a hand-built world: no relation.add names a joint the skeleton lacks
    s = sample(w, [0])
    centre = subject.body_centre(s.joints["bob"].matrices[:, :, :3, 3])[0]
    m = s.matrices[0, s.ids.index("cam")]
    assert np.allclose(-m[:3, 2], centre / np.linalg.norm(centre))


def test_a_camera_lens_uses_its_own_sensor_and_the_shot_resolution():
    w = _world([O.ShotConfigure(resolution=(640, 480)),
                O.EntityCreate(id="cam", kind="camera", props={"camera.focal_length_mm": 50,
                                                                "camera.sensor_mm": [24, 18]})])
    c = sample(w, [0]).cameras["cam"]
    assert np.allclose(c.K[0], camera.intrinsics(np.array([50.0]), (640, 480), np.array([[24.0, 18.0]]))[0])
    assert c.K[0, 0, 0] == pytest.approx(50 / 24 * 640)
    assert np.allclose(c.fov_deg[0], [2 * np.degrees(np.arctan(12 / 50)), 2 * np.degrees(np.arctan(9 / 50))])


def test_look_at_a_target_at_the_subjects_own_position_leaves_its_rotation():
    w = _world([
        O.EntityCreate(id="arrow", kind="prop", props={"transform.rotation": {"euler_deg": [0, 30, 0]}}),
        O.EntityCreate(id="here", kind="prop"),
        O.RelationAdd(id="aim", kind="look_at", subject="arrow", object="here"),
    ])
    s = sample(w, [0])
    alone = sample(_world([O.EntityCreate(id="arrow", kind="prop",
                                          props={"transform.rotation": {"euler_deg": [0, 30, 0]}})]), [0])
    assert np.allclose(s.matrices[0, s.ids.index("arrow")], alone.matrices[0, 0])


def test_a_root_joints_position_moves_the_whole_skeleton():
    ops = [O.EntityCreate(id="bob", kind="character"), O.SkeletonSet(id="bob", template="biped")]
    still = sample(_world(ops), [0]).joints["bob"].matrices[0, :, :3, 3]
    moved = sample(_world(ops + [O.EntitySet(id="bob", path="joints.hips.position", value=[0, 0, 2])]),
                   [0]).joints["bob"].matrices[0, :, :3, 3]
    assert np.allclose(moved - still, [0, 0, 2])


def test_the_vertical_field_of_view_follows_the_shot_resolution_not_the_sensor_height():
    w = _world([O.ShotConfigure(resolution=(1000, 500)),
                O.EntityCreate(id="cam", kind="camera", props={"camera.focal_length_mm": 50,
                                                                "camera.sensor_mm": [36, 24]})])
    fov = sample(w, [0]).cameras["cam"].fov_deg[0]
    assert np.allclose(fov, [2 * np.degrees(np.arctan(18 / 50)), 2 * np.degrees(np.arctan(9 / 50))])
