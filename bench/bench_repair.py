"""The repair agents' cost per edit at 100 / 1,000 / 10,000 entities, in-process (no server, no NATS): an
:class:`~agents.runtime.AgentRunner` with collision, support and bounds over the in-memory log, publishing through a
command service with its own following replica — the way ``wnm agents run`` runs them.

    python bench/bench_repair.py [--sizes 100,1000,10000] [--edits 30] [--animated 0] [--keying 0]

The shot: props (boxes and cylinders) on a square grid 1.2 m apart on a floor plane, ``--animated`` of them keyed
at two frames. Each edit pushes a random prop into its neighbour, or lifts one off the floor; the agents free or
ground it. With ``--keying K`` each edit instead re-sets one key of a prop walking beside the grid on K position
keys (an animator adjusting a long animation; nothing to repair, so this is the cost of checking). Per size it
prints, over the edits after the first (which builds the replica's index):

- agent CPU per edit — process CPU time of the runner handling the edit and the repairs it caused (folding them,
  deciding, validating and publishing), p50 / p90;
- decide — CPU time in the three agents' ``decide`` alone, p50 / p90;
- edit → repair — wall time from the person's command to the repair being appended, p50 / p90;

and each median's ratio to the smallest size's. The first decision (index build) is printed on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.bounds import BoundsAgent  # noqa: E402
from agents.collision import CollisionAgent  # noqa: E402
from agents.runtime import AgentRunner, FollowingReplica, MemoryCheckpoints  # noqa: E402
from agents.suggestions import MemorySuggestions  # noqa: E402
from agents.support import SupportAgent  # noqa: E402
from core import ops as O  # noqa: E402
from events.envelope import MAX_OPS, Actor, Command  # noqa: E402
from events.log import MemoryLog  # noqa: E402
from projections.fold import WorldFold  # noqa: E402
from projections.replay import plain_world_at  # noqa: E402
from projections.store import MemoryStore  # noqa: E402
from realtime.commands import CommandService  # noqa: E402

P, S = "bench", "shot"
ALICE = Actor(kind="user", id="alice")
SPACING = 1.2
GEOMETRIES = [{"primitive": "box", "size": [0.5, 0.8, 0.5]}, {"primitive": "cylinder", "radius": 0.25, "height": 0.7}]


class Timed:
    """An agent whose decide() CPU time is summed into ``spent``."""

    def __init__(self, agent, spent: list[float]):
        self.agent, self.spent = agent, spent
        self.name, self.generative = agent.name, agent.generative

    def decide(self, world, event, seq):
        t = time.process_time()
        try:
            return self.agent.decide(world, event, seq)
        finally:
            self.spent[0] += time.process_time() - t


def _scene(n: int, animated: int) -> list[list]:
    side = int(n ** 0.5 + 0.999)
    half = side * SPACING / 2
    ops: list = [O.ShotConfigure(frame_start=0, frame_end=48),
                 O.EntityCreate(id="floor", kind="environment",
                                props={"geometry": {"primitive": "plane", "size": [2 * half + 4, 2 * half + 4]},
                                       "transform.position": [0.0, 0.0, 0.0]})]
    for i in range(n):
        x, z = (i % side) * SPACING - half, (i // side) * SPACING - half
        ops.append(O.EntityCreate(id=f"p{i}", kind="prop", props={"geometry": GEOMETRIES[i % 2],
                                                                  "transform.position": [x, 0.0, z]}))
    for i in range(animated):
        x, z = (i % side) * SPACING - half, (i // side) * SPACING - half
        ops += [O.KeySet(id=f"p{i}", path="transform.position", frame=0.0, value=[x, 0.0, z]),
                O.KeySet(id=f"p{i}", path="transform.position", frame=48.0, value=[x, 0.0, z + 0.3])]
    return [ops[k:k + MAX_OPS] for k in range(0, len(ops), MAX_OPS)]


def _walker_key(n: int, keys: int, k: int, dx: float = 0.0) -> O.KeySet:
    """Key ``k`` of the walker: beside the grid (clear of it, inside the floor), along z over the shot."""
    x = int(n ** 0.5 + 0.999) * SPACING / 2 + 0.5
    at = k / max(1, keys - 1)
    return O.KeySet(id="walker", path="transform.position", frame=48.0 * at, value=[x + dx, 0.0, -5.0 + 10.0 * at],
                    interp="linear")


def _walker(n: int, keys: int) -> list[list]:
    """A prop beside the grid walking along z on ``keys`` position keys over the shot."""
    ops: list = [O.EntityCreate(id="walker", kind="prop", props={"geometry": GEOMETRIES[0]})]
    ops += [_walker_key(n, keys, k) for k in range(keys)]
    return [ops[k:k + MAX_OPS] for k in range(0, len(ops), MAX_OPS)]


def _rekey(rnd: random.Random, n: int, keys: int) -> list:
    return [_walker_key(n, keys, rnd.randrange(keys), rnd.uniform(-0.2, 0.2))]


def _edit(rnd: random.Random, n: int, side: int, half: float) -> list:
    """Push a random prop into its right-hand neighbour (mostly) or lift it off the floor."""
    i = rnd.randrange(n)
    x, z = (i % side) * SPACING - half, (i // side) * SPACING - half
    if rnd.random() < 0.7 and i % side + 1 < side and i + 1 < n:
        return [O.EntitySet(id=f"p{i}", path="transform.position", value=[x + SPACING - 0.3, 0.0, z])]
    return [O.EntitySet(id=f"p{i}", path="transform.position", value=[x, 0.4, z])]


async def run(n: int, edits: int, animated: int, keying: int = 0, seed: int = 7) -> dict:
    log, store = MemoryLog(), MemoryStore()
    await log.ensure_project(P)

    async def load(project, shot, upto):
        world, last = await plain_world_at(log, store, project, shot, upto)
        return WorldFold(project, shot, world, last)

    commands = CommandService(log, FollowingReplica(log, load), outcome_timeout=30.0)
    people = CommandService(log, FollowingReplica(log, load), outcome_timeout=30.0)
    k = 0
    for ops in _scene(n, animated) + (_walker(n, keying) if keying else []):
        k += 1
        res = await people.submit(P, S, ALICE, Command(command_id=f"scene{k}", ops=ops), must_exist=False)
        assert res.status == "applied", res
    checkpoints = MemoryCheckpoints()
    spent = [0.0]
    agents = [Timed(a, spent) for a in (BoundsAgent(), CollisionAgent(), SupportAgent())]
    for a in agents:
        await checkpoints.put(a.name, P, res.seq)  # the scene was there before the agents: they start after it
    runner = AgentRunner(agents, log, commands, load, checkpoints, MemorySuggestions(), projects=[P],
                         fresh_s=None)
    await runner._start(P)
    side = int(n ** 0.5 + 0.999)
    half = side * SPACING / 2
    rnd = random.Random(seed)
    cpu, decide, wall, repaired = [], [], [], 0
    handled = res.seq
    for e in range(edits + 1):
        t0 = time.perf_counter()
        ops = _rekey(rnd, n, keying) if keying else _edit(rnd, n, side, half)
        res = await people.submit(P, S, ALICE, Command(command_id=f"edit{e}", ops=ops))
        c0, spent[0] = time.process_time(), 0.0
        first_repair = None
        while True:  # the edit, then what the agents publish, until they are quiet (causation depth bounds it)
            before = handled
            async for stored in log.read(P, S, after=handled):
                await runner.handle(P, stored)
                handled = stored.seq
                if first_repair is None and await log.last_seq(P, S) > res.seq:
                    first_repair = time.perf_counter()  # the edit's repair is appended (published, verdict in)
            if handled == before:
                break
        end = time.perf_counter()
        if handled > res.seq:
            repaired += 1
        cpu.append(time.process_time() - c0)
        decide.append(spent[0])
        wall.append((first_repair or end) - t0)
    return {"n": n, "first_cpu": cpu[0], "cpu": cpu[1:], "decide": decide[1:], "wall": wall[1:],
            "repaired": repaired, "edits": edits + 1}


def _p(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--edits", type=int, default=30)
    ap.add_argument("--animated", type=int, default=0)
    ap.add_argument("--keying", type=int, default=0, help="re-key a prop walking on this many keys instead")
    args = ap.parse_args()
    asyncio.run(run(50, 5, args.animated, args.keying))  # warm-up: imports, first calls
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        t = time.perf_counter()
        r = asyncio.run(run(n, args.edits, args.animated, args.keying))
        r["setup_s"] = time.perf_counter() - t
        rows.append(r)
        base = rows[0]
        ms = lambda xs, q: 1000 * _p(xs, q)  # noqa: E731
        ratio = lambda key: statistics.median(r[key]) / statistics.median(base[key])  # noqa: E731
        print(f"{n:>6} entities ({r['repaired']}/{r['edits']} edits repaired, run {r['setup_s']:.1f} s): "
              f"agent CPU/edit p50 {ms(r['cpu'], .5):.1f} p90 {ms(r['cpu'], .9):.1f} ms (x{ratio('cpu'):.2f}); "
              f"decide p50 {ms(r['decide'], .5):.1f} p90 {ms(r['decide'], .9):.1f} ms (x{ratio('decide'):.2f}); "
              f"edit->repair p50 {ms(r['wall'], .5):.1f} p90 {ms(r['wall'], .9):.1f} ms (x{ratio('wall'):.2f}); "
              f"first edit (index build) {1000 * r['first_cpu']:.0f} ms CPU", flush=True)


if __name__ == "__main__":
    main()
