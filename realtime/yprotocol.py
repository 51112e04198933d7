"""The y-websocket wire protocol, plus two message types for commands — pure ``bytes -> bytes`` functions.

One protocol message per binary WebSocket frame; integers are lib0 variable-length unsigned ints (7 bits per byte,
low first) and byte strings are a varuint length followed by the bytes:

==========  =====================  ==============================================  ==========================
outer type  name                   rest of the frame                               direction
==========  =====================  ==============================================  ==========================
0           sync                   sub 0 step 1 + bytes(state vector)              both
                                   sub 1 step 2 + bytes(update)                    both
                                   sub 2 update + bytes(update)                    both
1           awareness              bytes(awareness update)                         both
2           auth                   sub 0 permission denied + bytes(utf-8 reason)   server → client
3           query awareness        (nothing)                                       both
100         command                bytes(utf-8 JSON ``{command_id, ops,            client → server
                                   expected_seq?, reason?}``)
101         command result         bytes(utf-8 JSON ``{command_id, seq, status,    server → client
                                   reason?, code?, duplicate?}``)
==========  =====================  ==============================================  ==========================

Types 100 and 101 are far from y-protocols' 0–3 (and from Hocuspocus' 0–8) so a future stock type cannot collide.
A stock y-websocket client looks up ``provider.messageHandlers[type]`` and, finding none, only logs "Unable to
compute message"; it never receives 101 anyway (results go only to the socket that sent the command). A client that
wants commands installs ``provider.messageHandlers[101]`` and sends type 100 frames on ``provider.ws``. The payload
layout (a length-prefixed UTF-8 string) is lib0's ``writeVarString``/``readVarString``.

An awareness update is ``varuint n`` then n × (``varuint client_id``, ``varuint clock``, ``string state_json``); the
JSON ``null`` state removes a client. A state vector is ``varuint n`` then n × (``varuint client``, ``varuint clock``).
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

__all__ = [
    "MessageType",
    "SyncType",
    "ProtocolError",
    "Message",
    "AwarenessEntry",
    "parse",
    "read_var_uint",
    "write_var_uint",
    "write_bytes",
    "sync_step1",
    "sync_step2",
    "sync_update",
    "awareness",
    "query_awareness",
    "auth_denied",
    "command",
    "command_result",
    "decode_awareness",
    "decode_awareness_raw",
    "awareness_count",
    "encode_awareness",
    "decode_state_vector",
    "check_update_header",
    "MAX_STATE_VECTOR_CLIENTS",
    "EMPTY_AWARENESS",
]


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3
    COMMAND = 100
    COMMAND_RESULT = 101


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


class ProtocolError(ValueError):
    """A frame that is not a well-formed message of this protocol; the text says what is wrong."""


class Message(NamedTuple):
    """A parsed frame. ``sub`` is the sync sub-type (or the auth sub-type), else None; ``payload`` is the
    length-prefixed body (state vector, update, awareness update, JSON), b"" for query awareness."""

    type: MessageType
    sub: int | None
    payload: bytes


class AwarenessEntry(NamedTuple):
    client_id: int
    clock: int
    state: str  # JSON text; "null" removes the client

    @property
    def removed(self) -> bool:
        return self.state == "null"


_MAX_VARUINT_BYTES = 8  # 56 bits: enough for every JavaScript safe integer (< 2**53)


def read_var_uint(data: bytes, pos: int = 0) -> tuple[int, int]:
    """Decode a varuint at ``pos``; returns ``(value, next_pos)``."""
    value = shift = 0
    for i in range(_MAX_VARUINT_BYTES):
        if pos >= len(data):
            raise ProtocolError("truncated integer")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise ProtocolError(f"integer longer than {_MAX_VARUINT_BYTES} bytes")


def write_var_uint(value: int) -> bytes:
    if value < 0:
        raise ValueError(f"varuint must be ≥ 0, got {value}")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    n, pos = read_var_uint(data, pos)
    end = pos + n
    if end > len(data):
        raise ProtocolError(f"length {n} runs past the end of the frame ({len(data) - pos} bytes left)")
    return data[pos:end], end


def write_bytes(payload: bytes) -> bytes:
    return write_var_uint(len(payload)) + payload


def _end(data: bytes, pos: int, what: str) -> None:
    if pos != len(data):
        raise ProtocolError(f"{len(data) - pos} unexpected trailing bytes after {what}")


def parse(frame: bytes) -> Message:
    """Split one frame into its type, sub-type and payload, checking the framing (not the payload's content).
    Raises :class:`ProtocolError` for an empty frame, an unknown type, a bad length or trailing bytes."""
    if not frame:
        raise ProtocolError("empty frame")
    kind, pos = read_var_uint(frame)
    try:
        mtype = MessageType(kind)
    except ValueError:
        raise ProtocolError(f"unknown message type {kind}") from None
    if mtype is MessageType.SYNC:
        sub, pos = read_var_uint(frame, pos)
        if sub not in (0, 1, 2):
            raise ProtocolError(f"unknown sync message type {sub}")
        payload, pos = _read_bytes(frame, pos)
        _end(frame, pos, "a sync message")
        return Message(mtype, SyncType(sub), payload)
    if mtype is MessageType.AUTH:
        sub, pos = read_var_uint(frame, pos)
        payload, pos = _read_bytes(frame, pos)
        _end(frame, pos, "an auth message")
        return Message(mtype, sub, payload)
    if mtype is MessageType.QUERY_AWARENESS:
        _end(frame, pos, "a query-awareness message")
        return Message(mtype, None, b"")
    payload, pos = _read_bytes(frame, pos)
    _end(frame, pos, f"a {mtype.name.lower()} message")
    return Message(mtype, None, payload)


# ---------------------------------------------------------------- encoders


def _sync(sub: SyncType, payload: bytes) -> bytes:
    return bytes((MessageType.SYNC, sub)) + write_bytes(payload)


def sync_step1(state_vector: bytes) -> bytes:
    return _sync(SyncType.STEP1, state_vector)


def sync_step2(update: bytes) -> bytes:
    return _sync(SyncType.STEP2, update)


def sync_update(update: bytes) -> bytes:
    return _sync(SyncType.UPDATE, update)


def awareness(update: bytes) -> bytes:
    return bytes((MessageType.AWARENESS,)) + write_bytes(update)


def query_awareness() -> bytes:
    return bytes((MessageType.QUERY_AWARENESS,))


def auth_denied(reason: str) -> bytes:
    return bytes((MessageType.AUTH, 0)) + write_bytes(reason.encode())


def command(json_payload: bytes) -> bytes:
    """A command frame: ``json_payload`` is the UTF-8 JSON of ``{command_id, ops, expected_seq?, reason?}``."""
    return bytes((MessageType.COMMAND,)) + write_bytes(json_payload)


def command_result(json_payload: bytes) -> bytes:
    """A result frame: ``json_payload`` is the UTF-8 JSON of ``{command_id, seq, status, reason?, code?}``."""
    return bytes((MessageType.COMMAND_RESULT,)) + write_bytes(json_payload)


EMPTY_AWARENESS = awareness(b"\x00")
"""An awareness message with no entries: harmless to every client; the server's keep-alive."""


# ---------------------------------------------------------------- payloads


def awareness_count(update: bytes) -> int:
    """How many entries an awareness update says it holds; reads only its first integer, so a caller can refuse a
    huge update before looking at any entry."""
    return read_var_uint(update)[0]


def decode_awareness_raw(update: bytes) -> list[tuple[int, int, bytes]]:
    """``(client_id, clock, state bytes)`` of each entry, the states left undecoded (a server looks only at the
    entries it keeps)."""
    n, pos = read_var_uint(update)
    if n * 3 > len(update):  # each entry takes at least 3 bytes: refuse absurd counts before looping
        raise ProtocolError(f"awareness update claims {n} entries in {len(update)} bytes")
    out = []
    for _ in range(n):
        client_id, pos = read_var_uint(update, pos)
        clock, pos = read_var_uint(update, pos)
        raw, pos = _read_bytes(update, pos)
        out.append((client_id, clock, raw))
    _end(update, pos, "an awareness update")
    return out


def decode_awareness(update: bytes) -> list[AwarenessEntry]:
    """The entries of an awareness update. States are checked to be UTF-8, not parsed as JSON."""
    out = []
    for client_id, clock, raw in decode_awareness_raw(update):
        try:
            state = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(f"awareness state of client {client_id} is not UTF-8") from None
        out.append(AwarenessEntry(client_id, clock, state))
    return out


def encode_awareness(entries: list[AwarenessEntry] | tuple[AwarenessEntry, ...]) -> bytes:
    parts = [write_var_uint(len(entries))]
    for e in entries:
        parts += [write_var_uint(e.client_id), write_var_uint(e.clock), write_bytes(e.state.encode())]
    return b"".join(parts)


MAX_STATE_VECTOR_CLIENTS = 4096
"""A state vector names every client that ever edited the document: the server's id, and a client's own ids for its
local (never applied) edits. More than this is not a document anyone works on, and costs a loop to read."""


def decode_state_vector(sv: bytes) -> dict[int, int]:
    """``{client_id: clock}`` of a Yjs (v1) state vector of at most :data:`MAX_STATE_VECTOR_CLIENTS` clients."""
    n, pos = read_var_uint(sv)
    if n * 2 > len(sv):
        raise ProtocolError(f"state vector claims {n} clients in {len(sv)} bytes")
    if n > MAX_STATE_VECTOR_CLIENTS:
        raise ProtocolError(f"state vector names {n} clients; at most {MAX_STATE_VECTOR_CLIENTS} are read")
    out = {}
    for _ in range(n):
        client, pos = read_var_uint(sv, pos)
        clock, pos = read_var_uint(sv, pos)
        out[client] = clock
    _end(sv, pos, "a state vector")
    return out


def check_update_header(update: bytes) -> None:
    """Refuse a Yjs (v1) update whose client count cannot fit in its bytes, before any Yjs library reads it: yrs
    reserves room for the declared count first (a 15-byte update declaring 2·10⁸ clients costs ~1 s and ~250 MB).
    Each client's block takes at least 3 bytes (struct count, client, clock)."""
    n, pos = read_var_uint(update)
    if n * 3 > len(update) - pos:
        raise ProtocolError(f"update claims {n} clients in {len(update)} bytes")
