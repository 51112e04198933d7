"""The JetStream adapter of the event log port (SPEC §4 "Log"); ``events.log.MemoryLog`` is its twin.

One stream per project (``stream_for``), one subject per shot (``subject_for``), file storage, no limits, deletes
and purges denied, ``Nats-Msg-Id`` de-duplication within ``duplicate_window_s``. Build it from a connected client
(``JetStreamLog(nc)``; the caller closes ``nc``) or let it own one (``await JetStreamLog.connect(url)``, then
``await log.close()``).

``read`` and ``follow`` run an *ordered pull consumer* (:mod:`events.jetstream_pull`): an ephemeral, ack-less, in-memory consumer that the server
feeds in batches; on a gap in its consumer sequence, a lost heartbeat, a reconnect or a deleted consumer it is
recreated from the last delivered sequence + 1, so callers see every message once and in stream order. Closing
the iterator (``aclose``, ``break`` followed by garbage collection, cancellation) deletes the consumer; the
server's ``inactive_threshold`` removes any that a dead client leaves behind.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import AsyncIterator, Awaitable

import msgspec

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js import api

from events import nats_conn
from events.jetstream_acks import Acks, ack_decoder
from events.jetstream_pull import STREAM_NOT_FOUND as _STREAM_NOT_FOUND, OrderedPull
from events.log import (Appended, ConflictError, LogError, Stored, UnknownProject, from_subject_token, stream_for,
                        subject_for, subject_token)

__all__ = ["JetStreamLog", "project_for_stream"]

log = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # SPEC §2 ids; also safe as NATS subject tokens

# JetStream API error codes (nats-server's errors.json)
_WRONG_LAST_SEQUENCE = (10071, 10164)  # 10164 is what clustered servers may answer
_NO_MESSAGE_FOUND = 10037
_STREAM_NAME_IN_USE = 10058
_SUBJECTS_OVERLAP = 10065
_STREAM_MISMATCH = 10060
_MESSAGE_TOO_BIG = 10054

_API = api.DEFAULT_PREFIX
_HDR_OVERHEAD = len(b"NATS/1.0\r\n") + 2  # status line and the blank line that ends the headers


def project_for_stream(stream: str) -> str | None:
    """Inverse of ``stream_for``; None for a stream that is not a project's."""
    if not stream.startswith("WNM_"):
        return None
    return from_subject_token(stream[4:])


def _check_id(what: str, value: str) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise LogError(f"invalid {what} id {value!r}: expected {_ID.pattern}")


