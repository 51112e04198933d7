"""The price of "acknowledged = durable": ingest with the embedded NATS fsyncing every write (``sync_interval:
always``, what ``wnm up`` runs) against JetStream's default (fsync every 2 minutes), on the same machine in one run.

    python bench/bench_durability.py [--appends 3000] [--commands 600] [--concurrency 32] [--rounds 2]

Three measures each way, each the best of ``--rounds`` alternating rounds (the machine is shared; alternating keeps
a burst of someone else's load from landing on one side only):
  - log, sequential: one append at a time, each waiting for its ack (a lone writer);
  - log, pipelined: ``--concurrency`` appends in flight (many writers, as the server under load);
  - commands: ``--concurrency`` clients submitting commands through a running system (check, append, projector
    fold and commit into PostgreSQL, verdict), as ``wnm up`` serves them.
Everything runs on embedded servers under a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import ops as O  # noqa: E402
from events.envelope import Actor, Command  # noqa: E402
from events.jetstream import JetStreamLog  # noqa: E402
from realtime.bootstrap import open_system, services  # noqa: E402
from realtime.settings import Settings  # noqa: E402


async def log_rates(url: str, appends: int, concurrency: int) -> tuple[float, float]:
    log = await JetStreamLog.connect(url)
    try:
        project = "d" + uuid.uuid4().hex[:8]
        await log.ensure_project(project)
        data = b'{"op": "x", "pad": "' + b"p" * 200 + b'"}'
        t = time.perf_counter()
        for i in range(appends // 4):
            await log.append(project, "seq", data, f"s{i}")
        sequential = (appends // 4) / (time.perf_counter() - t)

        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                await log.append(project, "par", data, f"p{i}")

        t = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(appends)))
        pipelined = appends / (time.perf_counter() - t)
        return sequential, pipelined
    finally:
        await log.close()


async def command_rate(settings: Settings, commands: int, concurrency: int) -> float:
    async with open_system(settings, run_projector=True) as system:
        project, shot = "d" + uuid.uuid4().hex[:8], "s1"
        actor = Actor(kind="user", id="bench")
        await system.log.ensure_project(project)
        system.projector.watch_project(project)
        r = await system.commands.submit(project, shot, actor, Command(
            command_id="create", ops=[O.ShotConfigure(fps=24.0, frame_start=0.0, frame_end=100.0)]),
            must_exist=False)
        assert r.status == "applied", r
        per_client = commands // concurrency

        async def client(c: int) -> None:
            for i in range(per_client):
                r = await system.commands.submit(project, shot, actor, Command(
                    command_id=f"c{c}-{i}", ops=[O.EntityCreate(id=f"e{c}-{i}", kind="prop")]))
                assert r.status == "applied", r

        t = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(concurrency)))
        return per_client * concurrency / (time.perf_counter() - t)


async def measure(tmp: Path, sync_always: bool, args) -> tuple[float, float, float]:
    settings = Settings(data_dir=tmp / ("always" if sync_always else "interval"), nats_sync_always=sync_always)
    with services(settings) as resolved:
        seq, par = await log_rates(resolved.nats_url, args.appends, args.concurrency)
        cmd = await command_rate(resolved, args.commands, args.concurrency)
    return seq, par, cmd


async def main(args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-durability-"))
    best = {True: [0.0, 0.0, 0.0], False: [0.0, 0.0, 0.0]}
    try:
        for r in range(args.rounds):
            for sync_always in ((False, True) if r % 2 == 0 else (True, False)):
                got = await measure(tmp, sync_always, args)
                best[sync_always] = [max(a, b) for a, b in zip(best[sync_always], got)]
                print(f"round {r + 1}, {'always  ' if sync_always else 'interval'}: "
                      + "  ".join(f"{x:,.0f}/s" for x in got), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nbest of {args.rounds}            fsync every write   fsync every 2 min   ratio")
    for i, what in enumerate(("log, sequential appends", f"log, {args.concurrency} appends in flight",
                              f"commands, {args.concurrency} clients")):
        a, b = best[True][i], best[False][i]
        print(f"{what:<28} {a:>12,.0f}/s {b:>17,.0f}/s   {a / b:5.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--appends", type=int, default=3000)
    ap.add_argument("--commands", type=int, default=600)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    asyncio.run(main(ap.parse_args()))
