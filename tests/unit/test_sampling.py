"""Sampling worlds: parents, attachments to joints, look_at, cameras, lights, visibility and the JSON form."""

import json

import numpy as np
import pytest

from core import ops as O
from core import quat
from core.camera import project
from core.edit import apply
from core.sampling import sample, sample_json
from core.world import World


def deg_y(a):
    return quat.from_axis_angle([0, 1, 0], np.radians(a)).tolist()


def world_with(*ops, resolution=(832, 480)):
    w = World(project="p", shot="s", resolution=resolution)
    apply(w, list(ops), "user:test")
    return w


def test_parented_entity_follows_its_animated_parent():
    w = world_with(
        O.EntityCreate(id="table", kind="prop", props={"transform.rotation": deg_y(90),
                                                       "transform.scale": [2.0, 2.0, 2.0]}),
        O.KeySet(id="table", path="transform.position", frame=0, value=[0, 0, 0], interp="linear"),
        O.KeySet(id="table", path="transform.position", frame=10, value=[2, 0, 0], interp="linear"),
        O.EntityCreate(id="cup", kind="prop", parent="table", props={"transform.position": [1.0, 0.5, 0.0]}),
    )
    s = sample(w, [0, 5])
    i = s.ids.index("cup")
    # table: T(x, 0, 0)·Ry(90)·S(2); the cup's local (1, 0.5, 0) → scaled (2, 1, 0) → rotated (0, 1, −2)
    np.testing.assert_allclose(s.matrices[:, i, :3, 3], [[0, 1, -2], [1, 1, -2]], atol=1e-12)
    assert s.matrices.shape == (2, 2, 4, 4) and s.ids == ["cup", "table"]


def test_attachment_to_a_biped_wrist_follows_the_hand():
    w = world_with(
        O.EntityCreate(id="alice", kind="character", props={"transform.position": [2.0, 0.0, 0.0],
                                                            "transform.rotation": deg_y(180),
                                                            "transform.scale": [2.0, 2.0, 2.0]}),
        O.SkeletonSet(id="alice", template="biped"),
        O.KeySet(id="alice", path="joints.l_elbow.rotation", frame=0, value=[0, 0, 0, 1], interp="linear"),
        O.KeySet(id="alice", path="joints.l_elbow.rotation", frame=10, value=deg_y(-90), interp="linear"),
        O.EntityCreate(id="table", kind="prop", props={"transform.position": [5.0, 0.0, 5.0]}),
        O.EntityCreate(id="cup", kind="prop", parent="table"),
        O.RelationAdd(id="hold", kind="attached_to", subject="cup", object="alice", joint="l_wrist",
                      offset=[0.05, 0.0, 0.0]),
    )
    s = sample(w, [0, 10])
    cup = s.matrices[:, s.ids.index("cup")]
    # Alice: T(2, 0, 0)·Ry(180)·S(2) maps (x, y, z) → (2 − 2x, 2y, −2z).
    # frame 0: wrist at (0.75, 1.43, 0) in her frame → (0.5, 2.86, 0); the offset is 0.05 along the wrist's +X,
    # which the 180° turn points along world −X, unscaled (the anchor's scale is removed): cup (0.45, 2.86, 0)
    np.testing.assert_allclose(cup[0, :3, 3], [0.45, 2.86, 0.0], atol=1e-12)
    # frame 10: elbow bent −90° about Y; wrist at (0.49, 1.43, 0.26) → (1.02, 2.86, −0.52); the wrist's +X now
    # points along her +Z = world −Z: cup (1.02, 2.86, −0.57)
    np.testing.assert_allclose(cup[1, :3, 3], [1.02, 2.86, -0.57], atol=1e-12)
    # the cup is rigid (scale 1) and turned with the hand: its +X points along world −Z
    np.testing.assert_allclose(cup[1, :3, 0], [0, 0, -1], atol=1e-12)
    js = s.joints["alice"]
    np.testing.assert_allclose(js.matrices[1, js.names.index("l_wrist"), :3, 3], [1.02, 2.86, -0.52], atol=1e-12)


