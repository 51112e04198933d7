"""Folding events into a shot's plain world, in stream order: the decisions of the reduction without its CRDT
document. :class:`~projections.reducer.ShotReducer` adds the document; agents' replicas and reads of the world at
an offset need only this."""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from core import edit
from core.world import World
from events.envelope import Event, decode_event

__all__ = ["Outcome", "WorldFold"]


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
            return Outcome(seq, False, f"undecodable event: {e}")
        return self.apply(seq, event)

    def apply(self, seq: int, event: Event) -> Outcome:
        self.last_seq = max(self.last_seq, seq)
        if event.project != self.project or event.shot != self.shot:
            return Outcome(seq, False, f"event belongs to {event.project}/{event.shot}")
        try:
            changes = edit.apply(self.world, event.ops, event.actor.label)
        except edit.OpError as e:
            return Outcome(seq, False, str(e))
        self.world.head_seq = seq
        self._write(seq, changes)
        return Outcome(seq, True)

    def _write(self, seq: int, changes: list) -> None:
        """What else an applied event changes (the reducer writes its document here)."""
