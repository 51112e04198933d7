"""Per-socket and per-shot state of the sync socket: a :class:`Connection` (its send queue and writer, rate buckets,
awareness ids, command queue) and a :class:`Room` (a shot's sockets on this instance and the awareness states known
for it), with the socket's close codes and limits. The socket's behaviour is in :mod:`realtime.sync`; who may set
which awareness state is decided in :mod:`realtime.presence`, which a room extends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from litestar import WebSocket
from pycrdt import merge_updates

from projections.reducer import client_id_for

from . import yprotocol as Y
from .limits import Limits, TokenBucket
from .presence import Presence, ShotPresence

__all__ = ["Close", "Refused", "SyncLimits", "Principal", "Connection", "Presence", "Room", "close_reason"]

log = logging.getLogger(__name__)


class Close(IntEnum):
    """Socket close codes (the table in :mod:`realtime.errors`, plus 4410 and 1001). Stock y-websocket clients
    reconnect after any code outside 4400–4499 and stop for good inside it, so 44xx is used exactly where
    reconnecting as-is cannot help."""

    GOING_AWAY = 1001  # server shutting down: reconnect (to any instance)
    TOO_LARGE = 1009  # a frame or awareness state over the limit
    INTERNAL = 1011  # server error: reconnect
    TRY_AGAIN = 1013  # rate limit exceeded, or the socket fell too far behind: reconnect and resync
    BAD_MESSAGE = 4400  # malformed frame, unknown message type, text frame
    UNAUTHORIZED = 4401  # missing, expired or forged token
    FORBIDDEN = 4403  # the role may not do this
    NOT_FOUND = 4404  # no such project or shot, or not a member
    RESYNC = 4410  # the client's document is from another reducer version: drop it, resync with a fresh Y.Doc


class Refused(Exception):
    """Close the socket with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code, self.reason = int(code), reason


@dataclass(frozen=True)
class SyncLimits:
    max_frame_bytes: int = 1_000_000  # a command's event is at most 900 kB (events.envelope.MAX_EVENT_BYTES)
    max_awareness_bytes: int = 64 << 10
    rate_per_s: float = 200.0  # sustained messages per second per socket ...
    burst: int = 400  # ... beyond an initial burst of this many
    send_queue: int = 8192  # frames waiting for a slow socket before it is closed with 1013
    pending_commands: int = 1000  # commands queued per socket before more are refused with 429
    keepalive_s: float = 10.0  # an idle socket gets an empty awareness message this often (stock watchdog: 30 s)
    awareness_timeout_s: float = 30.0  # a state not renewed for this long is dropped (the Yjs default)
    max_awareness_entries: int = 32  # an awareness update declaring more entries is dropped unread
    awareness_ids_per_socket: int = 4  # client ids one socket may own
    awareness_rate_per_s: float = 60.0  # state changes per second per socket (a drag streams at ~30 Hz) ...
    awareness_burst: int = 120  # ... beyond an initial burst of this many
    max_presence: int = 4096  # awareness states one shot holds (all instances' clients)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> "SyncLimits":
        """``WNM_MAX_FRAME_BYTES`` (shared with :class:`realtime.limits.Limits`), ``WNM_SOCKET_RATE_PER_S``,
        ``WNM_SOCKET_BURST``, ``WNM_AWARENESS_RATE_PER_S``, ``WNM_AWARENESS_BURST``. The socket's message rate is
        its own (not ``WNM_RATE_PER_S``, which counts HTTP writes): it counts awareness too, which a drag streams."""
        d = cls()
        return cls(max_frame_bytes=Limits.from_env(env).max_frame_bytes,
                   rate_per_s=float(env.get("WNM_SOCKET_RATE_PER_S", d.rate_per_s)),
                   burst=int(env.get("WNM_SOCKET_BURST", d.burst)),
                   awareness_rate_per_s=float(env.get("WNM_AWARENESS_RATE_PER_S", d.awareness_rate_per_s)),
                   awareness_burst=int(env.get("WNM_AWARENESS_BURST", d.awareness_burst)))


class Principal(NamedTuple):
    """Who is on a socket: ``user`` and their ``role`` in the project."""

    user: str
    role: str


_CLOSE = object()


def close_reason(text: str) -> str:
    """A close reason fits in 123 UTF-8 bytes."""
    raw = text.encode()
    return text if len(raw) <= 123 else raw[:120].decode("utf-8", "ignore") + "..."


