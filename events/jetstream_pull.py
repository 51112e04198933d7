"""The ordered pull consumer behind :meth:`events.jetstream.JetStreamLog.read` and ``follow``: ephemeral, ack-less,
in memory, recreated from the last delivered sequence + 1 on a gap, a lost heartbeat, a reconnect or a deleted
consumer, so its reader sees every message once and in stream order."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import api

from events.log import LogError, UnknownProject

__all__ = ["OrderedPull", "STREAM_NOT_FOUND"]

log = logging.getLogger(__name__)

_API = api.DEFAULT_PREFIX
STREAM_NOT_FOUND = 10059  # nats-server's errors.json


class OrderedPull:
    """An ordered, ack-less pull consumer of one stream (optionally one subject), resumable at any message.

    ``next()`` returns ``(seq, subject, data, pending)``; ``pending`` is how many matching messages the stream
    held after this one when it was sent.
    """

    _RESTART_ON_409 = ("Consumer Deleted", "Leadership Change", "Consumer is push based", "Server Shutdown")

    def __init__(self, owner: JetStreamLog, stream: str, filter_subject: str | None, start_seq: int,
                 give_up_s: float | None):
        self._owner = owner
        self._nc, self._js = owner._nc, owner._js
        self._stream, self._filter = stream, filter_subject
        self._next_seq = start_seq
        self._batch = max(1, owner.read_batch)
        self._hb = owner.heartbeat_s
        self._expires = 6 * owner.heartbeat_s
        self._give_up_s = give_up_s
        self._buf: deque[Msg] = deque()
        self._wake = asyncio.Event()
        self._gen = 0
        self._sub = None
        self._inbox = ""
        self._name: str | None = None
        self._cseq = 0
        self._outstanding = 0
        self._want = self._batch
        self._avg_size = 256.0
        self._seen = self._progress = time.monotonic()
        self._reconnects = 0
        self._open = False

    async def start(self) -> None:
        self._open = True
        self._owner.open_readers += 1
        await self._restart()

    async def _create(self) -> None:
        self._gen += 1
        gen = self._gen
        self._buf.clear()
        self._cseq = self._outstanding = 0
        old_sub, old_name = self._sub, self._name
        self._sub, self._name = None, None
        if old_sub is not None:
            try:
                await old_sub.unsubscribe()
            except Exception:  # the connection may be gone; the subscription goes with it
                pass
        if old_name is not None:
            await self._forget(old_name, wait=False)

        buf, wake = self._buf, self._wake

        async def on_msg(msg: Msg) -> None:
            if gen == self._gen:
                buf.append(msg)
                wake.set()

        self._reconnects = self._nc.stats["reconnects"]
        self._inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(self._inbox, cb=on_msg)
        name = "wnm_" + uuid.uuid4().hex[:20]
        config = api.ConsumerConfig(
            name=name,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self._next_seq,
            ack_policy=api.AckPolicy.NONE,
            filter_subject=self._filter,
            mem_storage=True,
            num_replicas=1,
            inactive_threshold=max(60.0, 4 * self._expires),
        )
        self._name = name  # set first: a create that timed out may still have happened, and is deleted later
        try:
            await self._js.add_consumer(self._stream, config)
        except nats.js.errors.APIError as e:
            if e.err_code == STREAM_NOT_FOUND:
                raise UnknownProject(f"no event stream {self._stream} (unknown project?)") from e
            raise
        self._seen = time.monotonic()
        await self._pull()

    async def _restart(self) -> None:
        delay = 0.05
        while True:
            if self._nc.is_closed:
                raise LogError(f"reading {self._filter or self._stream}: the NATS connection is closed")
            try:
                await self._create()
                return
            except nats.js.errors.BadRequestError as e:
                raise LogError(f"cannot read {self._filter or self._stream}: {e.description}") from e
            except (nats.errors.Error, OSError) as e:
                self._stalled(e)
                log.warning("recreating consumer on %s failed (%r); retrying", self._stream, e)
                await asyncio.sleep(delay)
                delay = min(2 * delay, 2.0)

    def _stalled(self, cause: Exception | None = None) -> None:
        if self._give_up_s is not None and time.monotonic() - self._progress > self._give_up_s:
            raise LogError(f"reading {self._filter or self._stream} made no progress for {self._give_up_s}s"
                           + (f" ({cause!r})" if cause else "")) from cause

    async def _pull(self) -> None:
        self._want = max(1, min(self._batch, int(self._owner.reader_share_bytes() // max(self._avg_size, 64.0))))
        if self._outstanding * 2 > self._want:
            return
        req = {"batch": self._want, "expires": int(self._expires * 1e9), "idle_heartbeat": int(self._hb * 1e9)}
        await self._nc.publish(f"{_API}.CONSUMER.MSG.NEXT.{self._stream}.{self._name}",
                               json.dumps(req).encode(), reply=self._inbox)
        self._outstanding += self._want

    async def next(self) -> tuple[int, str, bytes, int]:
        buf = self._buf
        self._progress = time.monotonic()  # the stall clock runs only while the caller waits
        while True:
            if not buf:
                await self._idle()
                continue
            msg = buf.popleft()
            self._seen = time.monotonic()
            headers = msg.headers
            status = headers.get("Status") if headers else None
            if status:
                await self._on_status(status, headers)
                continue
            # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[, v2 adds domain and hash]
            tokens = msg.reply.split(".")
            i = 2 if len(tokens) == 9 else 4
            sseq, cseq, pending = int(tokens[i + 3]), int(tokens[i + 4]), int(tokens[i + 6])
            if cseq != self._cseq + 1:
                log.info("consumer on %s skipped from %d to %d; recreating it at %d",
                         self._stream, self._cseq, cseq, self._next_seq)
                await self._restart()
                continue
            self._cseq = cseq
            self._next_seq = sseq + 1
            self._outstanding -= 1
            self._avg_size += (len(msg.data) - self._avg_size) * 0.01
            if self._outstanding * 2 <= self._want:
                await self._pull()
            return sseq, msg.subject, msg.data, pending

    async def _on_status(self, status: str, headers: dict) -> None:
        if status == "100":  # idle heartbeat: the server says how far it got
            last = headers.get("Nats-Last-Consumer")
            if last is not None and int(last) != self._cseq:
                await self._restart()
            return
        if status in ("404", "408", "409"):
            description = headers.get("Description", "")
            if status == "409" and any(description.startswith(d) for d in self._RESTART_ON_409):
                await self._restart()
                return
            # An expired or finished pull request: what it did not deliver is no longer outstanding.
            self._outstanding = max(0, self._outstanding - int(headers.get("Nats-Pending-Messages", 0)))
            await self._pull()
            return
        await self._restart()  # 503 (consumer gone) and anything unexpected

    async def _idle(self) -> None:
        self._wake.clear()
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps the wait in a task of its own, two more
            # turns of the event loop between a message's arrival and its reader.
            async with asyncio.timeout(min(1.0, self._hb)):
                await self._wake.wait()
            return
        except TimeoutError:
            pass
        self._stalled()
        now = time.monotonic()
        if self._nc.stats["reconnects"] != self._reconnects or now - self._seen > 2 * self._hb + 1:
            log.info("consumer on %s is silent or the connection was re-established; recreating it at %d",
                     self._stream, self._next_seq)
            await self._restart()
        else:
            await self._pull()

    async def _forget(self, name: str, wait: bool) -> None:
        subject = f"{_API}.CONSUMER.DELETE.{self._stream}.{name}"
        try:
            if wait:
                await self._nc.request(subject, b"", timeout=2.0)
            else:
                await self._nc.publish(subject, b"")
        except Exception:  # best effort: the server drops inactive consumers by itself
            pass

    async def close(self) -> None:
        if self._open:
            self._open = False
            self._owner.open_readers -= 1
        self._gen += 1
        sub, name = self._sub, self._name
        self._sub = self._name = None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:
                pass
        if name is not None and not self._nc.is_closed:
            await self._forget(name, wait=True)
