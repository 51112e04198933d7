"""Per-socket and per-shot state of the sync socket: a :class:`Connection` (its send queue and writer, rate buckets,
awareness ids, command queue) and a :class:`Room` (a shot's sockets on this instance and the awareness states known
for it), with the socket's close codes and limits. The socket's behaviour is in :mod:`realtime.sync`; who may set
which awareness state is decided here (:meth:`Room.accept_local`, :meth:`Room.accept_remote`).

Awareness is owned and bounded:

* A socket owns the client ids it announces first (at most ``awareness_ids_per_socket``; a stock client uses one),
  and only an id nobody else holds: not another socket's of this instance, not one live on another instance, not
  one whose owner left less than ``awareness_timeout_s`` ago unless the new state is newer (or it is the first id
  the same user's fresh socket announces: a reconnect). It keeps them until it goes.
* Entries of a frame for ids the socket does not own are dropped without a word. Closing would be wrong: a stock
  y-websocket client echoes every awareness update it receives (and announces the removal of clients it timed out)
  back to the server, so foreign entries are routine. They are never decoded.
* ``user.id`` of every state is set from the socket's token (SPEC §5); a state that is not a JSON object closes the
  socket with 4400, an update over ``max_awareness_bytes`` with 1009. An update that declares more than
  ``max_awareness_entries`` entries is dropped after reading its first integer (a stock client's echo of a big
  room's states is such an update; its own state always comes in one-entry updates).
* State changes beyond ``awareness_rate_per_s`` (burst ``awareness_burst``) per socket are dropped, removals never;
  the default allows a drag streamed at 30 Hz twice over. A shot holds at most ``max_presence`` states.
* Instances relay what they accepted (:mod:`realtime.awareness_bus`); a relayed entry for an id owned by a socket of
  this instance, or held by a third instance, is dropped, so one instance's client cannot clear another's either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from enum import IntEnum
from collections import Counter
from typing import NamedTuple

import msgspec
from litestar import WebSocket
from pycrdt import merge_updates

from projections.reducer import client_id_for

from . import yprotocol as Y
from .limits import Limits, TokenBucket, check_size

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
        ``WNM_SOCKET_BURST``. The socket's message rate is its own (not ``WNM_RATE_PER_S``, which counts HTTP
        writes): it counts awareness too, which a drag streams."""
        d = cls()
        return cls(max_frame_bytes=Limits.from_env(env).max_frame_bytes,
                   rate_per_s=float(env.get("WNM_SOCKET_RATE_PER_S", d.rate_per_s)),
                   burst=int(env.get("WNM_SOCKET_BURST", d.burst)))


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
        self.commands: asyncio.Queue[bytes] | None = None
        self.command_task: asyncio.Task | None = None
        self.closing: tuple[int, str] | None = None
        self.told_read_only = False
        self.last_sent = time.monotonic()

    def send(self, frame: bytes) -> None:
        """Queue a frame (never blocks). A socket that has ``send_queue`` frames waiting is closed with 1013."""
        if self.closing is not None:
            return
        if self.out.qsize() >= self.limits.send_queue:
            self.close_soon(Close.TRY_AGAIN, f"too slow: {self.limits.send_queue} messages waiting; "
                                             "reconnect to resync")
            return
        self.out.put_nowait(frame)

    def close_soon(self, code: int, reason: str) -> None:
        """Drop what is still queued and close the socket with ``code`` and ``reason``."""
        if self.closing is not None:
            return
        self.closing = (int(code), close_reason(reason))
        while not self.out.empty():
            self.out.get_nowait()
        self.out.put_nowait(_CLOSE)

    async def write_loop(self) -> None:
        send, out = self.socket.send, self.out
        try:
            while True:
                frame = await out.get()
                if frame is _CLOSE:
                    code, reason = self.closing
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                await send({"type": "websocket.send", "bytes": frame})
                self.last_sent = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the peer went away mid-send: the reader sees the disconnect
            log.debug("socket send failed: %r", e)
            self.closing = self.closing or (Close.GOING_AWAY, "send failed")


class Presence(NamedTuple):
    clock: int
    state: str
    owner: "Connection | bytes"  # a socket of this instance, or the id of the instance whose socket announced it
    user: str | None  # user.id of the state (set by the server that accepted it)
    seen: float


