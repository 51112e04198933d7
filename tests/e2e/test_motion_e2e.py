"""The motion agent against real NATS JetStream and PostgreSQL, run the way ``wnm up`` runs agents: a motion
directive becomes the character's keys (several events for a long motion, the report last), the feet do not
skate in the world the server serves, and a person's key then survives the re-solve it triggers."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from core import ops as O
from core import quat
from core.sampling import sample
from events.envelope import Actor, Command, decode_event
from realtime.bootstrap import open_system
from realtime.cli_agents import build_runner
from realtime.settings import Settings

ALICE = Actor(kind="user", id="alice")


async def _submit(system, project, *ops, n=[0]):
    n[0] += 1
    res = await system.commands.submit(project, "s1", ALICE, Command(command_id=f"m{n[0]}-{time.time_ns()}",
                                                                     ops=list(ops)), must_exist=False)
    assert res.status == "applied", res
    return res.seq


async def _report(system, project, since: int, timeout: float = 60.0):
    """The directive's report once the motion agent has published it after seq ``since``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        events = [(s.seq, decode_event(s.data)) async for s in system.log.read(project, "s1")]
        mine = [(s, e) for s, e in events if s > since and e.actor.id == "motion"]
        if mine and any(isinstance(op, O.DirectiveUpdate) for op in mine[-1][1].ops):
            # the world as of that report (read after it: a world read before the events could miss it)
            return (await system.world_at(project, "s1", mine[-1][0])).world, mine
        await asyncio.sleep(0.1)
    raise AssertionError("the motion agent published no report")


async def test_a_walk_through_the_running_system(nats_url, database_url, tmp_path, unique):
    settings = Settings(nats_url=nats_url, database_url=database_url, data_dir=tmp_path, follow_all_projects=False)
    async with open_system(settings, run_projector=True) as system:
        await system.log.ensure_project(unique)
        system.projector.watch_project(unique)
        await _submit(system, unique, O.ShotConfigure(frame_start=0, frame_end=240))
        await _submit(system, unique, O.EntityCreate(id="bob", kind="character"),
                      O.SkeletonSet(id="bob", template="biped"))
        add = await _submit(system, unique, O.DirectiveAdd(id="walk", agent="motion", params={
            "entity": "bob", "clips": [{"clip": "walk", "start": 0, "end": 160}, {"clip": "idle", "start": 160,
                                                                                  "end": 240}]}))
        runner = build_runner(system, ["motion"], projects=[unique])
        task = asyncio.create_task(runner.run())
        try:
            world, events = await _report(system, unique, add)
            assert len(events) >= 2 and all(e.causation == add for _, e in events)
            report = world.directives["walk"].params["report"]
            assert report["status"] == "done"
            s = sample(world, np.arange(0, 241, dtype=float))
            js = s.joints["bob"]
            for name in ("l_toe", "r_toe"):
                p = js.matrices[:, js.names.index(name), :3, 3]
                low = p[:, 1] < 0.05
                both = low[1:] & low[:-1]
                v = np.linalg.norm(np.diff(p[:, [0, 2]], axis=0), axis=-1) * 24
                assert both.sum() > 100 and v[both].max() <= 0.05
            # a person keys the head; the agent re-solves around it and the key stays
            pin = [float(x) for x in quat.from_euler_deg([0.0, 40.0, 0.0])]
            edit = await _submit(system, unique, O.KeySet(id="bob", path="joints.neck.rotation", frame=60.0,
                                                          value=pin))
            world, _ = await _report(system, unique, edit)
            keys = world.entities["bob"].tracks["joints.neck.rotation"]
            kept = [k for k in keys if k.frame == 60.0]
            assert len(kept) == 1 and kept[0].by == "user:alice" and np.allclose(kept[0].value, pin)
            assert {"path": "joints.neck.rotation", "frame": 60.0, "by": "user:alice"} in \
                world.directives["walk"].params["report"]["pins"]
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
