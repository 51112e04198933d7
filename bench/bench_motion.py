"""Motion synthesis throughput: N characters × F frames (default 200 × 240, the seed's ceremony scene).

Each character gets a mix of clips of its family (walks, runs, gaits, actions) over F frames; the figure is
character-frames per second of :func:`core.motion.synthesize` (gaits, foot plants, IK, blending), and separately of
the agent's whole solve for a few characters (synthesis + pins + key reduction + ops + a check on a copy of the
world).

    PYTHONPATH=. python bench/bench_motion.py [--characters 200] [--frames 240] [--agent 5]
"""

from __future__ import annotations

import argparse
import time

from core import templates
from core.motion import check_clips, synthesize

FPS = 24.0

_PLANS = {
    "biped": [("idle", 0.15), ("walk", 0.35), ("run", 0.2), ("wave", 0.15), ("punch", 0.15)],
    "quadruped": [("idle", 0.2), ("walk", 0.3), ("trot", 0.3), ("gallop", 0.2)],
    "bird": [("idle", 0.3), ("walk", 0.3), ("flap", 0.4)],
    "fish": [("idle", 0.3), ("swim", 0.7)],
}
_MIX = ["biped"] * 6 + ["quadruped"] * 2 + ["bird", "fish"]


def clips_for(family: str, frames: int, k: int) -> list[dict]:
    out, at = [], 0
    plan = _PLANS[family]
    plan = plan[k % len(plan):] + plan[:k % len(plan)]
    for n, (clip, share) in enumerate(plan):
        end = frames if n == len(plan) - 1 else at + max(2, int(round(share * frames)))
        out.append({"clip": clip, "start": at, "end": end})
        at = end
    return check_clips(family, out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--characters", type=int, default=200)
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--agent", type=int, default=5, help="characters solved through the whole agent")
    a = ap.parse_args()
    skeletons = {f: templates.template_joints(f) for f in _PLANS}
    jobs = [(fam, clips_for(fam, a.frames, k)) for k, fam in
            enumerate(_MIX[i % len(_MIX)] for i in range(a.characters))]
    t0 = time.perf_counter()
    for fam, clips in jobs:
        synthesize(skeletons[fam], clips, FPS)
    dt = time.perf_counter() - t0
    cf = a.characters * (a.frames + 1)
    print(f"synthesis: {a.characters} characters × {a.frames + 1} frames in {dt:.2f} s = {cf / dt:,.0f} "
          f"character-frames/s ({dt / a.characters * 1000:.1f} ms a character)")
    if a.agent:
        from agents.motion.agent import solve
        from core import ops as O
        from core.edit import apply
        from core.world import World

        w = World("p", "s", fps=FPS)
        params = []
        for i in range(a.agent):
            params.append({"entity": f"c{i}", "clips": [{k: c[k] for k in ("clip", "start", "end")}
                                                        for c in clips_for("biped", a.frames, i)]})
            apply(w, [O.EntityCreate(id=f"c{i}", kind="character"), O.SkeletonSet(id=f"c{i}", template="biped"),
                      O.DirectiveAdd(id=f"m{i}", agent="motion", params=params[-1])], "user:bench")
        t0 = time.perf_counter()
        n_ops = 0
        for i in range(a.agent):
            props = solve(w, f"m{i}", params[i])
            assert props[-1].ops[-1].params["report"]["status"] == "done", props[-1].ops[-1].params["report"]
            n_ops += sum(len(p.ops) for p in props)
        dt = time.perf_counter() - t0
        print(f"agent solve (biped): {a.agent} characters in {dt:.2f} s = {dt / a.agent * 1000:.0f} ms a character, "
              f"{n_ops / a.agent:.0f} ops a character ({a.agent * (a.frames + 1) / dt:,.0f} character-frames/s)")


if __name__ == "__main__":
    main()
