"""A motion plan per frame, and turning it into joint rotations (legs by two-bone IK).

A :class:`Plan` says, for F frames, where the body is (a ground point and a heading), how the pelvis moves
relative to it, the local rotations of every joint that IK does not drive (the *layer*), and where each leg's
planted joint (ankle, wrist, hock) must be. :func:`solve` turns it into local joint rotations (F, J, 4) and the
root joint's translation (F, 3) — what ``joints.<j>.rotation`` and ``joints.<root>.position`` hold.

Frames: the body is in the entity's frame (Y up, facing +Z at yaw 0, ground at y = 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ik, quat
from .. import kinematics
from .rigs import RigInfo

__all__ = ["Plan", "Reach", "Motion", "solve", "yaw_quat", "yaw_matrix", "smoothstep"]


def smoothstep(x) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def yaw_quat(yaw) -> np.ndarray:
    yaw = np.asarray(yaw, dtype=np.float64)
    out = np.zeros(yaw.shape + (4,))
    out[..., 1] = np.sin(yaw / 2)
    out[..., 3] = np.cos(yaw / 2)
    return out


def yaw_matrix(yaw) -> np.ndarray:
    yaw = np.asarray(yaw, dtype=np.float64)
    c, s = np.cos(yaw), np.sin(yaw)
    z, o = np.zeros_like(yaw), np.ones_like(yaw)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


@dataclass
class Plan:
    body_pos: np.ndarray          # (F, 3) ground point under the body
    body_yaw: np.ndarray          # (F,) radians about +Y
    pelvis_off: np.ndarray        # (F, 3) root offset from its rest place, body frame
    pelvis_rot: np.ndarray        # (F, 4) root rotation relative to the body heading
    layer: np.ndarray             # (F, J, 4) local rotations of the joints IK does not drive
    feet: np.ndarray | None       # (F, L, 3) targets of the legs' planted joints, entity frame (None: no leg IK)
    foot_yaw: np.ndarray | None   # (F, L) heading of each foot
    contacts: np.ndarray | None   # (F, L) bool: the foot is planted
    reaches: list = None          # [Reach]: arm (or any two-bone) targets solved after the legs
    leg_ik: np.ndarray | None = None  # (F,) bool: frames whose legs IK places (default: all, when feet is set)
    reach_mask: np.ndarray | None = None  # (F, L) bool: feet that must be reached (planted or landing)

    @property
    def frames(self) -> int:
        return self.body_pos.shape[0]

    def take(self, sl) -> "Plan":
        return Plan(self.body_pos[sl], self.body_yaw[sl], self.pelvis_off[sl], self.pelvis_rot[sl], self.layer[sl],
                    None if self.feet is None else self.feet[sl],
                    None if self.foot_yaw is None else self.foot_yaw[sl],
                    None if self.contacts is None else self.contacts[sl],
                    [Reach(x.upper, x.mid, x.lower, x.pole, x.target[sl], x.weight[sl], x.bend)
                     for x in self.reaches or []])


@dataclass
class Reach:
    """Put joint ``lower`` at ``target`` (F, 3) (body frame) with the chain ``upper → mid → lower`` bending towards
    ``pole`` (body frame), blended with the layer pose by ``weight`` (F,) 0..1; ``lower`` keeps its layer rotation
    relative to its parent. ``bend`` is where the mid joint goes when the chain flexes from the rest pose about its
    hinge (an elbow goes back as the forearm comes forward): aligning it with the pole keeps the hinge a hinge."""

    upper: str
    mid: str
    lower: str
    pole: tuple
    target: np.ndarray
    weight: np.ndarray
    bend: tuple | None = None      # the side the mid joint goes to when the chain flexes at rest (default: pole)


@dataclass
class Motion:
    """Synthesised motion: ``rotations`` (F, J, 4) local joint rotations in skeleton order (``names``),
    ``root_position`` (F, 3) for ``joints.<root>.position``, ``contacts`` (F, L) and ``feet`` (F, L, 3) of the legs
    (L = 0 for a fish), ``unreached`` (F, L) where a leg could not reach its target, and ``report`` notes."""

    names: tuple[str, ...]
    rotations: np.ndarray
    root_position: np.ndarray
    contacts: np.ndarray
    feet: np.ndarray
    unreached: np.ndarray
    report: dict


def _m2q(m: np.ndarray) -> np.ndarray:
    return ik.matrix_to_quat(m)


def root_and_layer(ri: RigInfo, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """The layer with the root joint's rotation set from the body heading and pelvis, leg joints at identity,
    and the root translation: (rotations (F, J, 4), root translation (F, 3))."""
    r = ri.rig
    rot = np.array(plan.layer, dtype=np.float64, copy=True)
    root = ri.root
    rest_off = r.offsets[root]
    yaw_m = yaw_matrix(plan.body_yaw)
    trans = plan.body_pos + np.einsum("fij,fj->fi", yaw_m, rest_off + plan.pelvis_off) - rest_off
    rest_q = r.rest[root]
    glob = quat.multiply(yaw_quat(plan.body_yaw), plan.pelvis_rot)
    rot[:, root] = quat.multiply(quat.conjugate(rest_q), quat.multiply(glob, rest_q))
    if plan.feet is not None:
        for leg in ri.legs:
            for name in (leg.upper, leg.mid, leg.lower):
                rot[:, r.index(name)] = (0.0, 0.0, 0.0, 1.0)
    return rot, trans


def solve(ri: RigInfo, plan: Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rotations (F, J, 4), root translation (F, 3), unreached (F, L) bool) for ``plan``."""
    n = plan.frames
    rot, trans = root_and_layer(ri, plan)
    yaw_m = yaw_matrix(plan.body_yaw)
    L = len(ri.legs)
    unreached = np.zeros((n, L), dtype=bool)
    if plan.feet is not None and L:
        _legs(ri, plan, rot, trans, yaw_m, unreached)
    for reach in plan.reaches or []:
        _reach(ri, plan, rot, trans, yaw_m, reach)
    _clamp_upper(ri, rot)
    return rot, trans, unreached