class _Translate:
    """``with _Translate("what"):`` turns NATS client errors into LogError (LogError itself passes through)."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, kind, e, tb):
        if e is None or isinstance(e, LogError) or not isinstance(e, (nats.errors.Error, OSError)):
            return False
        if isinstance(e, nats.errors.TimeoutError):
            raise LogError(f"{self.what}: NATS did not answer in time") from e
        if isinstance(e, nats.js.errors.APIError) and e.err_code == _STREAM_NOT_FOUND:
            raise UnknownProject(f"{self.what}: no event stream (unknown project?)") from e
        raise LogError(f"{self.what}: {e}") from e


class JetStreamLog:
    """``EventLog`` on NATS JetStream.

    nc : a connected ``nats.aio.client.Client``; this object never closes it unless ``owns_connection``.
    duplicate_window_s : how long a ``msg_id`` is remembered by the server (retries within it append once).
    replicas : stream replicas (1 on a single server, 3 on a production cluster).
    read_batch : messages per pull request of ``read`` / ``follow``; ``read_buffer_bytes`` caps what is in flight
        for one reader, ``read_budget_bytes`` for all of them together: each open reader gets an equal share of it
        (at least 256 KiB), so a hundred projects catching up at once stay under the server's per-connection
        pending limit (64 MiB) instead of being cut off as a slow consumer.
    heartbeat_s : idle heartbeat of pull requests; two missed ones recreate the consumer.
    read_stall_s : ``read`` raises LogError after this long without progress (``follow`` retries forever).
    """

    def __init__(self, nc: NATS, *, duplicate_window_s: float = 2 * 3600.0, replicas: int = 1,
                 timeout_s: float = 5.0, read_batch: int = 1000, read_buffer_bytes: int = 16 << 20,
                 read_budget_bytes: int = 24 << 20, heartbeat_s: float = 5.0, read_stall_s: float = 30.0,
                 owns_connection: bool = False):
        if duplicate_window_s <= 0:
            raise ValueError(f"duplicate_window_s must be > 0, got {duplicate_window_s}")
        self._nc = nc
        self._js = nc.jetstream(timeout=timeout_s)
        self.duplicate_window_s = float(duplicate_window_s)
        self.replicas = replicas
        self.timeout_s = timeout_s
        self.read_batch = read_batch
        self.read_buffer_bytes = read_buffer_bytes
        self.read_budget_bytes = read_budget_bytes
        self.open_readers = 0  # OrderedPull cursors started and not yet closed
        self.heartbeat_s = heartbeat_s
        self.read_stall_s = read_stall_s
        self._owns = owns_connection
        self._acks: Acks | None = None

    def reader_share_bytes(self) -> float:
        """The bytes one open reader may have in flight: ``read_buffer_bytes``, or its equal share of
        ``read_budget_bytes`` when that is smaller (never under 256 KiB)."""
        return min(self.read_buffer_bytes, max(256 << 10, self.read_budget_bytes / max(1, self.open_readers)))

    @classmethod
    async def connect(cls, url: str, *, name: str = "wnm", connect_timeout_s: float = 10.0,
                      **kwargs) -> JetStreamLog:
        """Connect to ``url`` (see ``events.nats_conn.connect``) and own the connection: ``await log.close()``.
        Other keyword arguments are the constructor's."""
        nc = await nats_conn.connect(url, name=name, timeout_s=connect_timeout_s)
        return cls(nc, owns_connection=True, **kwargs)

    async def close(self) -> None:
        if self._acks is not None:
            await self._acks.close()
            self._acks = None
        if self._owns and not self._nc.is_closed:
            try:
                await self._nc.close()
            except OSError as e:  # the server went first (e.g. shutting down together): nothing left to flush
                log.info("closing the NATS connection: %s", e)

    # -- streams ---------------------------------------------------------------------------------------------

    def stream_config(self, project: str) -> api.StreamConfig:
        """The configuration ``ensure_project`` gives a project's stream."""
        return api.StreamConfig(
            name=stream_for(project),
            description=f"World Narrative events of project {project}",
            subjects=[f"wnm.ev.{subject_token(project)}.>"],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            num_replicas=self.replicas,
            max_age=0,
            max_msgs=-1,
            max_bytes=-1,
            max_msgs_per_subject=-1,
            duplicate_window=self.duplicate_window_s,
            deny_delete=True,
            deny_purge=True,
            allow_direct=True,
            allow_msg_ttl=False,
        )

    async def ensure_project(self, project: str) -> None:
        """Create the project's stream, or bring an existing one's safe settings in line (never loses data)."""
        _check_id("project", project)
        want = self.stream_config(project)
        with _Translate(f"creating the event stream of project {project!r}"):
            try:
                await self._js.add_stream(want)
                return
            except nats.js.errors.APIError as e:
                if e.err_code == _SUBJECTS_OVERLAP:
                    raise LogError(f"the subjects of project {project!r} ({want.subjects[0]}) overlap another "
                                   "stream's (a project whose id is a dotted prefix of this one?)") from e
                if e.err_code != _STREAM_NAME_IN_USE:
                    raise
            have = (await self._js.stream_info(want.name)).config
            fixed = _reconciled(have, want)
            if fixed is not None:
                log.warning("updating the event stream %s to the expected settings", want.name)
                await self._js.update_stream(fixed)

    async def projects(self) -> list[str]:
        found: list[str] = []
        offset = 0
        while True:
            resp = await self._api("STREAM.NAMES", {"subject": "wnm.ev.>", "offset": offset}, "listing projects")
            names = resp.get("streams") or []
            found += names
            offset += len(names)
            if not names or offset >= resp.get("total", 0):
                break
        return sorted(p for p in map(project_for_stream, found) if p is not None)

    async def _api(self, what: str, req: dict, doing: str) -> dict:
        with _Translate(doing):
            try:
                msg = await self._nc.request(f"{_API}.{what}", json.dumps(req).encode(), timeout=self.timeout_s)
            except nats.errors.NoRespondersError as e:
                raise LogError(f"{doing}: JetStream is not enabled on the NATS server") from e
            resp = json.loads(msg.data)
            if "error" in resp:
                nats.js.errors.APIError.from_error(resp["error"])  # raises
            return resp

    # -- writing ---------------------------------------------------------------------------------------------

    async def append(self, project: str, shot: str, data: bytes, msg_id: str,
                     expected_seq: int | None = None) -> Appended:
        return await (await self.start_append(project, shot, data, msg_id, expected_seq))

    async def start_append(self, project: str, shot: str, data: bytes, msg_id: str,
                           expected_seq: int | None = None) -> Awaitable[Appended]:
        """Publish the event with a reply subject of this log's one ack subscription and return the wait for its
        ack. nats-py writes a publish into the connection's buffer before its first await, and the server stores
        what one connection publishes in order, so events sent one after another are stored in that order."""
        _check_id("shot", shot)
        stream, subject = stream_for(project), subject_for(project, shot)
        headers = {"Nats-Msg-Id": msg_id, "Nats-Expected-Stream": stream}  # a fresh dict: nats-py mutates it
        if expected_seq is not None:
            headers["Nats-Expected-Last-Subject-Sequence"] = str(int(expected_seq))
        size = len(data) + _HDR_OVERHEAD + sum(len(k) + len(v) + 4 for k, v in headers.items())
        limit = self._nc.max_payload
        if limit and size > limit:
            # The server would answer an oversized message by closing the whole connection.
            raise LogError(f"event too large: {size} bytes with headers, the NATS limit is {limit}")
        with _Translate(f"appending to {project}/{shot}"):
            acks = self._acks or await self._start_acks()
            token = acks.next_token()
            future = acks.expect(token, self.timeout_s)
            try:
                await self._nc.publish(subject, data, reply=acks.prefix + token, headers=headers)
            except nats.errors.MaxPayloadError as e:
                acks.forget(token)
                raise LogError(f"event too large: the NATS limit is {limit} bytes") from e
            except BaseException:
                acks.forget(token)
                raise
        return self._acked(future, project, shot, stream, subject, msg_id, expected_seq)

    async def _start_acks(self) -> Acks:
        # Set before the first await, so a concurrent first append shares it: nats-py registers the subscription
        # and queues its SUB before its own first await, ahead of any publish that replies to it.
        acks = self._acks = Acks(self._nc.new_inbox() + ".")
        try:
            await acks.subscribe(self._nc)
        except BaseException:
            self._acks = None
            raise
        return acks

    async def _acked(self, future: asyncio.Future, project: str, shot: str, stream: str, subject: str,
                     msg_id: str, expected_seq: int | None) -> Appended:
        try:
            msg = await future
        except TimeoutError:
            raise LogError(f"appending to {project}/{shot}: no ack within {self.timeout_s}s; the event may or may "
                           "not be stored, retrying with the same msg_id is safe") from None
        if msg.headers and msg.headers.get("Status") == "503":  # no responders: no stream takes the subject
            raise UnknownProject(f"no event stream for project {project!r}")
        try:
            ack = ack_decoder.decode(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise LogError(f"appending to {project}/{shot}: unreadable ack {msg.data[:200]!r}") from e
        if ack.error is None:
            return Appended(ack.seq, ack.duplicate)
        e = nats.js.errors.APIError(code=ack.error.code, err_code=ack.error.err_code,
                                    description=ack.error.description)
        if e.err_code in _WRONG_LAST_SEQUENCE and expected_seq is not None:
            with _Translate(f"appending to {project}/{shot}"):
                return await self._conflict(stream, subject, msg_id, int(expected_seq), e)
        if e.err_code == _STREAM_MISMATCH:
            raise LogError(f"subject {subject} is captured by a stream other than {stream}") from e
        if e.err_code == _MESSAGE_TOO_BIG:
            raise LogError(f"event too large for stream {stream}: {e.description}") from e
        raise LogError(f"appending to {project}/{shot}: {e}") from e

    async def _conflict(self, stream: str, subject: str, msg_id: str, expected: int,
                        e: nats.js.errors.APIError) -> Appended:
        """The server checks the expected sequence *before* de-duplicating, so a retried command that carries
        ``expected_seq`` fails once the original landed. The original, if any, is the shot's first message after
        ``expected``: a retry is reported as the duplicate it is, anything else as a conflict."""
        m = re.search(r"(\d+)\s*$", e.description or "")
        actual = int(m.group(1)) if m else None
        if actual is None or actual > expected:
            try:
                first = await self._js.get_msg(stream, seq=expected + 1, subject=subject, next=True)
            except nats.js.errors.NotFoundError:
                first = None
            if first is not None and (first.headers or {}).get("Nats-Msg-Id") == msg_id:
                return Appended(first.seq, True)
        raise ConflictError(expected, actual) from e

    # -- reading ---------------------------------------------------------------------------------------------

    async def last_seq(self, project: str, shot: str) -> int:
        # Asked of the stream leader (not a direct get, which any replica may answer from behind).
        with _Translate(f"reading the last sequence of {project}/{shot}"):
            try:
                msg = await self._js.get_last_msg(stream_for(project), subject_for(project, shot))
            except nats.js.errors.NotFoundError as e:
                if e.err_code == _NO_MESSAGE_FOUND:
                    return 0
                if e.err_code == _STREAM_NOT_FOUND:
                    raise UnknownProject(f"no event stream for project {project!r}") from e
                raise
            except nats.js.errors.ServiceUnavailableError as e:
                raise LogError("JetStream is not available on the NATS server") from e
        return msg.seq

    async def head(self, project: str) -> int:
        """The last sequence of the project's stream, as its leader stores it (0 when empty)."""
        with _Translate(f"reading the head of project {project!r}"):
            try:
                info = await self._js.stream_info(stream_for(project))
            except nats.js.errors.NotFoundError as e:
                raise UnknownProject(f"no event stream for project {project!r}") from e
            except nats.js.errors.ServiceUnavailableError as e:
                raise LogError("JetStream is not available on the NATS server") from e
        return info.state.last_seq

    async def get(self, project: str, seq: int, shot: str | None = None) -> Stored | None:
        """The event at ``seq`` of the project's stream (with ``shot``: the shot's first at or after ``seq``),
        asked of the stream leader; None if there is none."""
        prefix = f"wnm.ev.{subject_token(project)}."
        with _Translate(f"reading seq {seq} of project {project!r}"):
            try:
                if shot is None:
                    msg = await self._js.get_msg(stream_for(project), seq=int(seq))
                else:
                    msg = await self._js.get_msg(stream_for(project), seq=max(int(seq), 1),
                                                 subject=subject_for(project, shot), next=True)
            except nats.js.errors.NotFoundError as e:
                if e.err_code == _STREAM_NOT_FOUND:
                    raise UnknownProject(f"no event stream for project {project!r}") from e
                return None
        subject = msg.subject or ""
        shot = subject[len(prefix):] if subject.startswith(prefix) else subject
        return Stored(msg.seq, from_subject_token(shot), msg.data or b"")

    async def read(self, project: str, shot: str, after: int = 0,
                   until: int | None = None) -> AsyncIterator[Stored]:
        """The shot's events with ``after < seq <= until`` in order; ``until`` defaults to the shot's last seq when
        iteration starts. Ends there (messages appended meanwhile are not waited for)."""
        last = await self.last_seq(project, shot)
        end = last if until is None else min(until, last)
        if end <= after:
            return
        cursor = OrderedPull(self, stream_for(project), subject_for(project, shot), after + 1,
                              give_up_s=self.read_stall_s)
        try:
            await cursor.start()
            while True:
                seq, _, data, pending = await cursor.next()
                if seq <= end:
                    yield Stored(seq, shot, data)
                if seq >= end or pending == 0:
                    return
        finally:
            await cursor.close()

    async def follow(self, project: str, after: int = 0) -> AsyncIterator[Stored]:
        """Every event of the project (all shots) from ``after + 1`` in stream order, waiting for new ones forever;
        survives reconnects and server restarts."""
        prefix = f"wnm.ev.{subject_token(project)}."
        cursor = OrderedPull(self, stream_for(project), None, after + 1, give_up_s=None)
        try:
            await cursor.start()
            while True:
                seq, subject, data, _ = await cursor.next()
                shot = subject[len(prefix):] if subject.startswith(prefix) else subject
                yield Stored(seq, from_subject_token(shot), data)
        finally:
            await cursor.close()


def _reconciled(have: api.StreamConfig, want: api.StreamConfig) -> api.StreamConfig | None:
    """``have`` with the settings that can change without losing data set to ``want``'s; None if nothing to do."""
    changes: dict = {}
    for field in ("subjects", "duplicate_window", "deny_delete", "deny_purge", "allow_direct"):
        if getattr(have, field) != getattr(want, field):
            changes[field] = getattr(want, field)
    if have.max_age:
        changes["max_age"] = 0
    for field in ("max_msgs", "max_bytes", "max_msgs_per_subject"):
        if (getattr(have, field) or -1) > 0:
            changes[field] = -1
    if have.subject_delete_marker_ttl:
        changes["subject_delete_marker_ttl"] = None  # markers silently turn deny_purge off
    if have.storage != want.storage:
        log.warning("event stream %s uses %s storage, not %s; it cannot be changed in place",
                    have.name, have.storage, want.storage)
    if have.allow_msg_ttl:
        log.warning("event stream %s allows message TTLs; the server cannot turn that off", have.name)
    return have.evolve(**changes) if changes else None
