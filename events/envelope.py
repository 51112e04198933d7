"""The event envelope and the command a client sends (SPEC §4), as frozen msgspec Structs.

An *event* is what the log holds: one atomic edit with its actor, causation and ops. A *command* is what a client
asks for; the server turns an accepted command into exactly one event whose ``event_id`` is derived from its
``command_id``, so a retried command is appended once.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Annotated, Literal

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
    "msg_id_for",
    "check_command_id",
    "CommandId",
    "COMMAND_ID_PATTERN",
    "MAX_COMMAND_ID",
    "MAX_EVENT_BYTES",
    "MAX_OPS",
]

MAX_EVENT_BYTES = 900_000
"""Below NATS's default 1 MiB max_payload, with room for headers."""

MAX_OPS = 1000

MAX_COMMAND_ID = 200
COMMAND_ID_PATTERN = r"^[!-~]+$"
"""A command id is 1–200 printable ASCII characters without spaces or control characters (a UUID, ``undo-7``,
``agent.support.41.0``, ``cam/dolly#2``). Spaces are barred because NATS strips them from a ``Nats-Msg-Id``: ids
differing only by them would collide. Every path (HTTP, socket, CLI, agents, restores) checks the same rule: by
the type (:data:`CommandId`, when a command is decoded) and by :func:`check_command_id` (when one is built in code)."""

_COMMAND_ID_RE = re.compile(COMMAND_ID_PATTERN)

CommandId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_COMMAND_ID, pattern=COMMAND_ID_PATTERN,
                                        description="client-chosen id, unique per shot; a retried command with the "
                                                    "same id and ops is appended once")]


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
    command_id: CommandId
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


def check_command_id(command_id: object) -> str:
    """``command_id`` if it follows the rule of :data:`COMMAND_ID_PATTERN`; raises ValueError saying why not."""
    if not isinstance(command_id, str):
        raise ValueError(f"command_id must be a string, got {type(command_id).__name__}")
    if not 0 < len(command_id) <= MAX_COMMAND_ID or not _COMMAND_ID_RE.match(command_id):
        shown = command_id if len(command_id) <= 60 else command_id[:60] + "…"
        raise ValueError(f"command_id must be 1–{MAX_COMMAND_ID} printable ASCII characters without spaces, "
                         f"got {shown!r} ({len(command_id)} characters)")
    return command_id


def event_id_for(project: str, shot: str, command_id: str) -> str:
    return hashlib.sha256(f"{project}/{shot}/{command_id}".encode()).hexdigest()[:32]


def msg_id_for(shot: str, command_id: str) -> str:
    """The ``Nats-Msg-Id`` of a command's event: the log de-duplicates per project stream, and a command id is
    unique per shot, so the id carries the shot (``<shot>/<command_id>``; neither part has a space)."""
    return f"{shot}/{command_id}"


def now() -> float:
    return time.time()
