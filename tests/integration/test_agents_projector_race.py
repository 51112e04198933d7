"""Issue 12 item 8 against real NATS JetStream and PostgreSQL, agents in-process beside the projector (how `wnm up`
ran them when the bug was seen): a generative agent whose decision holds the event loop (a layout solve) decided on
the directive before the projector had folded it, and its proposal was refused with "unknown directive". The runner
now waits for the command service's replica to hold the event before it publishes."""

from __future__ import annotations

import asyncio
import time

import pytest

from agents.base import Proposal
from realtime.cli_agents import build_runner
from agents.runtime import AgentRunner
from core import ops as O
from events.envelope import Actor, Command, decode_event
from realtime.bootstrap import open_system
from realtime.settings import Settings

ALICE = Actor(kind="user", id="alice")


class _SlowBuilder:
    """Builds one entity per directive of its own, after holding the loop like a layout solve does."""

    name = "builder"
    generative = True

    def decide(self, world, event, seq):
        out = []
        for op in event.ops:
            if isinstance(op, O.DirectiveAdd) and op.agent == self.name:
                time.sleep(0.3)  # synchronous, as agent.decide is: the projector cannot fold meanwhile
                params = {**world.directives[op.id].params, "report": {"status": "done"}}
                out.append(Proposal([O.EntityCreate(id=f"{op.id}.thing", kind="prop"),
                                     O.DirectiveUpdate(id=op.id, params=params)], f"built {op.id}"))
        return out


@pytest.fixture
async def system(nats_url, database_url, tmp_path):
    settings = Settings(nats_url=nats_url, database_url=database_url, data_dir=tmp_path, follow_all_projects=False)
    async with open_system(settings, run_projector=True) as system:
        yield system


async def test_an_in_process_agent_publishes_against_a_projector_that_has_folded_its_directive(system, unique):
    await system.log.ensure_project(unique)
    system.projector.watch_project(unique)
    runner = build_runner(system, ["collision"], projects=[unique])
    runner = AgentRunner([_SlowBuilder()], system.log, runner.commands, runner.load, runner.checkpoints,
                         runner.suggestions, projects=[unique], rescan_s=0.05)
    n = 0

    async def submit(shot, *ops):
        nonlocal n
        n += 1
        res = await system.commands.submit(unique, shot, ALICE, Command(command_id=f"c{n}", ops=list(ops)),
                                           must_exist=False)
        assert res.status == "applied", res
        return res.seq

    await submit("s1", O.ShotConfigure(frame_start=0, frame_end=24))
    task = asyncio.create_task(runner.run())
    try:
        for shot in ("room2", "room3"):  # new shots (created first, as POST /shots does), each with a directive
            await runner.wait_for(unique, await submit(shot, O.ShotConfigure(frame_end=48)), timeout=20)
            seq = await submit(shot, O.DirectiveAdd(id="lr", agent="builder", params={"recipe": 1}))
            await runner.wait_for(unique, seq, timeout=20)
            events = [decode_event(s.data) async for s in system.log.read(unique, shot)]
            assert [e.actor.id for e in events] == ["alice", "alice", "builder"], runner.counts
            world = (await system.world_at(unique, shot)).world
            assert world.directives["lr"].params["report"] == {"status": "done"}
            assert "lr.thing" in world.entities
        assert runner.counts["refused"] == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
