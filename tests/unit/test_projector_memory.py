"""The projector and replay against the in-memory log and store: every event projected exactly once, snapshots
plus tails equal from-scratch replays, waiting for a seq, listeners receiving the document updates, and recovery
from store failures and restarts."""

from __future__ import annotations

import asyncio
import random

import pytest
from pycrdt import Doc

from core.ops import DirectiveAdd, EntityCreate, EntityRemove, EntitySet, KeySet, RelationAdd, ShotConfigure
from events.envelope import Actor, Event, encode_event
from events.log import MemoryLog
from projections.projector import Projector
from projections.reducer import REDUCER_VERSION, ShotReducer
from projections.replay import rebuild, world_at
from projections.store import MemoryStore, Snapshot, StoreError

P = "proj"


def make_events(shots: list[str], n: int, seed: int = 7, project: str = P) -> list[tuple[str, bytes, bool]]:
    """``n`` events spread over ``shots``: (shot, bytes, should_apply). About one in six is invalid and a few
    are not even JSON; values include nested objects (geometry, directive params, agent modes)."""
    rnd = random.Random(seed)
    out: list[tuple[str, bytes, bool]] = []
    alive: dict[str, list[str]] = {s: [] for s in shots}
    for i in range(n):
        shot = rnd.choice(shots)
        ents = alive[shot]
        roll = rnd.random()
        valid = True
        if i < len(shots) * 2 or not ents:
            eid = f"e{i}"
            ops = [EntityCreate(id=eid, kind="prop",
                                props={"geometry": {"primitive": "box", "size": [1.0, 2.0, 0.5 + i % 3]}})]
            ents.append(eid)
        elif roll < 0.05:
            out.append((shot, b"\x00not json{" + str(i).encode(), False))
            continue
        elif roll < 0.17:
            ops = [KeySet(id="ghost", path="transform.position", frame=1, value=[0, 0, 0])]
            valid = False
        elif roll < 0.2:
            ops = [EntitySet(id=rnd.choice(ents), path="transform.scale", value=[0, 1, 1])]
            valid = False
        elif roll < 0.55:
            ops = [KeySet(id=rnd.choice(ents), path="transform.position", frame=rnd.randrange(48),
                          value=[rnd.uniform(-5, 5), rnd.uniform(0, 2), rnd.uniform(-5, 5)],
                          interp=rnd.choice(["linear", "auto", "constant"]))]
        elif roll < 0.7:
            ops = [EntitySet(id=rnd.choice(ents), path="color", value=[rnd.random(), rnd.random(), 0.5])]
        elif roll < 0.78:
            ops = [DirectiveAdd(id=f"d{i}", agent="camera",
                                params={"subject": rnd.choice(ents), "shot": "MCU", "start": 0, "end": 72})]
        elif roll < 0.84:
            ops = [ShotConfigure(fps=rnd.choice([24.0, 25.0, 30.0]),
                                 agents={"camera": "auto", "support": rnd.choice(["off", "suggest"])})]
        elif roll < 0.9 and len(ents) >= 2:
            lower, upper = sorted(rnd.sample(range(len(ents)), 2))  # later entities rest on earlier ones: no cycles
            ops = [RelationAdd(id=f"r{i}", kind="supports", subject=ents[upper], object=ents[lower])]
        elif roll < 0.93 and len(ents) >= 3:
            eid = ents.pop(rnd.randrange(len(ents)))
            ops = [EntityRemove(id=eid)]
        else:
            eid = f"e{i}"
            ops = [EntityCreate(id=eid, kind="prop")]
            ents.append(eid)
        ev = Event(event_id=f"ev{i}", command_id=f"cmd{i}", project=project, shot=shot,
                   actor=Actor("user" if i % 3 else "agent", "alice" if i % 2 else "support"), ops=ops,
                   causation=i - 1 if i % 5 == 0 and i else None, ts=1_700_000_000.0 + i)
        out.append((shot, encode_event(ev), valid))
    return out


