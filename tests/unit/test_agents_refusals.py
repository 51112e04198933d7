"""Issue 12 item 8: an agent's proposal is checked against a world that holds the event it answers, and a proposal
that is refused anyway is visible to people — a report on its directive, or a rejected entry in the history with
the reason — never only a log line.

The command service of a server validates against its projector, which folds the log on its own consumer: when the
agents' follower decided before the projector had folded the directive (agents on the server's loop, a layout solve
holding the loop), the proposal was refused with "unknown directive". :class:`_Behind` is such a replica: it folds
only when asked for a verdict, like a projector that has not caught up yet."""

from __future__ import annotations

import asyncio

from agents.base import Proposal
from agents.runtime import AgentRunner, FollowingReplica, MemoryCheckpoints, command_id_for
from agents.suggestions import MemorySuggestions
from core import ops as O
from events.envelope import Actor, Command, decode_event
from events.log import MemoryLog
from projections.fold import WorldFold
from projections.replay import rebuild
from realtime.commands import CommandService, LocalReplica

P, S = "proj", "shot"
ALICE = Actor(kind="user", id="alice")


class _Builder:
    """A generative agent: a directive of its own becomes one entity and a report (like the layout agent)."""

    name = "builder"
    generative = True

    def decide(self, world, event, seq):
        out = []
        for op in event.ops:
            if isinstance(op, O.DirectiveAdd) and op.agent == self.name:
                params = {**world.directives[op.id].params, "report": {"status": "done"}}
                out.append(Proposal([O.EntityCreate(id=f"{op.id}.thing", kind="prop"),
                                     O.DirectiveUpdate(id=op.id, params=params)], f"built {op.id}"))
        return out


class _Mover:
    """A repair agent that moves whatever an event created to x = 1, or names an entity that does not exist."""

    name = "mover"
    generative = False

    def __init__(self, target=None):
        self.target = target

    def decide(self, world, event, seq):
        ids = [op.id for op in event.ops if isinstance(op, O.EntityCreate)]
        return [Proposal([O.EntitySet(id=self.target or i, path="transform.position", value=[1.0, 0.0, 0.0])],
                         f"moved {self.target or i}") for i in ids]


class _Behind:
    """A replica that folds only when asked for a verdict (a projector that has not caught up yet)."""

    def __init__(self, log):
        async def load(project, shot):
            return await rebuild(log, project, shot)
        self.inner = LocalReplica(log, load)
        self.asked = []

    async def reducer(self, project, shot):
        return await self.inner.reducer(project, shot)

    async def outcome(self, project, shot, seq, timeout, event_id=None):
        self.asked.append(seq)
        return await self.inner.outcome(project, shot, seq, timeout)


class Rig:
    def __init__(self):
        self.log = MemoryLog()

        async def load(project, shot, upto):
            return await rebuild(self.log, project, shot, upto)

        self.load = load
        self.people = CommandService(self.log, FollowingReplica(self.log, load), outcome_timeout=2.0)
        self.behind = _Behind(self.log)
        self.agents = CommandService(self.log, self.behind, outcome_timeout=2.0)
        self.n = 0

    def runner(self, agents):
        return AgentRunner(agents, self.log, self.agents, self.load, MemoryCheckpoints(), MemorySuggestions(),
                           projects=[P], rescan_s=0.05, fresh_s=None)

    async def submit(self, *ops):
        self.n += 1
        res = await self.people.submit(P, S, ALICE, Command(command_id=f"c{self.n}", ops=list(ops)),
                                       must_exist=False)
        assert res.status == "applied", res
        return res.seq

    async def events(self):
        return [(s.seq, decode_event(s.data)) async for s in self.log.read(P, S)]

    async def world(self):
        return (await rebuild(self.log, P, S)).world


