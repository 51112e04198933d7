"""The world the export tests write and read back: every kind, every exported property animated, hierarchy,
attachment and look_at (which exports flatten into world space), a shot that starts at frame 10."""

from __future__ import annotations

import numpy as np

from core import ops as O
from core import quat
from core.edit import apply
from core.sampling import sample
from core.world import World
from renderers.export.scene import build_scene, continuous_quats, shot_frames


def deg(axis, a):
    return quat.from_axis_angle(axis, np.radians(a)).tolist()


def rich_world() -> World:
    w = World(project="p", shot="take-1", fps=25.0, frame_start=10.0, frame_end=34.0, resolution=(832, 480))
    lin = "linear"
    apply(w, [
        O.EntityCreate(id="alice", kind="character", name="Alice",
                       props={"transform.scale": [1.2, 1.2, 1.2], "color": [0.9, 0.3, 0.2]}),
        O.SkeletonSet(id="alice", template="biped"),
        O.KeySet(id="alice", path="transform.position", frame=10, value=[0, 0, 0], interp=lin),
        O.KeySet(id="alice", path="transform.position", frame=34, value=[3, 0, 1], interp="auto"),
        O.KeySet(id="alice", path="transform.rotation", frame=10, value=deg([0, 1, 0], 0), interp=lin),
        O.KeySet(id="alice", path="transform.rotation", frame=34, value=deg([0, 1, 0], 170), interp=lin),
        O.KeySet(id="alice", path="joints.l_elbow.rotation", frame=10, value=[0, 0, 0, 1], interp=lin),
        O.KeySet(id="alice", path="joints.l_elbow.rotation", frame=34, value=deg([0, 1, 0], -100), interp=lin),
        O.KeySet(id="alice", path="joints.r_knee.rotation", frame=12, value=deg([1, 0, 0], 60)),
        O.KeySet(id="alice", path="joints.r_knee.rotation", frame=30, value=deg([1, 0.2, 0], 5)),
        O.KeySet(id="alice", path="joints.spine.rotation", frame=10, value=deg([0, 0, 1], 20)),
        O.KeySet(id="alice", path="joints.spine.rotation", frame=34, value=deg([0, 1, 1], -30)),
        O.KeySet(id="alice", path="joints.hips.position", frame=10, value=[0, 0, 0]),
        O.KeySet(id="alice", path="joints.hips.position", frame=20, value=[0, -0.05, 0.1]),
        O.KeySet(id="alice", path="joints.hips.position", frame=34, value=[0.1, 0.02, 0.3]),
        O.EntityCreate(id="rex", kind="character", props={"transform.position": [-2.0, 0.0, 1.0],
                                                           "transform.scale": [1.0, 1.5, 0.8]}),
        O.SkeletonSet(id="rex", template="quadruped"),
        O.KeySet(id="rex", path="joints.tail_1.rotation", frame=10, value=deg([0, 1, 0], -40)),
        O.KeySet(id="rex", path="joints.tail_1.rotation", frame=34, value=deg([0, 1, 0], 40)),
        O.EntityCreate(id="ghost", kind="character", props={"transform.position": [4.0, 0.0, -2.0]}),
        O.EntityCreate(id="floor", kind="environment",
                       props={"geometry": {"primitive": "plane", "size": [20.0, 20.0]}}),
        O.EntityCreate(id="table.main", kind="prop", props={"geometry": {"primitive": "box",
                                                                          "size": [1.6, 0.75, 0.9]},
                                                             "transform.rotation": deg([0, 1, 0], 30)}),
        O.KeySet(id="table.main", path="transform.position", frame=10, value=[1, 0, -1], interp=lin),
        O.KeySet(id="table.main", path="transform.position", frame=34, value=[1.5, 0, -1.2], interp=lin),
        O.EntityCreate(id="vase", kind="prop", parent="table.main",
                       props={"geometry": {"primitive": "cylinder", "radius": 0.08, "height": 0.3},
                              "transform.position": [0.2, 0.75, 0.0], "transform.scale": [1.0, 2.0, 1.0]}),
        O.EntityCreate(id="ball", kind="prop", props={"geometry": {"primitive": "sphere", "radius": 0.11}}),
        O.KeySet(id="ball", path="visible", frame=10, value=True),
        O.KeySet(id="ball", path="visible", frame=20, value=False),
        O.KeySet(id="ball", path="transform.position", frame=10, value=[0, 2, 2]),
        O.KeySet(id="ball", path="transform.position", frame=34, value=[0, 0.1, 3]),
        O.EntityCreate(id="pill", kind="prop", props={"geometry": {"primitive": "capsule", "radius": 0.05,
                                                                    "height": 0.3}}),
        O.RelationAdd(id="held", kind="attached_to", subject="pill", object="alice", joint="l_wrist",
                      offset=[0.05, 0.0, 0.0]),
        O.EntityCreate(id="statue", kind="prop", props={"geometry": {"asset": "statue-01"},
                                                         "transform.position": [-3.0, 0.0, -3.0]}),
        O.EntityCreate(id="cam_a", kind="camera", props={"transform.position": [0.0, 1.6, 6.0],
                                                         "camera.sensor_mm": [24.89, 18.66],
                                                         "camera.near_m": 0.05, "camera.far_m": 300.0}),
        O.KeySet(id="cam_a", path="camera.focal_length_mm", frame=10, value=24.0),
        O.KeySet(id="cam_a", path="camera.focal_length_mm", frame=34, value=85.0),
        O.KeySet(id="cam_a", path="camera.focus_distance_m", frame=10, value=6.0),
        O.KeySet(id="cam_a", path="camera.focus_distance_m", frame=34, value=3.5),
        O.KeySet(id="cam_a", path="camera.f_stop", frame=10, value=2.8),
        O.KeySet(id="cam_a", path="transform.position", frame=10, value=[0.0, 1.6, 6.0], interp=lin),
        O.KeySet(id="cam_a", path="transform.position", frame=34, value=[-2.0, 2.5, 4.0], interp=lin),
        O.RelationAdd(id="aim", kind="look_at", subject="cam_a", object="alice", joint="head"),
        O.EntityCreate(id="key", kind="light", props={"light.type": "spot", "transform.position": [3.0, 4.0, 3.0],
                                                      "light.blend": 0.3, "light.size_m": 0.2}),
        O.KeySet(id="key", path="light.intensity", frame=10, value=800.0),
        O.KeySet(id="key", path="light.intensity", frame=34, value=1200.0),
        O.KeySet(id="key", path="light.color_temperature_k", frame=10, value=3200.0),
        O.KeySet(id="key", path="light.color_temperature_k", frame=34, value=5600.0),
        O.KeySet(id="key", path="light.cone_deg", frame=10, value=30.0),
        O.KeySet(id="key", path="light.cone_deg", frame=34, value=60.0),
        O.RelationAdd(id="key_aim", kind="look_at", subject="key", object="alice"),
        O.EntityCreate(id="fill", kind="light", props={"light.type": "point", "transform.position": [-3, 2, 2],
                                                       "light.intensity": 150.0}),
        O.KeySet(id="fill", path="light.color", frame=10, value=[1.0, 0.8, 0.6]),
        O.KeySet(id="fill", path="light.color", frame=34, value=[0.6, 0.8, 1.0]),
        O.EntityCreate(id="sun", kind="light", props={"light.type": "sun", "light.intensity": 3.5,
                                                      "transform.rotation": deg([1, 0, 0], -60),
                                                      "light.shadow": False}),
        O.EntityCreate(id="softbox", kind="light", props={"light.type": "area", "light.size_m": 1.2,
                                                          "transform.position": [0, 3, 0]}),
        O.DirectiveAdd(id="framing", agent="shot", params={"camera": "cam_a", "subject": "alice", "size": "MS",
                                                           "start": 10, "end": 34}),
    ], "user:test")
    return w


