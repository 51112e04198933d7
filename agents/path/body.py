"""How much room an entity needs on its way: a horizontal radius about its origin and a height band.

:func:`body_radius` is the one place the path agent asks "how wide is this body": the largest horizontal distance
from the entity's origin of the character's white-box body at rest (``core.bodies.body_points``, SPEC §7.2), so
that at any heading the rest pose's collision footprint lies inside the disc.
(``core.bodies.body_radius`` measures about the body's centre and leaves the arms out; the planner needs the
origin, which its keys move, and the whole prism the collision agent tests.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agents import geometry as G
from core import bodies, families, tracks
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


def _rest_points(joints: list[dict] | None) -> np.ndarray:
    """Points (N, 3) in the entity frame whose hull holds the character's white-box body at rest."""
    return np.asarray(bodies.body_points(bodies.body_of(joints)), dtype=np.float64).reshape(-1, 3)


def body_of(world: World, eid: str, frame: float) -> Body:
    """The room ``eid`` needs at ``frame`` (its scale at that frame applied)."""
    e = world.entities[eid]
    s = _scale(world, eid, frame)
    if e.kind == "character":
        pts = _rest_points(e.joints) * s
        return Body(float(np.max(np.hypot(pts[:, 0], pts[:, 2]))), float(pts[:, 1].min()), float(pts[:, 1].max()),
                    family_of(e.joints))
    pts = G.local_points(e.props.get("geometry"))
    if pts is None:
        return Body(0.25, 0.0, 1.0, "prop")
    pts = pts * s
    return Body(float(np.max(np.hypot(pts[:, 0], pts[:, 2]))), float(pts[:, 1].min()), float(pts[:, 1].max()),
                "prop")


def body_radius(world: World, eid: str, frame: float = 0.0) -> float:
    """Horizontal radius (m) of ``eid`` about its origin."""
    return body_of(world, eid, frame).radius
