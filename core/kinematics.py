"""Forward kinematics for skeletons of any topology, vectorised over frames and characters (SPEC §3).

A joint's local transform is ``T(offset + translation) · R(rest) · R(animated)``: ``offset`` and ``rest`` come from
the skeleton (``{name, parent, offset, rotation}``), ``animated`` is the ``joints.<j>.rotation`` value and
``translation`` is root motion (``joints.<root>.position``; zero for other joints). A joint's global matrix is its
parent's global matrix times its local one; roots start from ``base`` (the entity's world matrix, or identity).

Joints are processed in one parents-first pass; each step is one numpy operation over all leading dimensions
(frames × characters), so the Python loop runs J times whatever the number of frames and characters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import quat

__all__ = ["Rig", "rig", "depth_levels", "forward_kinematics", "forward", "forward_batch"]


@dataclass(frozen=True)
class Rig:
    """A skeleton as arrays: names (J,), parents (J,) int (−1 for roots, parents[j] < j), offsets (J, 3),
    rest (J, 4) quaternions, levels: index arrays of the joints at each depth (for batched GPU paths)."""

    names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    rest: np.ndarray
    levels: tuple[np.ndarray, ...]

    @property
    def roots(self) -> np.ndarray:
        return np.flatnonzero(self.parents < 0)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown joint {name!r}") from None


def depth_levels(parents) -> tuple[np.ndarray, ...]:
    """parents : (J,) int, parents-first (−1 for roots) → index arrays of the joints at depth 0, 1, …"""
    parents = np.asarray(parents)
    if parents.ndim != 1:
        raise ValueError(f"parents must have shape (J,), got {parents.shape}")
    j = parents.shape[0]
    if np.any(parents >= np.arange(j)) or np.any(parents < -1):
        raise ValueError("parents must list each joint after its parent (parents[j] < j, −1 for roots)")
    depth = np.zeros(j, dtype=np.int64)
    for i in range(j):
        if parents[i] >= 0:
            depth[i] = depth[parents[i]] + 1
    return tuple(np.flatnonzero(depth == d) for d in range(int(depth.max(initial=-1)) + 1))


def rig(joints: list[dict]) -> Rig:
    """A normalised joint list (:func:`core.skeleton.normalize_joints`, parents first) → :class:`Rig`."""
    names = tuple(j["name"] for j in joints)
    where = {n: i for i, n in enumerate(names)}
    if len(where) != len(names):
        raise ValueError("joint names must be unique")
    parents = np.array([-1 if j["parent"] is None else where.get(j["parent"], len(names)) for j in joints],
                       dtype=np.int64)
    offsets = np.array([j.get("offset", [0.0, 0.0, 0.0]) for j in joints], dtype=np.float64).reshape(-1, 3)
    rest = quat.normalize(np.array([j.get("rotation", [0.0, 0.0, 0.0, 1.0]) for j in joints],
                                   dtype=np.float64).reshape(-1, 4))
    return Rig(names, parents, offsets, rest, depth_levels(parents))


def _quat_multiply_into(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Hamilton product a ⊗ b of (..., 4) quaternions written into out : (..., 4)."""
    ax, ay, az, aw = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bx, by, bz, bw = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    out[..., 0] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 1] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 2] = aw * bz + ax * by - ay * bx + az * bw
    out[..., 3] = aw * bw - ax * bx - ay * by - az * bz


def _quat_to_matrix_into(q: np.ndarray, out: np.ndarray) -> None:
    """Unit quaternions q : (..., 4) → rotation matrices written into out : (..., 3, 3)."""
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    out[..., 0, 0] = 1 - 2 * (yy + zz)
    out[..., 0, 1] = 2 * (xy - wz)
    out[..., 0, 2] = 2 * (xz + wy)
    out[..., 1, 0] = 2 * (xy + wz)
    out[..., 1, 1] = 1 - 2 * (xx + zz)
    out[..., 1, 2] = 2 * (yz - wx)
    out[..., 2, 0] = 2 * (xz - wy)
    out[..., 2, 1] = 2 * (yz + wx)
    out[..., 2, 2] = 1 - 2 * (xx + yy)


