"""Folding events into a shot's plain world, in stream order: the decisions of the reduction without its CRDT
document. :class:`~projections.reducer.ShotReducer` adds the document; agents' replicas and reads of the world at
an offset need only this."""

from __future__ import annotations

import logging
from typing import NamedTuple

import msgspec

from core import edit
from core.limits import clip, describe
from core.world import World
from events.envelope import Event, decode_event

__all__ = ["Outcome", "WorldFold", "failure_reason"]

log = logging.getLogger(__name__)

_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)
"""Raised on, never folded as a rejection: they say nothing about the event, and another replica would not
raise them at the same event."""

def failure_reason(prefix: str, e: BaseException) -> str:
    """The reason recorded for an event whose fold raised ``e``: the same text on every replica (memory addresses
    removed, at most 200 characters of the message)."""
    return f"{prefix}: {describe(e)}"


class Outcome(NamedTuple):
    seq: int
    applied: bool
    reason: str | None = None


class WorldFold:
    """One shot's world; ``apply(seq, event)`` folds one event into it, or rejects it whole."""

    def __init__(self, project: str, shot: str, world: World | None = None, last_seq: int = 0):
        self.project, self.shot = project, shot
        self.world = world if world is not None else World(project=project, shot=shot)
        self.last_seq = last_seq

    def apply_raw(self, seq: int, data: bytes) -> Outcome:
        """Fold an event as it came off the log; an undecodable event is rejected like an invalid one."""
        try:
            event = decode_event(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            self.last_seq = max(self.last_seq, seq)
            return Outcome(seq, False, f"undecodable event: {clip(str(e))}")
        except _FATAL:
            raise
        except BaseException as e:  # RecursionError of an event nested past msgspec's limit
            self.last_seq = max(self.last_seq, seq)
            return Outcome(seq, False, failure_reason("undecodable event", e))
        return self.apply(seq, event)

    def apply(self, seq: int, event: Event) -> Outcome:
        """Fold ``event`` into the world (and what :meth:`_write` keeps beside it), or leave everything exactly as
        it was and say why. Never raises for anything an event holds: an op that cannot apply is an
        ``OpError``; an exception anywhere else in the fold (a defect) rejects the event with its reason, the
        same on every replica, and folding goes on."""
        self.last_seq = max(self.last_seq, seq)
        if event.project != self.project or event.shot != self.shot:
            return Outcome(seq, False, f"event belongs to {event.project}/{event.shot}")
        try:
            changes, undo = edit.apply_undoable(self.world, event.ops, event.actor.label)
        except edit.OpError as e:
            return Outcome(seq, False, str(e))
        except _FATAL:
            raise
        except BaseException as e:  # pragma: no cover - edit turns anything a handler raises into an OpError
            log.error("fold: %s/%s seq %d: the edit raised", self.project, self.shot, seq, exc_info=True)
            return Outcome(seq, False, failure_reason("event could not be applied", e))
        head = self.world.head_seq
        self.world.head_seq = seq
        try:
            self._write(seq, changes)
        except _FATAL:
            raise
        except BaseException as e:  # pyo3's PanicException is a BaseException
            undo()
            self.world.head_seq = head
            log.error("fold: %s/%s seq %d: writing the event failed; rejected", self.project, self.shot, seq,
                      exc_info=True)
            self._unwrite()
            return Outcome(seq, False, failure_reason("event could not be written", e))
        return Outcome(seq, True)

    def _write(self, seq: int, changes: list) -> None:
        """What else an applied event changes (the reducer writes its document here)."""

    def _unwrite(self) -> None:
        """Bring what ``_write`` keeps back to the world after ``_write`` raised half way."""
