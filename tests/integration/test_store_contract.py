"""One contract for the projection store, run against the in-memory twin and real PostgreSQL (migrations applied):
batches are atomic and guarded (no double rows, no backwards checkpoint or catalogue), snapshots are found by seq,
history filters and pages, and text PostgreSQL cannot hold never wedges a batch."""

from __future__ import annotations

import asyncio

import asyncpg
import msgspec
import pytest

from core.ops import DirectiveAdd, EntityCreate, KeySet
from events.envelope import Actor, Event, encode_event
from projections.migrate import migrate, migrations
from projections.pgstore import PgStore
from projections.reducer import REDUCER_VERSION
from projections.store import MemoryStore, ShotUpdate, Snapshot, audit_entry_for

P = "proj"


@pytest.fixture(params=["memory", "postgres"])
async def store(request, database_url):
    if request.param == "memory":
        yield MemoryStore()
        return
    pg = await PgStore.open(database_url, max_size=4)
    yield pg
    await pg.close()


def row(seq: int, shot: str = "s", ops=None, actor=("user", "alice"), applied=True, reason=None, data=None):
    ops = ops if ops is not None else [KeySet(id="cube", path="transform.position", frame=seq, value=[seq, 0, 0])]
    event = Event(event_id=f"ev{seq}", command_id=f"c{seq}", project=P, shot=shot, actor=Actor(*actor), ops=ops,
                  causation=seq - 1 if seq > 1 else None, ts=1_700_000_000.5 + seq)
    if data is not None:
        return audit_entry_for(P, shot, seq, data, None, applied, reason)
    return audit_entry_for(P, shot, seq, encode_event(event), event, applied, reason)


def snap(seq: int, shot: str = "s", version: int = REDUCER_VERSION) -> Snapshot:
    doc = f"doc-{shot}-{seq}".encode()
    return Snapshot(project=P, shot=shot, seq=seq, doc=doc, state_hash=f"h{seq}", reducer_version=version)


async def test_a_batch_is_stored_and_read_back(store):
    rows = [row(1, ops=[EntityCreate(id="cube", kind="prop", props={"color": [1, 0, 0]})]),
            row(2), row(3, applied=False, reason="op 0: id: unknown entity 'x'"), row(4, shot="t")]
    ok = await store.commit_batch(P, rows, [ShotUpdate("s", 2, 3, "hash-s3"), ShotUpdate("t", 4, 4, "hash-t4")],
                                  [snap(2)], 4)
    assert ok and await store.checkpoint(P) == 4 and await store.checkpoint("other") == 0
    for r in rows:
        assert await store.audit_entry(P, r.seq) == r
    assert await store.audit_entry(P, 5) is None
    got = await store.audit_entry(P, 1)
    assert got.payload["ops"][0]["props"] == {"color": [1, 0, 0]} and got.actor_id == "alice"
    assert got.op_types == ("entity.create",) and got.entity_ids == ("cube",) and got.causation is None
    s = await store.shot(P, "s")
    assert (s.head_seq, s.last_seq, s.state_hash, s.event_count) == (2, 3, "hash-s3", 3)
    assert [i.shot for i in await store.shots(P)] == ["s", "t"] and await store.shots("other") == []
    assert await store.shot(P, "nope") is None


async def test_a_redelivered_batch_changes_nothing(store):
    rows = [row(1), row(2)]
    assert await store.commit_batch(P, rows, [ShotUpdate("s", 2, 2, "h2")], [snap(2)], 2)
    assert not await store.commit_batch(P, rows, [ShotUpdate("s", 2, 2, "h2")], [snap(2)], 2)
    assert not await store.commit_batch(P, rows[:1], [ShotUpdate("s", 1, 1, "h1")], [], 1)
    assert await store.checkpoint(P) == 2
    s = await store.shot(P, "s")
    assert (s.head_seq, s.state_hash, s.event_count) == (2, "h2", 2)
    assert len(await store.history(P, "s")) == 2 and len(await store.snapshots(P, "s")) == 1