def test_camera_with_look_at_frames_its_target():
    w = world_with(
        O.EntityCreate(id="ball", kind="prop", props={"transform.position": [0.0, 1.0, 0.0]}),
        O.EntityCreate(id="cam", kind="camera", props={"transform.position": [0.0, 1.6, 5.0],
                                                       "camera.focal_length_mm": 35.0}),
        O.KeySet(id="ball", path="transform.position", frame=0, value=[0, 1, 0], interp="linear"),
        O.KeySet(id="ball", path="transform.position", frame=24, value=[3, 1, -2], interp="linear"),
        O.RelationAdd(id="aim", kind="look_at", subject="cam", object="ball"),
    )
    s = sample(w, [0, 12, 24])
    c = s.cameras["cam"]
    np.testing.assert_allclose(c.K[0], [[35 * 832 / 36, 0, 416], [0, 35 * 832 / 36, 240], [0, 0, 1]])
    np.testing.assert_allclose(c.fov_deg[0, 0], 2 * np.degrees(np.arctan(18 / 35)))
    ball = s.matrices[:, s.ids.index("ball"), :3, 3]
    for f in range(3):
        uv = project(c.K[f], c.world_to_camera[f], ball[f][None])[0]
        np.testing.assert_allclose(uv, [416, 240], atol=1e-9)
    # the camera stays where it was put and does not roll: its +X is horizontal
    cam = s.matrices[:, s.ids.index("cam")]
    np.testing.assert_allclose(cam[:, :3, 3], [[0, 1.6, 5]] * 3)
    np.testing.assert_allclose(cam[:, 1, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(c.world_to_camera @ cam, np.broadcast_to(np.eye(4), (3, 4, 4)), atol=1e-12)
    assert c.focal_length_mm.tolist() == [35.0] * 3 and c.sensor_mm.tolist() == [[36.0, 24.0]] * 3


def test_look_at_a_joint_and_a_character_turning_to_face():
    w = world_with(
        O.EntityCreate(id="bob", kind="character", props={"transform.position": [4.0, 0.0, 0.0]}),
        O.SkeletonSet(id="bob", template="biped"),
        O.EntityCreate(id="alice", kind="character"),
        O.SkeletonSet(id="alice", template="biped"),
        O.RelationAdd(id="a_looks", kind="look_at", subject="alice", object="bob", joint="head"),
        O.RelationAdd(id="b_looks", kind="look_at", subject="bob", object="alice"),
        O.EntityCreate(id="cam", kind="camera", props={"transform.position": [2.0, 1.5, 6.0]}),
        O.RelationAdd(id="aim", kind="look_at", subject="cam", object="bob", joint="head"),
    )
    s = sample(w, [0])
    alice = s.matrices[0, s.ids.index("alice")]
    bob = s.matrices[0, s.ids.index("bob")]
    # characters face +Z: each turns about Y only so that +Z points at the other
    np.testing.assert_allclose(alice[:3, 2], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(bob[:3, 2], [-1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(alice[:3, 1], [0, 1, 0], atol=1e-12)
    head = s.joints["bob"].matrices[0, s.joints["bob"].names.index("head"), :3, 3]
    np.testing.assert_allclose(head, [4, 1.57, 0], atol=1e-12)
    c = s.cameras["cam"]
    np.testing.assert_allclose(project(c.K[0], c.world_to_camera[0], head[None])[0], [416, 240], atol=1e-9)


def test_look_at_that_would_be_circular_is_ignored():
    w = world_with(
        O.EntityCreate(id="rig", kind="camera", props={"transform.rotation": deg_y(30)}),
        O.EntityCreate(id="marker", kind="prop", parent="rig", props={"transform.position": [2.0, 1.0, -3.0]}),
        O.RelationAdd(id="aim", kind="look_at", subject="rig", object="marker"),
        O.EntityCreate(id="other", kind="camera", props={"transform.position": [0.0, 0.0, 5.0]}),
        O.RelationAdd(id="aim2", kind="look_at", subject="other", object="marker"),
    )
    s = sample(w, [0])
    # the marker hangs off the rig's own rotation, so aiming the rig at it is circular: the rig keeps its rotation
    np.testing.assert_allclose(s.matrices[0, s.ids.index("rig"), :3, :3], quat.to_matrix(deg_y(30)), atol=1e-12)
    # another camera can still aim at the marker
    c = s.cameras["other"]
    marker = s.matrices[0, s.ids.index("marker"), :3, 3]
    np.testing.assert_allclose(project(c.K[0], c.world_to_camera[0], marker[None])[0], [416, 240], atol=1e-9)


def test_visibility_is_stepped_and_inherited_from_parents():
    w = world_with(
        O.EntityCreate(id="box", kind="prop"),
        O.EntityCreate(id="lid", kind="prop", parent="box"),
        O.KeySet(id="box", path="visible", frame=10, value=False, interp="linear"),
        O.KeySet(id="box", path="visible", frame=0, value=True, interp="linear"),
    )
    s = sample(w, [0, 9.5, 10, 20])
    assert s.visible[:, s.ids.index("box")].tolist() == [True, True, False, False]
    assert s.visible[:, s.ids.index("lid")].tolist() == [True, True, False, False]


def test_light_colour_temperature_wins_and_parameters_are_sampled():
    w = world_with(
        O.EntityCreate(id="key", kind="light", props={"light.type": "spot", "light.color": [0.0, 1.0, 0.0],
                                                      "light.intensity": 500.0, "light.cone_deg": 40.0}),
        O.EntityCreate(id="fill", kind="light", props={"light.color": [0.0, 1.0, 0.0]}),
        O.KeySet(id="key", path="light.color_temperature_k", frame=0, value=3200.0, interp="linear"),
        O.KeySet(id="key", path="light.color_temperature_k", frame=10, value=6500.0, interp="linear"),
    )
    s = sample(w, [0, 10])
    key = s.lights["key"]
    assert key.type == "spot"
    assert key.intensity.tolist() == [500.0, 500.0] and key.cone_deg.tolist() == [40.0, 40.0]
    assert key.color[0, 0] == 1.0 and key.color[0, 2] < 0.3  # warm tungsten
    assert key.color[1].min() > 0.93                       # near white
    np.testing.assert_allclose(s.lights["fill"].color, [[0, 1, 0]] * 2)
    assert s.lights["fill"].type == "point" and s.lights["fill"].shadow.tolist() == [True, True]


def test_sample_json_is_plain_json_in_the_documented_form():
    w = world_with(
        O.EntityCreate(id="alice", kind="character", props={"transform.position": [1.0, 0.0, 0.0]}),
        O.SkeletonSet(id="alice", template="biped"),
        O.EntityCreate(id="cam", kind="camera", props={"transform.position": [0.0, 1.0, 4.0],
                                                       "transform.rotation": deg_y(10)}),
        O.EntityCreate(id="sun", kind="light", props={"light.type": "sun", "light.color_temperature_k": 5500.0}),
    )
    d = sample_json(w, 12)
    assert json.loads(json.dumps(d)) == d
    assert d["frame"] == 12.0 and set(d["entities"]) == {"alice", "cam", "sun"}
    alice = d["entities"]["alice"]
    assert alice["kind"] == "character"
    assert alice["matrix"][0][3] == 1.0  # row-major: translation in the last column
    assert alice["position"] == [1.0, 0.0, 0.0] and alice["rotation"] == [0.0, 0.0, 0.0, 1.0]
    assert alice["joints"]["hips"][1][3] == pytest.approx(0.95)
    cam = d["entities"]["cam"]
    assert set(cam["camera"]) == {"K", "world_to_camera", "fov_deg", "focal_length_mm", "sensor_mm",
                                  "focus_distance_m", "f_stop", "near_m", "far_m"}
    np.testing.assert_allclose(cam["rotation"], deg_y(10), atol=1e-12)
    np.testing.assert_allclose(np.array(cam["camera"]["world_to_camera"]) @ np.array(cam["matrix"]), np.eye(4),
                               atol=1e-12)
    sun = d["entities"]["sun"]["light"]
    assert sun["type"] == "sun" and sun["color_temperature_k"] == 5500.0 and max(sun["color"]) == 1.0


def test_empty_world_and_bad_frames():
    w = World(project="p", shot="s")
    s = sample(w, [0, 1, 2])
    assert s.matrices.shape == (3, 0, 4, 4) and s.ids == []
    assert sample_json(w, 0) == {"frame": 0.0, "entities": {}}
    with pytest.raises(ValueError, match="finite"):
        sample(w, [np.nan])


def test_a_long_parent_chain_does_not_exhaust_the_stack():
    ops = [O.EntityCreate(id="n0", kind="prop", props={"transform.position": [0.0, 0.0, 1.0]})]
    for i in range(1, 1500):
        ops.append(O.EntityCreate(id=f"n{i}", kind="prop", parent=f"n{i - 1}",
                                  props={"transform.position": [0.0, 0.0, 1.0]}))
    s = sample(world_with(*ops), [0])
    assert s.matrices[0, s.ids.index("n1499"), 2, 3] == pytest.approx(1500.0)
