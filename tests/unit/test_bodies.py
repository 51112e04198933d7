"""White-box bodies (SPEC §7.2): per-template volumes with anthropometric sizes, custom skeletons' capsules with
``radius_m``, placement at sampled joints, and exact bounds, centre and radius."""

from __future__ import annotations

import numpy as np
import pytest

from core import bodies as B
from core import ops as O
from core import quat
from core.edit import apply
from core.sampling import sample
from core.skeleton import normalize_joints
from core.templates import TEMPLATES, template_joints
from core.world import World


def by_name(volumes):
    return {v.name: v for v in volumes}


def extent(v, axis):
    """The volume's full extent along a world axis at rest (joint frames are world-aligned in templates)."""
    r = quat.to_matrix(np.array(v.rotation))
    s = np.array(B.unit_scale(v))
    a = r * s
    if v.shape == "box":
        return 2 * np.abs(a[axis]).sum()
    seg = v.half[1] / min(v.half[0], v.half[2]) - 1.0 if v.shape == "capsule" else 0.0
    return 2 * (np.linalg.norm(a[axis]) + abs(a[axis, 1]) * seg)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_has_a_body_of_known_volumes_on_its_own_joints(name):
    joints = template_joints(name)
    vols = B.template_volumes(name)
    names = {j["name"] for j in joints}
    assert len(vols) >= 10 and len({v.name for v in vols}) == len(vols)
    for v in vols:
        assert v.joint in names and v.shape in B.SHAPES and v.group in B.GROUPS
        assert min(v.half) > 0 and abs(np.linalg.norm(v.rotation) - 1) < 1e-12
        if v.shape == "capsule":
            assert v.half[1] >= min(v.half[0], v.half[2])
    # left and right mirror each other
    for v in vols:
        if v.name.startswith("l_"):
            r = by_name(vols)["r_" + v.name[2:]]
            assert r.half == v.half and r.shape == v.shape and r.joint == "r_" + v.joint[2:]


def test_the_biped_is_a_person_not_a_stick_figure():
    v = by_name(B.template_volumes("biped"))
    # head and torso are solids, hands and feet boxes, limbs capsules
    assert v["head"].shape == "ellipsoid" and v["chest"].shape == "capsule" and v["pelvis"].shape == "ellipsoid"
    assert {v[n].shape for n in ("l_hand", "r_hand", "l_foot", "r_foot")} == {"box"}
    assert {v[n].shape for n in ("l_upper_arm", "l_forearm", "l_thigh", "l_shin")} == {"capsule"}
    # anthropometric sizes of a 1.75 m adult (metres): head 0.2 − 0.25 tall and 0.14 − 0.18 wide; chest 0.3 − 0.4
    # wide; hand 0.17 − 0.21 long; foot 0.24 − 0.28 long, standing on the floor
    assert 0.2 <= extent(v["head"], 1) <= 0.25 and 0.14 <= extent(v["head"], 0) <= 0.18
    assert 0.3 <= extent(v["chest"], 0) <= 0.4 and 0.18 <= extent(v["chest"], 2) <= 0.26
    assert 0.17 <= extent(v["l_hand"], 0) <= 0.21
    assert 0.24 <= extent(v["l_foot"], 2) + extent(v["l_toes"], 2) - 0.0 <= 0.30
    for limb in ("l_upper_arm", "l_forearm", "l_thigh", "l_shin"):
        assert 0.08 <= extent(v[limb], 2) <= 0.16, limb
    lo, hi = B.body_bounds(B.body_of(template_joints("biped")))
    assert abs(lo[1]) < 1e-12 and abs(hi[1] - 1.75) < 1e-12          # feet on the floor, crown at 1.75 m


@pytest.mark.parametrize("name,parts", [
    ("quadruped", ["ribcage", "loin", "rump", "neck", "head", "l_thigh", "r_foreleg", "tail_base"]),
    ("bird", ["body", "neck", "head", "l_arm_wing", "r_hand_wing", "tail", "l_shank"]),
    ("fish", ["head", "body_front", "body_rear", "tail_fin", "dorsal_fin", "l_pectoral_fin", "r_pectoral_fin"]),
])
def test_each_family_has_its_parts(name, parts):
    v = by_name(B.template_volumes(name))
    assert set(parts) <= set(v)
    if name == "bird":   # wing planes: wide and thin
        w = v["l_forewing"]
        assert extent(w, 2) >= 10 * extent(w, 1) - 1e-12
    if name == "fish":   # the body tapers towards the tail
        heights = [extent(v[n], 1) for n in ("body_front", "body_middle", "body_rear", "peduncle")]
        assert heights == sorted(heights, reverse=True)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_body_scales_with_the_template(name):
    a = B.body_of(template_joints(name))
    b = B.body_of(template_joints(name, 2.5))
    np.testing.assert_allclose(B.body_bounds(b), 2.5 * B.body_bounds(a), atol=1e-12)
    for va, vb in zip(a.volumes, b.volumes):
        np.testing.assert_allclose(vb.half, 2.5 * np.array(va.half))


