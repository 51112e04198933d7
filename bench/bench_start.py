"""Start-up of a new instance on a log that already holds many projects (issue 12): time from `wnm up` starting to
its first command answered on a fresh shot, on an empty log (the baseline, same run) and on one holding
``--projects`` × ``--events`` events whose projection is up to date (a second instance joining, or a restart).

    python bench/bench_start.py [--projects 100] [--events 1000] [--shots 5]

An embedded NATS server is started here; PostgreSQL is WNM_DATABASE_URL's server (default the machine's) with a
fresh database per phase. The log is filled by publishing events directly (entity creates, then position keys over
``--shots`` shots per project), then a projector catches up with it (its rate is printed), then `wnm up` starts as a
child process against both. Reported: spawn → HTTP answering, spawn → first command applied on a fresh shot of an
old project, and then a first command on an old shot (loaded from snapshot + tail), as ratios to the empty log;
then the same once more (a second start, on a log and a database that have settled after the fill).
``BENCH_START_PROFILE=FILE`` starts a third instance under cProfile and writes its profile there.
``--events 10000`` gives the issue's 1,000,000 events (the catch-up then takes minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from core import ops as O  # noqa: E402
from events.envelope import Actor, Event, encode_event, event_id_for, msg_id_for, now  # noqa: E402
from events.jetstream import JetStreamLog  # noqa: E402
from projections.migrate import migrate  # noqa: E402
from projections.pgstore import PgStore  # noqa: E402
from projections.projector import Projector  # noqa: E402
from realtime import embedded  # noqa: E402
from realtime.access import PgAccess  # noqa: E402
from realtime.auth import Tokens  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-start-secret-0123456789abcdef"
USER = "bench"


async def fill(nats_url: str, projects: int, events: int, shots: int) -> float:
    """Publish ``events`` events to each of ``projects`` projects; returns events/s."""
    log = await JetStreamLog.connect(nats_url)
    t = time.perf_counter()
    try:
        for p in range(projects):
            project = f"b{p:03d}"
            await log.ensure_project(project)
            acks = []
            for i in range(events):
                shot = f"s{i % shots}"
                eid = f"e{i // shots % 50}"
                if i < 50 * shots:
                    ops = [O.EntityCreate(id=eid, kind="prop", props={
                        "geometry": {"primitive": "box", "size": [0.5, 0.5, 0.5]},
                        "transform.position": [float(i % 50) * 2.0, 0.0, 0.0]})]
                else:
                    ops = [O.KeySet(id=eid, path="transform.position", frame=float(i % 240),
                                    value=[float(i % 50) * 2.0, 0.0, float(i % 7)])]
                cid = f"c{i}"
                ev = Event(event_id=event_id_for(project, shot, cid), command_id=cid, project=project, shot=shot,
                           actor=Actor("user", USER), ops=ops, ts=now())
                acks.append(await log.start_append(project, shot, encode_event(ev), msg_id_for(shot, cid)))
                if len(acks) >= 2000:
                    await asyncio.gather(*acks)
                    acks.clear()
            await asyncio.gather(*acks)
    finally:
        await log.close()
    return projects * events / (time.perf_counter() - t)


CATCH_UP_GROUP = 10  # projects watched at once while filling the projection (--catch-up-group; 0: all)


async def fresh_database(server_url: str) -> str:
    name = "wnm_bench_start_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server_url.rsplit("/", 1)[0] + "/" + name


async def drop_database(server_url: str, url: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


async def project_all(nats_url: str, db_url: str, projects: int, events: int,
                      group_size: int = CATCH_UP_GROUP, read_budget: int | None = None) -> float:
    """Run a projector until every project is projected; returns events/s. Also makes ``USER`` owner of all."""
    log = await JetStreamLog.connect(nats_url, **({} if read_budget is None else {"read_budget_bytes": read_budget}))
    store = await PgStore.open(db_url)
    try:
        await migrate(store.pool)
        access = PgAccess(store.pool)
        for p in range(max(projects, 1)):
            await access.create_project(f"b{p:03d}", f"bench {p}", USER)
        projector = Projector(log, store)
        t = time.perf_counter()
        # A group at a time by default, so the fill's own time stays predictable; --catch-up-group 0 watches every
        # project at once, the cold rebuild of a fresh database (its readers share the log's read budget).
        names = [f"b{p:03d}" for p in range(projects)]
        group_size = group_size or len(names)
        for start in range(0, projects, group_size):
            group = names[start:start + group_size]
            for name in group:
                projector.watch_project(name)
            while any(projector.position(name) < events for name in group):
                await asyncio.sleep(0.2)
        rate = projects * events / max(time.perf_counter() - t, 1e-9)
        await projector.stop()
        return rate
    finally:
        await store.close()
        await log.close()


async def first_command(nats_url: str, db_url: str, old_project: str, old_shot: str | None,
                        profile: str | None = None) -> dict:
    """Spawn `wnm up` (under cProfile, writing ``profile``, when given); seconds from spawn to HTTP answering, to a
    fresh shot's first command, to an old shot's."""
    port = embedded.free_port()
    with tempfile.TemporaryDirectory(prefix="wnm-bench-start-") as data:
        env = {**os.environ, "WNM_NATS_URL": nats_url, "WNM_DATABASE_URL": db_url, "WNM_DATA_DIR": data,
               "WNM_PORT": str(port), "WNM_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
        token = Tokens(SECRET).issue(USER)
        t0 = time.perf_counter()
        profiler = ["-m", "cProfile", "-o", profile] if profile else []
        proc = subprocess.Popen([sys.executable, *profiler, "-m", "realtime.cli", "up"], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out: dict[str, float] = {}
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                         headers={"Authorization": f"Bearer {token}"}) as c:
                while True:
                    try:
                        if (await c.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert proc.poll() is None, "wnm up exited"
                    await asyncio.sleep(0.02)
                out["http"] = time.perf_counter() - t0
                shots = f"/v1/projects/{old_project}/shots"
                fresh = "fresh-" + uuid.uuid4().hex[:6]
                r = await c.post(shots, json={"id": fresh})
                assert r.status_code == 201, r.text
                r = await c.post(f"{shots}/{fresh}/commands", json={
                    "command_id": uuid.uuid4().hex, "ops": [{"type": "entity.create", "id": "x", "kind": "prop"}]})
                assert r.status_code == 200 and r.json()["status"] == "applied", r.text
                out["fresh_shot"] = time.perf_counter() - t0
                if old_shot is not None:
                    t1 = time.perf_counter()
                    r = await c.post(f"{shots}/{old_shot}/commands", json={
                        "command_id": uuid.uuid4().hex,
                        "ops": [{"type": "entity.set", "id": "e0", "path": "color", "value": [1, 0, 0]}]})
                    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
                    out["old_shot"] = time.perf_counter() - t1
        finally:
            proc.terminate()
            proc.wait(30)
        return out


async def phase(server_db: str, projects: int, events: int, shots: int, group_size: int = CATCH_UP_GROUP,
                read_budget: int | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="wnm-bench-nats-") as tmp, embedded.nats_server(Path(tmp)) as nats_url:
        db = await fresh_database(server_db)
        try:
            res: dict = {}
            if events:
                res["publish_eps"] = await fill(nats_url, projects, events, shots)
            t = time.perf_counter()
            res["project_eps"] = await project_all(nats_url, db, projects, events, group_size, read_budget)
            res["project_s"] = time.perf_counter() - t
            res.update(await first_command(nats_url, db, "b000", "s0" if events else None))
            again = await first_command(nats_url, db, "b000", "s0" if events else None)
            res.update({f"{k}_again": v for k, v in again.items()})
            profile = os.environ.get("BENCH_START_PROFILE")
            if profile and events:  # where a start on this log spends its time
                await first_command(nats_url, db, "b000", "s0", profile=profile)
            return res
        finally:
            await drop_database(server_db, db)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--projects", type=int, default=100)
    ap.add_argument("--events", type=int, default=1000, help="events per project")
    ap.add_argument("--shots", type=int, default=5, help="shots per project")
    ap.add_argument("--catch-up-group", type=int, default=CATCH_UP_GROUP,
                    help="projects the filling projector watches at once (0: all of them)")
    ap.add_argument("--read-budget-mb", type=float, default=None,
                    help="the filling projector's shared read budget (default: the log's; 1600 gives each of 100 "
                         "readers its own 16 MiB, as before the budget was shared)")
    args = ap.parse_args()
    server_db = os.environ.get("WNM_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    base = await phase(server_db, 1, 0, args.shots)
    budget = None if args.read_budget_mb is None else int(args.read_budget_mb * (1 << 20))
    full = await phase(server_db, args.projects, args.events, args.shots, args.catch_up_group, budget)
    total = args.projects * args.events
    print(f"log: {args.projects} projects × {args.events} events = {total:,} events "
          f"(published {full['publish_eps']:,.0f}/s, projected {full['project_eps']:,.0f}/s in "
          f"{full['project_s']:.1f} s, {args.catch_up_group or args.projects} projects at a time)")
    print(f"{'measure':<38}{'empty log':>12}{'full log':>12}{'ratio':>8}")
    for key, what in (("http", "spawn → HTTP answering"), ("fresh_shot", "spawn → first command on a fresh shot"),
                      ("http_again", "  the same, a second start: HTTP"),
                      ("fresh_shot_again", "  the same, a second start: command")):
        print(f"{what:<38}{base[key]:>11.2f}s{full[key]:>11.2f}s{full[key] / base[key]:>8.2f}")
    print(f"{'first command on an old shot (load)':<38}{'':>12}{full['old_shot']:>11.3f}s")


if __name__ == "__main__":
    asyncio.run(main())
