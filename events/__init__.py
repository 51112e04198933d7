"""Events and the log (SPEC §4): the event envelope and command, the log port with its in-memory twin, the
JetStream adapter, and the verdicts of the write path. Nothing here knows about projections or the server.

Public API: :class:`Event`, :class:`Command`, :class:`Actor` and their codecs; the :class:`EventLog` port,
:class:`MemoryLog` and :class:`JetStreamLog`; :class:`CommandError` (with its kind) and :class:`Result`."""

from core.public import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "events.envelope": ["Event", "Command", "Actor", "encode_event", "decode_event", "check_command_id"],
    "events.log": ["EventLog", "MemoryLog", "Appended", "Stored", "LogError", "ConflictError", "UnknownProject"],
    "events.jetstream": ["JetStreamLog"],
    "events.verdicts": ["CommandError", "Result"],
})
