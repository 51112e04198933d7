"""The event envelope and the command a client sends (SPEC §4), as frozen msgspec Structs.

An *event* is what the log holds: one atomic edit with its actor, causation and ops. A *command* is what a client
asks for; the server turns an accepted command into exactly one event whose ``event_id`` is derived from its
``command_id``, so a retried command is appended once.
"""

from __future__ import annotations

import hashlib
import time
from typing import Literal

import msgspec

from core.ops import Op

__all__ = [
    "Actor",
    "Event",
    "Command",
    "encode_event",
    "decode_event",
    "decode_command",
    "event_id_for",
    "MAX_EVENT_BYTES",
    "MAX_OPS",
]

MAX_EVENT_BYTES = 900_000
"""Below NATS's default 1 MiB max_payload, with room for headers."""

MAX_OPS = 1000


class Actor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: Literal["user", "agent", "system"]
    id: str

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"


class Event(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    event_id: str
    command_id: str
    project: str
    shot: str
    actor: Actor
    ops: list[Op]
    causation: int | None = None
    reason: str | None = None
    ts: float = 0.0


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    command_id: str
    ops: list[Op]
    expected_seq: int | None = None
    reason: str | None = None


_event_encoder = msgspec.json.Encoder()
_event_decoder = msgspec.json.Decoder(Event)
_command_decoder = msgspec.json.Decoder(Command)


def encode_event(event: Event) -> bytes:
    return _event_encoder.encode(event)


def decode_event(data: bytes) -> Event:
    return _event_decoder.decode(data)


def decode_command(data: bytes | str) -> Command:
    """Raises ``msgspec.ValidationError`` / ``msgspec.DecodeError`` with the path of the bad field."""
    return _command_decoder.decode(data)


def event_id_for(project: str, shot: str, command_id: str) -> str:
    return hashlib.sha256(f"{project}/{shot}/{command_id}".encode()).hexdigest()[:32]


def now() -> float:
    return time.time()