async def fill(log: MemoryLog, events) -> None:
    await log.ensure_project(P)
    for i, (shot, data, _) in enumerate(events):
        await log.append(P, shot, data, msg_id=f"m{i}")


async def caught_up(projector: Projector, seq: int, timeout: float = 10.0) -> None:
    """``projector`` committed ``seq``, and the catalogue's hashes (refreshed at most every HASH_EVERY_S) caught up
    with the shots it folded."""
    async with asyncio.timeout(timeout):
        while projector.position(P) < seq:
            await asyncio.sleep(0.005)
        while any(info.head_seq != projector.reducer(P, info.shot).world.head_seq
                  for info in await projector.store.shots(P) if projector.reducer(P, info.shot) is not None):
            await asyncio.sleep(0.02)


def _projector(log, store, **kw) -> Projector:
    kw.setdefault("retry_max_s", 0.02)
    return Projector(log, store, **kw)


@pytest.fixture
async def projected():
    """600 events on three shots, projected with a snapshot every 20 applied events."""
    log, store = MemoryLog(), MemoryStore()
    events = make_events(["a", "b", "c"], 600)
    await fill(log, events)
    projector = _projector(log, store, snapshot_every=20, batch_max=50)
    projector.watch_project(P)
    await caught_up(projector, len(events))
    yield log, store, projector, events
    await projector.stop()


async def test_every_event_is_audited_once_with_its_outcome(projected):
    log, store, projector, events = projected
    rows = [await store.audit_entry(P, seq) for seq in range(1, len(events) + 1)]
    assert all(r is not None for r in rows)
    assert [r.seq for r in rows] == list(range(1, len(events) + 1))
    assert [r.applied for r in rows] == [valid for _, _, valid in events]
    assert [r.shot for r in rows] == [shot for shot, _, _ in events]
    bad = [r for r in rows if not r.applied]
    assert all(r.reason for r in bad)
    undecodable = [r for r in rows if r.event_id is None]
    assert undecodable and all("undecodable" in r.reason and r.raw.startswith(b"\x00not json") for r in undecodable)
    ok = rows[0]
    assert ok.command_id == "cmd0" and ok.op_types == ("entity.create",) and ok.entity_ids == ("e0",)
    assert ok.payload["command_id"] == "cmd0"
    assert store.commits < len(events)  # consecutive waiting events share a transaction


async def test_catalogue_matches_a_from_scratch_replay(projected):
    log, store, projector, events = projected
    for shot in "abc":
        info = await store.shot(P, shot)
        fresh = await rebuild(log, P, shot)
        seqs = [i + 1 for i, (s, _, _) in enumerate(events) if s == shot]
        applied = [i + 1 for i, (s, _, v) in enumerate(events) if s == shot and v]
        assert info.head_seq == applied[-1] == fresh.world.head_seq
        assert info.last_seq == seqs[-1]
        assert info.event_count == len(seqs)
        assert info.state_hash == fresh.state_hash() == projector.reducer(P, shot).state_hash()
    assert [i.shot for i in await store.shots(P)] == ["a", "b", "c"]


async def test_snapshots_every_n_applied_events_equal_replays_at_their_seq(projected):
    log, store, projector, events = projected
    for shot in "abc":
        snaps = await store.snapshots(P, shot)
        applied = [i + 1 for i, (s, _, v) in enumerate(events) if s == shot and v]
        assert [s.seq for s in snaps] == applied[19::20]
        for snap in snaps:
            assert snap.state_hash == (await rebuild(log, P, shot, snap.seq)).state_hash()


async def test_world_at_any_seq_equals_a_from_scratch_replay(projected):
    log, store, projector, events = projected
    for seq in range(0, len(events) + 1, 7):
        for shot in "abc":
            a = await world_at(log, store, P, shot, seq)
            b = await rebuild(log, P, shot, seq)
            assert a.state_hash() == b.state_hash(), (shot, seq)
            assert a.world.to_json() == b.world.to_json()


