"""Skeleton templates with their white-box bodies, as data (SPEC §7.2).

``GET /v1/templates`` → ``{templates: {name: {joints, volumes, bounds}}, shapes}`` for ``biped``, ``quadruped``,
``bird`` and ``fish`` at scale 1 (:func:`core.bodies.template_json`): the joints as ``skeleton.set`` stores them,
one volume per body part ``{name, group, joint, shape, center, rotation, half}`` in its joint's frame, and the
rest bounds. The renderer, the agents' collision tests, the exports and the studio all draw these same volumes.
A ``skeleton.set`` with ``scale`` scales every length and radius. Any signed-in user may read it.
"""

from __future__ import annotations

import functools

from litestar import get

from core.bodies import FOOTPRINT_GROUPS, SHAPES, template_json
from core.templates import TEMPLATES

from .http_common import User

__all__ = ["ROUTES"]

SHAPES_DOC = {
    "ellipsoid": "semi-axes half[0], half[1], half[2] along the volume's local X, Y, Z",
    "box": "half extents half[0], half[1], half[2]",
    "capsule": "long axis local +Y spanning ±half[1]; elliptic cross-section of semi-axes half[0] (X) and half[2] "
               "(Z); end caps are half-ellipsoids of height min(half[0], half[2])",
    "frame": "the volume's world frame is joint_global · T(center) · R(rotation) (rotation xyzw); joint null: the "
             "entity's frame",
}
assert set(SHAPES) <= set(SHAPES_DOC)


@functools.cache
def _templates() -> dict:
    return {"templates": {name: template_json(name) for name in TEMPLATES}, "shapes": SHAPES_DOC,
            "footprint_groups": list(FOOTPRINT_GROUPS)}


@get("/v1/templates", summary="Skeleton templates: joints and white-box body volumes (SPEC §7.2)")
async def get_templates(user: User) -> dict:
    return _templates()


ROUTES = [get_templates]
