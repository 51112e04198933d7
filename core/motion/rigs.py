"""What the motion synthesis needs to know about a skeleton: its family (by joint names, so a template at any
scale or a custom skeleton with the same names qualifies), its legs (IK chains with the side their middle joint
bends to), arms, spine and a few rest measurements.

Legs are listed in the order gait offsets use (:mod:`core.motion.figures`): biped and bird ``[L, R]``, quadruped
``[LF, RF, LH, RH]``. A leg is ``upper → mid → lower → end``: two-bone IK places ``lower`` (the ankle, wrist or
hock: the point that is planted), and ``end`` (toe, paw) follows with the foot kept level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kinematics

__all__ = ["FAMILIES", "Leg", "RigInfo", "family_of", "info", "leg_length"]

FAMILIES = ("biped", "quadruped", "bird", "fish")


@dataclass(frozen=True)
class Leg:
    upper: str
    mid: str
    lower: str
    end: str
    pole: tuple[float, float, float]     # the bend side of ``mid`` in the body frame (+Z is forward)


def _pair(upper, mid, lower, end, pole) -> list[Leg]:
    return [Leg("l_" + upper, "l_" + mid, "l_" + lower, "l_" + end, pole),
            Leg("r_" + upper, "r_" + mid, "r_" + lower, "r_" + end, pole)]


_LEGS = {
    "biped": _pair("hip", "knee", "ankle", "toe", (0.0, 0.0, 1.0)),
    "bird": _pair("hip", "knee", "ankle", "toe", (0.0, 0.0, 1.0)),
    "quadruped": _pair("shoulder", "elbow", "wrist", "front_paw", (0.0, 0.0, -1.0))
    + _pair("hip", "knee", "hock", "hind_paw", (0.0, 0.0, 1.0)),
    "fish": [],
}

_NEEDS = {
    "quadruped": {"hips", "spine", "chest", "neck", "head", "tail_1"}
    | {s + n for s in ("l_", "r_") for n in ("shoulder", "elbow", "wrist", "front_paw", "hip", "knee", "hock",
                                             "hind_paw")},
    "bird": {"hips", "chest", "neck", "head", "tail_1"}
    | {s + n for s in ("l_", "r_") for n in ("shoulder", "elbow", "wrist", "wing_tip", "hip", "knee", "ankle",
                                             "toe")},
    "fish": {"spine_1", "spine_2", "spine_3", "spine_4", "tail_fin", "head"},
    "biped": {"hips", "spine", "chest", "neck", "head"}
    | {s + n for s in ("l_", "r_") for n in ("clavicle", "shoulder", "elbow", "wrist", "hand", "hip", "knee",
                                             "ankle", "toe")},
}


def family_of(joints: list[dict]) -> str:
    """The family whose joints the skeleton has (checked quadruped, bird, fish, biped in that order).

    Raises ValueError naming what is missing for the nearest family."""
    names = {j["name"] for j in joints}
    for fam in ("quadruped", "bird", "fish", "biped"):
        if _NEEDS[fam] <= names:
            return fam
    near = min(FAMILIES, key=lambda f: len(_NEEDS[f] - names))
    missing = sorted(_NEEDS[near] - names)
    raise ValueError(f"the skeleton is not of a family motion knows (biped, quadruped, bird, fish); nearest is "
                     f"{near}, which lacks joints {missing[:8]}")


@dataclass(frozen=True)
class RigInfo:
    family: str
    rig: kinematics.Rig
    legs: tuple[Leg, ...]
    rest_global: np.ndarray          # (J, 4, 4) rest pose, entity frame
    leg_m: float                     # hip height (fish: body length)
    root: int                        # index of the root joint
    joints: list | None = None       # the normalised joint list (limits_deg included)

    def pos(self, name: str) -> np.ndarray:
        return self.rest_global[self.rig.index(name), :3, 3]


def info(joints: list[dict]) -> RigInfo:
    fam = family_of(joints)
    r = kinematics.rig(joints)
    rest = kinematics.forward_kinematics(r.parents, r.offsets, r.rest)
    roots = r.roots
    if len(roots) != 1:
        raise ValueError(f"motion needs a skeleton with one root joint, this one has {len(roots)}")
    legs = tuple(_LEGS[fam])
    ri = RigInfo(fam, r, legs, rest, 0.0, int(roots[0]))
    return RigInfo(fam, r, legs, rest, leg_length_of(ri), int(roots[0]), joints)


def leg_length_of(ri: RigInfo) -> float:
    if ri.family == "fish":
        z = ri.rest_global[:, 2, 3]
        return float(z.max() - z.min())
    hind = ri.legs[-1]
    return float(ri.pos(hind.upper)[1] - min(0.0, float(ri.rest_global[:, 1, 3].min())))


def leg_length(joints: list[dict]) -> float:
    """Hip height (m) of the hind legs above the ground at rest — ``h`` of the Froude number; a fish's length."""
    return info(joints).leg_m