async def _run_until(runner: AgentRunner, seq: int):
    task = asyncio.create_task(runner.run())
    try:
        await runner.wait_for(P, seq, timeout=5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _started(rig: Rig) -> None:
    await rig.log.ensure_project(P)
    await rig.submit(O.ShotConfigure(frame_start=0, frame_end=24))
    await rig.behind.reducer(P, S)  # the server's view, loaded before the directive: it has not folded it yet


async def test_a_proposal_is_checked_against_a_world_that_holds_the_event_it_answers():
    rig = Rig()
    await _started(rig)
    seq = await rig.submit(O.DirectiveAdd(id="lr", agent="builder", params={"recipe": 1}))
    await _run_until(rig.runner([_Builder()]), seq)
    last, ev = (await rig.events())[-1]
    assert ev.actor == Actor(kind="agent", id="builder") and ev.causation == seq, ev
    assert ev.command_id == command_id_for("builder", seq, 0)
    world = await rig.world()
    assert world.directives["lr"].params["report"] == {"status": "done"}
    assert "lr.thing" in world.entities
    assert seq in rig.behind.asked  # the runner waited for the command service's verdict on the directive


async def test_a_refused_proposal_on_a_directive_becomes_its_report():
    rig = Rig()
    await _started(rig)

    class _Clashing(_Builder):
        def decide(self, world, event, seq):  # creates an entity that already exists: refused (422)
            return [Proposal([O.EntityCreate(id="taken", kind="prop"), *p.ops[1:]], p.reason)
                    for p in super().decide(world, event, seq)]

    _Clashing.name = "builder"
    await rig.submit(O.EntityCreate(id="taken", kind="prop"))
    seq = await rig.submit(O.DirectiveAdd(id="lr", agent="builder", params={"recipe": 1}))
    await _run_until(rig.runner([_Clashing()]), seq)
    world = await rig.world()
    report = world.directives["lr"].params["report"]
    assert report["status"] == "failed"
    assert "refused" in report["reason"] and "taken" in report["reason"], report
    assert world.directives["lr"].params["recipe"] == 1  # the person's params are kept
    _, ev = (await rig.events())[-1]
    assert ev.actor.id == "builder" and ev.causation == seq


async def test_a_refused_repair_is_a_rejected_entry_in_the_history_with_the_reason():
    rig = Rig()
    await _started(rig)
    seq = await rig.submit(O.EntityCreate(id="box", kind="prop"))
    runner = rig.runner([_Mover(target="ghost")])
    await _run_until(runner, seq)
    last, ev = (await rig.events())[-1]
    assert ev.actor == Actor(kind="agent", id="mover") and ev.causation == seq and ev.reason == "moved ghost"
    fold = WorldFold(P, S)
    outcomes = [fold.apply(s, e) for s, e in await rig.events()]
    assert not outcomes[-1].applied and "ghost" in outcomes[-1].reason
    assert runner.counts["refused"] == 1
    # decided again after a lost checkpoint: the same command id, recorded once
    await _run_until(rig.runner([_Mover(target="ghost")]), seq)
    assert (await rig.events())[-1][0] == last


async def test_a_proposal_that_applies_is_published_once_and_nothing_else_is_recorded():
    rig = Rig()
    await _started(rig)
    seq = await rig.submit(O.EntityCreate(id="box", kind="prop"))
    await _run_until(rig.runner([_Mover()]), seq)
    evs = await rig.events()
    assert [e.actor.id for _, e in evs[-2:]] == ["alice", "mover"]
    assert (await rig.world()).entities["box"].props["transform.position"] == [1.0, 0.0, 0.0]


async def test_a_decision_that_raises_on_a_directive_gives_it_a_failed_report():
    rig = Rig()
    await _started(rig)

    class _Broken(_Builder):
        def decide(self, world, event, seq):
            if super().decide(world, event, seq):
                raise RuntimeError("solver exploded")
            return []

    seq = await rig.submit(O.DirectiveAdd(id="lr", agent="builder", params={"recipe": 1}),
                           O.DirectiveAdd(id="other", agent="someone-else"))
    runner = rig.runner([_Broken()])
    await _run_until(runner, seq)
    world = await rig.world()
    assert world.directives["lr"].params == {"recipe": 1, "report": {
        "status": "failed", "reason": "the agent failed: RuntimeError: solver exploded"}}
    assert "report" not in world.directives["other"].params  # not this agent's directive
    assert runner.counts["decide_errors"] == 1