def _clamp_upper(ri: RigInfo, rot: np.ndarray) -> None:
    """Every joint with limits that no leg drives is projected into its limits (arms, spine, neck); the legs keep
    what their plants need."""
    if not ri.joints:
        return
    legs = {n for leg in ri.legs for n in (leg.upper, leg.mid, leg.lower)}
    for name, lim in ik.joint_limits(ri.joints).items():
        if name not in legs:
            j = ri.rig.index(name)
            rot[:, j] = ik.clamp(rot[:, j], lim)


PASTERN_MAX_DEG = 60.0
"""How far the foot (ankle→toe, wrist→paw, hock→paw) may pitch about its planted end to help a leg reach. A
bird's foot stays flat: its ankle is itself on the ground."""

AIRBORNE_M = 0.05
"""A foot this far above its planted height is in the air for IK: it may be pitched or raised to spare the ankle
and reach (a slide up there is not a skate)."""

REACH_MARGIN = 0.97
"""Legs aim to stay within this fraction of their full length (knees never quite locked)."""


def leg_lengths(ri: RigInfo, leg) -> tuple[float, float]:
    return (float(np.linalg.norm(ri.pos(leg.mid) - ri.pos(leg.upper))),
            float(np.linalg.norm(ri.pos(leg.lower) - ri.pos(leg.mid))))