async def test_a_snapshot_at_every_k_plus_the_tail_equals_from_scratch():
    log = MemoryLog()
    events = make_events(["s"], 120, seed=3)
    await fill(log, events)
    head = await rebuild(log, P, "s")
    for k in range(0, len(events) + 1):
        at_k = await rebuild(log, P, "s", k)
        store = MemoryStore()
        snap = Snapshot(project=P, shot="s", seq=k, doc=at_k.snapshot(), state_hash=at_k.state_hash(),
                        reducer_version=REDUCER_VERSION)
        await store.commit_batch(P, [], [], [snap], k + 1)
        for until in (k, min(k + 5, len(events)), None):
            got = await world_at(log, store, P, "s", until)
            want = head if until is None else await rebuild(log, P, "s", until)
            assert got.state_hash() == want.state_hash(), (k, until)


async def test_wait_for_answers_applied_or_rejected_with_reason():
    log, store = MemoryLog(), MemoryStore()
    await log.ensure_project(P)
    projector = _projector(log, store)
    projector.watch_project(P)
    good, bad = make_events(["s"], 1)[0][1], b"{}"
    seq1 = (await log.append(P, "s", good, "m1")).seq
    seq2 = (await log.append(P, "s", bad, "m2")).seq
    assert await projector.wait_for(P, seq1, timeout=5) == (seq1, True, None)
    outcome = await projector.wait_for(P, seq2, timeout=5)
    assert not outcome.applied and "undecodable" in outcome.reason
    with pytest.raises(TimeoutError):
        await projector.wait_for(P, seq2 + 1, timeout=0.1)
    await projector.stop()

    again = _projector(log, store)  # a new projector answers for old seqs from the store
    assert await again.wait_for(P, seq2, timeout=5) == outcome
    await again.stop()


async def test_a_lone_event_is_committed_without_waiting_for_more():
    log, store = MemoryLog(), MemoryStore()
    await log.ensure_project(P)
    projector = _projector(log, store, batch_max=1000)
    projector.watch_project(P)
    for i, (shot, data, valid) in enumerate(make_events(["s"], 5)):
        seq = (await log.append(P, shot, data, f"m{i}")).seq
        assert (await projector.wait_for(P, seq, timeout=1)).applied == valid
    await projector.stop()


async def test_listeners_get_each_events_doc_update_in_order():
    log, store = MemoryLog(), MemoryStore()
    events = make_events(["a", "b"], 200, seed=11)
    seen = []
    projector = _projector(log, store, batch_max=30)
    projector.add_listener(lambda p, s, o, update, ev: seen.append((s, o, update, ev)))
    await fill(log, events)
    projector.watch_project(P)
    await caught_up(projector, len(events))
    assert [o.seq for _, o, _, _ in seen] == list(range(1, len(events) + 1))
    assert all((u == b"") == (not o.applied) for _, o, u, _ in seen)
    for shot in "ab":
        # A client that got the initial document and then every broadcast update holds the server's document.
        client = Doc()
        client.apply_update(ShotReducer(P, shot).snapshot())
        for s, o, update, ev in seen:
            if s == shot and update:
                assert ev.shot == shot
                client.apply_update(update)
        server = projector.reducer(P, shot)
        assert client.get_state() == server.doc.get_state()
        assert ShotReducer(P, shot, snapshot=client.get_update()).world.to_json() == server.world.to_json()
    await projector.stop()