def _matvec3(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(..., 3, 3) @ (..., 3) → (..., 3)."""
    return a[..., :, 0] * v[..., 0:1] + a[..., :, 1] * v[..., 1:2] + a[..., :, 2] * v[..., 2:3]


def _check(a, tail: tuple[int, ...], what: str, dtype) -> np.ndarray:
    a = np.asarray(a, dtype=dtype)
    if a.ndim < len(tail) or a.shape[a.ndim - len(tail):] != tail:
        shape = ", ".join(["..."] + [str(t) for t in tail])
        raise ValueError(f"{what} must have shape ({shape}), got {a.shape}")
    return a


_BLOCK_ELEMENTS = 1 << 17
"""Joint poses per block of the FK pass (rows × joints): about 12 MB of float64 working set, reused per block."""


def _pass(parents, rest, rotations, offsets, translations, base, work):
    """The parents-first pass over one block of n rows: rest, rotations (n, J, 4); offsets, translations (n, J, 3);
    base (n, 4, 4) or None; work: buffers (J, ≥n, 3, 3), (J, ≥n, 3), (≥n, 3, 3), (≥n, 4).
    Returns global rotations (J, n, 3, 3) and translations (J, n, 3), joint axis first so that parent lookups and
    the batched products work on contiguous memory."""
    n, nj = rest.shape[:2]
    glob_r, glob_t = work[0][:, :n], work[1][:, :n]
    local_r, q = work[2][:n], work[3][:n]
    for j in range(nj):
        if rotations is None:
            q[...] = rest[:, j]
        else:
            _quat_multiply_into(rest[:, j], rotations[:, j], q)
        _quat_to_matrix_into(q, local_r)
        local_t = offsets[:, j] if translations is None else offsets[:, j] + translations[:, j]
        p = parents[j]
        if p < 0:
            if base is None:
                glob_r[j] = local_r
                glob_t[j] = local_t
            else:
                np.matmul(base[:, :3, :3], local_r, out=glob_r[j])
                glob_t[j] = _matvec3(base[:, :3, :3], local_t) + base[:, :3, 3]
        else:
            np.matmul(glob_r[p], local_r, out=glob_r[j])
            glob_t[j] = _matvec3(glob_r[p], local_t) + glob_t[p]
    return glob_r, glob_t


def forward_kinematics(parents, offsets, rest, rotations=None, translations=None, base=None,
                       dtype=np.float64) -> np.ndarray:
    """Global joint matrices.

    parents : (J,) int, parents-first, −1 for roots.
    offsets : (..., J, 3) rest translations in the parent frame (metres).
    rest : (..., J, 4) rest rotations (unit quaternions, scalar last).
    rotations : (..., J, 4) animated local rotations, or None (identity).
    translations : (..., J, 3) extra local translations (root motion), or None.
    base : (..., 4, 4) the matrix roots hang from (the entity's world matrix, scale allowed), or None (identity).
    Leading dimensions broadcast (e.g. (B, F) for B characters × F frames). Returns (..., J, 4, 4) in ``dtype``.

    Each step of the parents-first pass computes one joint's local rotation and multiplies it onto its parent's
    global matrix for a block of frames × characters at once (blocks keep the working set in cache).
    """
    parents = np.asarray(parents, dtype=np.int64)
    if parents.ndim != 1:
        raise ValueError(f"parents must have shape (J,), got {parents.shape}")
    nj = parents.shape[0]
    if np.any(parents >= np.arange(nj)) or np.any(parents < -1):
        raise ValueError("parents must list each joint after its parent (parents[j] < j, −1 for roots)")
    offsets = _check(offsets, (nj, 3), "offsets", dtype)
    rest = _check(rest, (nj, 4), "rest rotations", dtype)
    shapes = [offsets.shape[:-2], rest.shape[:-2]]
    if rotations is not None:
        rotations = _check(rotations, (nj, 4), "rotations", dtype)
        shapes.append(rotations.shape[:-2])
    if translations is not None:
        translations = _check(translations, (nj, 3), "translations", dtype)
        shapes.append(translations.shape[:-2])
    if base is not None:
        base = _check(base, (4, 4), "base", dtype)
        shapes.append(base.shape[:-2])
    lead = np.broadcast_shapes(*shapes)
    n = int(np.prod(lead, dtype=np.int64))

    def flat(a: np.ndarray, tail: int) -> np.ndarray:
        return np.broadcast_to(a, lead + (nj, tail)).reshape(n, nj, tail)   # a view where the layout allows

    rest_n = flat(rest, 4)
    rot_n = None if rotations is None else flat(rotations, 4)
    off_n = flat(offsets, 3)
    tr_n = None if translations is None else flat(translations, 3)
    if base is not None:
        base = np.broadcast_to(base, lead + (4, 4)).reshape(n, 4, 4)

    out = np.empty((n, nj, 4, 4), dtype=dtype)
    out[:, :, 3, :3] = 0.0
    out[:, :, 3, 3] = 1.0
    # rows in blocks so that the working set stays in cache whatever the batch size
    step = min(n, max(1, _BLOCK_ELEMENTS // max(nj, 1)))
    work = (np.empty((nj, step, 3, 3), dtype=dtype), np.empty((nj, step, 3), dtype=dtype),
            np.empty((step, 3, 3), dtype=dtype), np.empty((step, 4), dtype=dtype))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        glob_r, glob_t = _pass(parents, rest_n[lo:hi], None if rot_n is None else rot_n[lo:hi], off_n[lo:hi],
                               None if tr_n is None else tr_n[lo:hi],
                               None if base is None else base[lo:hi], work)
        out[lo:hi, :, :3, :3] = glob_r.transpose(1, 0, 2, 3)
        out[lo:hi, :, :3, 3] = glob_t.transpose(1, 0, 2)
    return out.reshape(lead + (nj, 4, 4))


def forward(r: Rig, rotations=None, root_translation=None, base=None) -> np.ndarray:
    """FK of one character: rotations (F, J, 4) or None; root_translation (F, J, 3) (rows of non-root joints are
    ignored) or (F, 3) (added to every root) or None; base (F, 4, 4) or (4, 4) or None → (F, J, 4, 4)."""
    translations = None
    if root_translation is not None:
        rt = np.asarray(root_translation, dtype=np.float64)
        nj = len(r.names)
        if rt.shape[-2:] == (nj, 3) and rt.ndim >= 2:
            translations = np.where((r.parents < 0)[:, None], rt, 0.0)
        elif rt.shape[-1:] == (3,):
            translations = np.where((r.parents < 0)[:, None], rt[..., None, :], 0.0)
        else:
            raise ValueError(f"root_translation must have shape (F, 3) or (F, {nj}, 3), got {rt.shape}")
    return forward_kinematics(r.parents, r.offsets, r.rest, rotations, translations, base)


def forward_batch(parents, offsets, rest, rotations, translations=None, base=None,
                  dtype=np.float64) -> np.ndarray:
    """FK of many characters sharing one topology.

    parents (J,); offsets (J, 3) or (B, 1, J, 3); rest (J, 4) or (B, 1, J, 4); rotations (B, F, J, 4);
    translations (B, F, J, 3) or None; base (B, F, 4, 4) or (B, 1, 4, 4) or None → (B, F, J, 4, 4).
    """
    rotations = np.asarray(rotations, dtype=dtype)
    if rotations.ndim != 4 or rotations.shape[-1] != 4:
        raise ValueError(f"rotations must have shape (B, F, J, 4), got {rotations.shape}")
    return forward_kinematics(parents, offsets, rest, rotations, translations, base, dtype=dtype)