def test_a_custom_skeleton_gets_a_capsule_per_bone_with_its_radius():
    joints = normalize_joints([
        {"name": "root", "parent": None, "offset": [0, 1, 0]},
        {"name": "a", "parent": "root", "offset": [0, 0.5, 0], "radius_m": 0.2},
        {"name": "b", "parent": "a", "offset": [0.4, 0, 0]},
        {"name": "lone", "parent": None, "offset": [3, 0, 0], "radius_m": 0.3},
    ])
    v = by_name(B.body_volumes(joints))
    assert set(v) == {"a", "b", "lone"}
    assert v["a"].joint == "root" and v["a"].shape == "capsule" and v["a"].half == (0.2, 0.25 + 0.2, 0.2)
    assert v["b"].joint == "a" and v["b"].half[0] == B.default_radius(0.4) == pytest.approx(0.06)
    assert v["lone"].shape == "ellipsoid" and v["lone"].half == (0.3, 0.3, 0.3)
    lo, hi = B.body_bounds(B.body_of(joints))
    np.testing.assert_allclose(lo, [-0.2, -0.3, -0.3], atol=1e-12)            # the lone root's sphere at y = 0
    np.testing.assert_allclose(hi, [3.3, 1.7, 0.3], atol=1e-12)
    # a template's joints that give radius_m are built per bone, as the person asked
    custom = [dict(j, radius_m=0.05) for j in template_joints("biped")]
    per_bone = B.body_volumes(normalize_joints(custom))
    assert {v.shape for v in per_bone} == {"capsule"} and {v.half[0] for v in per_bone} == {0.05}


@pytest.mark.parametrize("bad", [0.0, -0.1, 11.0, float("nan"), "thick"])
def test_a_bad_radius_is_refused(bad):
    with pytest.raises(ValueError, match="radius_m"):
        normalize_joints([{"name": "r", "parent": None, "radius_m": bad}])


def test_no_skeleton_is_a_standing_capsule_on_the_entity():
    body = B.body_of(None)
    assert body.joint_index.tolist() == [-1]
    m = np.eye(4)
    m[:3, 3] = [2, 0, 1]
    np.testing.assert_allclose(B.body_bounds(body, entity_matrix=m), [[1.75, 0, 0.75], [2.25, 1.8, 1.25]])


def _walker():
    w = World(project="p", shot="s")
    apply(w, [O.ShotConfigure(frame_end=20.0),
              O.EntityCreate(id="a", kind="character", props={"transform.position": [1.0, 0.0, 2.0],
                                                              "transform.rotation": {"euler_deg": [0, 90, 0]},
                                                              "transform.scale": [1.2, 1.2, 1.2]}),
              O.SkeletonSet(id="a", template="biped"),
              O.KeySet(id="a", path="joints.l_shoulder.rotation", frame=0, value={"euler_deg": [0, 0, -80]}),
              O.KeySet(id="a", path="joints.l_shoulder.rotation", frame=10, value={"euler_deg": [0, 0, 0]}),
              O.KeySet(id="a", path="transform.position", frame=0, value=[1.0, 0.0, 2.0]),
              O.KeySet(id="a", path="transform.position", frame=10, value=[3.0, 0.5, 2.0])], "user:t")
    return w


def test_placing_follows_the_sampled_joints_and_the_entity_scale():
    w = _walker()
    frames = np.array([0.0, 5.0, 10.0])
    s = sample(w, frames)
    body = B.body_of(w.entities["a"].props["skeleton"])
    js = s.joints["a"]
    placed = B.place(body, js.matrices)
    assert placed.shape == (3, len(body.volumes), 4, 4)
    k = [v.name for v in body.volumes].index("l_hand")
    j = list(js.names).index("l_wrist")
    np.testing.assert_allclose(placed[:, k], js.matrices[:, j] @ body.local[k])
    # vectorised over frames = frame by frame
    for i in range(3):
        np.testing.assert_allclose(B.place(body, js.matrices[i]), placed[i])
    # the bounds follow the animation: the arm hangs down at frame 0, is level at 10; the whole body moved up 0.5
    b = B.body_bounds(body, js.matrices)
    assert b[0, 1, 1] == pytest.approx(1.2 * 1.75) and b[2, 0, 1] == pytest.approx(0.5, abs=1e-9)
    centre = B.body_centre(body, js.matrices)
    np.testing.assert_allclose(centre, b.mean(axis=1))


