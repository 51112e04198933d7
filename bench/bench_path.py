"""Path planning time on a 100 × 100 m scene with 500 obstacles (issue 14).

    python bench/bench_path.py [--obstacles 500] [--size 100] [--repeat 3] [--seed 7]

A biped crosses the square corner to corner (goal given, arrival frame given) among boxes 0.4–2.5 m wide and
0.5–2 m high, scattered uniformly (seeded; boxes too close to the start or goal are dropped). Times
:func:`agents.path.solve` — scene extraction, grid, A*, shortcutting, smoothing, timing, keying and the verification
of the keyed track — best and median of ``--repeat`` runs, and the stages of one run. Prints one table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agents.path import agent as A  # noqa: E402
from agents.path import grid as GR  # noqa: E402
from agents.path import route as RT  # noqa: E402
from core import ops as O  # noqa: E402
from core.edit import apply  # noqa: E402
from core.world import World  # noqa: E402


def world(n: int, size: float, seed: int) -> World:
    rng = np.random.default_rng(seed)
    w = World("bench", "path", fps=24.0, frame_end=2400.0)
    half = size / 2
    start, goal = np.array([-half + 2, -half + 2]), np.array([half - 2, half - 2])
    ops = [O.EntityCreate(id="alice", kind="character", props={"transform.position": [float(start[0]), 0.0,
                                                                                      float(start[1])]}),
           O.SkeletonSet(id="alice", template="biped")]
    k = 0
    while k < n:
        c = rng.uniform(-half, half, 2)
        wd, dp, h = rng.uniform(0.4, 2.5), rng.uniform(0.4, 2.5), rng.uniform(0.5, 2.0)
        if min(np.linalg.norm(c - start), np.linalg.norm(c - goal)) < 4.0:
            continue
        ops.append(O.EntityCreate(id=f"box-{k}", kind="prop", props={
            "geometry": {"primitive": "box", "size": [float(wd), float(h), float(dp)]},
            "transform.position": [float(c[0]), 0.0, float(c[1])]}))
        k += 1
    apply(w, ops, "user:bench")
    params = {"entity": "alice", "goal": [float(goal[0]), float(goal[1])], "start": 0, "end": 2400}
    apply(w, [O.DirectiveAdd(id="cross", agent="path", params=params)], "user:bench")
    return w


def stages(w: World) -> dict[str, float]:
    """One run's stage times (ms), timed by wrapping the stage functions."""
    out: dict[str, float] = {}

    def timed(mod, name, label):
        fn = getattr(mod, name)

        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                out[label] = out.get(label, 0.0) + (time.perf_counter() - t) * 1e3
        setattr(mod, name, wrapper)
        return fn

    saved = [(A, "build_scene", timed(A, "build_scene", "scene")), (A, "build_grid", timed(A, "build_grid", "grids")),
             (A, "verify", timed(A, "verify", "verify"))]
    astar = GR.Grid.astar

    def timed_astar(self, a, b):
        t = time.perf_counter()
        try:
            return astar(self, a, b)
        finally:
            out["A*"] = out.get("A*", 0.0) + (time.perf_counter() - t) * 1e3
    GR.Grid.astar = timed_astar
    smooth = RT.smooth

    def timed_smooth(*a, **kw):
        t = time.perf_counter()
        try:
            return smooth(*a, **kw)
        finally:
            out["smooth"] = out.get("smooth", 0.0) + (time.perf_counter() - t) * 1e3
    RT.smooth = timed_smooth
    t = time.perf_counter()
    A.solve(w, "cross", w.directives["cross"].params)
    out["total"] = (time.perf_counter() - t) * 1e3
    GR.Grid.astar, RT.smooth = astar, smooth
    for mod, name, fn in saved:
        if fn is not None:
            setattr(mod, name, fn)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--obstacles", type=int, default=500)
    ap.add_argument("--size", type=float, default=100.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    w = world(args.obstacles, args.size, args.seed)
    times, rep = [], None
    for _ in range(args.repeat):
        t = time.perf_counter()
        p = A.solve(w, "cross", w.directives["cross"].params)
        times.append(time.perf_counter() - t)
        rep = p.ops[-1].params["report"]
    st = stages(w)
    print(f"path planning, {args.size:g} × {args.size:g} m, {args.obstacles} obstacles, seed {args.seed}")
    print(f"  status {rep['status']}" + (f": {rep.get('reason')}" if rep["status"] != "done" else
                                         f", route {rep['length_m']:.1f} m, {rep['keys']} keys per track, "
                                         f"min clearance {rep['min_clearance_m']:.3f} m"))
    print(f"  solve: best {min(times) * 1e3:.0f} ms, median {statistics.median(times) * 1e3:.0f} ms "
          f"({args.repeat} runs)")
    print("  stages of one run (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in st.items()))


if __name__ == "__main__":
    main()
