"""The layout recipe: what a ``layout`` directive asks for, parsed strictly (unknown keys are errors).

A layout directive is ``{agent: "layout", params: {recipe: RECIPE}}``; the layout agent adds
``params.report`` when it has solved it (see :mod:`agents.layout.agent`). Conventions: metres, Y up; the room or
terrain is centred on ``origin`` ([x, z], default [0, 0]); **north is −Z, south +Z, east +X, west −X**; an
asset's front faces +Z, and rotations are quarter turns about Y. Objects name their asset by ``asset`` (a library
id such as ``"sofa"``, or an imported asset's id) or by ``text`` (found by text retrieval, e.g. ``"comfy couch"``);
``size`` [w, h, d] overrides the asset's canonical dimensions (and, with ``text``, helps choose the asset).

Indoor recipe::

    {"kind": "indoor",
     "room": {"size": [w, d],               # interior floor, metres (required)
              "height": 2.7, "wall_thickness": 0.15, "ceiling": false,   # ceiling is added anyway when
              "origin": [0, 0],                                            #   something hangs from it
              "floor_color": [r, g, b], "wall_color": [r, g, b]},
     "openings": [{"type": "door" | "window", "wall": "north" | "south" | "east" | "west",
                   "offset": 0.0,            # centre of the opening along the wall, from the wall's centre
                   "width": 0.9, "height": 2.1 (door) / 1.2 (window), "sill": 0 (door) / 0.9 (window)}],
     "objects": [OBJECT, ...]}

    OBJECT = {"id": "sofa",                 # local name, unique in the recipe ([A-Za-z0-9_-], ≤ 24)
              "asset": "sofa" | "text": "a comfy couch",   # exactly one
              "count": 1,                   # n copies: ids sofa-1 … sofa-n
              "size": [w, h, d], "color": [r, g, b],
              # at most one placement relation (none: the free floor nearest the room centre):
              "against": "north",           # back to a wall, facing into the room; wall assets hang on it
              "on": "<object id>",          # on the top of a surface object (table, counter, stand, shelf)
              "in_front_of": "<object id>", # in front of its front face, `distance` (default 0.5 m) away
              "beside": "<object id>",      # next to it, `side` "left" | "right" (default right), `distance` 0.1
              "around": "<object id>",      # `count` copies spread round its four sides, facing it
              "centred": true,              # the room centre (ceiling assets: the ceiling centre)
              "at": [x, z],                 # a point relative to the room centre
              # modifiers:
              "offset": 0.0,                # with against: position along the wall from its centre
              "distance": m, "side": "left" | "right",
              "elevation": m,               # wall assets: height of the bottom edge (default: centred at 1.5 m)
              "facing": "<object id>" | "centre" | "north" | "south" | "east" | "west"}

Outdoor recipe::

    {"kind": "outdoor",
     "terrain": {"size": [w, d], "origin": [0, 0], "color": [r, g, b]},
     "streets": [{"id": "main", "axis": "x" | "z", "offset": 0.0,   # centre line: z = offset for axis x
                  "width": 7.0, "sidewalk": 2.5}],                    # road width; sidewalk width per side
     "rows": [{"id": "north-houses", "street": "main", "side": "north" | "south" | "east" | "west",
               "assets": ["house", "shop"] | "texts": ["terraced house"],  # cycled along the row
               "count": 6, "gap": 2.0, "setback": 1.0, "start": 0.0}],     # start: row centre along the street
     "along": [{"id": "lamps", "street": "main", "side": "both" | one side, "on": "sidewalk" | "road",
                "asset" | "text", "spacing": 15.0, "count": null, "size": [...]}],
     "scatter": [{"id": "trees", "asset" | "text", "count": 4, "size": [...]}],   # free terrain, near centre
     "objects": [{"id", "asset" | "text", "at": [x, z], "facing": "north" | ..., "size"}]}

Limits: at most :data:`MAX_OBJECTS` placed objects. :func:`parse` raises :class:`RecipeError` naming the bad
key; it checks shapes and references between objects, not whether things fit (the solver reports that).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal, Union

import msgspec

__all__ = ["RecipeError", "Indoor", "Outdoor", "Recipe", "Room", "Opening", "Obj", "Terrain", "Street", "Row",
           "Along", "Scatter", "parse", "recipe_hash", "MAX_OBJECTS", "WALLS", "SIDES"]

MAX_OBJECTS = 300
WALLS = ("north", "south", "east", "west")
SIDES = WALLS + ("both",)
_LOCAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,23}$")

Vec2 = tuple[float, float]
Vec3 = tuple[float, float, float]


class RecipeError(ValueError):
    """A recipe that cannot be used as written; the message names the key."""


class _S(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class Room(_S):
    size: Vec2
    height: float = 2.7
    wall_thickness: float = 0.15
    ceiling: bool = False
    origin: Vec2 = (0.0, 0.0)
    floor_color: Vec3 = (0.62, 0.55, 0.47)
    wall_color: Vec3 = (0.92, 0.9, 0.86)


class Opening(_S):
    type: Literal["door", "window"]
    wall: Literal["north", "south", "east", "west"]
    offset: float = 0.0
    width: float | None = None
    height: float | None = None
    sill: float | None = None


class Obj(_S):
    id: str
    asset: str | None = None
    text: str | None = None
    count: int = 1
    size: Vec3 | None = None
    color: Vec3 | None = None
    against: Literal["north", "south", "east", "west"] | None = None
    on: str | None = None
    in_front_of: str | None = None
    beside: str | None = None
    around: str | None = None
    centred: bool = False
    at: Vec2 | None = None
    offset: float | None = None
    distance: float | None = None
    side: Literal["left", "right"] | None = None
    elevation: float | None = None
    facing: str | None = None

    @property
    def relation(self) -> tuple[str, object] | None:
        for key in ("against", "on", "in_front_of", "beside", "around", "at"):
            v = getattr(self, key)
            if v is not None:
                return key, v
        return ("centred", True) if self.centred else None

    @property
    def target(self) -> str | None:
        for key in ("on", "in_front_of", "beside", "around"):
            v = getattr(self, key)
            if v is not None:
                return v
        return None


class Indoor(_S, tag="indoor", tag_field="kind"):
    room: Room
    openings: list[Opening] = []
    objects: list[Obj] = []


class Terrain(_S):
    size: Vec2
    origin: Vec2 = (0.0, 0.0)
    color: Vec3 = (0.45, 0.55, 0.35)


class Street(_S):
    id: str
    axis: Literal["x", "z"] = "x"
    offset: float = 0.0
    width: float = 7.0
    sidewalk: float = 2.5


class Row(_S):
    id: str
    street: str
    side: Literal["north", "south", "east", "west"]
    assets: list[str] | None = None
    texts: list[str] | None = None
    count: int = 1
    gap: float = 2.0
    setback: float = 1.0
    start: float = 0.0


class Along(_S):
    id: str
    street: str
    side: Literal["north", "south", "east", "west", "both"] = "both"
    on: Literal["sidewalk", "road"] = "sidewalk"
    asset: str | None = None
    text: str | None = None
    spacing: float = 15.0
    count: int | None = None
    size: Vec3 | None = None
    color: Vec3 | None = None


class Scatter(_S):
    id: str
    asset: str | None = None
    text: str | None = None
    count: int = 1
    size: Vec3 | None = None
    color: Vec3 | None = None


class Outdoor(_S, tag="outdoor", tag_field="kind"):
    terrain: Terrain
    streets: list[Street] = []
    rows: list[Row] = []
    along: list[Along] = []
    scatter: list[Scatter] = []
    objects: list[Obj] = []


Recipe = Union[Indoor, Outdoor]

_DIRECTIONS = ("centre",) + WALLS


def recipe_hash(raw: dict) -> str:
    """A stable digest of a recipe as JSON (sorted keys), used to tell whether a directive needs solving."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def parse(raw) -> Recipe:
    """Raw directive JSON → a typed recipe. Raises :class:`RecipeError` for unknown keys, wrong types, bad
    values, duplicate or unknown object ids, reference cycles or too many objects."""
    if not isinstance(raw, dict):
        raise RecipeError("recipe must be an object with a 'kind' of 'indoor' or 'outdoor'")
    try:
        recipe = msgspec.convert(raw, Recipe, strict=False)
    except msgspec.ValidationError as e:
        raise RecipeError(f"recipe: {e}") from None
    if isinstance(recipe, Indoor):
        _check_room(recipe)
    else:
        _check_outdoor(recipe)
    _check_objects(recipe.objects, outdoor=isinstance(recipe, Outdoor))
    total = sum(o.count for o in recipe.objects)
    if isinstance(recipe, Outdoor):
        total += sum(r.count for r in recipe.rows) + sum(s.count for s in recipe.scatter)
        total += sum((a.count or 0) for a in recipe.along)
    if total > MAX_OBJECTS:
        raise RecipeError(f"recipe places {total} objects; at most {MAX_OBJECTS}")
    return recipe


