"""An occupancy grid of the floor plane and A* over it.

A cell is blocked when its centre is closer than ``need + margin`` to an obstacle footprint (``need`` = body radius
+ clearance), or less than ``wall + margin`` inside the walkable areas. Free cells closer than ``need + room +
margin`` to an obstacle are the **band**: A* pays BAND_COST extra to cross them and shortcuts avoid them where they
can (``wide`` checks), so routes keep a berth wherever the scene leaves room — the room the smoothing needs to round
corners — and squeeze through narrow passages only when that is the way. ``margin`` = c/√2 + c/4 for cells of size c:
every point within c/√2 of a free centre, and every point within c/4 of such a point, is then at least ``need``
from every obstacle. So a segment is clear when points sampled along it every c/2 all fall in free cells
(:meth:`Grid.clear`) — a rigorous test, not an approximation — and the A* polyline (through adjacent free centres)
is clear by construction.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from .scene import Scene, polygon_distance

__all__ = ["Grid", "build_grid", "MAX_CELLS", "BAND_COST"]

MAX_CELLS = 600_000
BAND_COST = 3.0
HEURISTIC_WEIGHT = 1.5
"""Weighted A*: the octile heuristic times this, so a route costs at most 1.5× the cheapest (shortcutting then
straightens it) and far fewer cells are expanded (about 4× fewer on bench/bench_path.py's scene)."""
_SQRT2 = math.sqrt(2.0)


class Grid:
    """``blocked`` and ``band`` (nz, nx) bool over cells of size ``cell`` whose corner (min x, min z) is
    ``origin``."""

    def __init__(self, origin: np.ndarray, cell: float, blocked: np.ndarray, band: np.ndarray | None = None):
        self.origin, self.cell, self.blocked = np.asarray(origin, dtype=np.float64), float(cell), blocked
        self.band = np.zeros_like(blocked) if band is None else band
        self._wide = blocked | self.band
        self.nz, self.nx = blocked.shape

    def centre(self, idx: int) -> np.ndarray:
        iz, ix = divmod(idx, self.nx)
        return self.origin + (np.array([ix, iz]) + 0.5) * self.cell

    def cells_of(self, xz: np.ndarray) -> np.ndarray:
        """Flat cell index (N,) of points (N, 2); −1 outside the grid."""
        ij = np.floor((np.asarray(xz, dtype=np.float64).reshape(-1, 2) - self.origin) / self.cell).astype(np.int64)
        ok = (ij[:, 0] >= 0) & (ij[:, 0] < self.nx) & (ij[:, 1] >= 0) & (ij[:, 1] < self.nz)
        return np.where(ok, ij[:, 1] * self.nx + ij[:, 0], -1)

    def free_points(self, xz: np.ndarray, wide: bool = False) -> np.ndarray:
        """Whether each point (N, 2) lies in a free cell (outside the band too, with ``wide``) (N,) bool."""
        idx = self.cells_of(xz)
        flat = (self._wide if wide else self.blocked).reshape(-1)
        return (idx >= 0) & ~flat[np.maximum(idx, 0)]

    def clear(self, a, b, wide: bool = False) -> bool:
        """Whether the segment a → b keeps ``need`` from every obstacle (see the module docstring); with ``wide``
        whether it also stays out of the band."""
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        n = max(1, int(math.ceil(float(np.linalg.norm(b - a)) / (self.cell / 2))))
        t = np.linspace(0.0, 1.0, n + 1)[:, None]
        return bool(np.all(self.free_points(a + t * (b - a), wide)))

    def clear_points(self, pts: np.ndarray) -> bool:
        """Whether a polyline through points (N, 2), sampled finer than c/2, keeps ``need`` everywhere."""
        pts = np.asarray(pts, dtype=np.float64)
        step = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        if len(step) and step.max() > self.cell / 2 + 1e-12:
            return all(self.clear(pts[i], pts[i + 1]) for i in range(len(pts) - 1))
        return bool(np.all(self.free_points(pts)))

    def nearest_free(self, p: np.ndarray, reach: int = 3) -> int | None:
        """A free cell within ``reach`` cells of point p whose centre p can walk to in a straight clear line
        (the nearest; ties by index), or None."""
        ix, iz = (int(v) for v in np.floor((np.asarray(p) - self.origin) / self.cell))
        best = None
        for dz in range(-reach, reach + 1):
            for dx in range(-reach, reach + 1):
                jx, jz = ix + dx, iz + dz
                if not (0 <= jx < self.nx and 0 <= jz < self.nz) or self.blocked[jz, jx]:
                    continue
                idx = jz * self.nx + jx
                d = float(np.linalg.norm(self.centre(idx) - p))
                if (best is None or (d, idx) < best[:2]) and self.clear(p, self.centre(idx)):
                    best = (d, idx)
        return None if best is None else best[1]

    def astar(self, start: int, goal: int) -> list[int] | None:
        """Cells from ``start`` to ``goal`` (8-connected, octile step costs, band cells cost 1 + BAND_COST;
        weighted A*, HEURISTIC_WEIGHT), or None when the goal is unreachable. Deterministic: ties are broken by
        cell index."""
        nx, nz = self.nx, self.nz
        w = nx + 2                                              # a blocked border spares the bounds checks
        pad = np.ones((nz + 2, w), dtype=bool)
        pad[1:-1, 1:-1] = self.blocked
        weight = np.ones((nz + 2, w))
        weight[1:-1, 1:-1] += BAND_COST * self.band
        blocked = pad.reshape(-1).tolist()
        cost = weight.reshape(-1).tolist()

        def to_pad(i: int) -> int:
            return (i // nx + 1) * w + i % nx + 1

        s, g_ = to_pad(start), to_pad(goal)
        gx, gz = g_ % w, g_ // w
        moves = [(1, 1.0), (-1, 1.0), (w, 1.0), (-w, 1.0), (w + 1, _SQRT2), (w - 1, _SQRT2), (-w + 1, _SQRT2),
                 (-w - 1, _SQRT2)]
        k = _SQRT2 - 2.0
        g = {s: 0.0}
        came: dict[int, int] = {}
        closed = bytearray(len(blocked))
        heap = [(0.0, s)]
        push, pop = heapq.heappush, heapq.heappop
        while heap:
            _, i = pop(heap)
            if closed[i]:
                continue
            if i == g_:
                out = [i]
                while i in came:
                    i = came[i]
                    out.append(i)
                return [(p // w - 1) * nx + p % w - 1 for p in out[::-1]]
            closed[i] = 1
            gi = g[i]
            ci = cost[i]
            for off, step in moves:
                j = i + off
                if blocked[j] or closed[j]:
                    continue
                nj = gi + step * 0.5 * (ci + cost[j])
                if nj < g.get(j, math.inf) - 1e-12:
                    g[j] = nj
                    came[j] = i
                    dx, dz = abs(j % w - gx), abs(j // w - gz)
                    push(heap, (nj + HEURISTIC_WEIGHT * (dx + dz + k * (dx if dx < dz else dz)), j))
        return None


def build_grid(scene: Scene, lo, hi, cell: float, need: float, wall: float, room: float = 0.0) -> Grid:
    """The grid over the rectangle ``lo``–``hi`` (x, z) with cells of about ``cell`` metres (coarsened to stay
    within MAX_CELLS) and a band ``room`` metres wide."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    span = np.maximum(hi - lo, cell)
    cell = max(cell, math.sqrt(float(span[0] * span[1]) / MAX_CELLS))
    nx, nz = (int(math.ceil(s / cell)) for s in span)
    margin = cell / _SQRT2 + cell / 4
    blocked = np.zeros((nz, nx), dtype=bool)
    band = np.zeros((nz, nx), dtype=bool)
    xs = lo[0] + (np.arange(nx) + 0.5) * cell
    zs = lo[1] + (np.arange(nz) + 0.5) * cell
    reach = need + margin
    far = reach + room
    for ob in scene.obstacles:
        i0, i1 = np.searchsorted(xs, ob.lo[0] - far), np.searchsorted(xs, ob.hi[0] + far, side="right")
        k0, k1 = np.searchsorted(zs, ob.lo[1] - far), np.searchsorted(zs, ob.hi[1] + far, side="right")
        if i0 >= i1 or k0 >= k1:
            continue
        gx, gz = np.meshgrid(xs[i0:i1], zs[k0:k1])
        d = polygon_distance(np.stack([gx.ravel(), gz.ravel()], axis=1), ob.poly).reshape(gx.shape)
        blocked[k0:k1, i0:i1] |= d < reach
        band[k0:k1, i0:i1] |= d < far
    if scene.areas:
        gx, gz = np.meshgrid(xs, zs)
        depth = scene.area_depth(np.stack([gx.ravel(), gz.ravel()], axis=1)).reshape(gx.shape)
        blocked |= depth < wall + margin
        band |= depth < wall + margin + room
    return Grid(lo, cell, blocked, band & ~blocked)
