"""Inverse kinematics: joint limits, and an analytic two-bone solver with a pole vector (the limited chain solver
is :mod:`core.ik_chain`). Deterministic, float64, vectorised over leading dimensions.

Joint limits (``limits_deg`` of a skeleton joint, ``[[xmin, xmax], [ymin, ymax], [zmin, zmax]]`` about the joint's
parent-aligned axes at rest) are read as **swing cone + twist**: the *twist axis* is the principal axis (X, Y or Z)
closest to the joint's bone (the offset of its first child); the rotation about it is the twist, limited by that
axis' range; the rest of the rotation is a swing about an axis perpendicular to it, whose rotation vector has one
component on each of the two other principal axes, limited to an ellipse per quadrant with those axes' ranges as
half-axes (a zero range on one side is a hinge stop). :func:`clamp` projects a local rotation into that region and
:func:`violation_deg` measures how far outside it one is.

Positions and matrices are in any one frame (the caller's: world, or entity-local); rotations are unit
quaternions ``[x, y, z, w]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import quat

__all__ = ["JointLimit", "joint_limits", "swing_twist", "clamp", "violation_deg", "matrix_to_quat", "shortest_arc",
           "axis_angle_matrix", "two_bone", "two_bone_rotations", "REACH_TOL_M"]

REACH_TOL_M = 1e-3
"""A target is reached when the end joint is within this distance of it."""

_EPS = 1e-12


@dataclass(frozen=True)
class JointLimit:
    """``twist_axis`` (0, 1, 2 for X, Y, Z); ``lo``, ``hi`` (3,) radians per principal axis."""

    twist_axis: int
    lo: np.ndarray
    hi: np.ndarray


def joint_limits(joints: list[dict]) -> dict[str, JointLimit]:
    """The limits of a normalised joint list (joints without ``limits_deg`` are free)."""
    first_child: dict[str, list[float]] = {}
    for j in joints:
        if j["parent"] is not None and j["parent"] not in first_child:
            first_child[j["parent"]] = j["offset"]
    out = {}
    for j in joints:
        lim = j.get("limits_deg")
        if lim is None:
            continue
        bone = np.asarray(first_child.get(j["name"], [1.0, 0.0, 0.0]), dtype=np.float64)
        axis = int(np.argmax(np.abs(bone))) if np.any(bone) else 0
        arr = np.radians(np.asarray(lim, dtype=np.float64))
        out[j["name"]] = JointLimit(axis, arr[:, 0].copy(), arr[:, 1].copy())
    return out


def swing_twist(q, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """q (..., 4) = swing ⊗ twist with twist about principal ``axis`` → (swing rotation vector (..., 3) with a zero
    ``axis`` component, twist angle (...,) in (−π, π])."""
    q = np.asarray(q, dtype=np.float64)
    q = np.where(q[..., 3:4] < 0, -q, q)
    tw = np.zeros_like(q)
    tw[..., axis] = q[..., axis]
    tw[..., 3] = q[..., 3]
    n = np.linalg.norm(tw, axis=-1, keepdims=True)
    tw = np.where(n < 1e-9, quat.identity(q.shape[:-1]), tw / np.maximum(n, _EPS))
    twist = 2.0 * np.arctan2(tw[..., axis], tw[..., 3])
    twist = np.where(twist > np.pi, twist - 2 * np.pi, twist)
    sw = quat.multiply(q, quat.conjugate(tw))
    sw = np.where(sw[..., 3:4] < 0, -sw, sw)
    s = np.linalg.norm(sw[..., :3], axis=-1, keepdims=True)
    ang = 2.0 * np.arctan2(s, sw[..., 3:4])
    vec = np.where(s < 1e-12, 0.0, sw[..., :3] / np.maximum(s, _EPS) * ang)
    vec[..., axis] = 0.0
    return vec, twist


def _from_swing_twist(vec: np.ndarray, twist: np.ndarray, axis: int) -> np.ndarray:
    ang = np.linalg.norm(vec, axis=-1)
    safe = np.where(ang < 1e-12, 1.0, ang)
    sw = np.concatenate([vec / safe[..., None] * np.sin(ang / 2)[..., None], np.cos(ang / 2)[..., None]], axis=-1)
    tw = np.zeros(twist.shape + (4,))
    tw[..., axis] = np.sin(twist / 2)
    tw[..., 3] = np.cos(twist / 2)
    return quat.multiply(sw, tw)


def _swing_bounds(vec: np.ndarray, lim: JointLimit, others: list[int]) -> np.ndarray:
    """Per swing component the half-axis of the ellipse on that component's side (≥ 0)."""
    return np.stack([np.where(vec[..., i] >= 0, lim.hi[i], -lim.lo[i]) for i in others], axis=-1)


