"""No event stops the projector, no read wedges a project, and a log that lost its tail halts its project instead
of answering with reused seqs — against the in-memory log and store twins."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.ops import EntityCreate, KeySet, ShotConfigure
from events.envelope import Actor, Event, encode_event
from events.log import MemoryLog
from projections.fold import WorldFold
from projections.projector import Projector, ProjectHalted, ShotUnavailable
from projections.replay import INTERNAL_ERROR, plain_world_at, rebuild, world_at
from projections.store import MemoryStore, StoreError

P = "proj"


def event(shot: str, i: int, ops: list, command_id: str | None = None) -> bytes:
    return encode_event(Event(event_id=f"ev{i}", command_id=command_id or f"cmd{i}", project=P, shot=shot,
                              actor=Actor("user", "alice"), ops=ops, ts=1_700_000_000.0 + i))


def script(shot: str = "a", n: int = 30, boom: tuple[int, ...] = ()) -> list[tuple[str, bytes]]:
    """A shot configured, a box created, then ``n`` keys; the events at the indexes in ``boom`` carry a command id
    that the patched reducer below raises on (after writing: a half-applied event)."""
    out = [(shot, event(shot, 0, [ShotConfigure(fps=24.0)])),
           (shot, event(shot, 1, [EntityCreate(id="box", kind="prop")]))]
    for i in range(2, n + 2):
        cid = f"boom{i}" if i in boom else None
        out.append((shot, event(shot, i, [KeySet(id="box", path="transform.position", frame=i,
                                                 value=[float(i), 0.0, 0.0])], cid)))
    return out


@pytest.fixture
def poisoned_reducer(monkeypatch):
    """A reducer bug: events whose command id starts with "boom" are written to the world and the document, and
    then the fold raises — what an OverflowError or RecursionError deep in a fold does."""
    original = WorldFold.apply

    def apply(self, seq, ev):
        outcome = original(self, seq, ev)
        if ev.command_id.startswith("boom"):
            raise OverflowError("planted")
        return outcome

    monkeypatch.setattr(WorldFold, "apply", apply)  # the reducer's and the plain fold's


async def fill(log: MemoryLog, events, start: int = 0) -> None:
    await log.ensure_project(P)
    for i, (shot, data) in enumerate(events[start:], start=start):
        await log.append(P, shot, data, msg_id=f"m{i}")


def projector(log, store, **kw) -> Projector:
    kw.setdefault("retry_max_s", 0.02)
    kw.setdefault("verify_s", 0.05)
    return Projector(log, store, **kw)


async def until(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def truncate(log: MemoryLog, project: str, keep: int) -> None:
    """Test only: the stream loses its tail after ``keep`` events, as a crash before fsync leaves it."""
    del log._streams[project][keep:]
    ids = log._msg_ids[project]
    for msg_id in [m for m, (seq, _) in ids.items() if seq > keep]:
        del ids[msg_id]


# ---------------------------------------------------------------- a fold that raises


async def test_an_event_whose_fold_raises_is_rejected_and_folding_goes_on(poisoned_reducer):
    events = script(n=30, boom=(10, 20))
    log, store = MemoryLog(), MemoryStore()
    await fill(log, events)
    pr = projector(log, store, snapshot_every=4, batch_max=7)
    pr.watch_project(P)
    last = len(events)
    out = await pr.wait_for(P, last)
    assert out.applied
    for seq in (11, 21):  # the events at indexes 10 and 20
        bad = await pr.wait_for(P, seq)
        assert not bad.applied and bad.reason == INTERNAL_ERROR + "OverflowError"
        assert (await store.audit_entry(P, seq)).reason == INTERNAL_ERROR + "OverflowError"
        assert (await store.audit_entry(P, seq)).command_id == f"boom{seq - 1}"
    assert pr.counts["fold_errors"] == 2 and pr.counts["applied"] == last - 2
    live = pr.reducer(P, "a")
    frames = [k.frame for k in live.world.entities["box"].tracks["transform.position"]]
    assert 10.0 not in frames and 20.0 not in frames and 31.0 in frames  # the half-written keys were dropped

    # The same log with the two events replaced by plain rejections folds to the same document, byte for byte.
    clean = MemoryLog()
    await fill(clean, [(s, b"not json" if i in (10, 20) else d) for i, (s, d) in enumerate(events)])
    expected = (await rebuild(clean, P, "a")).state_hash()
    assert live.state_hash() == expected
    assert (await rebuild(log, P, "a")).state_hash() == expected
    assert (await world_at(log, store, P, "a")).state_hash() == expected
    for seq in (10, 11, 12, 25):  # replays from the snapshots around the poisoned events agree
        want = await rebuild(clean, P, "a", seq)
        assert (await world_at(log, store, P, "a", seq)).state_hash() == want.state_hash()
        world, _ = await plain_world_at(log, store, P, "a", seq)
        assert world.to_json() == want.world.to_json()
    async with asyncio.timeout(5):  # the catalogue's hash is refreshed at most every HASH_EVERY_S
        while (info := await store.shot(P, "a")).head_seq != live.world.head_seq:
            await asyncio.sleep(0.02)
    assert info.state_hash == expected and info.event_count == last
    assert pr.health()[P].ready

    # A projector starting over (fresh store) and one loading the shot late agree too.
    again = projector(log, MemoryStore(), snapshot_every=5)
    again.watch_project(P)
    await again.wait_for(P, last)
    assert again.reducer(P, "a").state_hash() == expected
    late = projector(log, store)
    assert (await late.load(P, "a")).state_hash() == expected
    for p in (pr, again, late):
        await p.stop()


async def test_the_project_accepts_writes_after_a_poisoned_event(poisoned_reducer):
    events = script(n=5, boom=(4,))
    log, store = MemoryLog(), MemoryStore()
    await fill(log, events)
    pr = projector(log, store, batch_max=1)
    pr.watch_project(P)
    await pr.wait_for(P, len(events))
    more = [("a", event("a", 100, [KeySet(id="box", path="transform.position", frame=99, value=[1, 2, 3])]))]
    appended = await log.append(P, "a", more[0][1], msg_id="after")
    assert (await pr.wait_for(P, appended.seq)).applied
    assert pr.reducer(P, "a").world.entities["box"].tracks["transform.position"][-1].frame == 99
    await pr.stop()


async def test_a_failing_snapshot_is_skipped_and_counted(monkeypatch):
    events = script(n=12)
    log, store = MemoryLog(), MemoryStore()
    await fill(log, events)
    pr = projector(log, store, snapshot_every=3)

    def broken(*args, **kw):
        raise RecursionError("planted")

    monkeypatch.setattr(pr, "_snapshots", broken)
    pr.watch_project(P)
    await pr.wait_for(P, len(events))
    assert pr.counts["snapshot_errors"] >= 1 and await store.snapshots(P, "a") == []
    assert (await store.shot(P, "a")).event_count == len(events)
    await pr.stop()


async def test_a_crashing_follower_restarts_from_its_checkpoint_and_loses_nothing(monkeypatch):
    events = script(n=40)
    log, store = MemoryLog(), MemoryStore()
    await fill(log, events)
    pr = projector(log, store, batch_max=5)
    original, crashes = pr._fold, []

    async def fold(st, batch):
        if len(crashes) < 2 and batch[-1].seq > 20:
            crashes.append(batch[-1].seq)
            raise RuntimeError("planted")
        return await original(st, batch)

    monkeypatch.setattr(pr, "_fold", fold)
    pr.watch_project(P)
    await pr.wait_for(P, len(events), timeout=20)
    assert pr.counts["follow_crashes"] == 2
    assert sorted(store._audit[P]) == list(range(1, len(events) + 1))
    assert pr.reducer(P, "a").state_hash() == (await rebuild(log, P, "a")).state_hash()
    await until(lambda: pr.health()[P].state == "ok", what="healthy again")
    await pr.stop()


# ---------------------------------------------------------------- failures are reported


class SwitchStore(MemoryStore):
    """Commits fail while ``down`` is set."""

    def __init__(self):
        super().__init__()
        self.down = False

    async def commit_batch(self, *args, **kw):
        if self.down:
            raise StoreError("connection refused")
        return await super().commit_batch(*args, **kw)


async def test_a_store_error_being_retried_makes_the_project_not_ready_until_it_commits():
    log, store = MemoryLog(), SwitchStore()
    events = script(n=4)
    await fill(log, events)
    pr = projector(log, store)
    pr.watch_project(P)
    await pr.wait_for(P, len(events))
    assert pr.health()[P].ready and pr.health()[P].state == "ok"
    store.down = True
    more = script(n=8)
    await fill(log, more, start=len(events))
    await until(lambda: pr.health()[P].state == "failing", what="failing")
    h = pr.health()[P]
    assert not h.ready and "StoreError" in h.error and pr.counts["store_errors"] >= 1
    store.down = False
    await pr.wait_for(P, len(more))
    await until(lambda: pr.health()[P].ready, what="ready again")
    await pr.stop()


class SlowStore(MemoryStore):
    """Commits wait while ``gate`` is clear."""

    def __init__(self):
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()

    async def commit_batch(self, *args, **kw):
        await self.gate.wait()
        return await super().commit_batch(*args, **kw)


async def test_a_projector_behind_its_stream_for_long_is_not_ready():
    log, store = MemoryLog(), SlowStore()
    events = script(n=2)
    await fill(log, events)
    pr = projector(log, store, ready_lag=5, ready_lag_s=0.2, batch_max=1)
    pr.watch_project(P)
    await pr.wait_for(P, len(events))
    store.gate.clear()
    more = script(n=40)
    await fill(log, more, start=len(events))
    await until(lambda: pr.health()[P].state == "behind", what="behind")
    h = pr.health()[P]
    assert not h.ready and h.lag > 5 and h.head == len(more)
    store.gate.set()
    await pr.wait_for(P, len(more))
    await until(lambda: pr.health()[P].ready, what="caught up")
    await pr.stop()


# ---------------------------------------------------------------- reads cannot wedge a project


class BadShotStore(MemoryStore):
    """Refuses every query about shot ``bad``, as PostgreSQL refuses a NUL byte."""

    def __init__(self):
        super().__init__()
        self.refused = 0

    async def latest_snapshot(self, project, shot, *args, **kw):
        if shot == "bad":
            self.refused += 1
            raise StoreError("invalid byte sequence for encoding \"UTF8\": 0x00")
        return await super().latest_snapshot(project, shot, *args, **kw)


async def test_a_failed_load_answers_its_caller_and_leaves_the_project_writable():
    log, store = MemoryLog(), BadShotStore()
    events = script(n=3)
    await fill(log, events)
    pr = projector(log, store)
    pr.watch_project(P)
    await pr.wait_for(P, len(events))
    started = time.monotonic()
    with pytest.raises(ShotUnavailable):
        await pr.load(P, "bad")
    assert time.monotonic() - started < 2 and store.refused == 3
    assert pr.counts["load_errors"] == 3 and pr.counts["loads_failed"] == 1
    # the lock is free: a write to another shot of the project is folded and answered
    appended = await log.append(P, "a", event("a", 50, [KeySet(id="box", path="transform.position", frame=77,
                                                               value=[0, 1, 0])]), msg_id="next")
    assert (await pr.wait_for(P, appended.seq, timeout=2)).applied
    assert (await pr.load(P, "a")).world.head_seq == appended.seq
    assert pr.health()[P].ready
    await pr.stop()


# ---------------------------------------------------------------- acknowledged = durable


async def test_a_stream_that_lost_its_tail_halts_its_project_on_start():
    log, store = MemoryLog(), MemoryStore()
    events = script(n=10)
    await fill(log, events)
    first = projector(log, store)
    first.watch_project(P)
    await first.wait_for(P, len(events))
    await first.stop()
    truncate(log, P, 6)
    await log.ensure_project("other")
    await log.append("other", "x", b"not json", msg_id="o1")

    pr = projector(log, store)
    pr.watch_project(P)
    pr.watch_project("other")
    await until(lambda: pr.health()[P].state == "halted", what="halted")
    h = pr.health()[P]
    assert not h.ready and h.head == 6 and "ends at seq 6" in h.error and f"checkpoint {len(events)}" in h.error
    assert pr.counts["halted"] == 1
    with pytest.raises(ProjectHalted, match="tail was lost"):
        await pr.load(P, "a")
    with pytest.raises(ProjectHalted):
        await pr.wait_for(P, 7)
    assert pr.reducer(P, "a") is None
    # other projects carry on
    assert (await pr.wait_for("other", 1)).applied is False
    await until(lambda: pr.health()["other"].ready, what="other ready")
    # and the halted one stays halted: watching it again does not resume it
    pr.watch_project(P)
    assert pr.health()[P].state == "halted"
    await pr.stop()


async def test_a_stream_that_loses_its_tail_while_followed_halts_its_project():
    log, store = MemoryLog(), MemoryStore()
    events = script(n=10)
    await fill(log, events)
    pr = projector(log, store)
    pr.watch_project(P)
    await pr.wait_for(P, len(events))
    truncate(log, P, 4)
    # a new event gets a seq the projection already committed
    reused = await log.append(P, "a", event("a", 99, [KeySet(id="box", path="transform.position", frame=5,
                                                             value=[9, 9, 9])]), msg_id="new")
    assert reused.seq == 5
    await until(lambda: pr.health()[P].state == "halted", what="halted")
    with pytest.raises(ProjectHalted):
        await pr.load(P, "a")
    with pytest.raises(ProjectHalted):
        await pr.wait_for(P, reused.seq)
    assert sorted(store._audit[P]) == list(range(1, len(events) + 1))  # nothing of the new stream was projected
    await pr.stop()


async def test_waits_in_flight_fail_when_the_project_halts():
    log, store = MemoryLog(), MemoryStore()
    events = script(n=3)
    await fill(log, events)
    pr = projector(log, store)
    pr.watch_project(P)
    await pr.wait_for(P, len(events))
    waiting = asyncio.ensure_future(pr.wait_for(P, 50, timeout=10))
    await asyncio.sleep(0.05)
    truncate(log, P, 1)
    with pytest.raises(ProjectHalted):
        await asyncio.wait_for(waiting, 5)
    await pr.stop()


async def test_a_wait_for_a_reused_seq_checks_the_stream_at_once():
    """A command appended after the tail was lost gets a seq the projection already holds: given the event id it
    appended, wait_for finds another event there and halts the project at once, before the periodic check."""
    log, store = MemoryLog(), MemoryStore()
    events = script(n=6)
    await fill(log, events)
    pr = projector(log, store, verify_s=3600)  # the periodic check would come far too late
    pr.watch_project(P)
    await pr.wait_for(P, len(events))
    assert (await pr.wait_for(P, 3, event_id="ev2")).applied  # the event that is there: answered
    truncate(log, P, 2)
    reused = await log.append(P, "a", event("a", 77, [KeySet(id="box", path="transform.position", frame=1,
                                                             value=[0, 0, 0])]), msg_id="late")
    assert reused.seq == 3
    with pytest.raises(ProjectHalted):
        await pr.wait_for(P, reused.seq, event_id="ev77")
    assert pr.counts["foreign_events"] == 1 and pr.health()[P].state == "halted"
    await until(lambda: pr.reducer(P, "a") is None and pr._projects[P].task.done(), what="the follower stopped")
    await pr.stop()


async def test_a_load_while_the_store_is_down_answers_within_its_bound(monkeypatch):
    import projections.projector as projector_module

    monkeypatch.setattr(projector_module, "LOAD_WAIT_S", 0.3)
    log, store = MemoryLog(), SwitchStore()
    events = script(n=2)
    await fill(log, events)
    pr = projector(log, store)
    pr.watch_project(P)
    await pr.wait_for(P, len(events))
    store.down = True

    async def refuse(*args, **kw):
        raise StoreError("connection refused")

    monkeypatch.setattr(store, "latest_snapshot", refuse)
    await log.append(P, "b", event("b", 9, [ShotConfigure(fps=30.0)]), msg_id="b")  # folding it needs a load
    await until(lambda: pr.health()[P].state == "failing", what="failing")
    started = time.monotonic()
    with pytest.raises(ShotUnavailable, match="not available"):
        await pr.load(P, "c")
    assert time.monotonic() - started < 2
    await pr.stop()
