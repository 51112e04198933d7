"""The projector on real JetStream and real PostgreSQL: killed with SIGKILL mid-stream (twice) and restarted, it
neither loses nor repeats an event, and its catalogue and snapshots equal from-scratch replays."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sys
from pathlib import Path

import asyncpg
import pytest

from events.jetstream import JetStreamLog
from events.log import stream_for
from projections.migrate import migrate
from projections.pgstore import PgStore
from projections.projector import HASH_EVERY_S, Projector
from projections.reducer import ShotReducer
from projections.replay import rebuild, world_at
from tests.unit.test_projector_memory import make_events

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT_EVERY = 50


@pytest.fixture
async def js_log(nats_url, unique):
    log = await JetStreamLog.connect(nats_url, heartbeat_s=1.0)
    await log.ensure_project(unique)
    try:
        yield log
    finally:
        await log._nc.jetstream().delete_stream(stream_for(unique))
        await log.close()


async def append_all(log, project: str, events, first_index: int = 0) -> None:
    for i, (shot, data, _) in enumerate(events, start=first_index):
        appended = await log.append(project, shot, data, msg_id=f"m{i}")
        assert appended.seq == i + 1


async def start_projector(nats_url: str, database_url: str, project: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.projector_proc", nats_url, database_url, project,
        "--snapshot-every", str(SNAPSHOT_EVERY), "--batch-max", "20", "--event-delay", "0.0005",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"started\n"
    return proc


async def checkpoint_reaches(conn, project: str, seq: int, timeout: float = 30.0) -> int:
    async with asyncio.timeout(timeout):
        while True:
            got = await conn.fetchval("SELECT last_seq FROM projector_checkpoints WHERE project = $1", project) or 0
            if got >= seq:
                return got
            await asyncio.sleep(0.01)


async def kill_9(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL


def oracle(project: str, events):
    """From-scratch replay of the published events in stream order: outcomes, and each shot's hash after every
    applied event."""
    reducers: dict[str, ShotReducer] = {}
    outcomes, hashes, applied = [], {}, {}
    for i, (shot, data, _) in enumerate(events):
        r = reducers.setdefault(shot, ShotReducer(project, shot))
        o = r.apply_raw(i + 1, data)
        outcomes.append(o)
        if o.applied:
            applied.setdefault(shot, []).append(i + 1)
            hashes[(shot, i + 1)] = r.state_hash()
    return outcomes, reducers, hashes, applied


async def test_kill_9_mid_stream_loses_and_repeats_nothing(nats_url, database_url, js_log, unique):
    project = unique
    events = make_events(["a", "b", "c"], 3000, seed=21, project=project)
    conn = await asyncpg.connect(database_url)
    procs = []
    try:
        await migrate(conn)
        await append_all(js_log, project, events[:2000])

        procs.append(await start_projector(nats_url, database_url, project))
        at_kill = await checkpoint_reaches(conn, project, 500)
        await kill_9(procs[-1])
        assert at_kill < 2000, "the projector finished before it could be killed mid-stream"

        publishing = asyncio.create_task(append_all(js_log, project, events[2000:], first_index=2000))
        procs.append(await start_projector(nats_url, database_url, project))
        second_kill = await checkpoint_reaches(conn, project, at_kill + 500)
        await kill_9(procs[-1])
        await publishing
        assert second_kill < len(events)

        procs.append(await start_projector(nats_url, database_url, project))
        await checkpoint_reaches(conn, project, len(events))
        await asyncio.sleep(HASH_EVERY_S + 0.3)  # the trailing hash refresh lands; anything beyond the last event
        # would show up now
        procs[-1].terminate()
        await procs[-1].wait()

        outcomes, reducers, hashes, applied = oracle(project, events)
        rows = await conn.fetch("SELECT seq, shot, command_id, status, reason FROM audit WHERE project = $1 "
                                "ORDER BY seq", project)
        assert [r["seq"] for r in rows] == list(range(1, len(events) + 1))
        assert [r["shot"] for r in rows] == [shot for shot, _, _ in events]
        assert [r["command_id"] for r in rows] == [f"cmd{i}" if data[:1] == b"{" else None
                                                   for i, (_, data, _) in enumerate(events)]
        assert [r["status"] == "applied" for r in rows] == [o.applied for o in outcomes]
        assert [r["status"] == "applied" for r in rows] == [valid for _, _, valid in events]
        assert [r["reason"] for r in rows] == [o.reason for o in outcomes]

        store = PgStore(await asyncpg.create_pool(database_url, min_size=1, max_size=2))
        try:
            assert await store.checkpoint(project) == len(events)
            for shot in "abc":
                info = await store.shot(project, shot)
                fresh = await rebuild(js_log, project, shot)
                assert info.state_hash == fresh.state_hash() == reducers[shot].state_hash()
                assert info.head_seq == applied[shot][-1] == fresh.world.head_seq
                assert info.last_seq == max(i + 1 for i, (s, _, _) in enumerate(events) if s == shot)
                assert info.event_count == sum(1 for s, _, _ in events if s == shot)
                snaps = await store.snapshots(project, shot)
                assert [s.seq for s in snaps] == applied[shot][SNAPSHOT_EVERY - 1::SNAPSHOT_EVERY]
                for snap in snaps:
                    assert snap.state_hash == hashlib.sha256(snap.doc).hexdigest() == hashes[(shot, snap.seq)]
                mid = snaps[len(snaps) // 2].seq + 7
                replayed = await world_at(js_log, store, project, shot, mid)
                assert replayed.state_hash() == (await rebuild(js_log, project, shot, mid)).state_hash()
        finally:
            await store.close()
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await conn.close()


async def test_in_process_projector_answers_commands_and_history(nats_url, database_url, js_log, unique):
    project = unique
    store = await PgStore.open(database_url, max_size=4)
    projector = Projector(js_log, store, snapshot_every=5, batch_max=100)
    seen = []
    projector.add_listener(lambda p, s, o, update, ev: seen.append((s, o.seq, len(update))))
    try:
        events = make_events(["x", "y"], 40, seed=5, project=project)
        projector.watch_project(project)
        for i, (shot, data, valid) in enumerate(events):
            seq = (await js_log.append(project, shot, data, msg_id=f"c{i}")).seq
            outcome = await projector.wait_for(project, seq, timeout=10)
            assert outcome.seq == seq and outcome.applied == valid and (outcome.reason is None) == valid
        assert [q for _, q, _ in seen] == list(range(1, 41))
        for shot in "xy":
            live = projector.reducer(project, shot)
            async with asyncio.timeout(HASH_EVERY_S + 5):  # the catalogue's hash lands at most HASH_EVERY_S later
                while (await store.shot(project, shot)).state_hash != live.state_hash():
                    await asyncio.sleep(0.05)
            assert live.state_hash() == (await world_at(js_log, store, project, shot)).state_hash()
            history = await store.history(project, shot, after=0)
            assert [e.seq for e in history] == [i + 1 for i, (s, _, _) in enumerate(events) if s == shot]
    finally:
        await projector.stop()
        await store.close()