async def test_a_batch_listener_hears_the_end_of_each_folded_batch_after_its_events():
    log, store = MemoryLog(), MemoryStore()
    events = make_events(["a"], 95, seed=3)
    heard: list[object] = []
    projector = _projector(log, store, batch_max=30)
    projector.add_listener(lambda p, s, o, update, ev: heard.append(o.seq))
    remove = projector.add_batch_listener(lambda: heard.append("end"))
    await fill(log, events)
    projector.watch_project(P)
    await caught_up(projector, len(events))
    seqs = [x for x in heard if x != "end"]
    assert seqs == list(range(1, len(events) + 1)) and heard[-1] == "end"
    batches, run = [], 0
    for x in heard:
        if x == "end":
            batches.append(run)
            run = 0
        else:
            run += 1
    assert 0 not in batches and max(batches) <= 30 and sum(batches) == len(events)  # one end per batch
    remove()
    seq = (await log.append(P, "a", make_events(["a"], 1, seed=4)[0][1], "late")).seq
    await projector.wait_for(P, seq, timeout=5)
    assert heard[-1] == seq  # removed: no end after the later batch
    await projector.stop()


async def test_a_failing_listener_is_counted_and_logged_and_the_others_still_hear_every_event(caplog):
    log, store = MemoryLog(), MemoryStore()
    events = make_events(["a"], 12, seed=5)
    heard: list[int] = []
    ends: list[str] = []
    projector = _projector(log, store, batch_max=5)

    def broken(p, s, o, update, ev):
        raise RuntimeError("listener bug")

    def broken_end():
        raise RuntimeError("batch listener bug")

    projector.add_listener(broken)
    projector.add_listener(lambda p, s, o, update, ev: heard.append(o.seq))
    projector.add_batch_listener(broken_end)
    projector.add_batch_listener(lambda: ends.append("end"))
    await fill(log, events)
    projector.watch_project(P)
    await caught_up(projector, len(events))
    assert heard == list(range(1, len(events) + 1))
    assert projector.counts["listener_errors"] == len(events) + len(ends) and ends
    assert any("seq 12" in r.getMessage() for r in caplog.records if "listener" in r.getMessage())
    assert any("end of a batch" in r.getMessage() for r in caplog.records)
    assert projector.reducer(P, "a").last_seq == len(events)
    await projector.stop()


class FlakyStore(MemoryStore):
    """Fails a share of commits; half of those fail *after* committing (a lost acknowledgement)."""

    def __init__(self, seed: int = 5):
        super().__init__()
        self.rnd, self.failures = random.Random(seed), 0

    async def commit_batch(self, *args):
        roll = self.rnd.random()
        if roll < 0.2:
            self.failures += 1
            raise StoreError("connection reset")
        result = await super().commit_batch(*args)
        if roll < 0.4:
            self.failures += 1
            raise StoreError("connection lost before the answer")
        return result

    async def latest_snapshot(self, *args, **kw):
        if self.rnd.random() < 0.3:
            raise StoreError("timeout")
        return await super().latest_snapshot(*args, **kw)


async def test_store_failures_are_retried_and_nothing_is_lost_or_repeated():
    log, store = MemoryLog(), FlakyStore()
    events = make_events(["a", "b"], 300, seed=13)
    projector = _projector(log, store, snapshot_every=10, batch_max=16)
    projector.watch_project(P)
    await log.ensure_project(P)
    for i in range(0, len(events), 10):  # arriving a few at a time: many commits, so many failures
        await fill_more(log, events[:i + 10], i)
        await asyncio.sleep(0.06)  # longer than a retry's first backoff
    await caught_up(projector, len(events), timeout=20)
    await projector.stop()
    assert store.failures > 5 and projector.counts["store_errors"] >= store.failures
    assert sorted(store._audit[P]) == list(range(1, len(events) + 1))
    for shot in "ab":
        info = await store.shot(P, shot)
        assert info.event_count == sum(1 for s, _, _ in events if s == shot)
        assert info.state_hash == (await rebuild(log, P, shot)).state_hash()


