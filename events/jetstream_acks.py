"""The acks of a :class:`events.jetstream.JetStreamLog`'s appends: JetStream answers each publish on its reply
subject; one wildcard subscription collects them, a future per publish waits for its own, and one sweep fails those
overdue."""

from __future__ import annotations

import asyncio
from collections import deque

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from events.log import LogError

__all__ = ["Acks", "ack_decoder"]


class _ApiError(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _PubAck(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _ApiError | None = None


ack_decoder = msgspec.json.Decoder(_PubAck)


class Acks:
    """The acks of this log's appends: one wildcard subscription, a future per publish keyed by the last token of
    its reply subject, and one sweep that fails the futures whose ack is overdue (every append waits the same
    time, so deadlines come in the order the futures were made)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self._waiting: dict[str, asyncio.Future] = {}
        self._deadlines: deque[tuple[float, str]] = deque()
        self._sweeper: asyncio.Task | None = None
        self._sub = None
        self._n = 0

    async def subscribe(self, nc: NATS) -> None:
        cut = len(self.prefix)
        waiting = self._waiting

        async def on_ack(msg: Msg) -> None:
            future = waiting.pop(msg.subject[cut:], None)
            if future is not None and not future.done():
                future.set_result(msg)

        self._sub = await nc.subscribe(self.prefix + "*", cb=on_ack)

    def next_token(self) -> str:
        self._n += 1
        return format(self._n, "x")

    def expect(self, token: str, timeout_s: float) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = self._waiting[token] = loop.create_future()
        self._deadlines.append((loop.time() + timeout_s, token))
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = loop.create_task(self._sweep(), name="jetstream:ack-deadlines")
        return future

    def forget(self, token: str) -> None:
        future = self._waiting.pop(token, None)
        if future is not None:
            future.cancel()

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self._deadlines:
            deadline, token = self._deadlines[0]
            future = self._waiting.get(token)
            if future is not None:
                now = loop.time()
                if deadline > now:
                    await asyncio.sleep(min(deadline - now + 0.01, 0.25))
                    continue
                del self._waiting[token]
                if not future.done():
                    future.set_exception(TimeoutError())
            self._deadlines.popleft()

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(LogError("the event log was closed before the ack came"))
        self._waiting.clear()
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # the connection may be gone; the subscription goes with it
                pass
