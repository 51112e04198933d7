"""The event log port: what the rest of the system needs from JetStream, and its in-memory twin.

Offsets are stream sequence numbers of the project's stream; a shot's events are the subset on its subject, so
a shot's offsets are increasing but not contiguous. ``read`` is bounded (it stops at the head it saw when called);
``follow`` tails a whole project forever, for projectors and agents.
"""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator, Awaitable, NamedTuple, Protocol

__all__ = [
    "LogError",
    "UnknownProject",
    "ConflictError",
    "Appended",
    "Stored",
    "EventLog",
    "MemoryLog",
    "subject_for",
    "stream_for",
    "subject_token",
    "from_subject_token",
]


class LogError(Exception):
    """The log could not do what was asked (unreachable, misconfigured, unknown project)."""


class UnknownProject(LogError):
    """The project has no event stream (never created, or a mistyped id)."""


class ConflictError(LogError):
    """``expected_seq`` did not match the shot's last sequence (HTTP 409)."""

    def __init__(self, expected: int, actual: int | None = None):
        super().__init__(f"shot moved on: expected last seq {expected}"
                         + ("" if actual is None else f", it is {actual}"))
        self.expected, self.actual = expected, actual


class Appended(NamedTuple):
    seq: int
    duplicate: bool


class Stored(NamedTuple):
    seq: int
    shot: str
    data: bytes


def subject_token(ident: str) -> str:
    """Ids may contain '.', which separates NATS subject tokens and is barred from stream names; it is written
    as "~" ("~" never occurs in an id, so the mapping is one-to-one). Ids without dots are unchanged."""
    return ident.replace(".", "~")


def from_subject_token(token: str) -> str:
    return token.replace("~", ".")


def stream_for(project: str) -> str:
    return "WNM_" + subject_token(project)


def subject_for(project: str, shot: str) -> str:
    """``wnm.ev.<project>.<shot>`` (SPEC §4), with dots inside ids escaped by :func:`subject_token`."""
    return f"wnm.ev.{subject_token(project)}.{subject_token(shot)}"


class EventLog(Protocol):
    duplicate_window_s: float | None
    """How long a ``msg_id`` is remembered (None: for ever): a retry within it is appended once."""

    async def ensure_project(self, project: str) -> None: ...

    async def projects(self) -> list[str]: ...

    async def append(self, project: str, shot: str, data: bytes, msg_id: str,
                     expected_seq: int | None = None) -> Appended: ...

    async def start_append(self, project: str, shot: str, data: bytes, msg_id: str,
                           expected_seq: int | None = None) -> Awaitable[Appended]:
        """Send the event and return without waiting for the log to store it: awaiting the result gives what
        :meth:`append` would (or raises what it would). Events sent by one caller are stored in the order sent,
        so a client's commands can be pipelined; errors found before sending (size, ids) raise at once."""
        ...

    async def last_seq(self, project: str, shot: str) -> int: ...

    async def head(self, project: str) -> int:
        """The last sequence of the project's whole stream (0 when empty); raises UnknownProject."""
        ...

    async def get(self, project: str, seq: int, shot: str | None = None) -> Stored | None:
        """The event stored at ``seq`` of the project's stream; with ``shot``, the shot's first event at or after
        ``seq``. None if there is none."""
        ...

    def read(self, project: str, shot: str, after: int = 0,
             until: int | None = None) -> AsyncIterator[Stored]: ...

    def follow(self, project: str, after: int = 0) -> AsyncIterator[Stored]: ...


class MemoryLog:
    """In-memory twin of the JetStream log, with the same semantics (one sequence per project, dedupe by msg id
    within ``duplicate_window_s`` — None: for ever —, expected last subject sequence, NATS's default 1 MiB message
    limit). ``clock`` (monotonic seconds) lets a test step past the window."""

    def __init__(self, max_payload: int = 1 << 20, duplicate_window_s: float | None = None, clock=time.monotonic):
        self.max_payload = max_payload
        self.duplicate_window_s, self.clock = duplicate_window_s, clock
        self._streams: dict[str, list[Stored]] = {}
        self._msg_ids: dict[str, dict[str, tuple[int, float]]] = {}
        self._changed = asyncio.Condition()

    async def ensure_project(self, project: str) -> None:
        self._streams.setdefault(project, [])
        self._msg_ids.setdefault(project, {})

    async def projects(self) -> list[str]:
        return sorted(self._streams)

    def _stream(self, project: str) -> list[Stored]:
        if project not in self._streams:
            raise UnknownProject(f"no event stream for project {project!r}")
        return self._streams[project]

    def _check_size(self, data: bytes) -> None:
        if len(data) > self.max_payload:
            raise LogError(f"event too large: {len(data)} bytes, the limit is {self.max_payload}")

    async def append(self, project, shot, data, msg_id, expected_seq=None) -> Appended:
        stream = self._stream(project)
        self._check_size(data)
        ids = self._msg_ids[project]
        now = self.clock()
        seen = ids.get(msg_id)
        if seen is not None and (self.duplicate_window_s is None or now - seen[1] < self.duplicate_window_s):
            return Appended(seen[0], True)
        if expected_seq is not None:
            last = await self.last_seq(project, shot)
            if last != expected_seq:
                raise ConflictError(expected_seq, last)
        seq = len(stream) + 1
        stream.append(Stored(seq, shot, bytes(data)))
        ids[msg_id] = (seq, now)
        async with self._changed:
            self._changed.notify_all()
        return Appended(seq, False)

    async def start_append(self, project, shot, data, msg_id, expected_seq=None) -> Awaitable[Appended]:
        self._check_size(data)  # raised at once, as JetStream does before sending
        done = asyncio.get_running_loop().create_future()
        try:
            done.set_result(await self.append(project, shot, data, msg_id, expected_seq))
        except LogError as e:  # stored-or-not is known at once here; JetStream tells it with the ack
            done.set_exception(e)
        return done

    async def last_seq(self, project, shot) -> int:
        for s in reversed(self._stream(project)):
            if s.shot == shot:
                return s.seq
        return 0

    async def head(self, project) -> int:
        stream = self._stream(project)
        return stream[-1].seq if stream else 0

    async def get(self, project, seq, shot=None):
        stream = self._stream(project)
        if shot is None:
            return stream[seq - 1] if 0 < seq <= len(stream) else None
        return next((s for s in stream[max(seq, 1) - 1:] if s.shot == shot), None)

    async def read(self, project, shot, after=0, until=None):
        stream = self._stream(project)
        head = len(stream) if until is None else min(until, len(stream))
        for s in stream[after:head]:
            if s.shot == shot:
                yield s

    async def follow(self, project, after=0):
        pos = after
        while True:
            stream = self._stream(project)
            while pos < len(stream):
                yield stream[pos]
                pos += 1
            async with self._changed:
                await self._changed.wait_for(lambda: len(self._stream(project)) > pos)