def clamp(q, lim: JointLimit) -> np.ndarray:
    """The rotation in ``lim``'s region nearest in swing and twist to q (..., 4)."""
    k = lim.twist_axis
    others = [i for i in range(3) if i != k]
    vec, tw = swing_twist(q, k)
    tw = np.clip(tw, lim.lo[k], lim.hi[k])
    b = np.maximum(_swing_bounds(vec, lim, others), 0.0)
    comp = np.stack([vec[..., i] for i in others], axis=-1)
    comp = np.where(b <= 1e-12, 0.0, comp)
    r = np.sqrt(np.sum(np.where(b <= 1e-12, 0.0, comp / np.maximum(b, 1e-12)) ** 2, axis=-1, keepdims=True))
    comp = np.where(r > 1.0, comp / np.maximum(r, 1e-12), comp)
    for n, i in enumerate(others):
        vec[..., i] = np.clip(comp[..., n], lim.lo[i], lim.hi[i])
    return _from_swing_twist(vec, tw, k)


def violation_deg(q, lim: JointLimit) -> np.ndarray:
    """How many degrees q (..., 4) lies outside ``lim`` (0 inside): twist beyond its range, or the swing beyond its
    ellipse (measured along the swing's own direction)."""
    k = lim.twist_axis
    others = [i for i in range(3) if i != k]
    vec, tw = swing_twist(q, k)
    over_tw = np.maximum(0.0, np.maximum(lim.lo[k] - tw, tw - lim.hi[k]))
    b = np.maximum(_swing_bounds(vec, lim, others), 0.0)
    comp = np.stack([vec[..., i] for i in others], axis=-1)
    mag = np.linalg.norm(comp, axis=-1)
    blocked = np.any((b <= 1e-12) & (np.abs(comp) > 0.0), axis=-1)
    r = np.sqrt(np.sum(np.where(b <= 1e-12, 0.0, comp / np.maximum(b, 1e-12)) ** 2, axis=-1))
    over_sw = np.where(r > 1.0, mag * (1.0 - 1.0 / np.maximum(r, 1e-12)), 0.0)
    zero_side = np.sqrt(np.sum(np.where(b <= 1e-12, comp, 0.0) ** 2, axis=-1))
    over_sw = np.where(blocked, np.maximum(over_sw, zero_side), over_sw)
    return np.degrees(np.maximum(over_tw, over_sw))


def matrix_to_quat(m) -> np.ndarray:
    """(..., 3, 3) rotation matrices → (..., 4) unit quaternions with w ≥ 0 (vectorised)."""
    m = np.asarray(m, dtype=np.float64)
    t = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    cands = np.stack([
        np.stack([m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1], 1 + t], -1),
        np.stack([1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2], m[..., 0, 1] + m[..., 1, 0],
                  m[..., 0, 2] + m[..., 2, 0], m[..., 2, 1] - m[..., 1, 2]], -1),
        np.stack([m[..., 0, 1] + m[..., 1, 0], 1 + m[..., 1, 1] - m[..., 0, 0] - m[..., 2, 2],
                  m[..., 1, 2] + m[..., 2, 1], m[..., 0, 2] - m[..., 2, 0]], -1),
        np.stack([m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1],
                  1 + m[..., 2, 2] - m[..., 0, 0] - m[..., 1, 1], m[..., 1, 0] - m[..., 0, 1]], -1),
    ], axis=-2)                                                            # (..., 4, 4): one candidate per row
    diag = np.stack([t, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], axis=-1)
    best = np.argmax(diag, axis=-1)
    q = np.take_along_axis(cands, best[..., None, None], axis=-2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., 3:4] < 0, -q, q)