async def test_an_overlapping_batch_adds_only_what_is_new(store):
    assert await store.commit_batch(P, [row(1), row(2)], [ShotUpdate("s", 2, 2, "h2")], [], 2)
    # Another projector cut its batches differently: 1..4 arrives after 1..2 was committed.
    assert await store.commit_batch(P, [row(1), row(2), row(3), row(4)], [ShotUpdate("s", 4, 4, "h4")],
                                    [snap(2), snap(4)], 4)
    assert await store.checkpoint(P) == 4
    assert [e.seq for e in await store.history(P, "s")] == [1, 2, 3, 4]
    s = await store.shot(P, "s")
    assert (s.head_seq, s.last_seq, s.state_hash, s.event_count) == (4, 4, "h4", 4)
    assert [x.seq for x in await store.snapshots(P, "s")] == [2, 4]


async def test_a_shot_row_never_goes_back_to_an_older_seq(store):
    assert await store.commit_batch(P, [row(1), row(5)], [ShotUpdate("s", 5, 5, "h5")], [], 5)
    assert await store.commit_batch(P, [row(6, shot="t")], [ShotUpdate("t", 6, 6, "t6"), ShotUpdate("s", 1, 1, "h1")],
                                    [], 6)
    s = await store.shot(P, "s")
    assert (s.head_seq, s.last_seq, s.state_hash) == (5, 5, "h5")


async def test_a_hash_refresh_moves_the_pair_forward_only_within_what_is_committed(store):
    # A stream of events: the batch carries the last pair hashed (seq 2), the refresh lands later with seq 4's.
    assert await store.commit_batch(P, [row(1), row(2), row(3), row(4)], [ShotUpdate("s", 2, 4, "h2")], [], 4)
    await store.refresh_hash(P, "s", 4, "h4")
    s = await store.shot(P, "s")
    assert (s.head_seq, s.last_seq, s.state_hash, s.event_count) == (4, 4, "h4", 4)
    await store.refresh_hash(P, "s", 3, "h3")  # older: ignored
    await store.refresh_hash(P, "s", 5, "h5")  # beyond the committed last_seq: ignored
    await store.refresh_hash(P, "nope", 1, "x")  # no such shot: nothing created
    s = await store.shot(P, "s")
    assert (s.head_seq, s.state_hash) == (4, "h4") and await store.shot(P, "nope") is None


async def test_latest_snapshot_is_the_newest_at_or_below_seq_of_this_reduction(store):
    await store.commit_batch(P, [], [], [snap(3), snap(10), snap(7), snap(8, shot="t"), snap(9, version=-1)], 10)
    assert (await store.latest_snapshot(P, "s")).seq == 10
    assert (await store.latest_snapshot(P, "s", at_most_seq=9)).seq == 7
    got = await store.latest_snapshot(P, "s", at_most_seq=7)
    assert got == snap(7)
    assert await store.latest_snapshot(P, "s", at_most_seq=2) is None
    assert await store.latest_snapshot(P, "u") is None
    assert (await store.latest_snapshot(P, "s", reducer_version=-1)).seq == 9
    assert [x.seq for x in await store.snapshots(P, "s")] == [3, 7, 10]


