"""First placement of a recipe: every object where its relations ask for it (collisions are the supervisor's job).

``build(recipe, resolve)`` returns a :class:`Plan`: the items (architecture first, then objects in dependency
order), keep-out phantoms (door swings, windows for wall hangings, the road) and the bounds rectangle. It raises
:class:`LayoutError` for what no amount of moving can fix: an unknown asset, an object on something that is not
a surface, more floor area asked for than the room has, a building row longer than its street.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from agents.assets.catalog import Asset, geometry_for

from . import recipe as R
from .model import Item, Phantom

__all__ = ["LayoutError", "Plan", "Resolver", "build", "effective_dims", "box_geometry"]

DOOR_CLEARANCE_M = 0.9
WALL_HANG_DEPTH_M = 0.4
CEILING_THICKNESS_M = 0.1
DEFAULT_DISTANCE = {"in_front_of": 0.5, "beside": 0.1, "around": 0.1}


class LayoutError(ValueError):
    """A recipe the layout cannot build; the message says why, for the directive's report."""


Resolver = Callable[[str | None, str | None, tuple | None], Asset]
"""(asset id, text, size) → the asset; raises LayoutError when nothing fits."""


@dataclass
class Plan:
    items: list[Item]
    phantoms: list[Phantom]
    bounds: tuple[float, float, float, float]       # x0, x1, z0, z1 everything must stay within
    height: float | None                            # a ceiling height, indoors
    floor: str                                      # local id of the floor / terrain
    extra: dict = field(default_factory=dict)

    def by_local(self) -> dict[str, Item]:
        return {it.local: it for it in self.items}


def effective_dims(asset: Asset, size) -> tuple[tuple[float, float, float], dict]:
    """The bounding box (w, h, d) of the white-box geometry an asset gets at ``size``, and that geometry."""
    dims = tuple(float(x) for x in (size or asset.dims))
    geo = geometry_for(asset.primitive, dims)
    if geo["primitive"] == "cylinder":
        return (2 * geo["radius"], geo["height"], 2 * geo["radius"]), geo
    if geo["primitive"] == "sphere":
        r = geo["radius"]
        return (2 * r, 2 * r, 2 * r), geo
    return dims, geo


def box_geometry(dims) -> dict:
    return {"primitive": "box", "size": [float(x) for x in dims]}


def build(recipe: R.Recipe, resolve: Resolver) -> Plan:
    from .indoor import IndoorBuilder
    from .outdoor import OutdoorBuilder

    if isinstance(recipe, R.Indoor):
        return IndoorBuilder(recipe, resolve).build()
    return OutdoorBuilder(recipe, resolve).build()


