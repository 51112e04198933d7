"""A Python client of the sync socket: a pycrdt ``Doc`` kept in sync with a shot, commands and awareness.

    async with await SyncClient.connect("ws://127.0.0.1:8000", "p", "s", token) as c:
        result = await c.command([{"type": "entity.create", "id": "cube", "kind": "prop"}])
        await c.wait(lambda doc: "cube" in doc.get("entities", type=Map))

Tools, agents and tests use it; it speaks exactly what a stock y-websocket client does (:mod:`realtime.yprotocol`)
plus the command messages. Requires the ``websockets`` package.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Callable
from urllib.parse import quote

from pycrdt import Doc

from events.tasks import cancel_and_wait

from . import yprotocol as Y

__all__ = ["SyncClient", "sync_url"]


def sync_url(base: str, project: str, shot: str, token: str | None = None) -> str:
    """``ws://host:port`` → the shot's sync URL (``?token=`` when given)."""
    url = f"{base.rstrip('/')}/v1/projects/{quote(project)}/shots/{quote(shot)}/sync"
    return url + (f"?token={quote(token)}" if token else "")


class SyncClient:
    """Keeps ``doc`` in step with the server; ``results`` of commands arrive as futures; ``awareness`` holds the
    other clients' states; ``closed`` resolves to ``(code, reason)`` when the server closes the socket."""

    def __init__(self, ws, doc: Doc | None = None):
        self.ws = ws
        self.doc = doc if doc is not None else Doc()
        self.synced = asyncio.Event()
        self.changed = asyncio.Condition()
        self.awareness: dict[int, Any] = {}
        self.closed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.denied: list[str] = []
        self.on_frame: Callable[[Y.Message, float], None] | None = None  # for benches: every parsed frame
        self._pending: dict[str, asyncio.Future] = {}
        self._clock = 0
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, base: str, project: str, shot: str, token: str | None, *, doc: Doc | None = None,
                      sync: bool = True, timeout: float = 10.0) -> "SyncClient":
        """Open the socket and send sync step 1; with ``sync`` wait for step 2 (raises ``ConnectionError`` with the
        server's close code and reason if it closes first)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        ws = await connect(sync_url(base, project, shot, token), compression=None, max_size=None,
                           open_timeout=timeout, ping_interval=None)
        client = cls(ws, doc)
        try:
            await ws.send(Y.sync_step1(client.doc.get_state()))
        except ConnectionClosed:  # refused at once: ``closed`` has the code and reason
            pass
        if sync:
            await client.wait_synced(timeout)
        return client

    async def wait_synced(self, timeout: float = 10.0) -> None:
        done, _ = await asyncio.wait([asyncio.ensure_future(self.synced.wait()), self.closed], timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if self.synced.is_set():
            return
        if self.closed.done():
            code, reason = self.closed.result()
            raise ConnectionError(f"closed by the server: {code} {reason}")
        raise TimeoutError(f"not synced within {timeout}s")

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def close(self) -> None:
        await self.ws.close()
        await cancel_and_wait(self._reader)

    # ------------------------------------------------------------ sending

    async def send_command(self, ops: list, command_id: str | None = None, expected_seq: int | None = None,
                           **extra) -> asyncio.Future:
        """Send a command without waiting; the future resolves to its result (a dict)."""
        command_id = command_id or uuid.uuid4().hex
        body = {"command_id": command_id, "ops": ops, **extra}
        if expected_seq is not None:
            body["expected_seq"] = expected_seq
        fut = self._pending.get(command_id)
        if fut is None or fut.done():
            fut = self._pending[command_id] = asyncio.get_running_loop().create_future()
        await self.ws.send(Y.command(json.dumps(body).encode()))
        return fut

    async def command(self, ops: list, command_id: str | None = None, expected_seq: int | None = None,
                      timeout: float = 10.0, **extra) -> dict:
        fut = await self.send_command(ops, command_id, expected_seq, **extra)
        return await asyncio.wait_for(fut, timeout)

    async def send_raw(self, frame: bytes | str) -> None:
        await self.ws.send(frame)

    async def set_awareness(self, state: Any) -> None:
        """Announce (or with None remove) this client's awareness state, as ``Awareness.setLocalState`` does."""
        self._clock += 1
        entry = Y.AwarenessEntry(self.doc.client_id, self._clock, json.dumps(state, separators=(",", ":")))
        await self.ws.send(Y.awareness(Y.encode_awareness([entry])))

    async def query_awareness(self) -> None:
        await self.ws.send(Y.query_awareness())

    # ------------------------------------------------------------ waiting

    async def wait(self, predicate: Callable[["SyncClient"], bool], timeout: float = 10.0) -> None:
        """Until ``predicate(self)`` holds (checked after every message)."""
        async with asyncio.timeout(timeout):
            async with self.changed:
                await self.changed.wait_for(lambda: predicate(self))

    # ------------------------------------------------------------ receiving

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in self.ws:
                now = time.perf_counter()
                if isinstance(frame, str):
                    continue
                m = Y.parse(frame)
                if self.on_frame is not None:
                    self.on_frame(m, now)
                self._handle(m)
                async with self.changed:
                    self.changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                rcvd = self.ws.protocol.close_rcvd
                self.closed.set_result((rcvd.code, rcvd.reason) if rcvd is not None else (1006, ""))
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("socket closed before the command's result came"))
            async with self.changed:
                self.changed.notify_all()

    def _handle(self, m: Y.Message) -> None:
        t = m.type
        if t is Y.MessageType.SYNC:
            if m.sub is Y.SyncType.STEP1:  # the server never sends one; answer as a stock client would
                asyncio.ensure_future(self.ws.send(Y.sync_step2(self.doc.get_update(m.payload))))
                return
            self.doc.apply_update(m.payload)
            if m.sub is Y.SyncType.STEP2:
                self.synced.set()
        elif t is Y.MessageType.AWARENESS:
            for e in Y.decode_awareness(m.payload):
                if e.client_id == self.doc.client_id:
                    continue
                if e.removed:
                    self.awareness.pop(e.client_id, None)
                else:
                    self.awareness[e.client_id] = json.loads(e.state)
        elif t is Y.MessageType.COMMAND_RESULT:
            result = json.loads(m.payload)
            fut = self._pending.pop(result.get("command_id"), None)
            if fut is not None and not fut.done():
                fut.set_result(result)
        elif t is Y.MessageType.AUTH:
            self.denied.append(m.payload.decode("utf-8", "replace"))
