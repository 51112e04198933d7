"""Collision shapes of a sampled world, for the repair and layout agents.

Every solid entity at a frame is a *vertical convex prism*: the convex hull of its world-space support points
projected onto the floor plane (X, Z) — its **footprint**, a CCW polygon — extruded over the height range
``[y_min, y_max]``. For upright boxes, cylinders and capsules (the usual case: things stand on floors) this is exact
up to the polygon approximation of circles; tilted shapes get a conservative prism. Two prisms intersect when their
height ranges overlap and their footprints do (2-D separating-axis test), and the smallest separating move is
horizontal, which is what a person expects of a chair pushed into a table (a vertical escape would lift it onto
the table).

Shapes (Y up, metres, pivot at the bottom centre of the bounding box, SPEC §4):

- ``prop`` / ``environment`` with ``geometry`` — box ``size [w, h, d]``; sphere ``radius``; cylinder and capsule
  ``radius, height`` (height is the total height); plane ``size [w, d]`` (zero height); ``asset`` — a box of the size
  ``asset_size(asset_id)`` gives (default 1 m cube when unknown).
- ``character`` — its white-box body (:mod:`core.bodies`, the volumes the renderer draws) placed at the sampled
  joints: the prism of the hull of points around its volumes (:func:`core.bodies.body_points`), from the body's
  lowest to its highest point; without a skeleton a 0.5 × 1.8 m capsule standing on its origin. A character's
  *base* (what stands on a surface) stays its origin, so a jump or a swim animated by root motion is not pulled
  down by the support agent.
- cameras and lights are not solid.

Environments are surfaces and bounds, never obstacles: a box environment is a room (its floor is its bottom and its
footprint the walkable area), a plane environment is a floor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Callable, Iterable, NamedTuple

import numpy as np

from core import bodies
from core.sampling import sample
from core.world import World

__all__ = [
    "Shape",
    "Contact",
    "Surface",
    "shapes_at",
    "local_points",
    "convex_hull_2d",
    "separation",
    "intersections",
    "support_surface_below",
    "contains_point",
    "pull_inside",
    "walkable_areas",
    "CONTACT_TOL_M",
]

CONTACT_TOL_M = 1e-3
"""Penetration up to this depth counts as touching, not intersecting."""

_RING = 16  # polygon sides approximating a circle

SOLID_KINDS = ("prop", "character", "environment")

AssetSize = Callable[[str], "tuple[float, float, float] | None"]


@dataclass(frozen=True)
class Shape:
    """One entity's collision prism at one frame.

    points : (n, 3) float — world-space support points (what the footprint and height range were made from)
    footprint : (m, 2) float — CCW convex polygon in the (x, z) plane
    y_min, y_max : height range in metres; ``base_y`` the height the entity stands at (bottom, or a character's
    origin); ``origin`` : (3,) the entity's world position.
    """

    id: str
    kind: str
    frame: float
    points: np.ndarray
    footprint: np.ndarray
    y_min: float
    y_max: float
    base_y: float
    origin: np.ndarray
    flat: bool = False  # a plane: a floor with no height

    @property
    def centre_xz(self) -> np.ndarray:
        return self.footprint.mean(axis=0)


class Contact(NamedTuple):
    """``a`` intersects ``b`` at ``frame`` by ``depth`` metres; moving ``a`` by ``push`` (3,) (horizontal)
    separates them."""

    a: str
    b: str
    frame: float
    depth: float
    push: np.ndarray


class Surface(NamedTuple):
    id: str | None    # None for the world's ground plane (y = 0)
    top: float


def _ring(radius: float, y: float) -> np.ndarray:
    t = np.arange(_RING) * (2 * np.pi / _RING)
    return np.stack([radius * np.cos(t), np.full(_RING, y), radius * np.sin(t)], axis=1)


_LOCAL: dict[str, np.ndarray | None] = {}
"""Support points of primitive geometries already seen, by their JSON (read-only arrays)."""


def local_points(geometry: dict | None, asset_size: AssetSize | None = None) -> np.ndarray | None:
    """Support points (n, 3) of a ``geometry`` value in the entity's local frame (pivot at the bottom centre), or
    None when there is no geometry. The array is shared: read it, never write it."""
    if not geometry:
        return None
    if "asset" in geometry:
        return _local_points(geometry, asset_size)
    try:
        key = json.dumps(geometry, sort_keys=True)
    except (TypeError, ValueError):
        return _local_points(geometry, None)
    if key not in _LOCAL:
        if len(_LOCAL) >= 4096:
            _LOCAL.clear()
        pts = _local_points(geometry, None)
        if pts is not None:
            pts.setflags(write=False)
        _LOCAL[key] = pts
    return _LOCAL[key]


def _local_points(geometry: dict, asset_size: AssetSize | None) -> np.ndarray | None:
    if "asset" in geometry:
        size = asset_size(geometry["asset"]) if asset_size is not None else None
        w, h, d = size if size is not None else (1.0, 1.0, 1.0)
        geometry = {"primitive": "box", "size": [w, h, d]}
    prim = geometry.get("primitive")
    if prim == "box":
        w, h, d = (float(x) for x in geometry["size"])
        xs, ys, zs = np.meshgrid([-w / 2, w / 2], [0.0, h], [-d / 2, d / 2], indexing="ij")
        return np.stack([xs.ravel(), ys.ravel(), zs.ravel()], axis=1)
    if prim == "plane":
        w, d = (float(x) for x in geometry["size"])
        return np.array([[-w / 2, 0, -d / 2], [w / 2, 0, -d / 2], [w / 2, 0, d / 2], [-w / 2, 0, d / 2]])
    if prim == "sphere":
        r = float(geometry["radius"])
        return np.concatenate([_ring(r, 0.0), _ring(r, 2 * r)])
    if prim in ("cylinder", "capsule"):
        r, h = float(geometry["radius"]), float(geometry["height"])
        return np.concatenate([_ring(r, 0.0), _ring(r, max(h, 2 * r if prim == "capsule" else h))])
    return None


def _inside_octagon(pts: np.ndarray) -> np.ndarray:
    """(n,) bool: points strictly inside the convex polygon of the extreme points along x, z, x + z and x − z
    (Akl–Toussaint): none of them can be a hull vertex, so the hull loop never sees them."""
    keys = np.stack([pts[:, 0], pts[:, 0] + pts[:, 1], pts[:, 1], pts[:, 1] - pts[:, 0]], axis=1)
    poly = pts[np.concatenate([keys.argmax(0), keys.argmin(0)])]          # CCW: +x, +x+z, +z, −x+z, −x, …
    edges = np.roll(poly, -1, axis=0) - poly
    rel = pts[:, None, :] - poly[None]
    cross = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]
    long = np.linalg.norm(edges, axis=1) > 1e-12
    return np.all((cross > 1e-12) | ~long[None], axis=1) & long.any()


def convex_hull_2d(points: np.ndarray) -> np.ndarray:
    """CCW convex hull (m, 2) of points (n, 2) (Andrew's monotone chain); degenerate inputs give what is left."""
    pts = np.round(np.asarray(points, dtype=np.float64), 9).reshape(-1, 2)
    if len(pts) > 16:
        pts = pts[~_inside_octagon(pts)]
    # the distinct points in lexicographic order (np.unique(..., axis=0), several times faster on the few points
    # of a shape)
    pts = np.array(sorted(set(map(tuple, pts.tolist()))), dtype=np.float64).reshape(-1, 2)
    if len(pts) <= 2:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in pts[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:3, :3].T + m[:3, 3]


def _prism(eid, kind, frame, pts, base_y, origin, flat=False) -> Shape:
    fp = convex_hull_2d(pts[:, [0, 2]])
    return Shape(eid, kind, float(frame), pts, fp, float(pts[:, 1].min()), float(pts[:, 1].max()),
                 float(base_y), origin, flat)


def shapes_at(world: World, frames: Iterable[float] | float, ids: Iterable[str] | None = None,
              asset_size: AssetSize | None = None) -> dict[float, dict[str, Shape]]:
    """Collision shapes of the solid entities (``ids``, default all) at each frame: ``{frame: {id: Shape}}``.

    Entities without a shape (cameras, lights, props or environments without geometry) are left out. One
    vectorised :func:`core.sampling.sample` call serves every frame; an entity standing exactly as at an earlier
    of these frames (held before its first key, after its last, or static) reuses that frame's shape.
    """
    frames = [float(f) for f in np.atleast_1d(np.asarray(frames, dtype=np.float64))]
    wanted = sorted(world.entities) if ids is None else sorted(set(ids) & set(world.entities))
    out: dict[float, dict[str, Shape]] = {f: {} for f in frames}
    if not frames or not wanted:
        return out
    s = sample(world, frames)
    index = {eid: i for i, eid in enumerate(s.ids)}
    for eid in wanted:
        e = world.entities[eid]
        if e.kind not in SOLID_KINDS:
            continue
        mats = s.matrices[:, index[eid]]  # (F, 4, 4)
        if e.kind == "character":
            js = s.joints.get(eid)
            body = bodies.body_of(e.props.get("skeleton") if js is not None else None)
            pts = bodies.body_points(body, None if js is None else js.matrices, mats)   # (F, N, 3)
            seen: dict[bytes, Shape] = {}
            for fi, f in enumerate(frames):
                key = mats[fi].tobytes() + pts[fi].tobytes()
                if key in seen:
                    out[f][eid] = replace(seen[key], frame=f)
                    continue
                origin = mats[fi, :3, 3].copy()
                out[f][eid] = seen[key] = _prism(eid, e.kind, f, pts[fi], origin[1], origin)
            continue
        local = local_points(e.props.get("geometry"), asset_size)
        if local is None:
            continue
        flat = e.props.get("geometry", {}).get("primitive") == "plane"
        seen = {}
        for fi, f in enumerate(frames):
            key = mats[fi].tobytes()
            if key in seen:
                out[f][eid] = replace(seen[key], frame=f)
                continue
            pts = _apply(mats[fi], local)
            out[f][eid] = seen[key] = _prism(eid, e.kind, f, pts, pts[:, 1].min(), mats[fi, :3, 3].copy(), flat)
    return out


def _axes(poly: np.ndarray) -> np.ndarray:
    """Unit outward edge normals (k, 2) of a CCW polygon."""
    if len(poly) < 2:
        return np.zeros((0, 2))
    edges = np.roll(poly, -1, axis=0) - poly
    n = np.stack([edges[:, 1], -edges[:, 0]], axis=1)
    length = np.linalg.norm(n, axis=1)
    keep = length > 1e-12
    return n[keep] / length[keep, None]


def separation(a: Shape, b: Shape) -> tuple[float, np.ndarray]:
    """Penetration depth of ``a`` into ``b`` and the smallest horizontal move (3,) of ``a`` that separates them.

    Depth ≤ 0 means they do not intersect (then the move is zero). Both the height ranges and the footprints must
    overlap; ties between axes go to the first in a fixed order (a's edges, then b's), so the result is
    deterministic.
    """
    zero = np.zeros(3)
    vertical = min(a.y_max, b.y_max) - max(a.y_min, b.y_min)
    if vertical <= CONTACT_TOL_M and not (a.flat or b.flat):
        return min(vertical, 0.0), zero
    axes = np.concatenate([_axes(a.footprint), _axes(b.footprint)])
    if len(axes) == 0:
        return 0.0, zero
    pa = a.footprint @ axes.T  # (m, k)
    pb = b.footprint @ axes.T
    forward = pb.max(axis=0) - pa.min(axis=0)   # move a along +n by this
    backward = pa.max(axis=0) - pb.min(axis=0)  # move a along -n by this
    overlap = np.minimum(forward, backward)
    i = int(np.argmin(overlap))
    depth = float(overlap[i])
    if depth <= 0:
        return depth, zero
    n = axes[i] if forward[i] < backward[i] else -axes[i]
    return depth, np.array([n[0] * depth, 0.0, n[1] * depth])


def intersections(movers: dict[str, Shape], others: dict[str, Shape], ignore: set[frozenset] = frozenset(),
                  tol: float = CONTACT_TOL_M) -> list[Contact]:
    """Every (mover, other) pair of solid, non-environment shapes at one frame that interpenetrate by more than
    ``tol``, in sorted (mover, other) order. ``ignore`` holds pairs ``frozenset({a, b})`` that may touch
    (attached, parented, resting on)."""
    found = []
    for aid in sorted(movers):
        a = movers[aid]
        if a.kind == "environment":
            continue
        for bid in sorted(others):
            b = others[bid]
            if bid == aid or b.kind == "environment" or frozenset((aid, bid)) in ignore:
                continue
            depth, push = separation(a, b)
            if depth > tol:
                found.append(Contact(aid, bid, a.frame, depth, push))
    return found


def contains_point(poly: np.ndarray, p: np.ndarray, tol: float = 1e-9) -> bool:
    """Whether the (x, z) point p lies in the CCW convex polygon poly (m, 2), boundary included."""
    if len(poly) < 3:
        return False
    edges = np.roll(poly, -1, axis=0) - poly
    rel = p[None, :] - poly
    return bool(np.all(edges[:, 0] * rel[:, 1] - edges[:, 1] * rel[:, 0] >= -tol))


def support_surface_below(shape: Shape, shapes: dict[str, Shape], exclude: Iterable[str] = (),
                          only: str | None = None) -> Surface:
    """The surface ``shape`` should stand on: the highest top among props (their ``y_max``) and environment floors
    (their ``y_min``) whose footprint contains ``shape``'s footprint centre and which is not above ``shape``'s
    mid-height. With ``only`` the named entity is the surface wherever the centre is (a ``supports`` relation).
    Without any, the world's ground plane y = 0 (``Surface(None, 0.0)``) when no environment is under it."""
    centre = shape.centre_xz
    if only is not None and only in shapes:
        s = shapes[only]
        return Surface(only, s.y_min if s.kind == "environment" else s.y_max)
    limit = (shape.y_min + shape.y_max) / 2 + CONTACT_TOL_M
    best: Surface | None = None
    skip = set(exclude) | {shape.id}
    for sid in sorted(shapes):
        s = shapes[sid]
        if sid in skip or s.kind == "character":
            continue
        top = s.y_min if s.kind == "environment" else s.y_max
        if top > limit or not contains_point(s.footprint, centre):
            continue
        if best is None or top > best.top + 1e-9:
            best = Surface(sid, top)
    return best if best is not None else Surface(None, 0.0)


def walkable_areas(shapes: dict[str, Shape]) -> dict[str, np.ndarray]:
    """Footprints (m, 2) of the environments that bound where things may stand (box rooms and plane floors)."""
    return {sid: s.footprint for sid, s in sorted(shapes.items())
            if s.kind == "environment" and len(s.footprint) >= 3}


def pull_inside(shape: Shape, area: np.ndarray, iterations: int = 6) -> np.ndarray:
    """The smallest horizontal move (3,) that brings ``shape``'s footprint inside the convex CCW ``area`` (m, 2)
    (exact for rectangles). Along a direction where the footprint is wider than the area it is centred instead."""
    edges = np.roll(area, -1, axis=0) - area
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1)
    length = np.linalg.norm(normals, axis=1)
    keep = length > 1e-12
    normals, corners = normals[keep] / length[keep, None], area[keep]
    offsets = np.einsum("kj,kj->k", normals, corners)       # n_k · x <= offset_k inside
    depth = offsets - (area @ normals.T).min(axis=0)         # the area's extent along each normal
    move = np.zeros(2)
    for _ in range(iterations):
        proj = (shape.footprint + move) @ normals.T           # (m, k)
        past = proj.max(axis=0) - offsets
        k = int(np.argmax(past))
        if past[k] <= CONTACT_TOL_M:
            break
        width = proj[:, k].max() - proj[:, k].min()
        step = past[k] if width <= depth[k] else past[k] - (width - depth[k]) / 2
        move = move - normals[k] * step
    return np.array([move[0], 0.0, move[1]])
