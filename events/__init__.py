"""Events and the log (SPEC §4): the event envelope and command, the log port with its in-memory twin, the
JetStream adapter, and the verdicts of the write path. Nothing here knows about projections or the server.

Public API: :class:`Event`, :class:`Command`, :class:`Actor` and their codecs; the :class:`EventLog` port,
:class:`MemoryLog` and :class:`JetStreamLog`; :class:`CommandError` (with its kind) and :class:`Result`."""

from __future__ import annotations

import importlib

_PUBLIC = {
    "Event": "events.envelope",
    "Command": "events.envelope",
    "Actor": "events.envelope",
    "encode_event": "events.envelope",
    "decode_event": "events.envelope",
    "check_command_id": "events.envelope",
    "EventLog": "events.log",
    "MemoryLog": "events.log",
    "Appended": "events.log",
    "Stored": "events.log",
    "LogError": "events.log",
    "ConflictError": "events.log",
    "UnknownProject": "events.log",
    "JetStreamLog": "events.jetstream",
    "CommandError": "events.verdicts",
    "Result": "events.verdicts",
}
"""Each public name and the module that defines it, imported on first use (importing the package stays cheap)."""

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
