"""Analytic two-bone inverse kinematics (a hip–knee–ankle or shoulder–elbow–wrist chain), vectorised over leading
dimensions, float64, deterministic.

Given the world positions of the chain's root ``a``, middle ``b`` and end ``c`` and a target, :func:`solve` returns
two world-space rotations: ``ra`` about ``a`` (turns the whole chain) and ``rb`` about the moved middle joint (bends
it), so that the end lands on the target, or as near as the bone lengths allow (then ``reached`` is False). The
bend stays in the plane of the current pose (the knee keeps pointing where it pointed) unless a ``pole`` point is
given: then the middle joint bends towards it. Apply them as ``W_a' = ra · W_a`` and ``W_b' = rb · ra · W_b``
(world rotations of the two joints); the end joint keeps its world rotation if its local one is recomputed.

This is a small self-contained solver for the BVH retargeter and the hold helper; the motion work's IK (issue 14,
item 4) may replace it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import quat

__all__ = ["TwoBone", "solve", "rotation_between", "REACH_TOL_M"]

REACH_TOL_M = 1e-6
_EPS = 1e-12


class TwoBone(NamedTuple):
    ra: np.ndarray        # (..., 4) world rotation about the chain's root
    rb: np.ndarray        # (..., 4) world rotation about the middle joint (after ra)
    end: np.ndarray       # (..., 3) where the end joint lands
    reached: np.ndarray   # (...,) bool: within REACH_TOL_M of the target


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, _EPS), n[..., 0]


def rotation_between(u, v) -> np.ndarray:
    """The smallest rotation (..., 4) turning direction u (..., 3) onto direction v (..., 3)."""
    u, _ = _unit(np.asarray(u, dtype=np.float64))
    v, _ = _unit(np.asarray(v, dtype=np.float64))
    w = 1.0 + np.sum(u * v, axis=-1)
    axis = np.cross(u, v)
    # opposite directions: half a turn about any axis perpendicular to u
    other = np.where(np.abs(u[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    perp, _ = _unit(np.cross(u, other))
    flip = w < 1e-12
    q = np.concatenate([np.where(flip[..., None], perp, axis), np.where(flip, 0.0, w)[..., None]], axis=-1)
    return quat.normalize(q)


def solve(a, b, c, target, pole=None) -> TwoBone:
    """See the module docstring. a, b, c, target, pole : (..., 3) world positions."""
    a, b, c, t = (np.asarray(x, dtype=np.float64) for x in (a, b, c, target))
    l1 = np.linalg.norm(b - a, axis=-1)
    l2 = np.linalg.norm(c - b, axis=-1)
    u, dist = _unit(t - a)
    d = np.clip(dist, np.abs(l1 - l2) + 1e-9, l1 + l2 - 1e-9)
    hint = (np.asarray(pole, dtype=np.float64) - a) if pole is not None else (b - a)
    side = hint - np.sum(hint * u, axis=-1, keepdims=True) * u
    side, slen = _unit(side)
    if np.any(slen < 1e-9):                       # straight chain on the target line: bend any perpendicular way
        other = np.where(np.abs(u[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
        alt, _ = _unit(np.cross(u, other))
        side = np.where((slen < 1e-9)[..., None], alt, side)
    cos_a = np.clip((l1 ** 2 + d ** 2 - l2 ** 2) / np.maximum(2 * l1 * d, _EPS), -1.0, 1.0)
    sin_a = np.sqrt(1.0 - cos_a ** 2)
    b_new = a + l1[..., None] * (cos_a[..., None] * u + sin_a[..., None] * side)
    c_new = a + d[..., None] * u
    ra = rotation_between(b - a, b_new - a)
    c_moved = a + quat.rotate(ra, c - a)
    rb = rotation_between(c_moved - b_new, c_new - b_new)
    end = b_new + quat.rotate(rb, c_moved - b_new)
    return TwoBone(ra, rb, end, np.linalg.norm(end - t, axis=-1) <= REACH_TOL_M)