def axis_angle_matrix(axis, angle) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about unit axes (..., 3) by angles (...) (Rodrigues)."""
    axis = np.asarray(axis, dtype=np.float64)
    angle = np.asarray(angle, dtype=np.float64)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    c, s = np.cos(angle), np.sin(angle)
    C = 1 - c
    return np.stack([
        np.stack([c + x * x * C, x * y * C - z * s, x * z * C + y * s], -1),
        np.stack([y * x * C + z * s, c + y * y * C, y * z * C - x * s], -1),
        np.stack([z * x * C - y * s, z * y * C + x * s, c + z * z * C], -1),
    ], axis=-2)


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, _EPS), n[..., 0]


def _any_perpendicular(v: np.ndarray) -> np.ndarray:
    a = np.where(np.abs(v[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    return _unit(np.cross(v, a))[0]


def shortest_arc(u, v) -> np.ndarray:
    """The smallest rotation (..., 3, 3) taking direction u (..., 3) to direction v (..., 3)."""
    u, _ = _unit(np.asarray(u, dtype=np.float64))
    v, _ = _unit(np.asarray(v, dtype=np.float64))
    axis = np.cross(u, v)
    s = np.linalg.norm(axis, axis=-1)
    c = np.sum(u * v, axis=-1)
    ang = np.arctan2(s, c)
    axis = np.where((s < 1e-12)[..., None], _any_perpendicular(u), axis / np.maximum(s, _EPS)[..., None])
    return axis_angle_matrix(axis, ang)


def two_bone(a, b, c, target, pole) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place a two-bone chain root ``a`` → mid ``b`` → end ``c`` (all (..., 3)) so that its end reaches
    ``target`` with the mid joint bending towards the ``pole`` direction (..., 3). Bone lengths are kept.

    Returns (new mid (..., 3), new end (..., 3), reached (...,) bool). An unreachable target (too far or too near)
    gets the nearest reachable point on the line from ``a`` towards it.
    """
    a, b, c, target, pole = (np.asarray(x, dtype=np.float64) for x in (a, b, c, target, pole))
    l1 = np.linalg.norm(b - a, axis=-1)
    l2 = np.linalg.norm(c - b, axis=-1)
    d_vec = target - a
    dirn, dist = _unit(d_vec)
    dirn = np.where((dist < 1e-12)[..., None], _unit(c - a)[0], dirn)
    lo, hi = np.abs(l1 - l2), l1 + l2
    reached = (dist >= lo - 1e-9) & (dist <= hi + 1e-9)
    d = np.clip(dist, lo + 1e-9, hi - 1e-9)
    p = pole - np.sum(pole * dirn, axis=-1, keepdims=True) * dirn
    p, pn = _unit(p)
    fallback = _unit((b - a) - np.sum((b - a) * dirn, axis=-1, keepdims=True) * dirn)
    p = np.where((pn < 1e-9)[..., None], np.where((fallback[1] < 1e-9)[..., None], _any_perpendicular(dirn),
                                                  fallback[0]), p)
    cos_a = np.clip((l1 ** 2 + d ** 2 - l2 ** 2) / np.maximum(2 * l1 * d, _EPS), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a ** 2)
    mid = a + l1[..., None] * (cos_a[..., None] * dirn + sin_a[..., None] * p)
    end = a + d[..., None] * dirn
    return mid, end, reached


def two_bone_rotations(a, b, c, target, pole_now, pole_target):
    """World-space rotations for a two-bone chain: ``Ra`` (..., 3, 3) turns the subtree at ``a`` and ``Rb`` the
    subtree at ``b`` (applied after ``Ra``) so that the end reaches ``target``.

    ``pole_now`` is the direction the mid joint bends towards in the current pose (any vector off the upper bone;
    for a straight chain, the side it is meant to bend to); ``pole_target`` the direction it should bend to.
    Returns (Ra, Rb, reached, new mid, new end).
    """
    a, b, c = (np.asarray(x, dtype=np.float64) for x in (a, b, c))
    mid, end, reached = two_bone(a, b, c, target, pole_target)
    u = b - a
    d_now = _unit(c - a)[0]
    side_now = u - np.sum(u * d_now, axis=-1, keepdims=True) * d_now
    p_now = np.asarray(pole_now, dtype=np.float64)
    p_now = p_now - np.sum(p_now * d_now, axis=-1, keepdims=True) * d_now
    side_now = np.where((np.linalg.norm(side_now, axis=-1) < 1e-6 * np.linalg.norm(u, axis=-1))[..., None],
                        p_now, side_now)
    n_now = np.cross(d_now, side_now)
    n_now = np.where((np.linalg.norm(n_now, axis=-1) < 1e-12)[..., None], _any_perpendicular(u), n_now)
    u2 = mid - a
    dirn = _unit(end - a)[0]
    side = mid - a - np.sum((mid - a) * dirn, axis=-1, keepdims=True) * dirn   # towards the mid joint
    p_t = np.asarray(pole_target, dtype=np.float64)
    p_t = p_t - np.sum(p_t * dirn, axis=-1, keepdims=True) * dirn
    side = np.where((np.linalg.norm(side, axis=-1) < 1e-9)[..., None], p_t, side)
    n_new = np.cross(dirn, side)
    n_new = np.where((np.linalg.norm(n_new, axis=-1) < 1e-12)[..., None], _any_perpendicular(u2), n_new)
    Ra = _align(u, n_now, u2, n_new)
    v = np.einsum("...ij,...j->...i", Ra, c - b)
    Rb = shortest_arc(v, end - mid)
    return Ra, Rb, reached, mid, end


def _align(x, n, x2, n2) -> np.ndarray:
    """The rotation taking the frame (x, n ⊥ x) to the frame (x2, n2 ⊥ x2)."""
    def frame(x, n):
        xh = _unit(x)[0]
        nh = _unit(n - np.sum(n * xh, axis=-1, keepdims=True) * xh)[0]
        return np.stack([xh, np.cross(nh, xh), nh], axis=-1)       # columns
    f1, f2 = frame(x, n), frame(x2, n2)
    return f2 @ np.swapaxes(f1, -1, -2)
