"""The scene as the path agent sees it: obstacle footprints in the body's height band, walkable areas and the
surfaces the body stands on, with exact (vectorised) distances from points to them.

An **obstacle** is any solid prop or character (not the moving entity, nor what it carries) whose height range
overlaps the body's band ``[y0 + step, y0 + top]`` at some frame of the walk: a footstool under the step height is
walked over (a surface), a lamp hanging above the head is walked under. Animated obstacles are taken at several
frames over the walk, each pose an obstacle of its own (conservative: the route avoids everywhere they go).
**Walkable areas** are the footprints of environments (box rooms, floor planes); when a shot has any, the body must
stay inside one (as the ``bounds`` agent wants). **Surfaces** are environment floors and the tops of props low
enough to step onto; the ground height under a point is the highest surface containing it (else y = 0).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agents import geometry as G
from core.world import World

__all__ = ["Obstacle", "Scene", "build_scene", "polygon_distance", "inner_distance", "carried_by"]

ANIMATED_SAMPLES = 9


class Obstacle(NamedTuple):
    id: str
    poly: np.ndarray      # (m, 2) CCW convex footprint
    lo: np.ndarray        # (2,) bbox min
    hi: np.ndarray        # (2,) bbox max


class Scene(NamedTuple):
    obstacles: list[Obstacle]
    areas: list[tuple[str, np.ndarray]]          # walkable areas (id, CCW polygon)
    surfaces: list[tuple[str, np.ndarray, float]]  # (id, CCW polygon, top y)

    def ground(self, xz: np.ndarray, default: float = 0.0) -> np.ndarray:
        """Ground height (N,) under points (N, 2): the highest surface containing each, else ``default``."""
        xz = np.asarray(xz, dtype=np.float64).reshape(-1, 2)
        out = np.full(len(xz), -np.inf)
        for _, poly, top in self.surfaces:
            inside = polygon_distance(xz, poly) <= 1e-9
            out = np.where(inside & (top > out), top, out)
        return np.where(np.isfinite(out), out, default)

    def obstacle_distance(self, xz: np.ndarray, cut: float = np.inf, ids: bool = False):
        """Distance (N,) from each point to the nearest obstacle footprint (negative inside), and with ``ids`` the
        index of that obstacle (−1 for none). Obstacles farther than ``cut`` from a point (by their bounding box)
        are skipped, so a point with none nearer reads +inf."""
        xz = np.asarray(xz, dtype=np.float64).reshape(-1, 2)
        best = np.full(len(xz), np.inf)
        which = np.full(len(xz), -1)
        if not len(xz):
            return (best, which) if ids else best
        for i, ob in enumerate(self.obstacles):
            near = np.flatnonzero(np.all((xz >= ob.lo - cut) & (xz <= ob.hi + cut), axis=1))
            if not len(near):
                continue
            d = polygon_distance(xz[near], ob.poly)
            closer = d < best[near]
            best[near[closer]] = d[closer]
            which[near[closer]] = i
        return (best, which) if ids else best

    def area_depth(self, xz: np.ndarray) -> np.ndarray:
        """How far (N,) each point lies inside the walkable area it is deepest in (negative outside all; +inf
        when the shot has no walkable areas)."""
        xz = np.asarray(xz, dtype=np.float64).reshape(-1, 2)
        if not self.areas:
            return np.full(len(xz), np.inf)
        return np.max([inner_distance(xz, poly) for _, poly in self.areas], axis=0)


def _edges(poly: np.ndarray):
    a = poly
    b = np.roll(poly, -1, axis=0)
    return a, b - a


def polygon_distance(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Signed distance (N,) from points (N, 2) to a CCW convex polygon (m, 2): negative inside, 0 on the boundary.
    A polygon of one or two points is a point or a segment (distance ≥ 0)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(poly, dtype=np.float64)
    if len(poly) == 1:
        return np.linalg.norm(p - poly[0], axis=1)
    a, e = _edges(poly) if len(poly) > 2 else (poly[:1], poly[1:2] - poly[:1])
    rel = p[:, None, :] - a[None]                                   # (N, m, 2)
    ee = np.einsum("mk,mk->m", e, e)
    t = np.clip(np.einsum("nmk,mk->nm", rel, e) / np.where(ee > 0, ee, 1.0), 0.0, 1.0)
    d = np.linalg.norm(rel - t[..., None] * e[None], axis=2).min(axis=1)
    if len(poly) < 3:
        return d
    cross = e[None, :, 0] * rel[..., 1] - e[None, :, 1] * rel[..., 0]
    inside = np.all(cross >= 0, axis=1)
    return np.where(inside, -d, d)


def inner_distance(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance (N,) from points inside a CCW convex polygon to its boundary (negative outside: the largest
    violation of an edge's half-plane)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    a, e = _edges(np.asarray(poly, dtype=np.float64))
    length = np.linalg.norm(e, axis=1)
    keep = length > 1e-12
    a, e, length = a[keep], e[keep], length[keep]
    n = np.stack([-e[:, 1], e[:, 0]], axis=1) / length[:, None]       # inward normals of a CCW polygon
    return ((p[:, None, :] - a[None]) * n[None]).sum(axis=2).min(axis=1)


def carried_by(world: World, eid: str) -> set[str]:
    """``eid`` and everything that moves with it: children (recursively) and what is attached to it."""
    out = {eid}
    grew = True
    while grew:
        grew = False
        for oid, e in world.entities.items():
            if oid not in out and e.parent in out:
                out.add(oid)
                grew = True
        for r in world.relations.values():
            if r.kind == "attached_to" and r.object in out and r.subject not in out:
                out.add(r.subject)
                grew = True
    return out


def _animated(world: World, eid: str) -> bool:
    e = world.entities[eid]
    return any(p.startswith(("transform.", "joints.")) and len(k) > 1 for p, k in e.tracks.items()) or \
        e.parent is not None or any(r.kind == "attached_to" and r.subject == eid for r in world.relations.values())


def build_scene(world: World, eid: str, frames: tuple[float, float], y0: float, step: float, top: float,
                only: set[str] | None = None) -> Scene:
    """The scene for moving ``eid`` between ``frames`` (first, last) with its band ``[y0 + step, y0 + top]``
    (``only``: just these entities)."""
    first, last = float(frames[0]), float(max(frames[1], frames[0]))
    skip = carried_by(world, eid)
    ids = [i for i in sorted(world.entities) if i not in skip and (only is None or i in only)]
    moving = [i for i in ids if _animated(world, i)]
    sample_frames = [first] if not moving else \
        sorted({first, *(float(round(f, 6)) for f in np.linspace(first, last, ANIMATED_SAMPLES))})
    shapes = G.shapes_at(world, sample_frames, ids=ids)
    band_lo, band_hi = y0 + step, y0 + top
    obstacles: list[Obstacle] = []
    areas: list[tuple[str, np.ndarray]] = []
    surfaces: list[tuple[str, np.ndarray, float]] = []
    for fi, f in enumerate(sample_frames):
        for sid, sh in sorted(shapes[f].items()):
            if fi > 0 and sid not in moving:
                continue
            if len(sh.footprint) < 3 and not (len(sh.footprint) and sh.kind != "environment"):
                continue
            if sh.kind == "environment":
                if fi == 0 and len(sh.footprint) >= 3:
                    areas.append((sid, sh.footprint))
                    surfaces.append((sid, sh.footprint, sh.y_min))
                continue
            if sh.flat or sh.y_max <= band_lo:
                if fi == 0 and len(sh.footprint) >= 3:
                    surfaces.append((sid, sh.footprint, sh.y_max))
                continue
            if sh.y_min >= band_hi:
                continue
            fp = sh.footprint
            obstacles.append(Obstacle(sid, fp, fp.min(axis=0), fp.max(axis=0)))
    return Scene(obstacles, areas, surfaces)
