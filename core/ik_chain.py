"""Damped least squares over a chain of joints, honouring joint limits (swing cone + twist, :mod:`core.ik`).

Deterministic: a fixed list of starting poses, a fixed iteration budget each, float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kinematics, quat
from .ik import REACH_TOL_M, JointLimit, _from_swing_twist, clamp, swing_twist

__all__ = ["ChainResult", "solve_chain"]


@dataclass(frozen=True)
class ChainResult:
    rotations: np.ndarray      # (J, 4) local rotations with the chain's joints solved
    error_m: float             # distance of the end joint from the target
    reached: bool              # error_m ≤ REACH_TOL_M


def _globals(r: kinematics.Rig, rotations: np.ndarray, root_translation, base) -> np.ndarray:
    return kinematics.forward(r, rotations[None], None if root_translation is None else
                              np.asarray(root_translation, dtype=np.float64)[None], base)[0]


def solve_chain(r: kinematics.Rig, rotations, chain: list[str], end: str, target, limits: dict[str, JointLimit],
                base=None, root_translation=None, iterations: int = 120, damping_m: float = 0.02) -> ChainResult:
    """Damped least squares on the local rotations of ``chain`` (joint names, root-most first) so that joint
    ``end`` (a descendant of the chain) reaches ``target`` (3,), in the frame of ``base`` (4, 4) or the entity's.

    Each joint is parametrised by its swing rotation vector and twist angle (the coordinates its limits are
    stated in), so limits are bounds in parameter space: Δθ = Jᵀ(JJᵀ + λ²I)⁻¹e over the free directions, where a
    joint on its twist bound loses that direction and a joint on its swing ellipse keeps only the tangent one
    (an active set), then every joint is projected back into its limits. λ shrinks with the error. A fixed budget
    of ``iterations`` per start (stopping early within a twentieth of :data:`REACH_TOL_M`), over a fixed list of
    starts (the given pose, then the lower joints bent), keeping the best: deterministic.
    """
    rotations = quat.normalize(np.asarray(rotations, dtype=np.float64))
    target = np.asarray(target, dtype=np.float64).reshape(3)
    idx = [r.index(n) for n in chain]
    e_idx = r.index(end)
    best: ChainResult | None = None
    path = _path(r, idx[0], e_idx)
    reach = float(sum(np.linalg.norm(r.offsets[j]) for j in path[1:]))
    root = _globals(r, rotations, root_translation, base)[idx[0], :3, 3]
    starts = _starts(r, rotations, idx, limits)
    if np.linalg.norm(target - root) > reach + REACH_TOL_M:
        starts = starts[:1]                                         # out of reach whatever the pose: one pass
    for start in starts:
        res = _dls(r, start, idx, e_idx, target, limits, base, root_translation, iterations, damping_m)
        if best is None or res.error_m < best.error_m - 1e-12:
            best = res
        if best.error_m < REACH_TOL_M * 0.05:
            break
    assert best is not None
    return best


_FREE = JointLimit(0, np.full(3, -np.inf), np.full(3, np.inf))


def _to_params(q: np.ndarray, lim: JointLimit) -> np.ndarray:
    vec, tw = swing_twist(q, lim.twist_axis)
    vec = vec.copy()
    vec[lim.twist_axis] = float(tw)
    return vec


def _from_params(th: np.ndarray, lim: JointLimit) -> np.ndarray:
    k = lim.twist_axis
    vec = th.copy()
    tw = vec[k]
    vec[k] = 0.0
    return _from_swing_twist(vec, np.array(tw), k)


def _project(th: np.ndarray, lim: JointLimit) -> np.ndarray:
    if lim is _FREE:
        return th
    return _to_params(clamp(_from_params(th, lim), lim), lim)


def _directions(th: np.ndarray, lim: JointLimit, grad: np.ndarray) -> list[np.ndarray]:
    """Feasible parameter directions of one joint at ``th`` given the unconstrained step ``grad`` (3,)."""
    k = lim.twist_axis
    others = [i for i in range(3) if i != k]
    out = []
    tw = th[k]
    e = np.zeros(3)
    e[k] = 1.0
    at_lo, at_hi = tw <= lim.lo[k] + 1e-9, tw >= lim.hi[k] - 1e-9
    if not ((at_lo and grad[k] < 0) or (at_hi and grad[k] > 0)) and lim.hi[k] - lim.lo[k] > 1e-12:
        out.append(e)
    comp = th[others]
    b = np.array([lim.hi[i] if comp[n] >= 0 else -lim.lo[i] for n, i in enumerate(others)])
    open_ = [n for n in range(2) if b[n] > 1e-12 or (comp[n] == 0 and
                                                     (lim.hi[others[n]] > 1e-12 or lim.lo[others[n]] < -1e-12))]
    if not open_:
        return out
    if len(open_) == 2 and np.all(np.isfinite(b)) and np.all(b > 1e-12):
        r = np.sqrt(np.sum((comp / b) ** 2))
        normal = comp / b ** 2
        g2 = grad[others]
        if r >= 1.0 - 1e-6 and float(g2 @ normal) > 0:
            tangent = np.array([-normal[1], normal[0]])
            d = np.zeros(3)
            d[others] = tangent / np.linalg.norm(tangent)
            out.append(d)
            return out
    for n in open_:
        i = others[n]
        at_lo, at_hi = th[i] <= lim.lo[i] + 1e-9, th[i] >= lim.hi[i] - 1e-9
        if (at_lo and grad[i] < 0) or (at_hi and grad[i] > 0):
            continue
        d = np.zeros(3)
        d[i] = 1.0
        out.append(d)
    return out


def _dls(r, rotations, idx, e_idx, target, limits, base, root_translation, iterations, damping_m):
    q = rotations.copy()
    g0 = _globals(r, q, root_translation, base)
    path = _path(r, idx[0], e_idx)
    for j in idx:
        if j not in path:
            raise ValueError(f"joint {r.names[j]!r} is not on the chain to {r.names[e_idx]!r}")
    p0 = r.parents[path[0]]
    top = g0[p0] if p0 >= 0 else (np.eye(4) if base is None else np.asarray(base, dtype=np.float64))
    # the chain's root joint's own translation (with any root motion) from the FK just done
    first_t = g0[path[0], :3, 3]
    rest_m = {j: quat.to_matrix(r.rest[j]) for j in path}
    local_m = {j: quat.to_matrix(q[j]) for j in path}
    lims = [limits.get(r.names[j], _FREE) for j in idx]
    th = np.array([_project(_to_params(q[j], lim), lim) for j, lim in zip(idx, lims)])
    for n, j in enumerate(idx):
        local_m[j] = quat.to_matrix(_from_params(th[n], lims[n]))

    def end_pos(mats) -> np.ndarray:
        gr, gt = top[:3, :3], first_t
        for n, j in enumerate(path):
            if n:
                gt = gr @ r.offsets[j] + gt
            gr = gr @ rest_m[j] @ mats[j]
        return gt

    def err_of(mats) -> np.ndarray:
        return target - end_pos(mats)

    h = 1e-6
    for _ in range(iterations):
        e = err_of(local_m)
        err = float(np.linalg.norm(e))
        if err < REACH_TOL_M * 0.05:
            break
        cols = np.empty((3, 3 * len(idx)))
        for n, j in enumerate(idx):
            keep = local_m[j]
            for c in range(3):
                t2 = th[n].copy()
                t2[c] += h
                local_m[j] = quat.to_matrix(_from_params(t2, lims[n]))
                cols[:, 3 * n + c] = (end_pos(local_m) - (target - e)) / h
            local_m[j] = keep
        lam = min(damping_m, err)
        raw = cols.T @ np.linalg.solve(cols @ cols.T + lam * lam * np.eye(3), e)
        dirs = []
        for n in range(len(idx)):
            for d in _directions(th[n], lims[n], raw[3 * n:3 * n + 3]):
                full = np.zeros(3 * len(idx))
                full[3 * n:3 * n + 3] = d
                dirs.append(full)
        if not dirs:
            break
        D = np.stack(dirs, axis=1)                                   # (3n, m)
        Jr = cols @ D
        step = D @ (Jr.T @ np.linalg.solve(Jr @ Jr.T + lam * lam * np.eye(3), e))
        big = np.abs(step).max()
        if big > 0.3:
            step *= 0.3 / big
        th = th + step.reshape(-1, 3)
        for n, j in enumerate(idx):
            th[n] = _project(th[n], lims[n])
            local_m[j] = quat.to_matrix(_from_params(th[n], lims[n]))
    out = q.copy()
    for n, j in enumerate(idx):
        out[j] = _from_params(th[n], lims[n])
    err = float(np.linalg.norm(err_of(local_m)))
    return ChainResult(out, err, err <= REACH_TOL_M)


def _starts(r, rotations, idx, limits) -> list[np.ndarray]:
    """The given pose, then the chain's lower joints bent to fractions of their largest range, then those with the
    first joint twisted both ways: a fixed list, so the solver is deterministic."""
    out = [rotations]
    for twist in (0.0, 0.5, -0.5):
        for frac in (0.5, -0.5, 0.9, -0.9):
            q = rotations.copy()
            for j in idx[1:]:
                lim = limits.get(r.names[j])
                if lim is None:
                    continue
                k = lim.twist_axis
                others = [i for i in range(3) if i != k]
                span = [(lim.hi[i] if frac > 0 else lim.lo[i]) for i in others]
                i = others[int(np.argmax(np.abs(span)))]
                vec = np.zeros(3)
                vec[i] = abs(frac) * (lim.hi[i] if frac > 0 else lim.lo[i])
                q[j] = _from_swing_twist(vec, np.array(0.0), k)
            lim0 = limits.get(r.names[idx[0]])
            if twist and lim0 is not None:
                k = lim0.twist_axis
                tw = twist * (lim0.hi[k] if twist > 0 else -lim0.lo[k])
                q[idx[0]] = _from_swing_twist(np.zeros(3), np.array(tw), k)
            elif twist:
                continue
            out.append(q)
    return out


def _path(r: kinematics.Rig, first: int, e_idx: int) -> list[int]:
    """Joint indices from ``first`` down to ``e_idx`` (inclusive); ValueError when ``e_idx`` is not below it."""
    out = [e_idx]
    while out[-1] != first:
        p = int(r.parents[out[-1]])
        if p < 0:
            raise ValueError(f"joint {r.names[e_idx]!r} is not below {r.names[first]!r}")
        out.append(p)
    return out[::-1]
