"""Batched forward kinematics in torch (CPU or CUDA), the same maths as :func:`core.kinematics.forward_kinematics`.

Joints are processed one depth level at a time (every joint at depth d in one batched product), which keeps the
number of kernel launches at the skeleton's depth (~10 for a human) rather than its joint count — what matters on a
GPU. torch is imported here only; core/ never imports it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["forward_kinematics_torch"]


def _quat_to_matrix(q):
    import torch

    x, y, z, w = q.unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    m = torch.stack([1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy),
                     2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx),
                     2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy)], dim=-1)
    return m.reshape(q.shape[:-1] + (3, 3))


def _quat_multiply(a, b):
    import torch

    ax, ay, az, aw = a.unbind(-1)
    bx, by, bz, bw = b.unbind(-1)
    return torch.stack([aw * bx + ax * bw + ay * bz - az * by,
                        aw * by - ax * bz + ay * bw + az * bx,
                        aw * bz + ax * by - ay * bx + az * bw,
                        aw * bw - ax * bx - ay * by - az * bz], dim=-1)


def forward_kinematics_torch(levels, parents, offsets, rest, rotations, translations=None):
    """Global joint matrices.

    levels : tuple of index arrays (:func:`core.kinematics.depth_levels`); parents : (J,) int;
    offsets : (J, 3) tensor; rest : (J, 4) tensor; rotations : (..., J, 4) tensor; translations : (..., J, 3) or
    None. Everything on one device and dtype. Returns (..., J, 4, 4).
    """
    import torch

    nj = parents.shape[0]
    if rotations.shape[-2:] != (nj, 4):
        raise ValueError(f"rotations must have shape (..., {nj}, 4), got {tuple(rotations.shape)}")
    dev = rotations.device
    lead = rotations.shape[:-2]
    # joint axis first so that each level's gather is a contiguous block
    q = _quat_multiply(rest.reshape((nj,) + (1,) * len(lead) + (4,)), rotations.movedim(-2, 0))
    local_r = _quat_to_matrix(q)                                            # (J, ..., 3, 3)
    local_t = offsets.reshape((nj,) + (1,) * len(lead) + (3,)).expand((nj,) + tuple(lead) + (3,))
    if translations is not None:
        local_t = local_t + translations.movedim(-2, 0)
    glob_r = torch.empty_like(local_r)
    glob_t = torch.empty(local_t.shape, dtype=local_r.dtype, device=dev)
    parents_t = torch.as_tensor(np.asarray(parents), device=dev)
    for d, idx in enumerate(levels):
        ix = torch.as_tensor(np.asarray(idx), device=dev)
        lr = local_r.index_select(0, ix)
        lt = local_t.index_select(0, ix)
        if d == 0:
            glob_r[ix] = lr
            glob_t[ix] = lt
        else:
            p = parents_t.index_select(0, ix)
            pr = glob_r.index_select(0, p)
            glob_r[ix] = pr @ lr
            glob_t[ix] = (pr @ lt.unsqueeze(-1)).squeeze(-1) + glob_t.index_select(0, p)
    out = torch.zeros(tuple(lead) + (nj, 4, 4), dtype=local_r.dtype, device=dev)
    out[..., :3, :3] = glob_r.movedim(0, -3)
    out[..., :3, 3] = glob_t.movedim(0, -2)
    out[..., 3, 3] = 1.0
    return out