async def test_restart_and_concurrent_projectors_resume_exactly_once():
    log, store = MemoryLog(), MemoryStore()
    events = make_events(["a", "b", "c"], 400, seed=17)
    await fill(log, events[:150])
    first = _projector(log, store, snapshot_every=15, batch_max=7)
    first.watch_project(P)
    await caught_up(first, 150)
    await first.stop()
    # Two projectors (two server instances) follow the same stream from the checkpoint onwards.
    second, third = _projector(log, store, snapshot_every=15, batch_max=5), _projector(log, store, batch_max=13)
    second.watch_project(P)
    third.watch_project(P)
    for i, (shot, data, _) in enumerate(events[150:], start=150):
        await log.append(P, shot, data, msg_id=f"m{i}")
        if i % 50 == 0:
            await asyncio.sleep(0)
    await caught_up(second, len(events))
    await caught_up(third, len(events))
    await second.stop()
    await third.stop()
    assert sorted(store._audit[P]) == list(range(1, len(events) + 1))
    for shot in "abc":
        info = await store.shot(P, shot)
        fresh = await rebuild(log, P, shot)
        assert info.event_count == sum(1 for s, _, _ in events if s == shot)
        assert info.state_hash == fresh.state_hash() == second.reducer(P, shot).state_hash()
        assert third.reducer(P, shot).state_hash() == fresh.state_hash()
        for snap in await store.snapshots(P, shot):
            assert snap.state_hash == (await rebuild(log, P, shot, snap.seq)).state_hash()


async def test_load_gives_a_shot_the_projector_has_not_seen_since_starting(projected):
    log, store, _, events = projected
    late = _projector(log, store)
    reducer = await late.load(P, "b")
    assert late.reducer(P, "b") is reducer
    assert reducer.state_hash() == (await rebuild(log, P, "b")).state_hash()
    await late.stop()


async def test_history_filters_by_actor_entity_and_op(projected):
    log, store, _, events = projected
    last = await store.history(P, "a", limit=5)
    a_seqs = [i + 1 for i, (s, _, _) in enumerate(events) if s == "a"]
    assert [e.seq for e in last] == a_seqs[-5:]
    first = await store.history(P, "a", after=0, limit=5)
    assert [e.seq for e in first] == a_seqs[:5]
    by_agent = await store.history(P, "a", actor="agent:support", limit=1000)
    assert by_agent and all(e.actor_kind == "agent" and e.actor_id == "support" for e in by_agent)
    creates = await store.history(P, "a", op="entity.create", limit=1000)
    assert creates and all("entity.create" in e.op_types for e in creates)
    eid = creates[0].entity_ids[0]
    about = await store.history(P, "a", entity=eid, limit=1000)
    assert about[0].seq == creates[0].seq and all(eid in e.entity_ids for e in about)


class FlakyLog(MemoryLog):
    """A log whose tails break now and then, mid-stream, and whose bounded reads sometimes fail."""

    def __init__(self, seed: int = 9):
        super().__init__()
        self.rnd, self.breaks = random.Random(seed), 0

    async def follow(self, project, after=0):
        async for stored in super().follow(project, after):
            if self.rnd.random() < 0.03:
                self.breaks += 1
                raise ConnectionError("connection to NATS lost")
            yield stored

    async def read(self, project, shot, after=0, until=None):
        async for stored in super().read(project, shot, after, until):
            if self.rnd.random() < 0.05:
                self.breaks += 1
                raise ConnectionError("read stalled")
            yield stored


async def test_log_failures_are_retried_and_nothing_is_skipped():
    log, store = FlakyLog(), MemoryStore()
    events = make_events(["a", "b", "c"], 300, seed=19)
    await fill(log, events[:100])
    first = _projector(log, store, snapshot_every=10, batch_max=9)
    first.watch_project(P)
    await caught_up(first, 100)
    await first.stop()
    await fill_more(log, events, 100)
    second = _projector(log, store, snapshot_every=10, batch_max=9)  # loads shots through the flaky reads
    second.watch_project(P)
    await caught_up(second, len(events))
    await second.stop()
    assert log.breaks > 5 and second.counts["log_errors"] > 0
    assert [(await store.audit_entry(P, q)).applied for q in range(1, len(events) + 1)] == [v for _, _, v in events]
    steady = MemoryLog()
    await fill(steady, events)
    for shot in "abc":
        assert (await store.shot(P, shot)).state_hash == (await rebuild(steady, P, shot)).state_hash()