class _Gone(NamedTuple):
    """An id whose owner left: for a while it may be taken again only with a newer state (a stock client's echo of
    the old state, arriving late, must not revive it under another socket)."""

    clock: int
    user: str | None
    at: float


class _User(msgspec.Struct):
    id: str | None = None


class _UserOf(msgspec.Struct):
    user: _User | None = None


_decode_json = msgspec.json.Decoder()
_decode_user = msgspec.json.Decoder(_UserOf)
_encode_json = msgspec.json.Encoder()


def stamp_user(client_id: int, raw: bytes, user: str) -> str:
    """The state ``raw`` (JSON bytes) with ``user.id`` set to ``user``; :class:`~realtime.yprotocol.ProtocolError`
    when it is not a JSON object."""
    try:
        state = _decode_json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        raise Y.ProtocolError(f"awareness state of client {client_id} is not JSON") from None
    if not isinstance(state, dict):
        raise Y.ProtocolError(f"awareness state of client {client_id} is not a JSON object")
    who = state.get("user")
    state["user"] = {**who, "id": user} if isinstance(who, dict) else {"id": user}
    return _encode_json.encode(state).decode()


def _user_of(raw: bytes) -> str | None:
    try:
        u = _decode_user.decode(raw).user
    except (msgspec.DecodeError, RecursionError):
        return None
    return u.id if u is not None else None


