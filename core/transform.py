"""Rigid and affine 4×4 transforms, vectorised over leading dimensions.

Conventions (SPEC §2): right-handed, Y up, metres; matrices act on column vectors (``p' = M @ [p, 1]``), so a
chain reads right to left and ``compose`` builds ``T · R · S``. Quaternions are scalar last.
"""

from __future__ import annotations

import numpy as np

from . import quat
from .tolerances import EPS_NORM

__all__ = [
    "as_matrices",
    "compose",
    "translation_matrix",
    "decompose",
    "rigid",
    "invert_rigid",
    "aim_rotation",
]


def as_matrices(m, what: str = "matrix") -> np.ndarray:
    """Coerce to float (..., 4, 4); raises ValueError naming the bad shape."""
    m = np.asarray(m, dtype=np.float64)
    if m.shape[-2:] != (4, 4):
        raise ValueError(f"{what} must have shape (..., 4, 4), got {m.shape}")
    return m


def _vec(v, n: int, what: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.shape[-1:] != (n,):
        raise ValueError(f"{what} must have shape (..., {n}), got {v.shape}")
    return v


def compose(position, rotation, scale=None) -> np.ndarray:
    """``T(position) · R(rotation) · S(scale)``.

    position : (..., 3); rotation : (..., 4) unit quaternions; scale : (..., 3) or None (ones).
    Leading dimensions broadcast. Returns (..., 4, 4).
    """
    p = _vec(position, 3, "position")
    q = _vec(rotation, 4, "rotation")
    r = quat.to_matrix(q)
    if scale is not None:
        s = _vec(scale, 3, "scale")
        r = r * s[..., None, :]  # scales the columns: R · diag(s)
    lead = np.broadcast_shapes(p.shape[:-1], r.shape[:-2])
    m = np.zeros(lead + (4, 4))
    m[..., :3, :3] = r
    m[..., :3, 3] = p
    m[..., 3, 3] = 1.0
    return m


def translation_matrix(t) -> np.ndarray:
    """t : (..., 3) → (..., 4, 4) pure translations."""
    t = _vec(t, 3, "translation")
    m = np.zeros(t.shape[:-1] + (4, 4))
    m[..., :3, :3] = np.eye(3)
    m[..., :3, 3] = t
    m[..., 3, 3] = 1.0
    return m


def _polar(a: np.ndarray) -> np.ndarray:
    """The rotation nearest to a : (..., 3, 3) (polar decomposition by SVD, det forced to +1)."""
    u, _, vt = np.linalg.svd(a)
    d = np.sign(np.linalg.det(u @ vt))
    d = np.where(d == 0, 1.0, d)
    u = u.copy()
    u[..., :, 2] *= d[..., None]
    return u @ vt


def rigid(m) -> np.ndarray:
    """Remove scale (and any shear) from m : (..., 4, 4): keeps the translation and the nearest rotation.

    For ``T · R · S`` with positive scale this is exactly ``T · R``. Returns (..., 4, 4).
    """
    m = as_matrices(m)
    a = m[..., :3, :3]
    n = np.linalg.norm(a, axis=-2, keepdims=True)
    if np.any(n < EPS_NORM):
        raise ValueError("matrix has a zero-length axis; cannot remove its scale")
    cols = a / n
    # exact when the columns are already orthogonal (no shear): skip the SVD in that common case
    gram = np.swapaxes(cols, -1, -2) @ cols
    if np.allclose(gram, np.eye(3), atol=1e-9):
        r = cols
    else:
        r = _polar(a)
    out = np.zeros(m.shape)
    out[..., :3, :3] = r
    out[..., :3, 3] = m[..., :3, 3]
    out[..., 3, 3] = 1.0
    return out


def invert_rigid(m) -> np.ndarray:
    """Inverse of a rigid m : (..., 4, 4) (rotation + translation only): ``[Rᵀ, −Rᵀt]``."""
    m = as_matrices(m)
    r = m[..., :3, :3]
    t = m[..., :3, 3]
    rt = np.swapaxes(r, -1, -2)
    out = np.zeros(m.shape)
    out[..., :3, :3] = rt
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", rt, t)
    out[..., 3, 3] = 1.0
    return out


def decompose(m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """m : (..., 4, 4) → position (..., 3), rotation (..., 4) quaternion with w ≥ 0, scale (..., 3).

    Scale is the length of each axis (column); the rotation is the nearest rotation to the upper 3×3
    (exact for ``T · R · S``; approximate when a parent's non-uniform scale introduced shear).
    """
    m = as_matrices(m)
    scale = np.linalg.norm(m[..., :3, :3], axis=-2)
    r = rigid(m)[..., :3, :3]
    return m[..., :3, 3].copy(), quat.from_matrix(r), scale


def aim_rotation(direction, up=(0.0, 1.0, 0.0), forward: str = "-z") -> tuple[np.ndarray, np.ndarray]:
    """Rotation matrices whose ``forward`` axis points along ``direction`` with +Y as close to ``up`` as possible.

    direction : (..., 3) (need not be unit); up : (3,) or (..., 3); forward : "-z" (cameras, lights, props) or
    "+z" (characters, which face +Z). Returns ``(R (..., 3, 3), ok (...) bool)``; ``ok`` is False where
    ``direction`` has zero length (R is then the identity; callers keep their own rotation there).
    Where direction is parallel to ``up`` the up vector falls back to world −Z (looking down, the image top
    points along −Z) or +Z (looking up).
    """
    d = _vec(direction, 3, "direction")
    up = np.broadcast_to(_vec(up, 3, "up"), d.shape)
    if forward not in ("-z", "+z"):
        raise ValueError(f"forward must be '-z' or '+z', got {forward!r}")
    n = np.linalg.norm(d, axis=-1, keepdims=True)
    ok = n[..., 0] > EPS_NORM
    f = np.where(ok[..., None], d / np.where(n > EPS_NORM, n, 1.0), np.array([0.0, 0.0, -1.0]))
    z = -f if forward == "-z" else f  # the matrix's +Z column
    x = np.cross(up, z)
    xn = np.linalg.norm(x, axis=-1, keepdims=True)
    parallel = xn[..., 0] < 1e-9
    if np.any(parallel):
        # looking along ±up: pick an up that keeps the image top along world ∓Z
        alt = np.where((np.sum(f * up, axis=-1) > 0)[..., None], np.array([0.0, 0.0, 1.0]),
                       np.array([0.0, 0.0, -1.0]))
        x = np.where(parallel[..., None], np.cross(alt, z), x)
        xn = np.linalg.norm(x, axis=-1, keepdims=True)
    x = x / xn
    y = np.cross(z, x)
    r = np.stack([x, y, z], axis=-1)
    r = np.where(ok[..., None, None], r, np.eye(3))
    return r, ok
