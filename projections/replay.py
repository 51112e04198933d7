"""Replay: a shot's world at any offset, from the nearest snapshot plus the log tail, or from scratch.

Both give the same document byte for byte (the reduction is deterministic and the document is written with a
fixed client id), so ``world_at(...).state_hash() == rebuild(...).state_hash()`` for every seq.
"""

from __future__ import annotations

from events.log import EventLog

from .reducer import ShotReducer
from .store import ProjectionStore

__all__ = ["world_at", "rebuild"]


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
