"""A tour of the shot and lighting agents without a server: a runner down a winding alley, a ``follow`` shot and
a ``low_key`` lighting directive, solved by the agents through the real reducer, then rendered into a control
pack with the ``lighting`` pass::

    python -m agents.camera.demo OUT_DIR [--backend gl|torch] [--every 6]

It prints both reports (what was solved, measured framing, jerk) and the pack's folder.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

__all__ = ["alley_ops", "build", "main"]


def alley_ops(half: float = 1.5) -> list:
    """A shot with a winding alley (two sharp bends, walls 6 m high) and a runner at 4 m/s along it."""
    from core import ops as O
    from core import quat

    pts = np.array([[0, 0], [0, 12], [7, 15], [7, 26], [0, 30], [0, 42]], float)
    d = np.diff(pts, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    nrm = np.stack([d[:, 1], -d[:, 0]], axis=1)
    vn = np.concatenate([nrm[:1], nrm[:-1] + nrm[1:], nrm[-1:]])
    vn /= np.linalg.norm(vn, axis=1, keepdims=True)
    scale = np.concatenate([[1.0], 1.0 / np.einsum("ij,ij->i", vn[1:-1], nrm[:-1]), [1.0]])
    ops = [O.ShotConfigure(fps=24.0, frame_start=0.0, frame_end=240.0, resolution=(832, 480), name="alley"),
           O.EntityCreate(id="ground", kind="environment", props={"geometry": {"primitive": "plane",
                                                                               "size": [40.0, 60.0]},
                                                                  "transform.position": [3.5, 0.0, 21.0]}),
           O.EntityCreate(id="runner", kind="character", props={"color": [0.95, 0.85, 0.75]}),
           O.SkeletonSet(id="runner", template="biped")]
    for side in (-1, 1):
        off = pts + side * half * vn * scale[:, None]
        for i in range(len(pts) - 1):
            a, b = off[i], off[i + 1]
            c = (a + b) / 2 + side * 0.25 * nrm[i]
            yaw = math.atan2(b[0] - a[0], b[1] - a[1])
            ops.append(O.EntityCreate(id=f"wall-{i}-{'l' if side < 0 else 'r'}", kind="prop", props={
                "geometry": {"primitive": "box", "size": [0.5, 6.0, float(np.linalg.norm(b - a))]},
                "transform.position": [float(c[0]), 0.0, float(c[1])], "color": [0.6, 0.55, 0.5],
                "transform.rotation": [float(x) for x in quat.from_axis_angle([0, 1, 0], yaw)]}))
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    for f in np.arange(0.0, 241.0, 8.0):
        s = min(2.0 + 4.0 * f / 24.0, cum[-1] - 1.0)
        ops.append(O.KeySet(id="runner", path="transform.position", frame=float(f),
                            value=[float(np.interp(s, cum, pts[:, 0])), 0.0, float(np.interp(s, cum, pts[:, 1]))]))
    return ops


def build():
    """The alley shot with both directives solved: (reducer, [proposal reasons])."""
    from agents.camera.agent import ShotAgent
    from agents.lighting.agent import LightingAgent
    from core import ops as O
    from events.envelope import Actor, Event
    from projections.reducer import ShotReducer

    red = ShotReducer("demo", "alley")
    agents = [ShotAgent(), LightingAgent()]
    seq = 0
    reasons = []

    def fold(actor, ops, causation=None):
        nonlocal seq
        seq += 1
        ev = Event(event_id=f"e{seq}", command_id=f"c{seq}", project="demo", shot="alley", actor=actor, ops=ops,
                   causation=causation)
        out = red.apply(seq, ev)
        if not out.applied:
            raise RuntimeError(out.reason)
        return seq, ev

    user = Actor(kind="user", id="director")
    steps = [alley_ops(),
             [O.DirectiveAdd(id="chase", agent="shot", params={"camera": "cam", "subject": "runner", "size": "FS",
                                                               "move": "follow", "start": 0, "end": 240})],
             [O.DirectiveAdd(id="mood", agent="lighting", params={"preset": "low_key", "subject": "runner"})]]
    for ops in steps:
        s, ev = fold(user, ops)
        for agent in agents:
            for p in agent.decide(red.world, ev, s):
                fold(Actor(kind="agent", id=agent.name), p.ops, causation=s)
                reasons.append(p.reason)
    return red, reasons


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--backend", default="gl", choices=["gl", "torch"])
    ap.add_argument("--every", type=float, default=6.0, help="render every N-th shot frame")
    a = ap.parse_args(argv)
    from renderers.job import RenderJob
    from renderers.pack import write_pack

    red, reasons = build()
    for r in reasons:
        print(r)
    rep = red.world.directives["chase"].params["report"]
    print("chase", json.dumps({k: rep[k] for k in ("status", "measured", "problems", "notes", "focal_length_mm")}))
    rep = red.world.directives["mood"].params["report"]
    print("mood", rep["status"], rep["preset"], {lid: (v["role"], v["ratio"], v.get("temperature_k"))
                                                 for lid, v in rep["lights"].items()})
    frames = [float(f) for f in np.arange(0.0, 241.0, a.every)]
    job = RenderJob(project="demo", shot="alley", frames=frames, resolution=(416, 240),
                    passes=["proxy", "lighting"], camera="cam")
    m = write_pack(red.world, red.last_seq, "demo", job, a.out, backend=a.backend)
    print(f"pack: {a.out} ({m['frame_count']} frames, lighting/ and lights/ inside)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
