"""Replay: a shot's world at any offset, from the nearest snapshot plus the log tail, or from scratch.

Both give the same document byte for byte (the reduction is deterministic and the document is written with a
fixed client id), so ``world_at(...).state_hash() == rebuild(...).state_hash()`` for every seq.

An event whose fold raises (a bug: the reducer rejects what it cannot apply) is rejected with
:func:`internal_rejection`'s reason and leaves the shot as it was before it — the shot is folded again from its
start without that event — so a replay never stops at it, and every replica and every replay, from scratch or
from any snapshot, agree. The projector does the same (see :mod:`projections.projector`).
"""

from __future__ import annotations

import logging
from contextlib import aclosing
from typing import Callable, Mapping, TypeVar

from core.world import World
from events.log import EventLog

from .fold import Outcome, WorldFold
from .reducer import ShotReducer
from .store import ProjectionStore
from .world_codec import decode_world

__all__ = ["world_at", "rebuild", "plain_world_at", "fold_tail", "internal_rejection", "INTERNAL_ERROR"]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=WorldFold)

INTERNAL_ERROR = "internal error while folding: "
"""The reason of an event whose fold raised, followed by the exception's type (never its message, which may
differ between runs)."""


def internal_rejection(seq: int, error: BaseException | str) -> Outcome:
    """The outcome of the event at ``seq`` whose fold raised ``error`` (an exception or its type's name)."""
    return Outcome(seq, False, INTERNAL_ERROR + (error if isinstance(error, str) else type(error).__name__))


async def fold_tail(log: EventLog, start: Callable[[], F], project: str, shot: str, after: int,
                    until: int | None, skip: Mapping[int, str] | None = None) -> tuple[F, int, dict[int, str]]:
    """Fold the shot's events ``after < seq <= until`` into ``start()`` (a fresh fold each call, at ``after``).

    Returns the fold, how many events it applied, and the seqs rejected because their fold raised, each with the
    exception's type name (those in ``skip`` are rejected without being tried). After such an event the shot is
    folded again from ``start()`` without it: whatever the failed fold half-wrote is dropped."""
    poisoned = dict(skip or {})
    while True:
        fold, applied, failed = start(), 0, None
        async with aclosing(log.read(project, shot, after=after, until=until)) as tail:
            async for stored in tail:
                if stored.seq in poisoned:
                    fold.last_seq = max(fold.last_seq, stored.seq)
                    continue
                try:
                    applied += fold.apply_raw(stored.seq, stored.data).applied
                except Exception as e:  # noqa: BLE001 - any failure of a fold is the same deterministic rejection
                    failed = (stored.seq, type(e).__name__)
                    logger.error("folding %s/%s seq %d raised %s: %s; the event is rejected", project, shot,
                                 stored.seq, type(e).__name__, e)
                    break
        if failed is None:
            return fold, applied, poisoned
        poisoned[failed[0]] = failed[1]


async def world_at(log: EventLog, store: ProjectionStore, project: str, shot: str,
                   seq: int | None = None) -> ShotReducer:
    """The shot after every event with sequence ≤ ``seq`` (the head when None): nearest snapshot ≤ ``seq`` plus the
    tail read from the log."""
    snap = await store.latest_snapshot(project, shot, at_most_seq=seq)
    if snap is None:
        return await rebuild(log, project, shot, seq)

    def start() -> ShotReducer:
        reducer = ShotReducer(project, shot, snapshot=snap.doc)
        reducer.last_seq = snap.seq
        return reducer

    return await _fold(log, start, project, shot, after=snap.seq, until=seq)


async def rebuild(log: EventLog, project: str, shot: str, seq: int | None = None) -> ShotReducer:
    """The shot after every event with sequence ≤ ``seq`` (the head when None), from the first event."""
    return await _fold(log, lambda: ShotReducer(project, shot), project, shot, after=0, until=seq)


async def _fold(log: EventLog, start: Callable[[], F], project: str, shot: str, after: int,
                until: int | None) -> F:
    if until is not None and until <= after:
        return start()
    return (await fold_tail(log, start, project, shot, after, until))[0]


async def plain_world_at(log: EventLog, store: ProjectionStore, project: str, shot: str,
                         seq: int | None = None) -> tuple[World, int]:
    """The plain world (no CRDT document) after every event with sequence ≤ ``seq``, and the last seq read.

    Reads the nearest world snapshot ≤ ``seq`` and folds the tail with :func:`core.edit.apply` alone — the same
    decisions the reducer makes, without the document's history — so its cost is the live world plus the tail,
    however long the log. Use :func:`world_at` when the document or its state hash is needed.
    """
    snap = await store.latest_world_snapshot(project, shot, at_most_seq=seq)
    last = 0 if snap is None else snap.seq

    def start() -> WorldFold:
        world = World(project=project, shot=shot) if snap is None else decode_world(snap.world)
        return WorldFold(project, shot, world, last)

    if seq is not None and seq <= last:
        return start().world, last
    fold = await _fold(log, start, project, shot, after=last, until=seq)
    return fold.world, fold.last_seq