async def fill_more(log: MemoryLog, events, start: int) -> None:
    for i, (shot, data, _) in enumerate(events[start:], start=start):
        await log.append(P, shot, data, msg_id=f"m{i}")


async def test_run_follows_projects_that_appear_later():
    log, store = MemoryLog(), MemoryStore()
    events = make_events(["s"], 3)
    await fill(log, events)
    projector = _projector(log, store, rescan_s=0.02)
    runner = asyncio.get_running_loop().create_task(projector.run())
    await caught_up(projector, 3)
    await log.ensure_project("later")
    ev = Event(event_id="x", command_id="x", project="later", shot="s", actor=Actor("user", "u"),
               ops=[EntityCreate(id="box", kind="prop")])
    seq = (await log.append("later", "s", encode_event(ev), "x")).seq
    assert await projector.wait_for("later", seq, timeout=5) == (seq, True, None)
    assert projector.projects() == ["later", P]
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert all(projector._projects[p].task.done() for p in projector.projects())


async def test_plain_world_at_every_offset_equals_the_reducers_world():
    """The fast read path (world snapshot + tail through core.edit alone) gives exactly the reducer's world."""
    from events.log import MemoryLog
    from projections.projector import Projector
    from projections.replay import plain_world_at, rebuild
    from projections.store import MemoryStore

    log, store = MemoryLog(), MemoryStore()
    await log.ensure_project("p")
    events = make_events(["s"], 60, project="p")
    for i, (shot, data, _) in enumerate(events):
        await log.append("p", shot, data, f"m{i}")
    projector = Projector(log, store, snapshot_every=7)
    projector.watch_project("p")
    await projector.wait_for("p", len(events), timeout=10)
    await projector.stop()
    assert (await store.latest_world_snapshot("p", "s")) is not None
    for seq in range(1, len(events) + 1):
        world, _ = await plain_world_at(log, store, "p", "s", seq)
        assert world == (await rebuild(log, "p", "s", seq)).world, seq


async def test_idle_shots_are_unloaded_and_come_back_equal_on_next_use():
    """A shot untouched for ``idle_s`` leaves memory once committed and hashed; the next event or read loads it
    again (snapshot + tail) into the same state, and shots in use stay loaded."""
    log, store = MemoryLog(), MemoryStore()
    events = make_events(["a", "b"], 120)
    await fill(log, events)
    projector = _projector(log, store, snapshot_every=20, batch_max=50, idle_s=0.3, verify_s=0.05)
    projector.watch_project(P)
    try:
        await caught_up(projector, len(events))
        before = {s: (await rebuild(log, P, s)).state_hash() for s in "ab"}
        async with asyncio.timeout(10):
            while projector.counts["shots_unloaded"] < 1:
                projector.reducer(P, "a")  # a read keeps "a" in use
                await asyncio.sleep(0.05)
        assert projector.loaded(P) == ["a"]
        assert (await projector.load(P, "b")).state_hash() == before["b"]
        ev = Event(event_id="late", command_id="late", project=P, shot="b", actor=Actor("user", "alice"),
                   ops=[EntityCreate(id="late", kind="prop")], ts=1_800_000_000.0)
        async with asyncio.timeout(10):  # wait until "b" is unloaded again, then write to it
            while "b" in projector.loaded(P):
                await asyncio.sleep(0.05)
        seq = (await log.append(P, "b", encode_event(ev), msg_id="late")).seq
        assert (await projector.wait_for(P, seq, 5.0)).applied
        fresh = await rebuild(log, P, "b")
        assert projector.reducer(P, "b").state_hash() == fresh.state_hash()
        assert "late" in projector.reducer(P, "b").world.entities
    finally:
        await projector.stop()