def place_lower(ri: RigInfo, leg, hip: np.ndarray, end: np.ndarray, foot_yaw: np.ndarray, extra=None):
    """Where the leg's ``lower`` joint goes when its ``end`` is at ``end`` (F, 3): the foot pitched about its end
    by the smallest angle (≤ :data:`PASTERN_MAX_DEG`) that brings ``lower`` within reach of ``hip`` (F, 3), plus
    ``extra`` (F,) radians (a heel rise asked for by the ankle's limits).
    Returns (lower position (F, 3), pitch (F,) radians about the foot's lateral axis)."""
    l1, l2 = leg_lengths(ri, leg)
    reach = REACH_MARGIN * (l1 + l2)
    v = ri.pos(leg.lower) - ri.pos(leg.end)                 # end → lower at rest, body frame
    yaw_m = yaw_matrix(foot_yaw)
    vw = np.einsum("fij,j->fi", yaw_m, v)
    axis = np.einsum("fij,j->fi", yaw_m, np.array([1.0, 0.0, 0.0]))
    v_par = np.sum(vw * axis, axis=-1, keepdims=True) * axis
    v_perp = vw - v_par
    w = np.cross(axis, v_perp)
    d = hip - end
    K = np.sum(d * d, axis=-1) + np.sum(vw * vw, axis=-1)
    alpha = np.sum(d * v_par, axis=-1)
    beta = np.sum(d * v_perp, axis=-1)
    gamma = np.sum(d * w, axis=-1)
    delta = 0.5 * (K - reach * reach) - alpha              # need β cos θ + γ sin θ ≥ δ
    rho = np.maximum(np.hypot(beta, gamma), 1e-12)
    phi = np.arctan2(gamma, beta)
    spread = np.arccos(np.clip(delta / rho, -1.0, 1.0))
    theta = np.where(delta <= beta, 0.0, np.where(phi > 0, phi - spread, phi + spread))
    theta = np.where(delta / rho > 1.0, phi, theta)
    lim = np.radians(PASTERN_MAX_DEG if ri.family != "bird" else 0.0)
    if extra is not None:
        theta = theta + extra
    theta = np.clip(theta, -lim, lim)
    c, s_ = np.cos(theta)[:, None], np.sin(theta)[:, None]
    return end + v_par + c * v_perp + s_ * w, theta


def _lift_within_reach(hip: np.ndarray, target: np.ndarray, swinging: np.ndarray, reach: float) -> np.ndarray:
    """A swinging foot's target out of reach is raised until the leg reaches it (never moved sideways near the
    ground: a swing lifts before it travels); out of reach even at hip height, it comes in along the line."""
    d = target - hip
    dist = np.linalg.norm(d, axis=-1)
    far = swinging & (dist > reach)
    if not far.any():
        return target
    dh = np.hypot(d[:, 0], d[:, 2])
    up = target.copy()
    up[:, 1] = np.where(dh < reach, hip[:, 1] - np.sqrt(np.maximum(reach * reach - dh * dh, 0.0)), hip[:, 1])
    inward = hip + d * (reach / np.maximum(dist, 1e-12))[:, None]
    fixed = np.where((dh < reach)[:, None], up, inward)
    return np.where(far[:, None], fixed, target)


