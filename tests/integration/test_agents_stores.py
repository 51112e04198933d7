"""One contract for the agents' checkpoint and suggestion stores, run against memory and PostgreSQL."""

from __future__ import annotations

import asyncpg
import pytest

from agents.runtime import MemoryCheckpoints, PgCheckpoints
from agents.suggestions import MemorySuggestions, PgSuggestions, Suggestion
from core import ops as O
from projections.migrate import migrate


@pytest.fixture(params=["memory", "postgres"])
async def stores(request, database_url):
    if request.param == "memory":
        yield MemoryCheckpoints(), MemorySuggestions()
        return
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    await migrate(pool)
    try:
        yield PgCheckpoints(pool), PgSuggestions(pool)
    finally:
        await pool.close()


def _sug(sid, seq, x=1.0):
    return Suggestion(id=sid, project="p", shot="s", agent="collision", trigger_seq=seq,
                      ops=[O.EntitySet(id="chair-1", path="transform.position", value=[x, 0.0, 0.0])],
                      reason=f"moved chair-1 to {x}")


async def test_checkpoints_start_empty_and_never_move_backwards(stores):
    cps, _ = stores
    assert await cps.get("collision", "p") is None
    await cps.put("collision", "p", 7)
    await cps.put("collision", "p", 5)
    assert await cps.get("collision", "p") == 7
    assert await cps.get("support", "p") is None


async def test_suggestions_keep_exact_ops_and_are_decided_once(stores):
    _, sugs = stores
    await sugs.propose(_sug("agent.collision.9.0", 9, 2.5))
    await sugs.propose(_sug("agent.collision.4.0", 4))
    await sugs.propose(_sug("agent.collision.9.0", 9, 99.0))  # re-proposed after a restart: kept as first stored
    listed = await sugs.list("p", "s")
    assert [s.id for s in listed] == ["agent.collision.4.0", "agent.collision.9.0"]
    assert listed[1].ops == [O.EntitySet(id="chair-1", path="transform.position", value=[2.5, 0.0, 0.0])]
    assert await sugs.decide("p", "s", "agent.collision.9.0", "accepted", "user:alice", 12)
    assert not await sugs.decide("p", "s", "agent.collision.9.0", "dismissed", "user:bob")
    got = await sugs.get("p", "s", "agent.collision.9.0")
    assert (got.status, got.decided_by, got.result_seq) == ("accepted", "user:alice", 12)
    assert [s.id for s in await sugs.list("p", "s")] == ["agent.collision.4.0"]
    assert len(await sugs.list("p", "s", None)) == 2
    assert await sugs.get("p", "other", "agent.collision.4.0") is None
