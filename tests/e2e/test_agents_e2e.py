"""Agents against real NATS JetStream and PostgreSQL, the way ``wnm up`` runs them (in-process, beside the
projector): a chair pushed into a table is repaired within a second, restarts publish nothing new, and suggest
mode waits for a person (through the HTTP routes)."""

from __future__ import annotations

import asyncio
import time

import httpx
import msgspec
import pytest

from realtime.cli_agents import build_runner
from core import ops as O
from events.envelope import Actor, Command, decode_event
from realtime.bootstrap import open_system
from realtime.app import create_app
from realtime.settings import Settings

ALICE = Actor(kind="user", id="alice")
BOX = lambda w, h, d: {"primitive": "box", "size": [w, h, d]}  # noqa: E731


@pytest.fixture
async def system(nats_url, database_url, tmp_path):
    # follow only this test's projects: a shared test server holds many
    settings = Settings(nats_url=nats_url, database_url=database_url, data_dir=tmp_path, follow_all_projects=False)
    async with open_system(settings, run_projector=True) as system:
        yield system


async def _submit(system, project, shot, *ops, n=[0]):
    n[0] += 1
    res = await system.commands.submit(project, shot, ALICE, Command(command_id=f"c{n[0]}-{time.time_ns()}",
                                                                     ops=list(ops)), must_exist=False)
    assert res.status == "applied", res
    return res.seq


async def _scene(system, project, mode="auto"):
    await system.log.ensure_project(project)
    system.projector.watch_project(project)
    await _submit(system, project, "s1", O.ShotConfigure(frame_start=0, frame_end=48, agents={"collision": mode}))
    return await _submit(system, project, "s1",
                         O.EntityCreate(id="table-1", kind="prop", props={"geometry": BOX(1.2, 0.75, 0.8)}),
                         O.EntityCreate(id="chair-1", kind="prop", props={"geometry": BOX(0.5, 0.9, 0.5),
                                                                          "transform.position": [2, 0, 0]}))


async def _events(system, project):
    return [(s.seq, decode_event(s.data)) async for s in system.log.read(project, "s1")]


async def _running(runner):
    task = asyncio.create_task(runner.run())
    return task


async def _stop(task):
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_chair_pushed_into_table_is_repaired_within_a_second_and_restart_adds_nothing(system, unique):
    seq = await _scene(system, unique)
    runner = build_runner(system, ["collision", "support", "bounds"], projects=[unique])
    task = await _running(runner)
    await runner.wait_for(unique, seq, timeout=10)
    t0 = time.monotonic()
    push = await _submit(system, unique, "s1", O.EntitySet(id="chair-1", path="transform.position",
                                                           value=[0.7, 0, 0]))
    while await system.log.last_seq(unique, "s1") == push:
        assert time.monotonic() - t0 < 1.0, "no repair within 1 s"
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - t0
    seq, repair = (await _events(system, unique))[-1]
    assert repair.actor == Actor(kind="agent", id="collision") and repair.causation == push
    assert repair.reason == "moved chair-1 0.15 m +x: intersected table-1 at frame 0"
    assert elapsed < 1.0
    await runner.wait_for(unique, seq, timeout=5)
    await _stop(task)
    before = await _events(system, unique)

    again = build_runner(system, ["collision", "support", "bounds"], projects=[unique])
    task = await _running(again)
    await again.wait_for(unique, seq, timeout=5)
    await asyncio.sleep(0.3)
    await _stop(task)
    assert await _events(system, unique) == before
    world = (await system.world_at(unique, "s1")).world
    assert world.entities["chair-1"].props["transform.position"] == pytest.approx([0.852, 0, 0])


async def test_suggest_mode_waits_for_a_person_over_http(system, unique):
    seq = await _scene(system, unique, mode="suggest")
    runner = build_runner(system, ["collision"], projects=[unique])
    task = await _running(runner)
    push = await _submit(system, unique, "s1", O.EntitySet(id="chair-1", path="transform.position",
                                                           value=[0.7, 0, 0]))
    await runner.wait_for(unique, push, timeout=5)
    await _stop(task)
    assert (await _events(system, unique))[-1][0] == push  # nothing changed

    await system.access.create_project(unique, unique, owner="alice")
    app = create_app(system)
    headers = {"Authorization": f"Bearer {system.tokens.issue('alice')}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers=headers) as client:
        r = await client.get(f"/v1/projects/{unique}/shots/s1/suggestions")
        assert r.status_code == 200, r.text
        listed = r.json()["suggestions"]
        assert len(listed) == 1 and listed[0]["trigger_seq"] == push and listed[0]["status"] == "pending"
        sid = listed[0]["id"]
        r = await client.post(f"/v1/projects/{unique}/shots/s1/suggestions/{sid}/accept")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "applied"
        seq, ev = (await _events(system, unique))[-1]
        assert seq == body["seq"] and ev.actor == ALICE and ev.causation == push
        assert msgspec.to_builtins(ev.ops) == listed[0]["ops"]  # exactly the proposed ops
        r = await client.get(f"/v1/projects/{unique}/shots/s1/suggestions?status=accepted")
        assert [s["id"] for s in r.json()["suggestions"]] == [sid]
        r = await client.post(f"/v1/projects/{unique}/shots/s1/suggestions/{sid}/dismiss")
        assert r.status_code == 409
        r = await client.post(f"/v1/projects/{unique}/shots/s1/suggestions/nope/accept")
        assert r.status_code == 404


async def test_wnm_agents_run_repairs_as_its_own_process(system, unique, nats_url, database_url, tmp_path):
    import os
    import signal
    import sys

    await _scene(system, unique)
    env = {**os.environ, "WNM_NATS_URL": nats_url, "WNM_DATABASE_URL": database_url, "WNM_DATA_DIR": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "realtime.cli", "agents", "run", "collision", "--project", unique, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert b"running collision" in line
        push = await _submit(system, unique, "s1", O.EntitySet(id="chair-1", path="transform.position",
                                                               value=[-0.7, 0, 0]))
        async with asyncio.timeout(15):
            while await system.log.last_seq(unique, "s1") == push:
                await asyncio.sleep(0.02)
        seq, repair = (await _events(system, unique))[-1]
        assert repair.actor.id == "collision" and repair.causation == push
        assert repair.reason == "moved chair-1 0.15 m \u2212x: intersected table-1 at frame 0"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, out.decode()
