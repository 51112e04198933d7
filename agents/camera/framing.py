"""The framing solver: where a camera must be, how it must turn and what focal length it needs so that a subject
lands at a screen position at a given size (σ, the fraction of the frame height its height fills).

Everything is vectorised over frames: ``(F, 3)`` points, ``(F,)`` scalars, focal lengths as ``f_px`` (pixels,
``fx = fy``; the principal point is the image centre, as in :mod:`core.camera`).

- :func:`aim_rotation` — a level camera (its x axis horizontal, then rolled by ``roll``) at P whose image shows A
  at the pixel ``target``; closed form: pitch from the vertical component, yaw from the horizontal one.
- :func:`solve_distance` — along the directions ``u`` from the aim point, the distance at which the subject's
  centre C, ``height`` tall, fills σ at focal ``f_px`` (fixed point ``d ← d · σ(d) / σ*``, σ ∝ 1/depth).
- :func:`solve_focal` — from given positions, the focal length that gives σ (exact: σ is linear in f once the
  rotation is fixed; the rotation depends on f through the target, so three rounds).
"""

from __future__ import annotations

import numpy as np

from core import quat

__all__ = ["aim_rotation", "depth_along_view", "size_of", "solve_distance", "solve_focal", "rotation_quats"]


def _rx(a):
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _ry(a):
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rz(a):
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def aim_rotation(P, A, target_px, f_px, size_px, roll_deg=0.0) -> np.ndarray:
    """Camera-to-world rotations (F, 3, 3) of level cameras at P (F, 3) that show A (F, 3) at pixel
    ``target_px`` (F, 2) (u right, v down) with focal ``f_px`` (F,) on an image ``size_px`` = (W, H), rolled by
    ``roll_deg`` about the view axis (the roll is applied about the image centre after the target is placed)."""
    P, A = np.asarray(P, float), np.asarray(A, float)
    F = P.shape[0]
    f = np.broadcast_to(np.asarray(f_px, float), (F,))
    t = np.broadcast_to(np.asarray(target_px, float), (F, 2))
    W, H = size_px
    dc = np.stack([(t[:, 0] - W / 2) / f, -(t[:, 1] - H / 2) / f, -np.ones(F)], axis=1)
    dc /= np.linalg.norm(dc, axis=1, keepdims=True)
    roll = np.radians(np.broadcast_to(np.asarray(roll_deg, float), (F,)))
    dc = np.einsum("fij,fj->fi", _rz(roll), dc)
    w = A - P
    w /= np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    rho = np.hypot(dc[:, 1], dc[:, 2])
    beta = np.arctan2(dc[:, 2], dc[:, 1])
    phi = -np.arccos(np.clip(w[:, 1] / np.maximum(rho, 1e-12), -1.0, 1.0)) - beta
    qx = dc[:, 0]
    qz = dc[:, 1] * np.sin(phi) + dc[:, 2] * np.cos(phi)
    psi = np.arctan2(w[:, 0], w[:, 2]) - np.arctan2(qx, qz)
    return _ry(psi) @ _rx(phi) @ _rz(roll)


def rotation_quats(R) -> np.ndarray:
    """Rotation matrices (F, 3, 3) → quaternions (F, 4) xyzw with w ≥ 0, continuous from frame to frame."""
    q = quat.from_matrix(R)
    for i in range(1, len(q)):
        if np.dot(q[i], q[i - 1]) < 0:
            q[i] = -q[i]
    return q


def depth_along_view(P, R, X) -> np.ndarray:
    """Depth (F,) of points X (F, 3) in front of cameras at P with rotations R (they look down −Z)."""
    rel = np.asarray(X, float) - np.asarray(P, float)
    return -np.einsum("fi,fi->f", R[:, :, 2], rel)


def size_of(height, depth, f_px, H) -> np.ndarray:
    """σ: the fraction of an image H pixels high that a subject ``height`` metres tall fills at ``depth``."""
    return np.asarray(height, float) * np.asarray(f_px, float) / (np.maximum(depth, 1e-9) * H)


def solve_distance(A, u, C, height, sigma, f_px, target_px, size_px, roll_deg=0.0, rounds: int = 8) -> np.ndarray:
    """Distances d (F,) along the unit directions u (F, 3) from the aim points A such that the camera at
    ``A + d u`` framing A at ``target_px`` shows the subject (centre C, ``height``) at size ``sigma``."""
    W, H = size_px
    f = np.broadcast_to(np.asarray(f_px, float), (len(A),))
    d = np.asarray(height, float) * f / (np.asarray(sigma, float) * H)
    for _ in range(rounds):
        P = A + d[:, None] * u
        R = aim_rotation(P, A, target_px, f, size_px, roll_deg)
        s = size_of(height, depth_along_view(P, R, C), f, H)
        d = d * s / sigma
    return d


def solve_focal(P, A, C, height, sigma, target_px, size_px, f0, roll_deg=0.0, rounds: int = 4):
    """Focal lengths f_px (F,) and rotations (F, 3, 3) for cameras at P framing A at ``target_px`` with the
    subject at size ``sigma``. Depth ≤ 0 (the subject behind the camera) gives nan."""
    W, H = size_px
    f = np.broadcast_to(np.asarray(f0, float), (len(P),)).copy()
    R = None
    for _ in range(rounds):
        R = aim_rotation(P, A, target_px, f, size_px, roll_deg)
        z = depth_along_view(P, R, C)
        f = np.where(z > 1e-6, np.asarray(sigma, float) * H * z / np.asarray(height, float), np.nan)
        f = np.where(np.isfinite(f), f, f0)
    R = aim_rotation(P, A, target_px, f, size_px, roll_deg)
    return f, R