async def test_history_filters_and_pages(store):
    rows = []
    for seq in range(1, 31):
        actor = ("agent", "support") if seq % 3 == 0 else ("user", "alice" if seq % 2 else "bob")
        ops = [KeySet(id=f"e{seq % 4}", path="transform.position", frame=1, value=[0, 0, 0])]
        if seq % 5 == 0:
            ops.append(DirectiveAdd(id=f"d{seq}", agent="camera", params={"subject": "e1"}))
        rows.append(row(seq, shot="s" if seq % 7 else "t", ops=ops, actor=actor, applied=seq % 4 != 0,
                        reason=None if seq % 4 else "nope"))
    await store.commit_batch(P, rows, [], [], 30)
    s_seqs = [r.seq for r in rows if r.shot == "s"]

    assert [e.seq for e in await store.history(P, "s")] == s_seqs
    assert [e.seq for e in await store.history(P, "s", limit=3)] == s_seqs[-3:]
    assert [e.seq for e in await store.history(P, "s", after=10, limit=3)] == [11, 12, 13]
    assert [e.seq for e in await store.history(P, "s", before=10, limit=2)] == [8, 9]
    assert [e.seq for e in await store.history(P, "s", after=10, before=15)] == [11, 12, 13]
    assert await store.history(P, "s", limit=0) == []
    assert [e.seq for e in await store.history(P, "s", actor="agent:support")] == [q for q in s_seqs if q % 3 == 0]
    assert [e.seq for e in await store.history(P, "s", actor="bob")] == [q for q in s_seqs if q % 3 and q % 2 == 0]
    assert await store.history(P, "s", actor="agent:bob") == []
    assert [e.seq for e in await store.history(P, "s", entity="e2")] == [q for q in s_seqs if q % 4 == 2]
    assert [e.seq for e in await store.history(P, "s", op="directive.add")] == [q for q in s_seqs if q % 5 == 0]
    both = await store.history(P, "s", op="directive.add", entity="e3", actor="agent:support")
    assert [e.seq for e in both] == [q for q in s_seqs if q % 4 == 3 and q % 5 == 0 and q % 3 == 0] == [15]
    assert [e.status for e in await store.history(P, "t")] == ["applied" if q % 4 else "rejected"
                                                                 for q in range(7, 31, 7)]


async def test_text_postgres_cannot_hold_does_not_wedge_a_batch(store):
    nul = row(1, actor=("user", "a\x00b"), applied=False, reason="bad value '\x00'")
    nul_payload = row(2, ops=[DirectiveAdd(id="d", agent="camera", params={"note": "x\x00y"})])
    surrogate = row(5, data=b'{"note": "x\\ud800"}', applied=False, reason="undecodable event")
    garbage = row(3, data=b"\xff\xfe not json", applied=False, reason="undecodable event")
    nan = row(4, data=b'{"ops": NaN}', applied=False, reason="undecodable event")
    assert await store.commit_batch(P, [nul, nul_payload, garbage, nan, surrogate], [], [], 5)
    assert (await store.audit_entry(P, 1)).actor_id.startswith("a")
    got = await store.audit_entry(P, 2)
    assert got.status == "applied" and got.command_id == "c2"
    assert got.payload == nul_payload.payload or msgspec.json.decode(got.raw) == nul_payload.payload
    got = await store.audit_entry(P, 3)
    assert got.payload is None and got.raw == b"\xff\xfe not json" and got.reason == "undecodable event"
    assert (await store.audit_entry(P, 4)).status == "rejected"
    assert (await store.audit_entry(P, 5)).raw == b'{"note": "x\\ud800"}'
    assert await store.checkpoint(P) == 5


async def test_concurrent_projectors_store_each_row_once(store):
    """Three projectors on one stream, each committing 1..60 in its own batch sizes, at the same time."""

    async def projector(size: int) -> int:
        advanced = 0
        for start in range(1, 61, size):
            batch = [row(q) for q in range(start, min(start + size, 61))]
            last = batch[-1].seq
            advanced += await store.commit_batch(P, batch, [ShotUpdate("s", last, last, f"h{last}")], [snap(last)],
                                                 last)
        return advanced

    results = await asyncio.gather(projector(4), projector(7), projector(60))
    assert sum(results) >= 1  # whoever got there first; the others found their batches already stored
    assert await store.checkpoint(P) == 60
    assert [e.seq for e in await store.history(P, "s", limit=1000)] == list(range(1, 61))
    s = await store.shot(P, "s")
    assert (s.event_count, s.last_seq, s.state_hash) == (60, 60, "h60")


async def test_migrations_apply_once_even_when_processes_race(database_url):
    conns = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        applied = await asyncio.gather(*[migrate(c) for c in conns])
        versions = [m.version for m in migrations()]
        assert sorted(v for a in applied for v in a) == versions
        assert await migrate(conns[0]) == []
        rows = await conns[0].fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == versions
        tables = {r["tablename"] for r in await conns[0].fetch("SELECT tablename FROM pg_tables")}
        assert {"audit", "shots", "snapshots", "projector_checkpoints"} <= tables
    finally:
        for c in conns:
            await c.close()
