"""An occupancy grid of the floor plane and A* over it.

A cell is blocked when its centre is closer than ``need + margin`` to an obstacle footprint (``need`` = body radius
+ clearance), or less than ``wall + margin`` inside the walkable areas. ``margin`` = c/√2 + c/4 for cells of size c:
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

__all__ = ["Grid", "build_grid", "MAX_CELLS"]

MAX_CELLS = 600_000
_SQRT2 = math.sqrt(2.0)


class Grid:
    """``blocked`` (nz, nx) bool over cells of size ``cell`` whose corner (min x, min z) is ``origin``."""

    def __init__(self, origin: np.ndarray, cell: float, blocked: np.ndarray):
        self.origin, self.cell, self.blocked = np.asarray(origin, dtype=np.float64), float(cell), blocked
        self.nz, self.nx = blocked.shape

    def centre(self, idx: int) -> np.ndarray:
        iz, ix = divmod(idx, self.nx)
        return self.origin + (np.array([ix, iz]) + 0.5) * self.cell

    def cells_of(self, xz: np.ndarray) -> np.ndarray:
        """Flat cell index (N,) of points (N, 2); −1 outside the grid."""
        ij = np.floor((np.asarray(xz, dtype=np.float64).reshape(-1, 2) - self.origin) / self.cell).astype(np.int64)
        ok = (ij[:, 0] >= 0) & (ij[:, 0] < self.nx) & (ij[:, 1] >= 0) & (ij[:, 1] < self.nz)
        return np.where(ok, ij[:, 1] * self.nx + ij[:, 0], -1)

    def free_points(self, xz: np.ndarray) -> np.ndarray:
        """Whether each point (N, 2) lies in a free cell (N,) bool."""
        idx = self.cells_of(xz)
        flat = self.blocked.reshape(-1)
        return (idx >= 0) & ~flat[np.maximum(idx, 0)]

    def clear(self, a, b) -> bool:
        """Whether the segment a → b keeps ``need`` from every obstacle (see the module docstring)."""
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        n = max(1, int(math.ceil(float(np.linalg.norm(b - a)) / (self.cell / 2))))
        t = np.linspace(0.0, 1.0, n + 1)[:, None]
        return bool(np.all(self.free_points(a + t * (b - a))))

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
        """Cells from ``start`` to ``goal`` (8-connected, octile costs), or None when the goal is unreachable.
        Deterministic: ties are broken by cell index."""
        nx, nz = self.nx, self.nz
        blocked = self.blocked.reshape(-1).tolist()
        gx, gz = goal % nx, goal // nx
        g = {start: 0.0}
        came: dict[int, int] = {}
        closed = bytearray(nx * nz)
        moves = [(1, 0, 1.0), (-1, 0, 1.0), (0, 1, 1.0), (0, -1, 1.0),
                 (1, 1, _SQRT2), (-1, 1, _SQRT2), (1, -1, _SQRT2), (-1, -1, _SQRT2)]

        def h(i: int) -> float:
            dx, dz = abs(i % nx - gx), abs(i // nx - gz)
            return (dx + dz) + (_SQRT2 - 2.0) * min(dx, dz)

        heap = [(h(start), 0.0, start)]
        while heap:
            _, gi, i = heapq.heappop(heap)
            if closed[i]:
                continue
            if i == goal:
                out = [i]
                while i in came:
                    i = came[i]
                    out.append(i)
                return out[::-1]
            closed[i] = 1
            ix, iz = i % nx, i // nx
            for dx, dz, cost in moves:
                jx, jz = ix + dx, iz + dz
                if jx < 0 or jz < 0 or jx >= nx or jz >= nz:
                    continue
                j = jz * nx + jx
                if blocked[j] or closed[j]:
                    continue
                nj = gi + cost
                if nj < g.get(j, math.inf) - 1e-12:
                    g[j] = nj
                    came[j] = i
                    heapq.heappush(heap, (nj + h(j), nj, j))
        return None


def build_grid(scene: Scene, lo, hi, cell: float, need: float, wall: float) -> Grid:
    """The grid over the rectangle ``lo``–``hi`` (x, z) with cells of about ``cell`` metres (coarsened to stay
    within MAX_CELLS)."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    span = np.maximum(hi - lo, cell)
    cell = max(cell, math.sqrt(float(span[0] * span[1]) / MAX_CELLS))
    nx, nz = (int(math.ceil(s / cell)) for s in span)
    margin = cell / _SQRT2 + cell / 4
    blocked = np.zeros((nz, nx), dtype=bool)
    xs = lo[0] + (np.arange(nx) + 0.5) * cell
    zs = lo[1] + (np.arange(nz) + 0.5) * cell
    reach = need + margin
    for ob in scene.obstacles:
        i0, i1 = np.searchsorted(xs, ob.lo[0] - reach), np.searchsorted(xs, ob.hi[0] + reach, side="right")
        k0, k1 = np.searchsorted(zs, ob.lo[1] - reach), np.searchsorted(zs, ob.hi[1] + reach, side="right")
        if i0 >= i1 or k0 >= k1:
            continue
        gx, gz = np.meshgrid(xs[i0:i1], zs[k0:k1])
        d = polygon_distance(np.stack([gx.ravel(), gz.ravel()], axis=1), ob.poly).reshape(gx.shape)
        blocked[k0:k1, i0:i1] |= d < reach
    if scene.areas:
        gx, gz = np.meshgrid(xs, zs)
        depth = scene.area_depth(np.stack([gx.ravel(), gz.ravel()], axis=1)).reshape(gx.shape)
        blocked |= depth < wall + margin
    return Grid(lo, cell, blocked)
