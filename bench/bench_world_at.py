"""The world at a random offset of a long shot (goal ≤ 100 ms with snapshots), against real JetStream and
PostgreSQL, with a no-snapshot replay of the same offsets measured in the same run as the baseline.

    python bench/bench_world_at.py [--events 1000000] [--snapshot-every 1000] [--samples 40]

Uses WNM_NATS_URL / WNM_DATABASE_URL when set (a fresh database is created on that server), else embedded servers.
The shot: 100 props keyed on 3 paths at 41 frames (0, 6, …, 240) — about 12k live keys — and every later event
re-keys or re-sets one of them, as a long session of drags and re-keys does. World snapshots are written with the
projector's encoding (projections.world_codec) every ``--snapshot-every`` applied events.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import edit  # noqa: E402
from core import ops as O  # noqa: E402
from core.world import World  # noqa: E402
from events.envelope import Actor, Event, encode_event  # noqa: E402
from events.jetstream import JetStreamLog  # noqa: E402
from events.log import stream_for, subject_for  # noqa: E402
from projections.pgstore import PgStore  # noqa: E402
from projections.reducer import REDUCER_VERSION  # noqa: E402
from projections.replay import plain_world_at  # noqa: E402
from projections.store import WorldSnapshot  # noqa: E402
from projections.world_codec import encode_world  # noqa: E402

ALICE = Actor(kind="user", id="alice")
PATHS = ["transform.position", "color", "transform.scale"]


def events(n: int, project: str, shot: str, entities: int = 100, seed: int = 3):
    rnd = random.Random(seed)
    yield Event(event_id="e0", command_id="c0", project=project, shot=shot, actor=ALICE, ops=[
        O.EntityCreate(id=f"e{i}", kind="prop", props={"geometry": {"primitive": "box", "size": [1, 1, 1]}})
        for i in range(entities)])
    for i in range(1, n):
        eid, path = f"e{rnd.randrange(entities)}", rnd.choice(PATHS)
        value = [round(0.05 + 0.9 * rnd.random(), 3) for _ in range(3)]
        op = (O.EntitySet(id=eid, path=path, value=value) if rnd.random() < 0.1 else
              O.KeySet(id=eid, path=path, frame=float(6 * rnd.randrange(41)), value=value))
        yield Event(event_id=f"e{i}", command_id=f"c{i}", project=project, shot=shot, actor=ALICE, ops=[op],
                    ts=float(i))


async def fill(log: JetStreamLog, store: PgStore, project: str, shot: str, n: int, every: int) -> None:
    await log.ensure_project(project)
    js = log._js  # bulk fill: publish_async in windows (the adapter's append is one round trip per event)
    subject = subject_for(project, shot)
    world = World(project=project, shot=shot)
    window: list = []
    snaps: list[WorldSnapshot] = []
    t = time.perf_counter()
    for seq, ev in enumerate(events(n, project, shot), start=1):
        data = encode_event(ev)
        window.append(await js.publish_async(subject, data, headers={"Nats-Msg-Id": ev.command_id}))
        edit.apply(world, ev.ops, ev.actor.label)
        world.head_seq = seq
        if seq % every == 0:
            snaps.append(WorldSnapshot(project=project, shot=shot, seq=seq, world=encode_world(world),
                                       reducer_version=REDUCER_VERSION))
        if len(window) >= 4000:
            await asyncio.gather(*window)
            window.clear()
        if len(snaps) >= 50:
            await store.commit_batch(project, [], [], snaps, snaps[-1].seq)
            snaps.clear()
        if seq % 100_000 == 0:
            print(f"  filled {seq:,} events ({seq / (time.perf_counter() - t):,.0f}/s)", flush=True)
    await asyncio.gather(*window)
    if snaps:
        await store.commit_batch(project, [], [], snaps, snaps[-1].seq)
    keys = sum(len(k) for e in world.entities.values() for k in e.tracks.values())
    print(f"  live keys at head: {keys:,}; world snapshot: {len(encode_world(world)) / 1e3:.0f} kB", flush=True)


async def run(args, nats_url: str, db_url: str) -> None:
    log = await JetStreamLog.connect(nats_url)
    store = await PgStore.open(db_url)
    project, shot = "bench" + uuid.uuid4().hex[:8], "long"
    try:
        print(f"filling {args.events:,} events, world snapshots every {args.snapshot_every} …", flush=True)
        await fill(log, store, project, shot, args.events, args.snapshot_every)
        rnd = random.Random(11)
        offsets = [rnd.randrange(1, args.events + 1) for _ in range(args.samples)]
        await plain_world_at(log, store, project, shot, offsets[0])  # warm connections
        times = []
        for seq in offsets:
            t = time.perf_counter()
            world, last = await plain_world_at(log, store, project, shot, seq)
            times.append(time.perf_counter() - t)
            assert world.head_seq == seq and last == seq, (world.head_seq, last, seq)
        times.sort()
        p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
        print(f"world at a random offset, with snapshots: p50 {p50 * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms, "
              f"max {times[-1] * 1e3:.1f} ms over {len(times)} offsets (goal ≤ 100 ms)")
        # baseline: the same read with no snapshots (from the first event), on a few offsets
        base = []
        empty = _NoSnapshots()
        for seq in offsets[: args.baseline_samples]:
            t = time.perf_counter()
            world, _ = await plain_world_at(log, empty, project, shot, seq)
            base.append(time.perf_counter() - t)
        b50 = statistics.median(base)
        print(f"without snapshots (replay from the first event): p50 {b50 * 1e3:.0f} ms over {len(base)} offsets; "
              f"snapshots are {b50 / p50:.0f}× faster")
    finally:
        await store.close()
        try:  # a million events do not stay behind on a shared server
            await log._js.delete_stream(stream_for(project))
        finally:
            await log.close()


class _NoSnapshots:
    async def latest_world_snapshot(self, *a, **k):
        return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--snapshot-every", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--baseline-samples", type=int, default=3)
    args = ap.parse_args(argv)
    with ExitStack() as stack:
        nats_url = os.environ.get("WNM_NATS_URL")
        db_url = os.environ.get("WNM_DATABASE_URL")
        from realtime import embedded

        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if not nats_url:
            nats_url = stack.enter_context(embedded.nats_server(tmp / "nats"))
        if not db_url:
            db_url = stack.enter_context(embedded.postgres_server(tmp / "pg", "delete"))
        name = "wnm_bench_" + uuid.uuid4().hex[:8]
        asyncio.run(_admin(db_url, f'CREATE DATABASE "{name}"'))
        try:
            asyncio.run(run(args, nats_url, _with_database(db_url, name)))
        finally:
            asyncio.run(_admin(db_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


if __name__ == "__main__":
    main()