def _legs(ri, plan, rot, trans, yaw_m, unreached):
    r = ri.rig
    g = kinematics.forward(r, rot, trans)
    limits = ik.joint_limits(ri.joints) if ri.joints else {}
    for i, leg in enumerate(ri.legs):
        u, m, lo = r.index(leg.upper), r.index(leg.mid), r.index(leg.lower)
        a, b, c = g[:, u, :3, 3], g[:, m, :3, 3], g[:, lo, :3, 3]
        f_upper = g[:, u, :3, :3]
        pole_local = ri.rest_global[u, :3, :3].T @ np.asarray(leg.pole)
        pole_now = f_upper @ pole_local
        # the knee points where the foot points (a turning step turns the whole leg, not the ankle)
        pole_target = np.einsum("fij,j->fi", yaw_matrix(plan.foot_yaw[:, i]), np.asarray(leg.pole))
        lim = limits.get(leg.lower)
        must = plan.reach_mask if plan.reach_mask is not None else plan.contacts
        swinging = ~must[:, i] if must is not None else np.zeros(plan.frames, dtype=bool)   # mid-swing
        if plan.contacts is not None:        # or coming down but still well clear of the ground
            clear = plan.feet[:, i, 1] - plan.body_pos[:, 1] > ri.pos(leg.end)[1] + AIRBORNE_M
            swinging = swinging | (~plan.contacts[:, i] & clear)
        extra = np.zeros(plan.frames)
        reach_of = sum(leg_lengths(ri, leg)) * (1.0 - 1e-6)
        for attempt in range(3 if lim is not None else 1):
            target, pitch = place_lower(ri, leg, a, plan.feet[:, i], plan.foot_yaw[:, i], extra)
            if must is not None:
                target = _lift_within_reach(a, target, swinging, reach_of)
            Ra, Rb, reached, _, _ = ik.two_bone_rotations(a, b, c, target, pole_now, pole_target)
            q_u = _m2q(np.swapaxes(f_upper, -1, -2) @ Ra @ f_upper)
            g_upper = Ra @ f_upper
            f_mid = g_upper @ quat.to_matrix(r.rest[m])
            q_m = _m2q(np.swapaxes(f_mid, -1, -2) @ Rb @ f_mid)
            g_mid = Rb @ f_mid
            f_lower = g_mid @ quat.to_matrix(r.rest[lo])
            tilt = ik.axis_angle_matrix(np.array([1.0, 0.0, 0.0]), pitch)
            want = yaw_matrix(plan.foot_yaw[:, i]) @ tilt @ ri.rest_global[lo, :3, :3]
            q_lo = _m2q(np.swapaxes(f_lower, -1, -2) @ want)
            if lim is None or lim.twist_axis == 0:
                break
            # an ankle bent past its range: pitch the foot about its end by the excess
            vec, _ = ik.swing_twist(q_lo, lim.twist_axis)
            over = np.where(vec[:, 0] < lim.lo[0], lim.lo[0] - vec[:, 0], 0.0)   # heel rises, never sinks
            # in the air the foot may also point down less (its end stays where it is: no slide)
            over = np.where(swinging & (vec[:, 0] > lim.hi[0]), lim.hi[0] - vec[:, 0], over)
            if not np.any(np.abs(over) > 1e-4):
                break
            extra = extra + over
        unreached[:, i] = ~reached
        rot[:, u], rot[:, m], rot[:, lo] = q_u, q_m, q_lo


def _reach(ri, plan, rot, trans, yaw_m, reach):
    r = ri.rig
    u, m, lo = r.index(reach.upper), r.index(reach.mid), r.index(reach.lower)
    before = rot[:, [u, m]].copy()
    rot[:, u] = rot[:, m] = (0.0, 0.0, 0.0, 1.0)
    g = kinematics.forward(r, rot, trans)
    a, b, c = g[:, u, :3, 3], g[:, m, :3, 3], g[:, lo, :3, 3]
    f_upper = g[:, u, :3, :3]
    pole_local = ri.rest_global[u, :3, :3].T @ np.asarray(reach.bend if reach.bend is not None else reach.pole)
    pole_target = np.einsum("fij,j->fi", yaw_m, np.asarray(reach.pole))
    w = np.clip(reach.weight, 0.0, 1.0)
    # where the layer pose puts the end joint, then a straight line from there to the target as the weight grows
    if r.parents[m] == u and r.parents[lo] == m:       # the two joints' own FK, from the frame just computed
        g_u = f_upper @ quat.to_matrix(before[:, 0])
        mid_p = a + np.einsum("fij,j->fi", g_u, r.offsets[m])
        g_m = g_u @ quat.to_matrix(r.rest[m]) @ quat.to_matrix(before[:, 1])
        start = mid_p + np.einsum("fij,j->fi", g_m, r.offsets[lo])
    else:
        layer_rot = rot.copy()
        layer_rot[:, [u, m]] = before
        start = kinematics.forward(r, layer_rot, trans)[:, lo, :3, 3]
    target = plan.body_pos + np.einsum("fij,fj->fi", yaw_m, reach.target)
    target = start + (target - start) * w[:, None]
    Ra, Rb, _, _, _ = ik.two_bone_rotations(a, b, c, target, f_upper @ pole_local, pole_target)
    q_u = _m2q(np.swapaxes(f_upper, -1, -2) @ Ra @ f_upper)
    f_mid = Ra @ f_upper @ quat.to_matrix(r.rest[m])
    q_m = _m2q(np.swapaxes(f_mid, -1, -2) @ Rb @ f_mid)
    wr = smoothstep(w / 0.3)
    rot[:, u] = quat.slerp(before[:, 0], q_u, wr)
    rot[:, m] = quat.slerp(before[:, 1], q_m, wr)
