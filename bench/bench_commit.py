"""The projector's commit to PostgreSQL: time per ``PgStore.commit_batch`` of 1, 10 and 100 events, as a ratio to
a bare ``SELECT 1`` round trip measured in the same run (the floor any commit pays).

    python bench/bench_commit.py [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--calls 400]

Each batch is what the projector commits under load: audit rows of key edits on one shot, that shot's catalogue
row and the new checkpoint. The run uses a scratch database (created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402

from projections.pgstore import PgStore  # noqa: E402
from projections.store import AuditEntry, ShotUpdate  # noqa: E402


def _rows(project: str, first: int, n: int) -> list[AuditEntry]:
    return [AuditEntry(project=project, shot="s", seq=first + i, status="applied", event_id=f"e{first + i}",
                       command_id=f"c{first + i}", actor_kind="user", actor_id="alice", op_types=("key.set",),
                       entity_ids=(f"prop{i % 50}",),
                       payload={"ops": [{"type": "key.set", "entity": f"prop{i % 50}", "path": "transform.position",
                                         "frame": i, "value": [1.0, 0.0, 2.0]}]}, ts=time.time())
            for i in range(n)]


async def _timed(calls: int, step) -> list[float]:
    out = []
    for i in range(calls):
        t = time.perf_counter()
        await step(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=os.environ.get("WNM_DATABASE_URL",
                                                    "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--calls", type=int, default=400)
    args = ap.parse_args()
    name = f"wnm_bench_commit_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = args.dsn.rsplit("/", 1)[0] + f"/{name}"
        store = await PgStore.open(dsn)
        try:
            floor = await _timed(args.calls, lambda i: store.pool.fetchval("SELECT 1"))
            base = statistics.median(floor)
            print(f"SELECT 1 round trip: p50 {base:.3f} ms")
            seq = 0
            for size in (1, 10, 100):
                project = f"p{size}"

                async def commit(i: int, size=size, project=project) -> None:
                    nonlocal seq
                    first = seq + 1
                    seq += size
                    await store.commit_batch(project, _rows(project, first, size),
                                             [ShotUpdate("s", seq, seq, "h" * 64)], [], seq)

                times = await _timed(max(20, args.calls // size), commit)
                p50 = statistics.median(times)
                print(f"commit of {size:>3} event(s): p50 {p50:.3f} ms = {p50 / base:.1f} round trips, "
                      f"{p50 / size:.3f} ms per event")
        finally:
            await store.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
