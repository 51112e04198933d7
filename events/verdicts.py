"""What the write path answers: a command's :class:`Result`, or a :class:`CommandError` naming the kind of refusal.

These live below every caller (HTTP, socket, CLI, agents), so an agent can tell a refusal from a crash without
knowing about HTTP; ``realtime.errors`` alone turns a kind into an HTTP status or a socket close code.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CommandError", "Result", "KINDS"]

KINDS = ("invalid", "conflict", "not_found", "too_large", "timeout")
"""``invalid``: the command or an op is malformed or does not validate against the world; ``conflict``: the shot
moved on (``expected_seq``) or the command id already names another command; ``not_found``: no such shot;
``too_large``: too many ops or too many bytes; ``timeout``: appended, but its verdict did not come in time."""


class CommandError(Exception):
    """A command refused before it reached the log (or whose verdict did not come): ``kind`` is one of
    :data:`KINDS`; ``index`` / ``field`` name the op and field at fault when known."""

    def __init__(self, kind: str, reason: str, index: int | None = None, field: str | None = None):
        if kind not in KINDS:
            raise ValueError(f"unknown refusal kind {kind!r}; known: {KINDS}")
        super().__init__(reason)
        self.kind, self.reason, self.index, self.field = kind, reason, index, field

    def to_json(self) -> dict:
        d = {"status": "rejected", "reason": self.reason}
        if self.index is not None:
            d["op"] = self.index
        if self.field is not None:
            d["field"] = self.field
        return d


class Result(NamedTuple):
    """A command's verdict: ``status`` is ``applied`` or ``rejected`` (by the reducer, with its reason);
    ``duplicate`` when the command had been sent before and this is its first verdict."""

    seq: int
    status: str
    reason: str | None = None
    duplicate: bool = False

    def to_json(self) -> dict:
        d = {"seq": self.seq, "status": self.status}
        if self.reason:
            d["reason"] = self.reason
        if self.duplicate:
            d["duplicate"] = True
        return d
