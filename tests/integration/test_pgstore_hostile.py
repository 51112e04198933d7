"""PostgreSQL never refuses what the projector or a read sends it: ids holding a NUL, integers beyond bigint. The
issue's wedge — a NUL shot read retried forever under the project's lock — against the real store."""

from __future__ import annotations

import asyncio

from core.ops import EntityCreate, ShotConfigure
from events.envelope import Actor, Event, encode_event
from events.log import MemoryLog
from projections.pgstore import PgStore
from projections.projector import Projector

P = "proj"


def event(shot: str, i: int, ops) -> bytes:
    return encode_event(Event(event_id=f"ev{i}", command_id=f"c{i}", project=P, shot=shot,
                              actor=Actor("user", "alice"), ops=ops, ts=1_700_000_000.0 + i))


async def test_reads_with_a_nul_or_a_huge_integer_answer_instead_of_failing(database_url):
    store = await PgStore.open(database_url, max_size=4)
    try:
        assert await store.latest_snapshot(P, "\x00") is None
        assert await store.latest_world_snapshot(P, "a\x00b", at_most_seq=10**30) is None
        assert await store.shot("\x00", "\x00") is None
        assert await store.history(P, "\x00", actor="user:\x00", entity="\x00", after=10**20) == []
        assert await store.history(P, "s", before=-(10**20)) == []
        assert await store.audit_entry(P, 10**25) is None
        assert await store.command_entry(P, "s", "\x00") is None
        assert await store.checkpoint("\x00") == 0
    finally:
        await store.close()


async def test_a_nul_shot_load_then_a_write_in_the_same_project(database_url):
    log, store = MemoryLog(), await PgStore.open(database_url, max_size=4)
    projector = Projector(log, store, retry_max_s=0.05, verify_s=0.1)
    try:
        await log.ensure_project(P)
        await log.append(P, "s", event("s", 1, [ShotConfigure(fps=24.0)]), msg_id="m1")
        projector.watch_project(P)
        await projector.wait_for(P, 1)
        async with asyncio.timeout(5):
            empty = await projector.load(P, "\x00")  # a read of a shot that does not exist: answered
        assert empty.last_seq == 0
        appended = await log.append(P, "s", event("s", 2, [EntityCreate(id="cube", kind="prop")]), msg_id="m2")
        assert (await projector.wait_for(P, appended.seq, timeout=5)).applied
        # an event on a shot whose subject holds a NUL is projected too (the memory log accepts any shot name)
        odd = await log.append(P, "a\x00b", event("a\x00b", 3, [ShotConfigure(fps=25.0)]), msg_id="m3")
        assert (await projector.wait_for(P, odd.seq, timeout=5)).applied
        assert (await store.shot(P, "a\x00b")).head_seq == odd.seq
        assert projector.health()[P].ready
    finally:
        await projector.stop()
        await store.close()
