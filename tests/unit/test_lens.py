"""Lens helpers (field of view, hyperfocal, depth of field, projected size) and where look_at aims."""

from __future__ import annotations

import numpy as np
import pytest

from core import lens
from core import ops as O
from core.camera import project
from core.edit import apply
from core.sampling import sample
from core.subject import body_box, entity_boxes
from core.world import World


def test_fov_and_focal_length_are_inverse_for_any_sensor():
    # 35 mm on a full-frame width → 54.43° (the figure every lens table gives)
    assert lens.fov_from_focal(35.0, 36.0) == pytest.approx(54.432, abs=1e-3)
    # 50 mm on Super 35 (24.89 mm wide) → 27.95°; 24 mm on a 17.3 mm Micro Four Thirds width → 39.64°
    assert lens.fov_from_focal(50.0, 24.89) == pytest.approx(27.954, abs=0.001)
    assert lens.fov_from_focal(24.0, 17.3) == pytest.approx(39.64, abs=0.01)
    f = np.array([12.0, 35.0, 85.0, 600.0])
    for s in (36.0, 24.89, 6.17):
        assert np.allclose(lens.focal_from_fov(lens.fov_from_focal(f, s), s), f)
    with pytest.raises(ValueError, match="field of view"):
        lens.focal_from_fov(180.0, 36.0)
    with pytest.raises(ValueError, match="focal"):
        lens.fov_from_focal(0.0, 36.0)


def test_hyperfocal_and_depth_of_field_match_published_tables():
    # 50 mm f/8 full frame, c = 0.03 mm → H = 50²/(8·0.03) + 50 = 10.467 m (the classic table value 10.4 m)
    assert lens.hyperfocal_m(50.0, 8.0, 0.03) == pytest.approx(10.4667, abs=1e-3)
    assert lens.circle_of_confusion_mm((36.0, 24.0)) == pytest.approx(0.02884, abs=1e-5)
    # focused at 3 m: s(H−f)/(H+s−2f) = 2.338 m, s(H−f)/(H−s) = 4.185 m
    near, far = lens.depth_of_field_m(50.0, 8.0, 3.0, 0.03)
    assert near == pytest.approx(2.3379, abs=1e-3) and far == pytest.approx(4.1853, abs=1e-3)
    h = lens.hyperfocal_m(50.0, 8.0, 0.03)
    near, far = lens.depth_of_field_m(50.0, 8.0, h, 0.03)
    assert np.isinf(far) and near == pytest.approx(h / 2, rel=0.01)
    # stopping down deepens the field
    n1, f1 = lens.depth_of_field_m(85.0, 1.4, 2.0)
    n2, f2 = lens.depth_of_field_m(85.0, 11.0, 2.0)
    assert n2 < n1 < 2.0 < f1 < f2
    with pytest.raises(ValueError, match="focus distance"):
        lens.depth_of_field_m(50.0, 2.0, 0.04)


def test_projected_size_of_a_box_matches_the_frame_height_formula():
    res = (1280, 720)
    w = World(project="p", shot="s")
    apply(w, [O.ShotConfigure(resolution=res),
              O.EntityCreate(id="cam", kind="camera", props={"transform.position": [0, 1.0, 10.0],
                                                             "camera.focal_length_mm": 50.0}),
              O.EntityCreate(id="crate", kind="prop", props={"geometry": {"primitive": "box", "size": [1, 2, 1]},
                                                             "transform.position": [0, 0, 0]})], "user:t")
    s = sample(w, [0.0])
    cam = s.cameras["cam"]
    lo, hi = entity_boxes(w, s, "crate")
    bounds, front = lens.projected_bounds(cam.K, cam.world_to_camera, lens.box_corners(lo, hi))
    assert front.all()
    sensor_h = lens.image_sensor_height_mm(cam.sensor_mm, res)           # 36 · 720/1280 = 20.25 mm
    assert sensor_h[0] == pytest.approx(20.25)
    # the box's front face (depth 9.5 m) spans 2 m: 2 / (9.5 · 20.25/50) of the frame height
    frac_front = (bounds[0, 3] - bounds[0, 1]) / res[1]
    assert frac_front == pytest.approx(2.0 / lens.frame_height_at_m(50.0, 20.25, 9.5), rel=1e-9)
    size, front = lens.projected_size(cam.K, cam.world_to_camera, lo, hi, (1280, 720))
    assert front.all() and size[0, 1] == pytest.approx(frac_front)
    # 1 m wide at 9.5 m on a 36 mm wide sensor at 50 mm: 1 / (9.5 · 36 / 50) of the width
    assert size[0, 0] == pytest.approx(1.0 / (9.5 * 36.0 / 50.0), rel=1e-9)
    # the size at the centre's depth, and its inverses
    frac = lens.size_fraction(2.0, 50.0, 20.25, 10.0)
    assert lens.focal_for_size(frac, 2.0, 20.25, 10.0) == pytest.approx(50.0)
    assert lens.distance_for_size(frac, 2.0, 50.0, 20.25) == pytest.approx(10.0)


def _alice(extra=()):
    w = World(project="p", shot="s")
    apply(w, [O.ShotConfigure(resolution=(640, 360)),
              O.EntityCreate(id="alice", kind="character", props={"transform.position": [1.0, 0.0, 0.0]}),
              O.SkeletonSet(id="alice", template="biped"),
              O.EntityCreate(id="cam", kind="camera", props={"transform.position": [1.0, 1.6, 6.0],
                                                             "camera.focal_length_mm": 35.0}),
              *extra], "user:t")
    return w


def test_look_at_a_character_aims_at_its_body_centre_and_a_joint_at_that_joint():
    w = _alice([O.RelationAdd(id="aim", kind="look_at", subject="cam", object="alice")])
    s = sample(w, [0.0])
    cam, js = s.cameras["cam"], s.joints["alice"]
    lo, hi = body_box(js.matrices[0, :, :3, 3])
    centre = (lo + hi) / 2
    assert 0.8 < centre[1] < 1.0                                       # the hips of a 1.75 m biped, not the feet
    uv = project(cam.K[0], cam.world_to_camera[0], centre[None])[0]
    assert np.allclose(uv, [320.0, 180.0], atol=1e-6)                   # the body centre is the image centre
    head_top = js.matrices[0, js.names.index("head_top"), :3, 3]
    feet = np.array([1.0, 0.0, 0.0])
    v = project(cam.K[0], cam.world_to_camera[0], np.stack([head_top, feet]))[:, 1]
    assert 0 < v[0] < 180 < v[1] < 360                                  # head and feet both in frame

    w = _alice([O.RelationAdd(id="aim", kind="look_at", subject="cam", object="alice", joint="head")])
    s = sample(w, [0.0])
    cam, js = s.cameras["cam"], s.joints["alice"]
    head = js.matrices[0, js.names.index("head"), :3, 3]
    assert np.allclose(project(cam.K[0], cam.world_to_camera[0], head[None])[0], [320.0, 180.0], atol=1e-6)