class Room:
    """The sockets of one shot on this instance and the awareness states known for the shot.

    Document updates are coalesced: those pushed within one turn of the event loop (a projector batch folds many
    events in one turn) are merged into one update and sent as one frame to every socket, in stream order, at the
    start of the next turn. Under a sustained stream a socket gets one frame per batch instead of one per event."""

    def __init__(self, project: str, shot: str, limits: SyncLimits | None = None):
        self.project, self.shot = project, shot
        self.limits = limits or SyncLimits()
        self.server_id = client_id_for(project, shot)
        self.conns: set[Connection] = set()
        self.presence: dict[int, Presence] = {}
        self.owners: dict[int, Connection] = {}  # client id -> the socket of this instance that owns it
        self.gone: dict[int, _Gone] = {}
        self.counts: Counter[str] = Counter()  # awareness entries dropped, by reason
        self._updates: list[bytes] = []
        self.frames_sent = 0  # update frames broadcast (each to every socket)

    def broadcast(self, frame: bytes) -> None:
        for c in self.conns:
            c.send(frame)

    def push_update(self, update: bytes) -> None:
        """Queue a document update for every socket; sent, merged with its neighbours, on the next loop turn."""
        if not self._updates:
            asyncio.get_running_loop().call_soon(self._flush)
        self._updates.append(update)

    def _flush(self) -> None:
        updates, self._updates = self._updates, []
        if updates and self.conns:
            self.broadcast(Y.sync_update(updates[0] if len(updates) == 1 else merge_updates(*updates)))
            self.frames_sent += 1

    # ------------------------------------------------------------ awareness

    def accept_local(self, conn: Connection, payload: bytes, now: float) -> bytes | None:
        """Take what ``conn`` may say from its awareness update ``payload``: the update to relay (its own entries,
        ``user.id`` set from its token), or None when nothing is left. Raises ``TooLarge`` (1009) for an update
        over ``max_awareness_bytes`` and :class:`~realtime.yprotocol.ProtocolError` (4400) for a malformed one."""
        lim = self.limits
        check_size(len(payload), lim.max_awareness_bytes, "awareness update")
        if Y.awareness_count(payload) > lim.max_awareness_entries:
            self.counts["too_many_entries"] += 1
            return None
        out: list[Y.AwarenessEntry] = []
        allowed: bool | None = None
        for cid, clock, raw in Y.decode_awareness_raw(payload):
            mine = cid in conn.awareness_ids
            removal = raw == b"null"
            if not mine and (removal or not self._claimable(conn, cid, clock, now)):
                self.counts["not_owned"] += 1
                continue
            cur = self.presence.get(cid)
            if cur is not None and clock < cur.clock:
                self.counts["stale"] += 1
                continue
            if removal:
                if self.presence.pop(cid, None) is not None:
                    out.append(Y.AwarenessEntry(cid, clock, "null"))
                continue
            if allowed is None:
                allowed = conn.awareness_bucket.take() == 0.0
            if not allowed:
                self.counts["over_rate"] += 1
                continue
            state = stamp_user(cid, raw, conn.principal.user)
            if not mine:
                conn.awareness_ids.add(cid)
                self.owners[cid] = conn
                self.gone.pop(cid, None)
            self.presence[cid] = Presence(clock, state, conn, conn.principal.user, now)
            out.append(Y.AwarenessEntry(cid, clock, state))
        return Y.encode_awareness(out) if out else None

    def _claimable(self, conn: Connection, cid: int, clock: int, now: float) -> bool:
        lim = self.limits
        if len(conn.awareness_ids) >= lim.awareness_ids_per_socket or cid in self.owners or cid in self.presence:
            return False
        if len(self.presence) >= lim.max_presence:
            return False
        g = self.gone.get(cid)
        if g is None or now - g.at > lim.awareness_timeout_s or clock > g.clock:
            return True
        return not conn.awareness_ids and g.user == conn.principal.user  # the same user's fresh socket: a reconnect

    def accept_remote(self, origin: bytes, payload: bytes, now: float) -> bytes | None:
        """Take a relayed awareness update from instance ``origin``: its entries for ids that are free or already
        held by ``origin``; returns the update to pass to this instance's sockets, or None. Relayed states were
        checked (and their ``user.id`` set) by the instance that accepted them; a malformed update is dropped."""
        lim = self.limits
        try:
            if Y.awareness_count(payload) > lim.max_presence:
                raise Y.ProtocolError("too many entries")
            entries = Y.decode_awareness_raw(payload)
        except Y.ProtocolError:
            self.counts["remote_malformed"] += 1
            return None
        out: list[Y.AwarenessEntry] = []
        for cid, clock, raw in entries:
            cur = self.presence.get(cid)
            if cid in self.owners or (cur is not None and cur.owner != origin):
                self.counts["remote_not_owned"] += 1
                continue
            if cur is not None and clock < cur.clock:
                continue
            if raw == b"null":
                if cur is not None:
                    del self.presence[cid]
                    self.gone[cid] = _Gone(clock, cur.user, now)
                    out.append(Y.AwarenessEntry(cid, clock, "null"))
                continue
            if cur is None and len(self.presence) >= lim.max_presence:
                self.counts["remote_full"] += 1
                continue
            try:
                state = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.counts["remote_malformed"] += 1
                continue
            self.presence[cid] = Presence(clock, state, origin, _user_of(raw), now)
            self.gone.pop(cid, None)
            out.append(Y.AwarenessEntry(cid, clock, state))
        return Y.encode_awareness(out) if out else None

    def states(self, now: float, timeout: float | None = None, local_only: bool = False) -> list[Y.AwarenessEntry]:
        """Live states (expired ones are forgotten, and ids that left long enough ago too), as awareness entries."""
        timeout = self.limits.awareness_timeout_s if timeout is None else timeout
        out = []
        for cid, p in list(self.presence.items()):
            if now - p.seen > timeout:
                del self.presence[cid]
                self.gone[cid] = _Gone(p.clock, p.user, now)
            elif not local_only or isinstance(p.owner, Connection):
                out.append(Y.AwarenessEntry(cid, p.clock, p.state))
        for cid in [cid for cid, g in self.gone.items() if now - g.at > timeout]:
            del self.gone[cid]
        return out

    def forget(self, conn: Connection, now: float | None = None) -> list[Y.AwarenessEntry]:
        """Release the ids ``conn`` owns and remove their states; returns the null-state entries that tell the
        others."""
        now = time.monotonic() if now is None else now
        gone = []
        for cid in conn.awareness_ids:
            if self.owners.get(cid) is conn:
                del self.owners[cid]
            p = self.presence.get(cid)
            if p is not None and p.owner is conn:
                del self.presence[cid]
                gone.append(Y.AwarenessEntry(cid, p.clock, "null"))
                self.gone[cid] = _Gone(p.clock, p.user, now)
            else:
                self.gone[cid] = _Gone(0, conn.principal.user, now)
        conn.awareness_ids.clear()
        return gone