def _positive(value, where: str) -> None:
    values = value if isinstance(value, tuple) else (value,)
    if any(not (v > 0) or v != v or v in (float("inf"),) for v in values):
        raise RecipeError(f"{where} must be > 0 and finite, got {value}")


def _colour(value, where: str) -> None:
    if value is not None and any(not (0 <= c <= 1) for c in value):
        raise RecipeError(f"{where} components must be within 0–1, got {list(value)}")


def _check_room(r: Indoor) -> None:
    _positive(r.room.size, "room.size")
    _positive(r.room.height, "room.height")
    _positive(r.room.wall_thickness, "room.wall_thickness")
    _colour(r.room.floor_color, "room.floor_color")
    _colour(r.room.wall_color, "room.wall_color")
    for i, o in enumerate(r.openings):
        for key in ("width", "height"):
            if getattr(o, key) is not None:
                _positive(getattr(o, key), f"openings[{i}].{key}")
        if o.sill is not None and o.sill < 0:
            raise RecipeError(f"openings[{i}].sill must be ≥ 0")


def _check_outdoor(r: Outdoor) -> None:
    _positive(r.terrain.size, "terrain.size")
    _colour(r.terrain.color, "terrain.color")
    streets = set()
    for i, s in enumerate(r.streets):
        _local_id(s.id, f"streets[{i}].id", streets)
        _positive(s.width, f"streets[{i}].width")
        if s.sidewalk < 0:
            raise RecipeError(f"streets[{i}].sidewalk must be ≥ 0")
    names: set[str] = set()
    for group, items in (("rows", r.rows), ("along", r.along), ("scatter", r.scatter)):
        for i, it in enumerate(items):
            where = f"{group}[{i}]"
            _local_id(it.id, f"{where}.id", names)
            if getattr(it, "street", None) is not None and it.street not in streets:
                raise RecipeError(f"{where}.street: unknown street {it.street!r}")
            if group == "rows":
                if bool(it.assets) == bool(it.texts):
                    raise RecipeError(f"{where}: give exactly one of 'assets' or 'texts' (non-empty)")
                street = next(s for s in r.streets if s.id == it.street)
                allowed = ("north", "south") if street.axis == "x" else ("east", "west")
                if it.side not in allowed:
                    raise RecipeError(f"{where}.side: a street along {street.axis} has sides {list(allowed)}")
                if it.gap < 0 or it.setback < 0:
                    raise RecipeError(f"{where}: gap and setback must be ≥ 0")
            else:
                if (it.asset is None) == (it.text is None):
                    raise RecipeError(f"{where}: give exactly one of 'asset' or 'text'")
                if it.size is not None:
                    _positive(it.size, f"{where}.size")
                _colour(it.color, f"{where}.color")
            if group == "along":
                street = next(s for s in r.streets if s.id == it.street)
                allowed = ("north", "south", "both") if street.axis == "x" else ("east", "west", "both")
                if it.side not in allowed:
                    raise RecipeError(f"{where}.side: a street along {street.axis} has sides {list(allowed)}")
                _positive(it.spacing, f"{where}.spacing")
            count = getattr(it, "count", 1)
            if count is not None and count < 1:
                raise RecipeError(f"{where}.count must be ≥ 1")
    for o in r.objects:
        if o.id in names:
            raise RecipeError(f"objects: id {o.id!r} is already used by a row, along or scatter group")


