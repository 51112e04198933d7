"""IK: the analytic two-bone solver and the limited chain solver reach what can be reached (within 1 mm), say so
when they cannot, and never leave a joint's limits."""

from __future__ import annotations

import numpy as np
import pytest

from core import ik, ik_chain, kinematics, quat, templates

CHAINS = [
    ("biped", ["l_shoulder", "l_elbow", "l_wrist"], "l_hand"),
    ("biped", ["r_shoulder", "r_elbow", "r_wrist"], "r_hand"),
    ("biped", ["r_hip", "r_knee", "r_ankle"], "r_toe"),
    ("biped", ["spine", "chest", "l_clavicle", "l_shoulder", "l_elbow"], "l_wrist"),
    ("quadruped", ["l_shoulder", "l_elbow", "l_wrist"], "l_front_paw"),
]


def _random_pose(r, lim, chain, rng):
    q = quat.identity((len(r.names),))
    for n in chain:
        v = rng.normal(size=4)
        q[r.index(n)] = ik.clamp(v / np.linalg.norm(v), lim[n]) if n in lim else v / np.linalg.norm(v)
    return q


@pytest.mark.parametrize("family,chain,end", CHAINS)
def test_reachable_targets_are_reached_within_a_millimetre_inside_the_limits(family, chain, end):
    joints = templates.template_joints(family)
    r = kinematics.rig(joints)
    lim = ik.joint_limits(joints)
    rng = np.random.default_rng(11)
    for _ in range(6):
        pose = _random_pose(r, lim, chain, rng)
        target = kinematics.forward(r, pose[None])[0][r.index(end), :3, 3]
        res = ik_chain.solve_chain(r, quat.identity((len(r.names),)), chain, end, target, lim)
        got = kinematics.forward(r, res.rotations[None])[0][r.index(end), :3, 3]
        assert res.reached and np.linalg.norm(got - target) <= 1e-3
        assert abs(res.error_m - np.linalg.norm(got - target)) < 1e-12
        for n in chain:
            if n in lim:
                assert float(ik.violation_deg(res.rotations[r.index(n)], lim[n])) < 1e-6
        untouched = [i for i, n in enumerate(r.names) if n not in chain]
        assert np.allclose(res.rotations[untouched], quat.identity((len(untouched),)))


def test_unreachable_targets_are_reported_and_limits_still_hold():
    joints = templates.template_joints("biped")
    r = kinematics.rig(joints)
    lim = ik.joint_limits(joints)
    chain = ["l_shoulder", "l_elbow", "l_wrist"]
    for target in ([3.0, 1.5, 0.0], [0.2, 3.0, 0.0], [-1.5, 1.4, 0.3]):   # beyond the arm's reach three ways
        res = ik_chain.solve_chain(r, quat.identity((len(r.names),)), chain, "l_hand", target, lim)
        assert not res.reached and res.error_m > 1e-3
        for n in chain:
            assert float(ik.violation_deg(res.rotations[r.index(n)], lim[n])) < 1e-6


def test_the_knee_is_a_hinge_and_clamp_projects_into_the_limits():
    joints = templates.template_joints("biped")
    lim = ik.joint_limits(joints)
    knee = lim["l_knee"]
    bent_back = quat.from_euler_deg([40.0, 0.0, 0.0])          # flexion: allowed
    hyper = quat.from_euler_deg([-20.0, 0.0, 0.0])             # hyperextension: not
    sideways = quat.from_euler_deg([30.0, 0.0, 25.0])
    assert float(ik.violation_deg(bent_back, knee)) == pytest.approx(0.0, abs=1e-9)
    assert float(ik.violation_deg(hyper, knee)) == pytest.approx(20.0, abs=1e-6)
    assert float(ik.violation_deg(sideways, knee)) > 20.0
    for q in (hyper, sideways, quat.from_euler_deg([200.0, 10.0, 0.0])):
        c = ik.clamp(q, knee)
        assert float(ik.violation_deg(c, knee)) < 1e-9
        assert np.allclose(ik.clamp(c, knee), c)


def test_two_bone_keeps_lengths_bends_towards_the_pole_and_reports_reach():
    rng = np.random.default_rng(3)
    a = np.zeros((200, 3))
    b = np.tile([0.0, -0.42, 0.0], (200, 1))
    c = np.tile([0.0, -0.82, 0.0], (200, 1))
    target = rng.uniform(-1.0, 1.0, size=(200, 3))
    pole = np.tile([0.0, 0.0, 1.0], (200, 1))
    mid, end, reached = ik.two_bone(a, b, c, target, pole)
    dist = np.linalg.norm(target, axis=-1)
    assert np.array_equal(reached, (dist >= 0.02 - 1e-9) & (dist <= 0.82 + 1e-9))
    assert np.allclose(np.linalg.norm(mid - a, axis=-1), 0.42)
    assert np.allclose(np.linalg.norm(end - mid, axis=-1), 0.40)
    assert np.all(np.linalg.norm(end[reached] - target[reached], axis=-1) < 1e-6)
    # the mid joint lies on the pole's side of the root→target line
    d = end / np.linalg.norm(end, axis=-1, keepdims=True)
    side = mid - np.sum(mid * d, axis=-1, keepdims=True) * d
    perp_pole = pole - np.sum(pole * d, axis=-1, keepdims=True) * d
    assert np.all(np.sum(side * perp_pole, axis=-1) >= -1e-9)


def test_two_bone_rotations_move_a_straight_leg_onto_the_target():
    a, b, c = np.array([0.09, 0.9, 0.0]), np.array([0.09, 0.48, 0.0]), np.array([0.09, 0.08, 0.0])
    target = np.array([0.12, 0.15, 0.3])
    Ra, Rb, reached, mid, end = ik.two_bone_rotations(a, b, c, target, [0.0, 0.0, 1.0], [0.0, 0.0, 1.0])
    assert reached
    new_mid = a + Ra @ (b - a)
    new_end = new_mid + Rb @ Ra @ (c - b)
    assert np.allclose(new_mid, mid) and np.linalg.norm(new_end - target) < 1e-9
    assert new_mid[2] > 0.0                                      # the knee went forward, towards the pole
    for R in (Ra, Rb):
        assert np.allclose(R @ R.T, np.eye(3)) and np.linalg.det(R) == pytest.approx(1.0)