def test_bounds_are_exact_against_dense_surface_samples():
    w = _walker()
    s = sample(w, [3.0])
    body = B.body_of(w.entities["a"].props["skeleton"])
    frames = B.place(body, s.joints["a"].matrices[0])
    th, ph = np.meshgrid(np.linspace(0, 2 * np.pi, 181), np.linspace(-np.pi / 2, np.pi / 2, 91))
    unit = np.stack([np.cos(ph) * np.cos(th), np.sin(ph), np.cos(ph) * np.sin(th)], -1).reshape(-1, 3)
    pts = []
    for k, v in enumerate(body.volumes):
        if v.shape == "box":
            local = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], float)
        elif v.shape == "ellipsoid":
            local = unit
        else:
            local = unit + np.where(unit[:, 1:2] >= 0, 1, -1) * [0, body.seg[k], 0]
        p = local * body.scale[k]
        pts.append(p @ frames[k, :3, :3].T + frames[k, :3, 3])
    pts = np.concatenate(pts)
    lo, hi = B.body_bounds(body, s.joints["a"].matrices[0])
    assert np.all(pts.min(0) >= lo - 1e-9) and np.all(pts.max(0) <= hi + 1e-9)
    np.testing.assert_allclose(pts.min(0), lo, atol=2e-3)
    np.testing.assert_allclose(pts.max(0), hi, atol=2e-3)
    # the radius about the centre's vertical line, over every volume, against the samples
    c = B.body_centre(body, s.joints["a"].matrices[0], groups=None)
    r = B.body_radius(body, s.joints["a"].matrices[0], groups=None)
    d = np.hypot(pts[:, 0] - c[0], pts[:, 2] - c[2]).max()
    assert d - 1e-9 <= r <= d * 1.003


def test_the_footprint_radius_leaves_swinging_arms_out():
    body = B.body_of(template_joints("biped"))
    assert 0.2 <= B.body_radius(body) <= 0.3                        # shoulders, not the T-pose's arm span
    assert B.body_radius(body, groups=None) > 0.9
    assert B.body_radius(B.body_of(template_joints("biped", 2.0))) == pytest.approx(2 * B.body_radius(body))
    # about the entity's origin instead of the body's centre: a quadruped's origin is near its middle, a fish's
    # is under its head half, so the radius about it is larger there
    fish = B.body_of(template_joints("fish"))
    lo, hi = B.body_bounds(fish)
    assert B.body_radius(fish, about=[0, 0, 0]) == pytest.approx(-lo[2] / np.cos(np.pi / 64), rel=1e-3)
    assert B.body_radius(fish, about=[0, 0, 0]) > B.body_radius(fish)


def test_bad_joint_matrices_are_refused():
    body = B.body_of(template_joints("fish"))
    with pytest.raises(ValueError, match="joint_matrices"):
        B.place(body, np.zeros((3, 5, 4, 4)))


def test_template_json_is_plain_data():
    import json

    d = B.template_json("bird")
    assert json.loads(json.dumps(d)) == d
    assert {"joints", "volumes", "bounds"} == set(d)
    assert {"name", "group", "joint", "shape", "center", "rotation", "half"} == set(d["volumes"][0])


def test_a_custom_skeleton_with_rest_rotations_gets_bones_where_its_joints_are():
    # the root turned 90° about Z: its child, 1 m along the root's +Y, stands 1 m along world −X
    q = [0.0, 0.0, np.sin(np.pi / 4), np.cos(np.pi / 4)]
    joints = normalize_joints([{"name": "root", "parent": None, "offset": [0, 2, 0], "rotation": q},
                               {"name": "tip", "parent": "root", "offset": [0, 1, 0], "radius_m": 0.1}])
    lo, hi = B.body_bounds(B.body_of(joints))
    np.testing.assert_allclose(lo, [-1.1, 1.9, -0.1], atol=1e-12)
    np.testing.assert_allclose(hi, [0.1, 2.1, 0.1], atol=1e-12)


def test_a_skeleton_set_with_radii_is_stored_and_drawn_and_a_bad_one_changes_nothing():
    from core.edit import OpError

    w = World(project="p", shot="s")
    arm = [{"name": "base", "parent": None, "offset": [0, 0.5, 0]},
           {"name": "tip", "parent": "base", "offset": [0, 0.8, 0], "radius_m": 0.12}]
    apply(w, [O.EntityCreate(id="robot", kind="character"), O.SkeletonSet(id="robot", joints=arm)], "user:t")
    stored = w.entities["robot"].props["skeleton"]
    assert stored[1]["radius_m"] == 0.12 and "radius_m" not in stored[0]
    [v] = B.body_of(stored).volumes
    assert v.half == (0.12, 0.4 + 0.12, 0.12)
    bad = [dict(arm[0]), dict(arm[1], radius_m=-1)]
    with pytest.raises(OpError, match="radius_m"):
        apply(w, [O.SkeletonSet(id="robot", joints=bad)], "user:t")
    assert w.entities["robot"].props["skeleton"] == stored