def _local_id(value: str, where: str, seen: set) -> None:
    if not _LOCAL_ID.match(value):
        raise RecipeError(f"{where} {value!r} must match {_LOCAL_ID.pattern}")
    if value in seen:
        raise RecipeError(f"{where}: duplicate id {value!r}")
    seen.add(value)


def _check_objects(objects: list[Obj], outdoor: bool) -> None:
    seen: set[str] = set()
    for i, o in enumerate(objects):
        where = f"objects[{i}]"
        _local_id(o.id, f"{where}.id", seen)
        if (o.asset is None) == (o.text is None):
            raise RecipeError(f"{where} ({o.id}): give exactly one of 'asset' or 'text'")
        if o.count < 1:
            raise RecipeError(f"{where}.count must be ≥ 1")
        if o.size is not None:
            _positive(o.size, f"{where}.size")
        _colour(o.color, f"{where}.color")
        placed = [k for k in ("against", "on", "in_front_of", "beside", "around", "at") if getattr(o, k) is not None]
        if o.centred:
            placed.append("centred")
        if len(placed) > 1:
            raise RecipeError(f"{where} ({o.id}): at most one placement relation, got {placed}")
        if outdoor and placed and placed != ["at"]:
            raise RecipeError(f"{where} ({o.id}): outdoor objects are placed with 'at' only")
        if o.facing is not None and o.facing not in _DIRECTIONS and o.facing not in {x.id for x in objects}:
            raise RecipeError(f"{where}.facing: {o.facing!r} is neither a direction {list(_DIRECTIONS)} nor an "
                              "object id")
        if o.distance is not None and o.distance < 0:
            raise RecipeError(f"{where}.distance must be ≥ 0")
        if o.elevation is not None and o.elevation < 0:
            raise RecipeError(f"{where}.elevation must be ≥ 0")
    ids = {o.id for o in objects}
    deps = {}
    for i, o in enumerate(objects):
        t = o.target
        if t is not None:
            if t not in ids:
                raise RecipeError(f"objects[{i}] ({o.id}): unknown object {t!r}")
            if t == o.id:
                raise RecipeError(f"objects[{i}] ({o.id}): an object cannot be placed relative to itself")
        deps[o.id] = t
    for start in deps:  # every chain of references must end
        seen_chain, n = set(), start
        while n is not None:
            if n in seen_chain:
                raise RecipeError(f"objects: placement references form a cycle through {start!r}")
            seen_chain.add(n)
            n = deps.get(n)


def order(objects: list[Obj]) -> list[Obj]:
    """Objects in an order where every object comes after the one it is placed relative to (stable)."""
    done: set[str] = set()
    out: list[Obj] = []
    pending = list(objects)
    while pending:
        rest = []
        for o in pending:
            if o.target is None or o.target in done:
                out.append(o)
                done.add(o.id)
            else:
                rest.append(o)
        pending = rest
    return out
