"""The agent runtime on the in-memory log: publishing, idempotent restarts, modes, loop bounds."""

from __future__ import annotations

import asyncio

import pytest

from agents.base import Proposal
from agents.collision import CollisionAgent
from agents.runtime import AgentRunner, FollowingReplica, MemoryCheckpoints, command_id_for
from agents.suggestions import MemorySuggestions, accept, dismiss, SuggestionError
from agents.support import SupportAgent
from core import ops as O
from events.envelope import Actor, Command, decode_event
from events.log import MemoryLog
from projections.replay import rebuild
from realtime.commands import CommandService

P, S = "proj", "shot"
ALICE = Actor(kind="user", id="alice")
BOX = lambda w, h, d: {"primitive": "box", "size": [w, h, d]}  # noqa: E731


class Rig:
    def __init__(self):
        self.log = MemoryLog()
        self.checkpoints = MemoryCheckpoints()
        self.suggestions = MemorySuggestions()

        async def load(project, shot, upto):
            return await rebuild(self.log, project, shot, upto)

        self.load = load
        self.commands = CommandService(self.log, FollowingReplica(self.log, load), outcome_timeout=2.0)
        self.n = 0

    def runner(self, agents, **kw) -> AgentRunner:
        return AgentRunner(agents, self.log, self.commands, self.load, self.checkpoints, self.suggestions,
                           projects=[P], rescan_s=0.05, **kw)

    async def submit(self, *ops, actor=ALICE):
        self.n += 1
        res = await self.commands.submit(P, S, actor, Command(command_id=f"c{self.n}", ops=list(ops)),
                                         must_exist=False)
        assert res.status == "applied", res
        return res.seq

    async def events(self):
        return [(s.seq, decode_event(s.data)) async for s in self.log.read(P, S)]


async def _scene(rig: Rig, mode: str | None = None) -> int:
    await rig.log.ensure_project(P)
    ops = [O.ShotConfigure(fps=24, frame_start=0, frame_end=48)]
    if mode:
        ops = [O.ShotConfigure(fps=24, frame_start=0, frame_end=48, agents={"collision": mode})]
    await rig.submit(*ops)
    return await rig.submit(O.EntityCreate(id="table-1", kind="prop",
                                           props={"geometry": BOX(1.2, 0.75, 0.8), "transform.position": [0, 0, 0]}),
                            O.EntityCreate(id="chair-1", kind="prop",
                                           props={"geometry": BOX(0.5, 0.9, 0.5),
                                                  "transform.position": [2.0, 0, 0]}))


