"""The layout solver's working model: placed items as axis-aligned boxes turned by quarter turns about Y.

Conventions: metres, Y up, an item's position is its pivot (bottom centre); ``yaw`` ∈ {0, 90, 180, -90} degrees
about +Y; an item's front faces +Z at yaw 0, so its facing direction is ``(sin yaw, cos yaw)`` in (x, z) and its
right-hand side is ``(-cos yaw, sin yaw)``. Because every turn is a quarter turn the footprint stays an exact
axis-aligned rectangle, so overlap tests are interval tests, vectorised over candidate positions.

A :class:`Slot` says where the supervisor may move an item to repair it: anywhere in a rectangle (free floor,
a table top, free terrain) or along a segment (a wall, a sidewalk, a building row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["YAWS", "Slot", "Item", "Phantom", "yaw_quat", "facing_vec", "right_vec", "yaw_towards",
           "yaw_of_direction", "half_extents", "overlap", "TOL"]

YAWS = (0, 90, 180, -90)
TOL = 1e-3
"""Interpenetration up to this depth counts as touching (as in :data:`agents.geometry.CONTACT_TOL_M`)."""


def yaw_quat(yaw: int) -> list[float]:
    """Quarter turn about +Y → quaternion [x, y, z, w] with w ≥ 0 (the canonical stored form)."""
    t = math.radians(yaw) / 2
    q = [0.0, math.sin(t), 0.0, math.cos(t)]
    if q[3] < 0:
        q = [-c for c in q]
    return [round(c, 12) + 0.0 for c in q]


def facing_vec(yaw: int) -> tuple[float, float]:
    t = math.radians(yaw)
    return round(math.sin(t), 12), round(math.cos(t), 12)


def right_vec(yaw: int) -> tuple[float, float]:
    fx, fz = facing_vec(yaw)
    return -fz, fx


def yaw_towards(dx: float, dz: float) -> int:
    """The quarter turn whose facing is closest to the direction (dx, dz); ties prefer ±Z."""
    if abs(dx) > abs(dz) + 1e-9:
        return 90 if dx > 0 else -90
    return 0 if dz >= 0 else 180


def yaw_of_direction(name: str) -> int:
    """Facing a compass direction (north = −Z)."""
    return {"south": 0, "east": 90, "north": 180, "west": -90}[name]


def half_extents(dims, yaw: int) -> tuple[float, float]:
    """(half x, half z) of the footprint of a (w, h, d) box turned by ``yaw``."""
    w, _, d = dims
    return (d / 2, w / 2) if yaw in (90, -90) else (w / 2, d / 2)


@dataclass
class Slot:
    """Where an item's pivot may go: the rectangle ``[x0, x1] × [z0, z1]`` (a segment when it is thin)."""

    x0: float
    x1: float
    z0: float
    z1: float
    step: float = 0.05

    def candidates(self, near: tuple[float, float]) -> np.ndarray:
        """Grid points (n, 2) of the slot, nearest to ``near`` first (ties broken by x then z)."""
        if self.x1 < self.x0 - 1e-9 or self.z1 < self.z0 - 1e-9:
            return np.zeros((0, 2))
        xs = _axis(self.x0, self.x1, self.step, near[0])
        zs = _axis(self.z0, self.z1, self.step, near[1])
        gx, gz = np.meshgrid(xs, zs, indexing="ij")
        pts = np.stack([gx.ravel(), gz.ravel()], axis=1)
        dist = np.hypot(pts[:, 0] - near[0], pts[:, 1] - near[1])
        order = np.lexsort((pts[:, 1], pts[:, 0], np.round(dist, 9)))
        return pts[order]


def _axis(lo: float, hi: float, step: float, near: float) -> np.ndarray:
    if hi - lo < 1e-9:
        return np.array([(lo + hi) / 2])
    n = max(1, int(math.ceil((hi - lo) / step)))
    pts = np.linspace(lo, hi, n + 1)
    if lo <= near <= hi:
        pts = np.append(pts, near)
    return np.unique(pts)


@dataclass
class Item:
    """One object the layout places (or an existing entity it must respect, with ``slot`` None)."""

    local: str                      # id within the directive, e.g. "sofa-1"
    name: str
    cls: str                        # floor | wall | ceiling | surface | road | arch | env | fixed
    dims: tuple[float, float, float]
    x: float
    y: float
    z: float
    yaw: int = 0
    geometry: dict | None = None
    color: list[float] | None = None
    kind: str = "prop"
    asset: str | None = None
    group: str = ""
    support: str | None = None      # local id of what it rests on (a ``supports`` relation)
    attach: str | None = None       # local id of what holds it (an ``attached_to`` relation)
    slot: Slot | None = None        # None: it never moves
    order: int = 0
    solid: bool = True              # takes part in collisions
    pinned: bool = False            # a person's edit: never moved
    eid: str = ""                   # the entity id (set by the agent)
    extra: dict = field(default_factory=dict)

    @property
    def half(self) -> tuple[float, float]:
        return half_extents(self.dims, self.yaw)

    def box(self) -> tuple[float, float, float, float, float, float]:
        """(x0, x1, y0, y1, z0, z1) world-space bounds."""
        hx, hz = self.half
        return (self.x - hx, self.x + hx, self.y, self.y + self.dims[1], self.z - hz, self.z + hz)

    @property
    def position(self) -> list[float]:
        return [self.x, self.y, self.z]


@dataclass
class Phantom:
    """A keep-out volume that is no entity: a door's swing, a window in a wall, the road surface."""

    name: str
    box: tuple[float, float, float, float, float, float]
    blocks: frozenset               # the item classes it keeps out


def overlap(a, b) -> float:
    """Penetration depth of two (x0, x1, y0, y1, z0, z1) boxes: the smallest of the three overlaps (≤ 0: apart)."""
    return min(min(a[1], b[1]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[2], b[2]),
               min(a[5], b[5]) - max(a[4], b[4]))