class Connection:
    """One accepted socket: its outgoing queue and writer, its awareness ids, its command queue."""

    def __init__(self, socket: WebSocket, room: "Room", principal: Principal, limits: SyncLimits):
        self.socket, self.room, self.principal, self.limits = socket, room, principal, limits
        self.out: asyncio.Queue = asyncio.Queue()
        self.bucket = TokenBucket(limits.rate_per_s, limits.burst)
        self.awareness_bucket = TokenBucket(limits.awareness_rate_per_s, limits.awareness_burst)
        self.awareness_ids: set[int] = set()  # the client ids this socket owns (Room.accept_local)
        self.commands = None  # its CommandPipeline (realtime.sync_commands), made on its first command
        self.closing: tuple[int, str] | None = None
        self.told_read_only = False
        self.last_sent = time.monotonic()
        self._idle = False  # the writer waits on an empty queue: a frame may be written at once

    def send(self, frame: bytes) -> None:
        """Send a frame, or queue it (never blocks). When the writer waits on an empty queue the frame is written
        at once (:meth:`_send_now`), a loop turn sooner than the writer would. A socket that has ``send_queue``
        frames waiting is closed with 1013."""
        if self.closing is not None:
            return
        if self._idle:
            self._send_now(frame)
            return
        if self.out.qsize() >= self.limits.send_queue:
            self.close_soon(Close.TRY_AGAIN, f"too slow: {self.limits.send_queue} messages waiting; "
                                             "reconnect to resync")
            return
        self.out.put_nowait(frame)

    def _send_now(self, frame: bytes) -> None:
        """Run the socket's send up to its first suspension, here (as Python 3.12's eager tasks do): a send whose
        transport takes the bytes — every send but one waiting for a paused transport — ends in this call. One that
        suspends is handed, as it is, to the writer, which finishes it before anything queued after it."""
        sending = self.socket.send({"type": "websocket.send", "bytes": frame})
        try:
            step = sending.send(None)
        except StopIteration:
            self.last_sent = time.monotonic()
        except Exception as e:
            self._send_failed(e)
            self.out.put_nowait(_STOP)
        else:
            self._idle = False
            self.out.put_nowait(_Started(sending, step))

    def close_soon(self, code: int, reason: str) -> None:
        """Drop what is still queued and close the socket with ``code`` and ``reason``."""
        if self.closing is not None:
            return
        self.closing = (int(code), close_reason(reason))
        while not self.out.empty():
            item = self.out.get_nowait()
            if isinstance(item, _Started):
                item.sending.close()
        self.out.put_nowait(_CLOSE)

    async def write_loop(self) -> None:
        send, out = self.socket.send, self.out
        try:
            while True:
                self._idle = out.empty() and self.closing is None
                item = await out.get()
                self._idle = False
                if item is _STOP:
                    return
                if item is _CLOSE:
                    code, reason = self.closing
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                if isinstance(item, _Started):
                    await item.finish()
                else:
                    await send({"type": "websocket.send", "bytes": item})
                self.last_sent = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._send_failed(e)
        finally:
            self._idle = False

    def _send_failed(self, e: Exception) -> None:
        """The peer went away mid-send: the reader sees the disconnect; nothing more is sent."""
        log.debug("socket send failed: %r", e)
        self.closing = self.closing or (Close.GOING_AWAY, "send failed")


_STOP = object()


class _Started:
    """A send coroutine run up to its first suspension (``step``: what it yielded, an asyncio future or None for
    a bare yield); :meth:`finish` drives it to its end from the writer task."""

    def __init__(self, sending, step):
        self.sending, self.step = sending, step

    async def finish(self) -> None:
        sending, step = self.sending, self.step
        while True:
            try:
                if step is None:
                    await asyncio.sleep(0)
                else:  # waited on, not awaited: the send reads the future's outcome itself when resumed
                    await asyncio.wait((step,))
            except asyncio.CancelledError:
                sending.close()
                raise
            try:
                step = sending.send(None)
            except StopIteration:
                return


class Room(ShotPresence):
    """The sockets of one shot on this instance and (through :class:`~realtime.presence.ShotPresence`) the
    awareness states known for the shot.

    Document updates are coalesced: those of one projector batch are merged into one update and sent as one frame
    to every socket, in stream order, when the batch is folded (:meth:`flush`, called by the socket hub; updates
    pushed without it go out at the start of the next loop turn). Under a sustained stream a socket gets one frame
    per batch instead of one per event."""

    def __init__(self, project: str, shot: str, limits: SyncLimits | None = None):
        super().__init__(limits or SyncLimits())
        self.project, self.shot = project, shot
        self.server_id = client_id_for(project, shot)
        self.conns: set[Connection] = set()
        self._updates: list[bytes] = []
        self.frames_sent = 0  # update frames broadcast (each to every socket)

    def broadcast(self, frame: bytes) -> None:
        for c in self.conns:
            c.send(frame)

    def push_update(self, update: bytes) -> None:
        """Queue a document update for every socket; sent, merged with its neighbours, at :meth:`flush` — which the
        socket hub calls once the projector's batch is folded — or else on the next loop turn."""
        if not self._updates:
            asyncio.get_running_loop().call_soon(self.flush)
        self._updates.append(update)

    def flush(self) -> None:
        updates, self._updates = self._updates, []
        if updates and self.conns:
            self.broadcast(Y.sync_update(updates[0] if len(updates) == 1 else merge_updates(*updates)))
            self.frames_sent += 1
