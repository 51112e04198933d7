"""In-process cost of one edit of one entity, per stage, at several shot sizes, as ratios to the smallest.

    python bench/bench_edit_cost.py [--sizes 100,1000,10000] [--edits 2000]

A shot of N white-box props (a grid 2 m apart) is folded once; then ``--edits`` single-entity edits (a key set on
a prop picked round the shot, a new key or a replaced one) go through each stage on their own, timed in this
thread's CPU time (median µs per edit, and the mean where rare whole-shot work shows):

* check — ``core.edit.check`` against the world (what the command service runs);
* authorize — ``realtime.gateway.authorize`` for a ``layout`` member (owners skip it);
* reducer — ``ShotReducer.apply`` (the world and the document; the projector's and the agents' replicas' fold);
* audit — ``projections.store.audit_entry_for`` (the audit row);
* projector — a whole :class:`projections.projector.Projector` over the in-memory log and store: append → the
  event committed (fold, audit row, catalogue row with its hash spacing, snapshots, commit), one at a time; the
  event loop thread's CPU time per edit (p50 / p99 / mean / max: load-proof, unlike wall time on a shared
  machine), and the wall-time p50.

Per-edit work should not grow with N (issue 12, item 4); the projector's p99, mean and max show whole-shot work
(hashing, snapshots) left on the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import edit  # noqa: E402
from core import ops as O  # noqa: E402
from events.envelope import Actor, Event, encode_event  # noqa: E402
from events.log import MemoryLog  # noqa: E402
from projections.projector import Projector  # noqa: E402
from projections.reducer import ShotReducer  # noqa: E402
from projections.store import MemoryStore, audit_entry_for  # noqa: E402
from realtime.access import Membership  # noqa: E402
from realtime.gateway import authorize  # noqa: E402


def event(seq: int, ops: list) -> Event:
    return Event(event_id=f"ev{seq}", command_id=f"c{seq}", project="p", shot="s",
                 actor=Actor(kind="user", id="bench"), ops=ops, ts=1.0)


def fill_ops(n: int) -> list[list]:
    boxes = [O.EntityCreate(id=f"g{i}", kind="prop",
                            props={"geometry": {"primitive": "box", "size": [1, 1, 1]},
                                   "transform.position": [2.0 * (i % 100), 0.0, 2.0 * (i // 100)]})
             for i in range(n)]
    return [[O.ShotConfigure(fps=24)]] + [boxes[i:i + 1000] for i in range(0, n, 1000)]


def edit_ops(n: int, k: int) -> list:
    """The k-th edit: a key on a prop picked round the shot, frames 0–49 (so later rounds replace keys)."""
    return [O.KeySet(id=f"g{(k * 7919) % n}", path="transform.position", frame=k % 50, value=[k % 97, 0, 0],
                     interp="linear")]


def per_edit(fn, edits: int) -> tuple[float, float]:
    """(median, mean) CPU seconds of this thread for ``fn(k)`` over ``edits`` calls."""
    times = []
    for k in range(edits):
        t = time.thread_time()
        fn(k)
        times.append(time.thread_time() - t)
    return statistics.median(times), statistics.fmean(times)


def stages(n: int, edits: int) -> dict[str, tuple[float, float]]:
    r = ShotReducer("p", "s")
    seq = 0
    for ops in fill_ops(n):
        seq += 1
        assert r.apply(seq, event(seq, ops)).applied
    member = Membership(project="p", user="bench", role="layout")
    out = {"check": per_edit(lambda k: edit.check(r.world, edit_ops(n, k), "user:bench"), edits),
           "authorize": per_edit(lambda k: authorize(member, r.world, edit_ops(n, k)), edits)}
    events = [(seq + 1 + k, event(seq + 1 + k, edit_ops(n, k))) for k in range(edits)]
    out["reducer"] = per_edit(lambda k: r.apply(*events[k]), edits)
    datas = [encode_event(e) for _, e in events]
    out["audit"] = per_edit(lambda k: audit_entry_for("p", "s", events[k][0], datas[k], events[k][1], True, None),
                            edits)
    return out


async def projector(n: int, edits: int) -> tuple[float, ...]:
    """Append → committed, one edit at a time: (wall p50, then this thread's CPU per edit p50, p99, max, mean).
    CPU time of the event loop's thread, not wall time, so other work on a shared machine does not show; work
    done in the hashing worker process is not counted (it never holds up the loop)."""
    log, store = MemoryLog(), MemoryStore()
    await log.ensure_project("p")
    pj = Projector(log, store)
    task = asyncio.create_task(pj.run(discover=False))
    pj.watch_project("p")
    seq = 0

    async def put(ops) -> int:
        nonlocal seq
        seq += 1
        return (await log.append("p", "s", encode_event(event(seq, ops)), f"s/c{seq}")).seq

    for ops in fill_ops(n):
        last = await put(ops)
    await pj.wait_for("p", last, timeout=300)
    wall, cpu = [], []
    for k in range(edits):
        t, c = time.perf_counter(), time.thread_time()
        await pj.wait_for("p", await put(edit_ops(n, k)), timeout=60)
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    cpu.sort()
    return (statistics.median(wall), cpu[len(cpu) // 2], cpu[min(len(cpu) - 1, int(0.99 * len(cpu)))], cpu[-1],
            statistics.fmean(cpu))


def sizes_arg(text: str) -> list[int]:
    return sorted({int(x) for x in text.split(",") if x.strip()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=sizes_arg, default=[100, 1000, 10_000])
    ap.add_argument("--edits", type=int, default=2000)
    ap.add_argument("--no-projector", action="store_true", help="only the synchronous stages")
    args = ap.parse_args()
    rows: dict[str, dict[int, tuple[float, ...]]] = {}
    for n in args.sizes:
        for name, value in stages(n, args.edits).items():
            rows.setdefault(name, {})[n] = value
        if not args.no_projector:
            rows.setdefault("projector", {})[n] = asyncio.run(projector(n, args.edits))
    base = args.sizes[0]
    print(f"one edit of one entity, µs ({args.edits} edits; ratio to {base:,} entities)")
    for name, per in rows.items():
        b = per[base]
        if name == "projector":
            cells = [f"{n:,}: loop CPU p50 {v[1] * 1e6:.0f} (×{v[1] / b[1]:.2f})  p99 {v[2] * 1e6:.0f} "
                     f"(×{v[2] / b[2]:.2f})  mean {v[4] * 1e6:.0f} (×{v[4] / b[4]:.2f})  max {v[3] * 1e3:.1f} ms;  "
                     f"wall p50 {v[0] * 1e6:.0f}" for n, v in per.items()]
            print(f"  {name:10} " + "\n             ".join(cells))
        else:
            cells = [f"{n:,}: {v[0] * 1e6:.1f} (×{v[0] / b[0]:.2f}), mean {v[1] * 1e6:.1f}" for n, v in per.items()]
            print(f"  {name:10} " + ";  ".join(cells))


if __name__ == "__main__":
    main()
