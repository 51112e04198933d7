"""Quaternions, scalar last ``[x, y, z, w]``, vectorised over leading dimensions.

Conventions: right-handed, active rotations, ``q * v * q⁻¹``. Matrices act on column vectors.
"""

from __future__ import annotations

import numpy as np

from .tolerances import EPS_NORM

__all__ = [
    "normalize",
    "multiply",
    "conjugate",
    "rotate",
    "to_matrix",
    "from_matrix",
    "from_axis_angle",
    "from_euler_deg",
    "slerp",
    "identity",
]


def _as(q) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    if q.shape[-1:] != (4,):
        raise ValueError(f"quaternion must have shape (..., 4), got {q.shape}")
    return q


def identity(shape: tuple[int, ...] = ()) -> np.ndarray:
    q = np.zeros(shape + (4,))
    q[..., 3] = 1.0
    return q


def normalize(q) -> np.ndarray:
    """q : (..., 4) → unit quaternions; raises ValueError on zero or non-finite input."""
    q = _as(q)
    if not np.all(np.isfinite(q)):
        raise ValueError("quaternion has non-finite components")
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(n < EPS_NORM):
        raise ValueError("quaternion has zero length")
    return q / n


def conjugate(q) -> np.ndarray:
    q = _as(q)
    return q * np.array([-1.0, -1.0, -1.0, 1.0])


def multiply(a, b) -> np.ndarray:
    """Hamilton product a ⊗ b, shapes broadcast: (..., 4)."""
    a, b = _as(a), _as(b)
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def to_matrix(q) -> np.ndarray:
    """q : (..., 4) unit → (..., 3, 3) rotation matrices."""
    q = _as(q)
    x, y, z, w = np.moveaxis(q, -1, 0)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    m = np.stack(
        [
            1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy),
            2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx),
            2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy),
        ],
        axis=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def rotate(q, v) -> np.ndarray:
    """Rotate vectors v : (..., 3) by q : (..., 4)."""
    return np.einsum("...ij,...j->...i", to_matrix(q), np.asarray(v, dtype=np.float64))


def from_matrix(m) -> np.ndarray:
    """(..., 3, 3) rotation matrices → (..., 4) unit quaternions with w ≥ 0."""
    m = np.asarray(m, dtype=np.float64)
    if m.shape[-2:] != (3, 3):
        raise ValueError(f"rotation matrix must have shape (..., 3, 3), got {m.shape}")
    flat = m.reshape(-1, 3, 3)
    out = np.empty((flat.shape[0], 4))
    for i, r in enumerate(flat):
        t = np.trace(r)
        if t > 0:
            s = np.sqrt(t + 1.0) * 2
            out[i] = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, 0.25 * s]
        elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
            s = np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2
            out[i] = [0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s, (r[2, 1] - r[1, 2]) / s]
        elif r[1, 1] > r[2, 2]:
            s = np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2
            out[i] = [(r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s, (r[0, 2] - r[2, 0]) / s]
        else:
            s = np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2
            out[i] = [(r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s, (r[1, 0] - r[0, 1]) / s]
    out *= np.where(out[:, 3:4] < 0, -1.0, 1.0)
    out /= np.linalg.norm(out, axis=-1, keepdims=True)
    return out.reshape(m.shape[:-2] + (4,))


def from_axis_angle(axis, angle_rad) -> np.ndarray:
    """axis : (..., 3), angle_rad : (...) → (..., 4)."""
    axis = np.asarray(axis, dtype=np.float64)
    n = np.linalg.norm(axis, axis=-1, keepdims=True)
    if np.any(n < EPS_NORM):
        raise ValueError("rotation axis has zero length")
    half = 0.5 * np.asarray(angle_rad, dtype=np.float64)[..., None]
    return np.concatenate([axis / n * np.sin(half), np.cos(half)], axis=-1)


_AXES = {"X": (1.0, 0.0, 0.0), "Y": (0.0, 1.0, 0.0), "Z": (0.0, 0.0, 1.0)}


def from_euler_deg(angles, order: str = "XYZ") -> np.ndarray:
    """Intrinsic Euler angles in degrees, applied in ``order`` (e.g. "XYZ": first about X, then the new Y, then Z).

    This equals the matrix product ``R = Rx · Ry · Rz`` for "XYZ" — the convention of Blender's "XYZ Euler"
    read as intrinsic rotations (extrinsic ZYX).
    """
    order = order.upper()
    if len(order) != 3 or set(order) - set("XYZ"):
        raise ValueError(f"euler order must be three of X, Y, Z, got {order!r}")
    angles = np.radians(np.asarray(angles, dtype=np.float64))
    if angles.shape[-1:] != (3,):
        raise ValueError(f"euler angles must have shape (..., 3), got {angles.shape}")
    q = identity(angles.shape[:-1])
    for i, ax in enumerate(order):
        q = multiply(q, from_axis_angle(_AXES[ax], angles[..., i]))
    return q


def slerp(a, b, t) -> np.ndarray:
    """Spherical interpolation along the short path. a, b : (..., 4); t : (...) in [0, 1]."""
    a, b = normalize(a), normalize(b)
    t = np.asarray(t, dtype=np.float64)[..., None]
    d = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(d < 0, -b, b)
    d = np.abs(d)
    theta = np.arccos(np.clip(d, -1.0, 1.0))
    s = np.sin(theta)
    near = s < 1e-6
    safe = np.where(near, 1.0, s)
    wa = np.where(near, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    wb = np.where(near, t, np.sin(t * theta) / safe)
    out = wa * a + wb * b
    return out / np.linalg.norm(out, axis=-1, keepdims=True)