async def _run_until(runner: AgentRunner, seq: int):
    task = asyncio.create_task(runner.run())
    try:
        await runner.wait_for(P, seq, timeout=5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_auto_mode_publishes_a_repair_caused_by_the_command():
    rig = Rig()
    await _scene(rig)
    push = await rig.submit(O.EntitySet(id="chair-1", path="transform.position", value=[0.7, 0, 0]))
    await _run_until(rig.runner([CollisionAgent()]), push + 1)
    evs = await rig.events()
    seq, repair = evs[-1]
    assert seq == push + 1
    assert repair.actor == Actor(kind="agent", id="collision")
    assert repair.causation == push
    assert repair.command_id == command_id_for("collision", push, 0)
    assert repair.reason == "moved chair-1 0.15 m +x: intersected table-1 at frame 0"
    r = await rebuild(rig.log, P, S)
    assert r.world.entities["chair-1"].props["transform.position"][0] == pytest.approx(0.852)


async def test_restart_over_the_same_log_publishes_nothing_new():
    rig = Rig()
    await _scene(rig)
    push = await rig.submit(O.EntitySet(id="chair-1", path="transform.position", value=[0.7, 0, 0]))
    await _run_until(rig.runner([CollisionAgent()]), push + 1)
    n = len(await rig.events())
    await _run_until(rig.runner([CollisionAgent()]), push + 1)  # checkpoint kept
    assert len(await rig.events()) == n
    rig.checkpoints = MemoryCheckpoints()  # checkpoints lost: decided again, de-duplicated by command id
    await _run_until(rig.runner([CollisionAgent()]), push + 1)
    assert len(await rig.events()) == n


async def test_suggest_mode_changes_nothing_until_accepted_and_then_exactly_the_proposal():
    rig = Rig()
    await _scene(rig, mode="suggest")
    push = await rig.submit(O.EntitySet(id="chair-1", path="transform.position", value=[0.7, 0, 0]))
    await _run_until(rig.runner([CollisionAgent()]), push)
    assert [s for s, _ in await rig.events()][-1] == push  # nothing published
    [sug] = await rig.suggestions.list(P, S)
    assert sug.agent == "collision" and sug.trigger_seq == push and sug.reason.startswith("moved chair-1")
    res = await accept(rig.suggestions, rig.commands, P, S, sug.id, ALICE)
    assert res.status == "applied"
    seq, ev = (await rig.events())[-1]
    assert seq == res.seq and ev.actor == ALICE and ev.ops == sug.ops and ev.causation == push
    assert (await rig.suggestions.get(P, S, sug.id)).status == "accepted"
    again = await accept(rig.suggestions, rig.commands, P, S, sug.id, ALICE)
    assert again.seq == res.seq and len(await rig.events()) == seq
    with pytest.raises(SuggestionError) as e:
        await dismiss(rig.suggestions, P, S, sug.id, ALICE)
    assert e.value.kind == "conflict"


async def test_off_mode_decides_nothing():
    rig = Rig()
    await _scene(rig, mode="off")
    push = await rig.submit(O.EntitySet(id="chair-1", path="transform.position", value=[0.7, 0, 0]))
    await _run_until(rig.runner([CollisionAgent()]), push)
    assert [s for s, _ in await rig.events()][-1] == push
    assert await rig.suggestions.list(P, S) == []


async def test_a_shot_with_every_agent_off_keeps_no_replica_until_one_is_turned_on():
    rig = Rig()
    await _scene(rig, mode="off")
    runner = rig.runner([CollisionAgent()])
    loads = []
    load = runner.load

    async def counting(project, shot, upto):
        loads.append(upto)
        return await load(project, shot, upto)

    runner.load = counting
    task = asyncio.create_task(runner.run())
    try:
        for x in (0.7, 0.6, 0.5):
            push = await rig.submit(O.EntitySet(id="chair-1", path="transform.position", value=[x, 0, 0]))
        await runner.wait_for(P, push, timeout=5)
        assert len(loads) == 1  # loaded once, for the first event; off since, so nothing is folded
        assert [s for s, _ in await rig.events()][-1] == push
        on = await rig.submit(O.ShotConfigure(agents={"collision": "auto"}))
        await runner.wait_for(P, on, timeout=5)
        assert loads[-1] == on - 1  # turning it on reloads the shot as it was just before
        push = await rig.submit(O.EntitySet(id="chair-1", path="transform.position", value=[0.7, 0, 0]))
        await runner.wait_for(P, push + 1, timeout=5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    seq, repair = (await rig.events())[-1]
    assert seq == push + 1 and repair.actor == Actor(kind="agent", id="collision") and repair.causation == push


class _Echo:
    """Moves the edited entity 1 cm every time: two of them would ping-pong forever without the depth bound."""

    generative = False

    def __init__(self, name):
        self.name = name

    def decide(self, world, event, seq):
        ids = sorted({op.id for op in event.ops if isinstance(op, O.EntitySet)})
        return [Proposal([O.EntitySet(id=i, path="transform.position",
                                      value=[world.entities[i].props["transform.position"][0] + 0.01, 0, 0])],
                         f"nudged {i}") for i in ids]


async def test_agents_ignore_their_own_events_and_causation_depth_is_bounded():
    rig = Rig()
    await _scene(rig)
    push = await rig.submit(O.EntitySet(id="chair-1", path="transform.position", value=[3.0, 0, 0]))
    runner = rig.runner([_Echo("a"), _Echo("b")], max_depth=3)
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(0.5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    agent_events = [(s, e) for s, e in await rig.events() if e.actor.kind == "agent"]
    # a reacts to alice (depth 1); b's proposal from the same world is stale once a moved the chair; then they
    # answer each other (depth 2, 3) and an event at depth 3 triggers nothing
    assert [e.actor.id for _, e in agent_events] == ["a", "b", "a"]
    assert [e.causation for _, e in agent_events] == [push, push + 1, push + 2]
    assert runner.counts["stale"] == 1
    assert runner.counts["depth_limited"] > 0


async def test_collision_then_support_chain_settles():
    rig = Rig()
    await _scene(rig)
    push = await rig.submit(O.EntitySet(id="chair-1", path="transform.position", value=[0.7, 0.3, 0]))
    await _run_until(rig.runner([CollisionAgent(), SupportAgent()]), push + 2)
    r = await rebuild(rig.log, P, S)
    assert r.world.entities["chair-1"].props["transform.position"] == pytest.approx([0.852, 0.0, 0.0])
    reasons = sorted(e.reason for _, e in await rig.events() if e.actor.kind == "agent")
    assert reasons == ["moved chair-1 0.15 m +x: intersected table-1 at frame 0",
                       "put chair-1 0.30 m down onto the ground at frame 0"]


# ---------------------------------------------------------------- superseded events (issue 12: agents keep up)


async def test_an_edit_superseded_by_a_waiting_one_is_not_decided_on_and_the_newest_is():
    """A chair dragged through a table sends many positions: the agents, finding them all waiting, decide on the
    last one only (a repair of an earlier one would be stale), and exactly one repair follows."""
    rig = Rig()
    await _scene(rig)
    pushes = [await rig.submit(O.EntitySet(id="chair-1", path="transform.position", value=[x, 0, 0]))
              for x in (1.5, 1.1, 0.7)]
    runner = rig.runner([CollisionAgent()])
    await _run_until(runner, pushes[-1] + 1)
    repairs = [e for _, e in await rig.events() if e.actor.kind == "agent"]
    assert [e.causation for e in repairs] == [pushes[-1]]
    assert runner.counts["superseded"] == 2
    r = await rebuild(rig.log, P, S)
    assert r.world.entities["chair-1"].props["transform.position"][0] == pytest.approx(0.852)


async def test_an_edit_superseded_by_a_rejected_one_is_decided_on_after_all():
    rig = Rig()
    await _scene(rig)
    push = await rig.submit(O.EntitySet(id="chair-1", path="transform.position", value=[0.7, 0, 0]))
    bad = await rig.commands.submit(P, S, ALICE, Command(command_id="bad", ops=[
        O.EntitySet(id="chair-1", path="transform.position", value=[1.0, 2.0])]), check=False)
    assert bad.status == "rejected"
    runner = rig.runner([CollisionAgent()])
    await _run_until(runner, bad.seq + 1)
    repairs = [e for _, e in await rig.events() if e.actor.kind == "agent"]
    assert [e.causation for e in repairs] == [push]
    assert runner.counts["decided_late"] == 1


def test_what_supersedes_what():
    from agents.runtime import _superseded
    from events.envelope import Event, encode_event
    from events.log import Stored

    def stored(seq, *ops, actor=ALICE, shot=S):
        ev = Event(event_id=f"e{seq}", command_id=f"c{seq}", project=P, shot=shot, actor=actor, ops=list(ops), ts=1.0)
        return Stored(seq=seq, shot=shot, data=encode_event(ev))

    move = lambda i, x: O.EntitySet(id=i, path="transform.position", value=[x, 0, 0])  # noqa: E731
    key = lambda i, f: O.KeySet(id=i, path="transform.position", frame=f, value=[0, 0, 0])  # noqa: E731
    bot = Actor(kind="agent", id="collision")
    batch = [
        stored(1, move("a", 1)), stored(2, move("a", 2)),             # 1 superseded by 2
        stored(3, move("b", 1), move("c", 1)), stored(4, move("b", 2)),  # 4 writes b only: 3 stays
        stored(5, key("d", 0)), stored(6, move("d", 1)),              # another kind of op: 5 stays
        stored(7, move("e", 1)), stored(8, move("e", 2), actor=bot),  # an agent's event supersedes nothing
        stored(9, move("f", 1)), stored(10, move("f", 2), shot="other"),  # another shot
        stored(11, move("g", 1)), stored(12, move("g", 2), key("g", 3)),  # a superset of ops and entities
    ]
    assert _superseded(batch) == {1: 2, 11: 12}


def test_superseded_finds_the_nearest_superseding_event_as_a_pairwise_scan_does():
    """The indexed scan agrees with the rule checked pair by pair, on random batches of multi-entity edits."""
    import random

    from agents.runtime import _superseded
    from core.ops import op_entity_ids
    from events.envelope import Event, encode_event
    from events.log import Stored

    def pairwise(batch):
        writes = []
        for s in batch:
            ev = decode_event(s.data)
            ids = frozenset(i for op in ev.ops for i in op_entity_ids(op))
            writes.append(None if ev.actor.kind == "agent" else (s.seq, s.shot, ids, frozenset(map(type, ev.ops))))
        out = {}
        for i, w in enumerate(writes):
            for later in writes[i + 1:] if w is not None else ():
                if later is not None and later[1] == w[1] and w[2] <= later[2] and w[3] <= later[3]:
                    out[w[0]] = later[0]
                    break
        return out

    rnd = random.Random(11)
    bot = Actor(kind="agent", id="collision")
    for _ in range(200):
        batch = []
        for seq in range(1, rnd.randint(2, 40)):
            ops = []
            for i in rnd.sample("abcd", rnd.randint(1, 3)):
                ops.append(O.EntitySet(id=i, path="transform.position", value=[seq, 0, 0]) if rnd.random() < 0.7
                           else O.KeySet(id=i, path="transform.position", frame=seq, value=[0, 0, 0]))
            shot = rnd.choice([S, S, "other"])
            ev = Event(event_id=f"e{seq}", command_id=f"c{seq}", project=P, shot=shot,
                       actor=bot if rnd.random() < 0.1 else ALICE, ops=ops, ts=1.0)
            batch.append(Stored(seq=seq, shot=shot, data=encode_event(ev)))
        assert _superseded(batch) == pairwise(batch)


# ---------------------------------------------------------------- the command service's following replica


class _SlowLog:
    """The log, handing over the loop between the events it reads (as a network read does), counting reads."""

    def __init__(self, log: MemoryLog):
        self.inner, self.reads = log, 0

    async def last_seq(self, project, shot):
        return await self.inner.last_seq(project, shot)

    async def read(self, project, shot, after=0, until=None):
        self.reads += 1
        async for stored in self.inner.read(project, shot, after=after, until=until):
            await asyncio.sleep(0)
            yield stored


async def _counted_replica(log: MemoryLog, max_shots: int = 256):
    loads = []

    async def load(project, shot, upto):
        loads.append(shot)
        await asyncio.sleep(0.01)  # a load takes a while: callers overlap it
        return await rebuild(log, project, shot, upto)

    slow = _SlowLog(log)
    return FollowingReplica(slow, load, max_shots=max_shots), loads, slow


async def _create(log: MemoryLog, shot: str, n: int, start: int = 0) -> None:
    svc = CommandService(log, FollowingReplica(log, lambda p, s, u: rebuild(log, p, s, u)), outcome_timeout=2.0)
    for i in range(start, start + n):
        res = await svc.submit(P, shot, ALICE, Command(command_id=f"{shot}-{i}", ops=[
            O.EntityCreate(id=f"e{i}", kind="prop", props={"geometry": BOX(1, 1, 1)})]), must_exist=False)
        assert res.status == "applied", res


async def _stored(log: MemoryLog, shot: str = S) -> list:
    return [s async for s in log.read(P, shot)]


async def test_concurrent_callers_share_one_load_and_fold_each_event_once():
    log = MemoryLog()
    await log.ensure_project(P)
    await _create(log, S, 3)
    replica, loads, _ = await _counted_replica(log)
    first, second = await asyncio.gather(replica.reducer(P, S), replica.reducer(P, S))
    assert loads == [S] and first is second and sorted(first.world.entities) == ["e0", "e1", "e2"]
    await _create(log, S, 4, start=3)  # a tail several callers read at once: each event folds once
    head = await log.last_seq(P, S)
    await asyncio.gather(*(replica.outcome(P, S, seq, 2.0) for seq in range(head - 3, head + 1)),
                         replica.reducer(P, S))
    outcomes = [await replica.outcome(P, S, seq, 2.0) for seq in range(head - 3, head + 1)]
    assert all(o.applied and o.reason is None for o in outcomes), outcomes  # a second fold: "already exists"
    assert len(first.world.entities) == 7 and first.last_seq == head and loads == [S]


async def test_offered_events_are_folded_without_reading_the_log():
    log = MemoryLog()
    await log.ensure_project(P)
    await _create(log, S, 2)
    replica, loads, slow = await _counted_replica(log)
    events = await _stored(log)
    replica.offer(P, events[0])  # not here yet: loaded in the background, at the head
    replica.offer(P, events[1])  # loading: folded by the load
    await asyncio.sleep(0.05)
    assert loads == [S] and replica._reducers[(P, S)].last_seq == events[1].seq
    reads = slow.reads
    await _create(log, S, 3, start=2)
    tail = (await _stored(log))[2:]
    for stored in tail:
        replica.offer(P, stored)
    r = replica._reducers[(P, S)]
    assert r.last_seq == tail[-1].seq and len(r.world.entities) == 5 and slow.reads == reads  # no read at all
    assert (await replica.outcome(P, S, tail[1].seq, 2.0)).applied and slow.reads == reads and loads == [S]


async def test_a_shot_whose_agents_are_off_is_noted_not_loaded_and_read_again_when_followed():
    log = MemoryLog()
    await log.ensure_project(P)
    await _create(log, S, 1)
    replica, loads, slow = await _counted_replica(log)
    first, = await _stored(log)
    replica.offer(P, first)
    await asyncio.sleep(0.05)
    await _create(log, S, 2, start=1)
    _, second, third = await _stored(log)
    replica.offer(P, second, follow=False)
    replica.offer(P, third)  # the one before was skipped: read from the log, not folded out of order
    await asyncio.sleep(0.05)
    r = replica._reducers[(P, S)]
    assert r.last_seq == third.seq and sorted(r.world.entities) == ["e0", "e1", "e2"] and loads == [S]
    other, _, _ = await _counted_replica(log)
    other.offer(P, first, follow=False)
    await asyncio.sleep(0.05)
    assert not other._reducers  # nothing loaded for a shot nobody decides on


async def test_the_replica_keeps_the_most_recently_used_shots():
    log = MemoryLog()
    await log.ensure_project(P)
    for shot in ("a", "b", "c"):
        await _create(log, shot, 1)
    replica, loads, _ = await _counted_replica(log, max_shots=2)
    for shot in ("a", "b", "a", "c", "a", "b"):
        await replica.reducer(P, shot)
    assert loads == ["a", "b", "c", "b"]  # c pushed out b (a was used more recently), then b came back for a
    assert list(replica._reducers) == [(P, "a"), (P, "b")]
    for shot in ("a", "b", "c"):  # c comes back and pushes one out: what was noted of that one goes with it
        replica.offer(P, (await _stored(log, shot))[0])
        await asyncio.sleep(0.05)
    assert loads[-1] == "c" and len(replica._reducers) == 2 and set(replica._offered) == set(replica._reducers)


async def test_a_failed_background_load_is_logged_and_the_next_caller_loads_again(caplog):
    log = MemoryLog()
    await log.ensure_project(P)
    await _create(log, S, 1)
    calls = []

    async def load(project, shot, upto):
        calls.append(upto)
        if len(calls) == 1:
            raise LookupError("the store is not answering")
        return await rebuild(log, project, shot, upto)

    replica = FollowingReplica(log, load)
    replica.offer(P, (await _stored(log))[0])
    await asyncio.sleep(0.05)
    assert "bringing a shot's command replica up to the head failed" in caplog.text
    assert sorted((await replica.reducer(P, S)).world.entities) == ["e0"] and len(calls) == 2


async def test_the_command_service_replica_follows_the_shots_the_runner_folds():
    rig = Rig()
    seq = await _scene(rig)  # nothing collides: no proposal, so nothing else would load the shot
    replica = FollowingReplica(rig.log, rig.load)  # the agents' own, as `wnm agents run` has
    runner = AgentRunner([CollisionAgent()], rig.log, CommandService(rig.log, replica, outcome_timeout=2.0),
                         rig.load, rig.checkpoints, rig.suggestions, projects=[P], rescan_s=0.05)
    await _run_until(runner, seq)
    await asyncio.sleep(0.05)
    r = replica._reducers[(P, S)]  # loaded at the first event, then kept up with the rest without a proposal
    assert r.last_seq == seq and sorted(r.world.entities) == ["chair-1", "table-1"]
