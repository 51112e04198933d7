""""Put this hand on that target at frame F": IK at the op level (pure).

:func:`put_joint` samples the character at frame F (its transform, its keys), solves the chain above ``joint``
with the limited solver of :mod:`core.ik` so that ``joint`` reaches ``target`` (world coordinates), and returns the
``key.set`` ops that key each chain joint's rotation at F — or, when the target is out of reach (or only reachable
by breaking a joint limit), no ops and a report of how close it gets (``best_effort`` keys the closest pose
instead). Served over HTTP by ``POST /v1/projects/{p}/shots/{s}/ik`` (:mod:`realtime.http_ik`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core import ik, ik_chain, kinematics, quat, tracks
from core import ops as O
from core.sampling import sample
from core.world import World

__all__ = ["IkRequestError", "IkResult", "put_joint", "DEFAULT_CHAIN"]

DEFAULT_CHAIN = 3
"""Joints above the target joint that move by default (a hand: wrist, elbow, shoulder)."""


class IkRequestError(ValueError):
    """Bad input; ``field`` names it."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


@dataclass
class IkResult:
    ops: list
    reached: bool
    error_m: float
    chain: list[str]
    rotations: dict[str, list[float]] = field(default_factory=dict)
    reason: str = ""

    def to_json(self) -> dict:
        d = {"reached": self.reached, "error_m": self.error_m, "chain": self.chain, "rotations": self.rotations}
        if self.reason:
            d["reason"] = self.reason
        return d


def _vec3(v, name: str) -> np.ndarray:
    if not isinstance(v, (list, tuple)) or len(v) != 3 or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v):
        raise IkRequestError(name, f"{name} must be three finite numbers [x, y, z], got {v!r}")
    if max(abs(float(x)) for x in v) > 1e6:
        raise IkRequestError(name, f"{name} must be within ±1e6 m")
    return np.asarray(v, dtype=np.float64)


def put_joint(world: World, entity: str, joint: str, target, frame: float, chain: list[str] | None = None,
              best_effort: bool = False, iterations: int = 120) -> IkResult:
    """Key the rotations of ``chain`` (default: the :data:`DEFAULT_CHAIN` joints above ``joint``) at ``frame`` so
    that ``joint`` is at ``target`` (world, metres). Raises :class:`IkRequestError` for bad input."""
    e = world.entities.get(entity)
    if e is None:
        raise IkRequestError("entity", f"no entity {entity!r} in the shot")
    if e.kind != "character" or not e.props.get("skeleton"):
        raise IkRequestError("entity", f"{entity!r} is not a character with a skeleton")
    if isinstance(frame, bool) or not isinstance(frame, (int, float)) or not math.isfinite(frame) \
            or abs(frame) > 1e6:
        raise IkRequestError("frame", f"frame must be a finite number within ±1e6, got {frame!r}")
    target = _vec3(target, "target")
    joints = e.props["skeleton"]
    r = kinematics.rig(joints)
    if joint not in r.names:
        raise IkRequestError("joint", f"{entity!r} has no joint {joint!r}")
    j = r.index(joint)
    if chain is None:
        chain = []
        p = int(r.parents[j])
        while p >= 0 and len(chain) < DEFAULT_CHAIN:
            chain.insert(0, r.names[p])
            p = int(r.parents[p])
        if not chain:
            raise IkRequestError("joint", f"{joint!r} is the root: there is no chain above it to move")
    else:
        if not isinstance(chain, list) or not chain or len(chain) > 32 or not all(isinstance(c, str) for c in chain):
            raise IkRequestError("chain", "chain must be a non-empty list of at most 32 joint names")
        ancestors = []
        p = int(r.parents[j])
        while p >= 0:
            ancestors.append(r.names[p])
            p = int(r.parents[p])
        bad = [c for c in chain if c not in ancestors]
        if bad:
            raise IkRequestError("chain", f"chain joints {bad} are not above {joint!r}")
        if len(set(chain)) != len(chain):
            raise IkRequestError("chain", "chain names a joint twice")
        chain = sorted(chain, key=r.index)
    f = np.array([float(frame)])
    s = sample(world, f)
    base = s.matrices[0, s.ids.index(entity)]
    rotations = np.stack([tracks.value_at(e, f"joints.{n}.rotation", f)[0] for n in r.names])
    roots = r.roots
    root_t = np.zeros((len(r.names), 3))
    for k in roots:
        root_t[k] = tracks.value_at(e, f"joints.{r.names[k]}.position", f)[0]
    inv = np.linalg.inv(base)
    local_target = inv[:3, :3] @ target + inv[:3, 3]
    limits = ik.joint_limits(joints)
    res = ik_chain.solve_chain(r, rotations, chain, joint, local_target, limits, root_translation=root_t,
                         iterations=iterations)
    got = kinematics.forward_kinematics(r.parents, r.offsets, r.rest, res.rotations, root_t, base)[j, :3, 3]
    err = float(np.linalg.norm(got - target))
    reached = err <= ik.REACH_TOL_M
    rots = {n: [float(x) + 0.0 for x in quat.normalize(res.rotations[r.index(n)])] for n in chain}
    reason = "" if reached else (f"{joint!r} cannot reach {target.tolist()} at frame {frame:g} within the joint "
                                 f"limits of {chain}; the closest is {err:.3f} m away")
    ops = []
    if reached or best_effort:
        ops = [O.KeySet(id=entity, path=f"joints.{n}.rotation", frame=float(frame), value=rots[n]) for n in chain]
    return IkResult(ops, reached, err, list(chain), rots, reason)