def test_the_export_world_moves_every_exported_property():
    w = rich_world()
    f = shot_frames(w.frame_start, w.frame_end)
    s = sample(w, f)
    assert list(f[[0, -1]]) == [10.0, 34.0] and len(f) == 25
    assert set(s.kinds) == {"character", "prop", "environment", "camera", "light"}
    moving = {eid for i, eid in enumerate(s.ids) if np.ptp(s.matrices[:, i], axis=0).max() > 1e-3}
    assert {"alice", "table.main", "vase", "ball", "pill", "cam_a", "key"} <= moving
    assert np.ptp(s.cameras["cam_a"].focal_length_mm) > 50 and np.ptp(s.lights["key"].cone_deg) > 20
    assert s.visible[:, s.ids.index("ball")].any() and not s.visible[:, s.ids.index("ball")].all()
    js = s.joints["alice"]
    assert np.ptp(js.matrices[:, js.names.index("l_wrist")], axis=0).max() > 0.1


def test_scene_rotations_are_continuous_and_exact():
    w = rich_world()
    sc = build_scene(w, seq=3, state_hash="h")
    alice = next(t for t in sc.entities if t.id == "alice")
    assert np.all(np.sum(alice.rotation[1:] * alice.rotation[:-1], axis=-1) >= 0)
    q = np.array([[0, 0, 0, 1.0], [0, 0, 0, -1.0], [0, 0, 0, 1.0]])
    np.testing.assert_allclose(continuous_quats(q), [[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1]])
