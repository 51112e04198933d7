"""Command ids (SPEC §4 "Idempotency"): one rule on every path, scoped to their shot, a reused id with other ops
refused (409) and never "applied", a true retry answered with the first verdict — also after the log's duplicate
window, when only the audit remembers the id. On the in-memory log, store and projector."""

from __future__ import annotations

import asyncio

import pytest

from core import ops as O
from events.envelope import Actor, Command, check_command_id, decode_command, msg_id_for
from events.log import MemoryLog
from projections.projector import Projector
from projections.store import MemoryStore
from realtime import commands as C
from realtime.bootstrap import ProjectorReplica
from realtime.commands import CommandError, CommandService

P = "proj"
ALICE = Actor(kind="user", id="alice")
BOB = Actor(kind="user", id="bob")
BAD_IDS = ["", " ", " c1", "c1 ", "x\r\ny", "\u0000", "x" * 201, "x" * 5000, "café", "a\tb"]


class Clock:
    def __init__(self):
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def rig(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(C, "now", clock)  # event timestamps, compared with the log's window
    log = MemoryLog(duplicate_window_s=120.0, clock=clock)
    store = MemoryStore()
    projector = Projector(log, store, rescan_s=0.05)
    task = asyncio.create_task(projector.run())
    service = CommandService(log, ProjectorReplica(projector), outcome_timeout=5.0,
                             find_command=store.command_entry)
    await log.ensure_project(P)
    for shot in ("s1", "s2"):
        r = await service.submit(P, shot, ALICE, Command(command_id=f"create-{shot}", ops=[
            O.ShotConfigure(fps=24, frame_start=0, frame_end=48)]), must_exist=False)
        assert r.status == "applied"
    try:
        yield service, log, projector, clock
    finally:
        await projector.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _box(eid: str) -> O.EntityCreate:
    return O.EntityCreate(id=eid, kind="prop", props={"geometry": {"primitive": "box", "size": [1.0, 1.0, 1.0]}})


async def _events(log: MemoryLog) -> int:
    return len(log._streams[P])


@pytest.mark.parametrize("cid", BAD_IDS)
def test_the_rule_refuses_empty_spaced_control_non_ascii_and_long_ids(cid):
    with pytest.raises(ValueError, match="command_id"):
        check_command_id(cid)
    with pytest.raises(Exception, match="command_id"):
        decode_command(f'{{"command_id": {__import__("json").dumps(cid)}, "ops": []}}')


@pytest.mark.parametrize("cid", ["c1", "0f8fad5b-d9cb-469f-a165-70867728950e", "agent.support.41.0", "a/b#2",
                                 "x" * 200])
def test_the_rule_accepts_uuids_and_derived_ids(cid):
    assert check_command_id(cid) == cid
    assert decode_command(f'{{"command_id": "{cid}", "ops": []}}').command_id == cid


@pytest.mark.parametrize("cid", BAD_IDS)
async def test_a_bad_id_built_in_code_is_refused_by_the_service_naming_the_field(rig, cid):
    service, log, *_ = rig
    before = await _events(log)
    with pytest.raises(CommandError) as e:
        await service.submit(P, "s1", ALICE, Command(command_id=cid, ops=[_box("b1")]))
    assert (e.value.kind, e.value.field) == ("invalid", "command_id")
    assert await _events(log) == before


def test_the_msg_id_carries_the_shot():
    assert msg_id_for("s1", "c1") != msg_id_for("s2", "c1")


async def test_the_same_id_on_another_shot_is_a_new_command(rig):
    service, log, projector, _ = rig
    a = await service.submit(P, "s1", ALICE, Command(command_id="c1", ops=[_box("a")]))
    b = await service.submit(P, "s2", ALICE, Command(command_id="c1", ops=[_box("b")]))
    assert a.status == b.status == "applied" and not b.duplicate and b.seq != a.seq
    assert "b" in (await projector.load(P, "s2")).world.entities


async def test_a_retry_answers_the_first_verdict_and_appends_nothing(rig):
    service, log, *_ = rig
    cmd = Command(command_id="c1", ops=[_box("a")])
    first = await service.submit(P, "s1", ALICE, cmd)
    n = await _events(log)
    again = await service.submit(P, "s1", ALICE, cmd)  # its entity.create no longer validates: still a retry
    assert (again.seq, again.status, again.duplicate) == (first.seq, "applied", True)
    assert await _events(log) == n


async def test_a_reused_id_with_other_ops_is_409_and_never_applied(rig):
    service, log, projector, _ = rig
    await service.submit(P, "s1", ALICE, Command(command_id="c1", ops=[_box("a")]))
    n = await _events(log)
    for ops in ([_box("other")],  # validates: reaches the log, which knows the id
                [O.EntityRemove(id="ghost")]):  # fails validation: the audit answers
        with pytest.raises(CommandError) as e:
            await service.submit(P, "s1", ALICE, Command(command_id="c1", ops=ops))
        assert e.value.kind == "conflict" and "already used for a different command" in e.value.reason
    assert await _events(log) == n
    assert "other" not in (await projector.load(P, "s1")).world.entities


async def test_the_same_ops_from_another_actor_are_not_a_retry(rig):
    service, *_ = rig
    await service.submit(P, "s1", ALICE, Command(command_id="c1", ops=[_box("a")]))
    with pytest.raises(CommandError) as e:
        await service.submit(P, "s1", BOB, Command(command_id="c1", ops=[_box("a")]))
    assert e.value.kind == "conflict"


async def test_past_the_duplicate_window_the_audit_gives_the_same_answers(rig):
    service, log, projector, clock = rig
    await service.submit(P, "s1", ALICE, Command(command_id="c1", ops=[_box("a")]))
    red = Command(command_id="c2", ops=[O.EntitySet(id="a", path="color", value=[1, 0, 0])])
    first = await service.submit(P, "s1", ALICE, red)
    for _ in range(100):  # the audit is written by the projector, just after the verdict
        if await projector.store.command_entry(P, "s1", "c2") is not None:
            break
        await asyncio.sleep(0.01)
    clock.t += 3600  # the log forgets the ids; the shot is now older than its window
    n = await _events(log)
    again = await service.submit(P, "s1", ALICE, red)  # would validate and append again without the audit
    assert (again.seq, again.status, again.duplicate) == (first.seq, "applied", True)
    blue = Command(command_id="c2", ops=[O.EntitySet(id="a", path="color", value=[0, 0, 1])])
    with pytest.raises(CommandError) as e:
        await service.submit(P, "s1", ALICE, blue)
    assert e.value.kind == "conflict"
    assert await _events(log) == n
    assert (await projector.load(P, "s1")).world.entities["a"].props["color"] == [1, 0, 0]
    fresh = await service.submit(P, "s1", ALICE, Command(command_id="c3", ops=blue.ops))
    assert fresh.status == "applied" and not fresh.duplicate
