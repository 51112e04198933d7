"""Forward kinematics: known answers on the templates, rest rotations, root motion, batching, shape errors."""

import numpy as np
import pytest

from core import quat
from core.kinematics import forward, forward_batch, forward_kinematics, rig
from core.skeleton import normalize_joints
from core.templates import template_joints


def positions(mats, r, name):
    return mats[..., r.index(name), :3, 3]


def test_biped_rest_pose_positions():
    r = rig(template_joints("biped"))
    m = forward(r)
    np.testing.assert_allclose(positions(m, r, "hips"), [0, 0.95, 0])
    np.testing.assert_allclose(positions(m, r, "l_wrist"), [0.75, 1.43, 0], atol=1e-12)
    np.testing.assert_allclose(positions(m, r, "r_ankle"), [-0.09, 0.08, 0], atol=1e-12)
    np.testing.assert_allclose(m[r.index("l_wrist"), :3, :3], np.eye(3), atol=1e-12)


def test_biped_elbow_bent_90_degrees_puts_the_wrist_forward():
    # left elbow at (0.49, 1.43, 0), forearm 0.26 m along +X; −90° about Y turns +X into +Z
    r = rig(template_joints("biped"))
    rot = quat.identity((1, len(r.names)))
    rot[0, r.index("l_elbow")] = quat.from_axis_angle([0, 1, 0], np.radians(-90))
    m = forward(r, rot)
    np.testing.assert_allclose(positions(m, r, "l_elbow")[0], [0.49, 1.43, 0.0], atol=1e-12)
    np.testing.assert_allclose(positions(m, r, "l_wrist")[0], [0.49, 1.43, 0.26], atol=1e-12)
    np.testing.assert_allclose(positions(m, r, "l_hand")[0], [0.49, 1.43, 0.36], atol=1e-12)
    np.testing.assert_allclose(positions(m, r, "r_wrist")[0], [-0.75, 1.43, 0.0], atol=1e-12)


def test_biped_knee_flexion_and_hip_rotation_compose_down_the_chain():
    # hip flexed 90° forward (−90° about X turns −Y into +Z), knee flexed 90° back (+90° about X)
    r = rig(template_joints("biped"))
    rot = quat.identity((len(r.names),))
    rot[r.index("l_hip")] = quat.from_axis_angle([1, 0, 0], np.radians(-90))
    rot[r.index("l_knee")] = quat.from_axis_angle([1, 0, 0], np.radians(90))
    m = forward(r, rot[None])[0]
    np.testing.assert_allclose(positions(m, r, "l_knee"), [0.09, 0.90, 0.42], atol=1e-12)
    np.testing.assert_allclose(positions(m, r, "l_ankle"), [0.09, 0.50, 0.42], atol=1e-12)


def test_quadruped_rest_and_neck_raised():
    r = rig(template_joints("quadruped"))
    m = forward(r)
    np.testing.assert_allclose(positions(m, r, "l_front_paw"), [0.09, 0.04, 0.25], atol=1e-12)
    np.testing.assert_allclose(positions(m, r, "nose"), [0.0, 0.77, 0.60], atol=1e-12)
    # rotate the neck 90° about X: the head offset (0, 0.12, 0.08) becomes (0, −0.08, 0.12) in world
    rot = quat.identity((1, len(r.names)))
    rot[0, r.index("neck")] = quat.from_axis_angle([1, 0, 0], np.radians(90))
    m = forward(r, rot)[0]
    neck = positions(m, r, "neck")
    np.testing.assert_allclose(positions(m, r, "head") - neck, [0, -0.08, 0.12], atol=1e-12)


def test_rest_rotation_applies_before_the_animated_rotation():
    joints = normalize_joints([
        {"name": "a", "parent": None, "offset": [0, 0, 0],
         "rotation": quat.from_axis_angle([0, 0, 1], np.radians(90)).tolist()},
        {"name": "b", "parent": "a", "offset": [1, 0, 0]},
    ])
    r = rig(joints)
    anim = quat.identity((1, 2))
    anim[0, 0] = quat.from_axis_angle([1, 0, 0], np.radians(90))
    m = forward(r, anim)[0]
    # R(rest)·R(anim): rotate about local X (no effect on the X offset), then 90° about Z: b at (0, 1, 0)
    np.testing.assert_allclose(m[1, :3, 3], [0, 1, 0], atol=1e-12)
    expect = quat.to_matrix(quat.multiply(quat.from_axis_angle([0, 0, 1], np.radians(90)),
                                          quat.from_axis_angle([1, 0, 0], np.radians(90))))
    np.testing.assert_allclose(m[1, :3, :3], expect, atol=1e-12)


def test_root_motion_and_base_matrix():
    r = rig(template_joints("biped"))
    base = np.eye(4)
    base[:3, :3] = quat.to_matrix(quat.from_axis_angle([0, 1, 0], np.radians(90))) * 2.0  # rotate + scale 2
    base[:3, 3] = [10, 0, 0]
    m = forward(r, None, root_translation=np.array([[0.0, 0.1, 0.0]]), base=base)
    # hips local = (0, 0.95 + 0.1, 0); the base scales by 2 and moves by 10 in X
    np.testing.assert_allclose(positions(m, r, "hips")[0], [10, 2.1, 0], atol=1e-12)
    # l_wrist rest offset from the hips (0.75, 0.48, 0) → rotated 90° about Y: (0, 0.48, −0.75), ×2
    np.testing.assert_allclose(positions(m, r, "l_wrist")[0] - positions(m, r, "hips")[0], [0, 0.96, -1.5],
                               atol=1e-12)


def test_batched_equals_per_character_and_naive_loop():
    r = rig(template_joints("quadruped"))
    rng = np.random.default_rng(3)
    rot = quat.normalize(rng.normal(size=(3, 5, len(r.names), 4)))
    out = forward_batch(r.parents, r.offsets, r.rest, rot)
    assert out.shape == (3, 5, len(r.names), 4, 4)
    for b in range(3):
        np.testing.assert_allclose(out[b], forward(r, rot[b]), atol=1e-12)
    # naive per-joint matrices
    b, f = 2, 4
    g = []
    for j in range(len(r.names)):
        local = np.eye(4)
        local[:3, :3] = quat.to_matrix(quat.multiply(r.rest[j], rot[b, f, j]))
        local[:3, 3] = r.offsets[j]
        g.append(local if r.parents[j] < 0 else g[r.parents[j]] @ local)
    np.testing.assert_allclose(out[b, f], np.array(g), atol=1e-12)


def test_shape_errors_name_the_bad_shape():
    r = rig(template_joints("fish"))
    with pytest.raises(ValueError, match=r"rotations must have shape \(\.\.\., 13, 4\), got \(2, 12, 4\)"):
        forward(r, np.zeros((2, 12, 4)))
    with pytest.raises(ValueError, match="base"):
        forward_kinematics(r.parents, r.offsets, r.rest, base=np.eye(3))
    with pytest.raises(ValueError, match="parents"):
        forward_kinematics([1, -1], np.zeros((2, 3)), quat.identity((2,)))
