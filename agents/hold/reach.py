"""Put a character's hand at a point (and, optionally, a world orientation) at one frame: the arm's shoulder,
elbow and wrist rotations, by analytic two-bone IK (:mod:`core.twobone`) on shoulder–elbow–wrist.

The chain is the hand joint and its three ancestors (biped: ``r_hand`` ← ``r_wrist`` ← ``r_elbow`` ←
``r_shoulder``). The hand keeps its world orientation at that frame unless one is given; the wrist target is the
hand target minus the hand's offset in that orientation; the elbow bends towards the ground (a pole below it).
Pure; works in world space on the sampled world, so whatever moves the character (a path, root motion, its
parents) is accounted for.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core import quat, transform, twobone
from core.sampling import sample
from core.world import World

__all__ = ["Reach", "ReachError", "arm_chain", "reach"]


class ReachError(ValueError):
    pass


class Reach(NamedTuple):
    rotations: dict[str, list[float]]   # joint name -> animated local rotation (the value of joints.<j>.rotation)
    hand: np.ndarray                    # (3,) where the hand ends up
    miss_m: float                       # distance left to the target (0 when reached)
    reach_m: float                      # how far the wrist target is from the shoulder
    arm_m: float                        # upper arm + forearm-to-wrist length


def arm_chain(world: World, eid: str, hand: str) -> tuple[str, str, str, str]:
    """(shoulder, elbow, wrist, hand) joint names ending at ``hand``; raises ReachError."""
    e = world.entities.get(eid)
    if e is None or e.kind != "character" or not e.joints:
        raise ReachError(f"{eid!r} is not a character with a skeleton")
    parent = {j["name"]: j["parent"] for j in e.joints}
    if hand not in parent:
        raise ReachError(f"{eid} has no joint {hand!r}")
    chain = [hand]
    while len(chain) < 4:
        p = parent.get(chain[-1])
        if p is None:
            raise ReachError(f"joint {hand!r} of {eid} has fewer than three ancestors; it is not a hand on an arm")
        chain.append(p)
    return chain[3], chain[2], chain[1], chain[0]


def _world_rot(m: np.ndarray) -> np.ndarray:
    return quat.from_matrix(transform.rigid(m)[:3, :3])


def reach(world: World, eid: str, hand: str, frame: float, target, orientation=None) -> Reach:
    """The arm rotations that put ``hand`` of ``eid`` at ``target`` (3,) at ``frame`` (see the module doc)."""
    sh, el, wr, ha = arm_chain(world, eid, hand)
    js = sample(world, [float(frame)]).joints[eid]
    m = js.matrices[0]
    idx = {n: i for i, n in enumerate(js.names)}
    joints = {j["name"]: j for j in world.entities[eid].joints}
    pos = {n: m[idx[n], :3, 3] for n in (sh, el, wr, ha)}
    rot = {n: _world_rot(m[idx[n]]) for n in (sh, el, wr, ha)}
    parent_sh = joints[sh]["parent"]
    w_parent = _world_rot(m[idx[parent_sh]]) if parent_sh is not None else _world_rot(
        sample(world, [float(frame)]).matrices[0, sorted(world.entities).index(eid)])
    want_hand = np.asarray(orientation, dtype=np.float64) if orientation is not None else rot[ha]
    hand_local = quat.multiply(quat.conjugate(rot[wr]), rot[ha])          # rest · animated of the hand
    w_wrist = quat.multiply(want_hand, quat.conjugate(hand_local))
    hand_off = quat.rotate(quat.multiply(w_wrist, quat.conjugate(rot[wr])), pos[ha] - pos[wr])
    wrist_target = np.asarray(target, dtype=np.float64) - hand_off
    pole = pos[el] + np.array([0.0, -1.0, 0.0]) * np.linalg.norm(pos[el] - pos[sh])
    ik = twobone.solve(pos[sh], pos[el], pos[wr], wrist_target, pole)
    w_sh = quat.multiply(ik.ra, rot[sh])
    w_el = quat.multiply(ik.rb, quat.multiply(ik.ra, rot[el]))

    def local(name: str, parent_world: np.ndarray, world_rot: np.ndarray) -> list[float]:
        rest = np.asarray(joints[name].get("rotation", [0.0, 0.0, 0.0, 1.0]), dtype=np.float64)
        q = quat.normalize(quat.multiply(quat.conjugate(rest), quat.multiply(quat.conjugate(parent_world),
                                                                              world_rot)))
        q = -q if q[3] < 0 else q
        return [float(round(float(x), 12)) + 0.0 for x in q]

    rotations = {sh: local(sh, w_parent, w_sh), el: local(el, w_sh, w_el), wr: local(wr, w_el, w_wrist)}
    hand_at = ik.end + hand_off
    arm = float(np.linalg.norm(pos[el] - pos[sh]) + np.linalg.norm(pos[wr] - pos[el]))
    return Reach(rotations, hand_at, float(np.linalg.norm(hand_at - np.asarray(target, dtype=np.float64))),
                 float(np.linalg.norm(wrist_target - pos[sh])), arm)
