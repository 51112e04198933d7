"""Replay: a shot's world at any offset, from the nearest snapshot plus the log tail, or from scratch.

Both give the same document byte for byte (the reduction is deterministic and the document is written with a
fixed client id), so ``world_at(...).state_hash() == rebuild(...).state_hash()`` for every seq.
"""

from __future__ import annotations

from contextlib import aclosing

from core.world import World
from events.log import EventLog

from .fold import WorldFold
from .reducer import ShotReducer
from .store import ProjectionStore
from .world_codec import decode_world

__all__ = ["world_at", "rebuild", "plain_world_at"]


async def world_at(log: EventLog, store: ProjectionStore, project: str, shot: str,
                   seq: int | None = None) -> ShotReducer:
    """The shot after every event with sequence ≤ ``seq`` (the head when None): nearest snapshot ≤ ``seq`` plus the
    tail read from the log."""
    snap = await store.latest_snapshot(project, shot, at_most_seq=seq)
    if snap is None:
        return await rebuild(log, project, shot, seq)
    reducer = ShotReducer(project, shot, snapshot=snap.doc)
    reducer.last_seq = snap.seq
    await _fold(log, reducer, after=snap.seq, until=seq)
    return reducer


async def rebuild(log: EventLog, project: str, shot: str, seq: int | None = None) -> ShotReducer:
    """The shot after every event with sequence ≤ ``seq`` (the head when None), from the first event."""
    reducer = ShotReducer(project, shot)
    await _fold(log, reducer, after=0, until=seq)
    return reducer


async def _fold(log: EventLog, reducer: ShotReducer, after: int, until: int | None) -> None:
    if until is not None and until <= after:
        return
    async for stored in log.read(reducer.project, reducer.shot, after=after, until=until):
        reducer.apply_raw(stored.seq, stored.data)


async def plain_world_at(log: EventLog, store: ProjectionStore, project: str, shot: str,
                         seq: int | None = None) -> tuple[World, int]:
    """The plain world (no CRDT document) after every event with sequence ≤ ``seq``, and the last seq read.

    Reads the nearest world snapshot ≤ ``seq`` and folds the tail with :func:`core.edit.apply` alone — the same
    decisions the reducer makes, without the document's history — so its cost is the live world plus the tail,
    however long the log. Use :func:`world_at` when the document or its state hash is needed.
    """
    snap = await store.latest_world_snapshot(project, shot, at_most_seq=seq)
    if snap is None:
        world, last = World(project=project, shot=shot), 0
    else:
        world, last = decode_world(snap.world), snap.seq
    if seq is not None and seq <= last:
        return world, last
    fold = WorldFold(project, shot, world, last)
    async with aclosing(log.read(project, shot, after=last, until=seq)) as tail:
        async for stored in tail:
            fold.apply_raw(stored.seq, stored.data)
    return fold.world, fold.last_seq
