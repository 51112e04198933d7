"""From points to visit to a smooth, clear curve: A* per leg on the grid, shortcutting (string pulling, then
pruning every corner whose neighbours see each other), then spline smoothing by Chaikin corner cutting with a
clearance re-check of every cut.

Waypoints are visited exactly (the curve passes through them; the corner there stays sharp and the speed profile
slows to turn there); the corners A* made to get round obstacles are rounded. A cut that is not clear is not made
(the corner stays, fixed), so the curve is always made of pieces of clear segments or clear cuts: the result keeps
the clearance because every step that changes it is checked (:meth:`agents.path.grid.Grid.clear` is rigorous).
"""

from __future__ import annotations

import math

import numpy as np

from .grid import Grid

__all__ = ["RouteError", "plan_legs", "shortcut", "prune", "smooth"]

CHAIKIN_ROUNDS = 5
MIN_CUT = 1 / 64


class RouteError(ValueError):
    pass


def plan_legs(grid: Grid, points: list[np.ndarray]) -> list[list[np.ndarray]]:
    """For each leg points[i] → points[i+1], the polyline of grid centres A* found (with the exact end points);
    raises RouteError naming the leg that has no route."""
    legs = []
    for i in range(len(points) - 1):
        a, b = points[i], points[i + 1]
        if grid.clear(a, b, wide=True):
            legs.append([a, b])
            continue
        ca, cb = grid.nearest_free(a), grid.nearest_free(b)
        cells = None if ca is None or cb is None else grid.astar(ca, cb)
        if cells is None:
            raise RouteError(f"no collision-free route from {_fmt(a)} to {_fmt(b)}")
        legs.append([a] + [grid.centre(c) for c in cells] + [b])
    return legs


def shortcut(grid: Grid, leg: list[np.ndarray]) -> list[np.ndarray]:
    """String pulling: from each kept point, the farthest later point it sees in a straight line clear of the band
    (the next point when it sees none: the A* steps themselves are clear)."""
    out = [leg[0]]
    i = 0
    n = len(leg)
    while i < n - 1:
        j = i + 1
        while j + 1 < n and grid.clear(leg[i], leg[j + 1], wide=True):
            j += 1
        out.append(leg[j])
        i = j
    return out


def prune(grid: Grid, pts: list[np.ndarray], sharp: set[int]) -> tuple[list[np.ndarray], set[int]]:
    """Drop every corner (not in ``sharp``) whose neighbours see each other in a line clear of the band, until none
    can go."""
    pts = list(pts)
    fixed = [i in sharp or i in (0, len(pts) - 1) for i in range(len(pts))]
    changed = True
    while changed:
        changed = False
        i = 1
        while i < len(pts) - 1:
            if not fixed[i] and grid.clear(pts[i - 1], pts[i + 1], wide=True):
                del pts[i], fixed[i]
                changed = True
            else:
                i += 1
    return pts, {i for i, f in enumerate(fixed) if f}


def smooth(grid: Grid, pts: list[np.ndarray], sharp: set[int], rounds: int = CHAIKIN_ROUNDS) -> np.ndarray:
    """Chaikin corner cutting (its limit is the quadratic B-spline of the points) with a clearance re-check: each
    round replaces every free corner p by the two points a quarter of the way along its segments; where that cut is
    not clear a smaller one nearer the corner is tried (an eighth, a sixteenth, …), and a corner no cut clears
    stays (fixed from then on). Waypoints (``sharp``) and the ends never move. Returns the curve
    (N, 2) with points at most c/4 apart."""
    pts, fixed_at = prune(grid, [np.asarray(p, dtype=np.float64) for p in pts], sharp)
    fixed = [i in fixed_at for i in range(len(pts))]
    for _ in range(rounds):
        n = len(pts) - 1
        out, out_fixed = [pts[0]], [True]
        for i in range(1, n):
            p, back, ahead = pts[i], pts[i] - pts[i - 1], pts[i + 1] - pts[i]
            r, q = p - 0.25 * back, p + 0.25 * ahead
            f = 0.25
            while not fixed[i] and f >= MIN_CUT and not grid.clear(p - f * back, p + f * ahead):
                f *= 0.5                                        # a smaller cut, nearer the corner
            if fixed[i] or f < MIN_CUT:
                out += [r, p, q]
                out_fixed += [False, True, False]
            elif f == 0.25:
                out += [r, q]
                out_fixed += [False, False]
            else:
                out += [r, p - f * back, p + f * ahead, q]
                out_fixed += [False, False, False, False]
        out.append(pts[-1])
        out_fixed.append(True)
        keep = [0] + [k for k in range(1, len(out)) if np.linalg.norm(out[k] - out[k - 1]) > 1e-9]
        pts, fixed = [out[k] for k in keep], [out_fixed[k] for k in keep]
    step = grid.cell / 4
    dense = [pts[0][None]] + [_line(pts[i - 1], pts[i], step) for i in range(1, len(pts))]
    return np.concatenate(dense)


def _line(a, b, step: float) -> np.ndarray:
    n = max(1, int(math.ceil(float(np.linalg.norm(b - a)) / step)))
    t = np.linspace(0.0, 1.0, n + 1)[1:, None]
    return a + t * (b - a)


def _fmt(p) -> str:
    return f"[{p[0]:.2f}, {p[1]:.2f}]"
