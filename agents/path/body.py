"""How much room an entity needs on its way: a horizontal radius about its origin and a height band.

:func:`body_radius` is the one place the path agent asks "how wide is this body"; it is computed from the
skeleton's rest pose (every joint's rest position, the same widening :mod:`agents.geometry` gives a character's
collision prism) so that at any heading the character's collision footprint lies inside the disc. When
``core.bodies`` (white-box bodies, SPEC §7.2) lands, this function is the one to swap for its ``body_radius``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agents import geometry as G
from core import families, kinematics, tracks
from core.world import World

__all__ = ["Body", "body_of", "body_radius", "family_of"]

class Body(NamedTuple):
    radius: float      # metres, horizontal, about the entity origin
    bottom: float      # lowest point above the entity origin (m; may be < 0)
    top: float         # highest point above the entity origin (m)
    family: str        # biped, quadruped, bird, fish, or "custom" / "prop"


def family_of(joints: list[dict] | None) -> str:
    """The template family a skeleton looks like (by its joint names), or ``custom``."""
    return families.family_of(j["name"] for j in joints or ())


def _scale(world: World, eid: str, frame: float) -> np.ndarray:
    s = tracks.value_at(world.entities[eid], "transform.scale", [frame])
    return np.abs(np.asarray(s[0] if s is not None else [1.0, 1.0, 1.0], dtype=np.float64))


def body_of(world: World, eid: str, frame: float) -> Body:
    """The room ``eid`` needs at ``frame`` (its scale at that frame applied)."""
    e = world.entities[eid]
    s = _scale(world, eid, frame)
    if e.kind == "character":
        joints = e.joints
        if not joints:
            r, h = G._DEFAULT_CHARACTER
            return Body(float(r * max(s[0], s[2])), 0.0, float(h * s[1]), "custom")
        rest = kinematics.forward(kinematics.rig(joints))[:, :3, 3] * s  # (J, 3) rest positions
        radius = float(np.max(np.hypot(rest[:, 0], rest[:, 2]))) + G.CHARACTER_RADIUS_M
        return Body(radius, float(rest[:, 1].min()) - G.CHARACTER_FOOT_M,
                    float(rest[:, 1].max()) + G.CHARACTER_HEAD_M, family_of(joints))
    pts = G.local_points(e.props.get("geometry"))
    if pts is None:
        return Body(0.25, 0.0, 1.0, "prop")
    pts = pts * s
    return Body(float(np.max(np.hypot(pts[:, 0], pts[:, 2]))), float(pts[:, 1].min()), float(pts[:, 1].max()),
                "prop")


def body_radius(world: World, eid: str, frame: float = 0.0) -> float:
    """Horizontal radius (m) of ``eid`` about its origin — the swap point for ``core.bodies.body_radius``."""
    return body_of(world, eid, frame).radius
