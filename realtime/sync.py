"""The co-editing socket: ``WS /v1/projects/{project}/shots/{shot}/sync`` (SPEC §5–6).

It speaks the y-websocket protocol over the shot's authoritative document (see :mod:`realtime.yprotocol` for the
message types) and carries commands and their results on the same socket:

* A client's sync step 1 is answered with step 2 from the live document the projector keeps; every projected event's
  Yjs update is then pushed to every socket of the shot, in stream order (the updates of events folded together are
  merged into one frame: see :class:`~realtime.sync_room.Room`). The server sends no step 1 of its own.
* Updates a client sends are never applied (the document is read-only to clients); the first one is answered with a
  y-protocols "permission denied" auth message so a stock client logs why its local edit goes nowhere.
* Awareness is relayed to every socket of the shot (the sender included, as the stock server does: it keeps the
  stock client's 30-second watchdog fed) and to the other instances through :class:`AwarenessBus`; when a socket
  goes, the states it announced are removed everywhere (a null-state update with the same clock). A socket sets and
  clears only its own client ids, within bounds, and ``user.id`` comes from its token: see
  :mod:`realtime.presence`.
* A command (type 100) is submitted as the socket's user, appended in the order sent and pipelined (the next is
  checked while earlier verdicts are pending); its result (type 101) goes back to that socket only, in order,
  normally just after the event's update was pushed.
* A client whose state vector holds another reducer version's document (a server client id ≥ 2³² that is not this
  shot's current one) is closed with 4410: drop the document and resync with a fresh ``Y.Doc``.

One :class:`~realtime.sync_room.Room` per shot with sockets; per-socket state lives in a
:class:`~realtime.sync_room.Connection` built when the socket is accepted and torn down when it goes. A frame larger than ``max_frame_bytes`` closes the socket with 1009, more than
``rate_per_s`` messages a second (beyond a burst) with 1013; a socket that cannot keep up with what it is sent is
closed with 1013 too rather than buffered without bound. Close codes and refused commands' bodies come from
:mod:`realtime.errors`, the one place errors are mapped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from typing import Any, Awaitable, Callable

from litestar import WebSocket, websocket
from litestar.params import FromPath

from events.envelope import Command

from . import yprotocol as Y
from .awareness_bus import QUERY, UPDATE, AwarenessBus
from .commands import Result
from .errors import ApiError, BadRequest, NotFound, RateLimited, close_code
from .limits import check_size
from .sync_commands import CommandPipeline, Submit
from .sync_room import Close, Connection, Principal, Refused, Room, SyncLimits, close_reason

__all__ = ["Close", "SyncLimits", "Principal", "SyncHub", "Room", "Connection", "sync_route", "SYNC_PATH"]

log = logging.getLogger(__name__)

SYNC_PATH = "/v1/projects/{project:str}/shots/{shot:str}/sync"


Authorize = Callable[[WebSocket, str, str], Awaitable[Principal]]
"""``authorize(socket, project, shot) -> Principal``; raises :mod:`realtime.errors` (401 / 404 → 4401 / 4404)."""



_FULL_CACHED = 8  # shots whose full update is kept for the next fresh client


class SyncHub:
    """The rooms of this instance. Started lazily by the first socket (it opens its own NATS connection for
    awareness and listens to the projector); :meth:`aclose` closes every socket with 1001 and releases both."""

    def __init__(self, system, limits: SyncLimits | None = None, *, authorize: Authorize | None = None,
                 submit: Submit | None = None):
        if system.projector is None:
            raise ValueError("the sync socket needs a system opened with run_projector=True")
        self.system, self.projector = system, system.projector
        self.limits = limits or SyncLimits()
        self.authorize = authorize or _default_authorize(system)
        self.submit = submit or _default_submit(system)
        self.rooms: dict[tuple[str, str], Room] = {}
        self._full: dict[tuple[str, str], tuple[Any, int, bytes]] = {}  # insertion order = least recent first
        self.counts: Counter[str] = Counter()
        self.bus: AwarenessBus | None = None
        self._nc = None
        self._unlisten: Callable[[], None] | None = None
        self._unlisten_batch: Callable[[], None] | None = None
        self._pushed: set[Room] = set()  # rooms with updates of the batch being folded
        self._ticker: asyncio.Task | None = None
        self._start_lock = asyncio.Lock()
        self._closed = False

    # ------------------------------------------------------------ lifetime

    async def start(self) -> None:
        async with self._start_lock:
            if self.bus is not None:
                return
            from events import nats_conn

            self._nc = await nats_conn.connect(self.system.settings.nats_url, name="wnm-sync")
            self.bus = AwarenessBus(self._nc, self._on_remote)
            self._unlisten = self.projector.add_listener(self._on_event)
            self._unlisten_batch = self.projector.add_batch_listener(self._flush_rooms)
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="sync-keepalive")

    async def aclose(self) -> None:
        self._closed = True
        for room in list(self.rooms.values()):
            for c in list(room.conns):
                c.close_soon(Close.GOING_AWAY, "server shutting down: reconnect")
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._unlisten_batch is not None:
            self._unlisten_batch()
            self._unlisten_batch = None
        if self._ticker is not None:
            self._ticker.cancel()
        await asyncio.sleep(0.05)  # let writers send their close frames
        if self.bus is not None:
            await self.bus.close()
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    async def _tick(self) -> None:
        """Keep idle sockets alive (the stock client drops a socket that heard nothing for 30 s)."""
        period = self.limits.keepalive_s
        while True:
            await asyncio.sleep(period / 2)
            now = time.monotonic()
            for room in list(self.rooms.values()):
                room.states(now, self.limits.awareness_timeout_s)  # expire stale presence
                for c in room.conns:
                    if now - c.last_sent >= period and c.out.empty():
                        c.send(Y.EMPTY_AWARENESS)

    # ------------------------------------------------------------ events in

    def _on_event(self, project, shot, outcome, update, event) -> None:
        """Projector listener: push each applied event's Yjs update to the shot's sockets, in stream order."""
        if not update:
            return
        room = self.rooms.get((project, shot))
        if room is not None and room.conns:
            room.push_update(update)
            self._pushed.add(room)
            self.counts["updates_pushed"] += 1

    def _flush_rooms(self) -> None:
        """Projector batch listener: the rooms that got updates from the batch send them now, merged."""
        rooms, self._pushed = self._pushed, set()
        for room in rooms:
            room.flush()

    async def _on_remote(self, project: str, shot: str, kind: int, payload: bytes, origin: bytes) -> None:
        room = self.rooms.get((project, shot))
        if room is None:
            return
        if kind == UPDATE:
            update = room.accept_remote(origin, payload, time.monotonic())
            if update is not None:
                room.broadcast(Y.awareness(update))
        elif kind == QUERY:
            mine = room.states(time.monotonic(), self.limits.awareness_timeout_s, local_only=True)
            if mine:
                await self.bus.publish(project, shot, Y.encode_awareness(mine))

    # ------------------------------------------------------------ a socket

    async def serve(self, socket: WebSocket, project: str, shot: str) -> None:
        """The whole life of one socket: accept, authorize, join, read until it goes, leave."""
        await socket.accept()
        if self._closed:
            await _close(socket, Close.GOING_AWAY, "server shutting down: reconnect")
            return
        try:
            await self.start()
            principal = await self.authorize(socket, project, shot)
            room = await self._join_room(project, shot)
        except Exception as e:  # refused (401/403/404) or the log / store unavailable (1011)
            code, reason = close_code(e)
            if code == Close.INTERNAL:
                log.error("sync: opening %s/%s failed: %r", project, shot, e, exc_info=not isinstance(e, ApiError))
            self.counts[f"refused_{code}"] += 1
            await _close(socket, code, reason)
            return
        conn = Connection(socket, room, principal, self.limits)
        room.conns.add(conn)  # on accept: from here on every projected update reaches this socket
        self.counts["connections"] += 1
        writer = asyncio.get_running_loop().create_task(conn.write_loop())
        now = time.monotonic()
        present = room.states(now, self.limits.awareness_timeout_s)
        if present:
            conn.send(Y.awareness(Y.encode_awareness(present)))
        try:
            await self._read_loop(conn)
        except Exception:
            log.exception("sync: socket on %s/%s failed", project, shot)
            conn.close_soon(Close.INTERNAL, "server error")
        finally:
            await self._leave(conn)  # on disconnect
            if conn.commands is not None:
                conn.commands.cancel()
            if conn.closing is not None and not writer.done():
                try:
                    await asyncio.wait_for(writer, 5.0)
                except (asyncio.TimeoutError, Exception):
                    pass
            writer.cancel()

    async def _join_room(self, project: str, shot: str) -> Room:
        key = (project, shot)
        room = self.rooms.get(key)
        if room is None:
            if await self.system.log.last_seq(project, shot) == 0:
                raise NotFound(f"no shot {project}/{shot}")
            await self._reducer(project, shot)  # load it now, not on the client's first sync step 1
            room = self.rooms.get(key)
        if room is None:
            room = self.rooms[key] = Room(project, shot, self.limits)
            await self.bus.join(project, shot)
        return room

    def _full_update(self, room: Room, reducer) -> bytes:
        """The document's whole update (what a fresh client needs), cached per (reducer, seq) for the last few
        shots: many clients joining at once, or one after another, encode it once."""
        key = (room.project, room.shot)
        cached = self._full.pop(key, None)
        if cached is None or cached[0] is not reducer or cached[1] != reducer.last_seq:
            cached = (reducer, reducer.last_seq, reducer.doc.get_update())
        self._full[key] = cached
        while len(self._full) > _FULL_CACHED:
            self._full.pop(next(iter(self._full)))
        return cached[2]

    async def _reducer(self, project: str, shot: str):
        return self.projector.reducer(project, shot) or await self.projector.load(project, shot)

    async def _leave(self, conn: Connection) -> None:
        room = conn.room
        room.conns.discard(conn)
        gone = room.forget(conn)
        if gone:
            update = Y.encode_awareness(gone)
            room.broadcast(Y.awareness(update))
            await self.bus.publish(room.project, room.shot, update)
        if not room.conns and self.rooms.get((room.project, room.shot)) is room:
            del self.rooms[(room.project, room.shot)]
            await self.bus.leave(room.project, room.shot)

    async def _read_loop(self, conn: Connection) -> None:
        receive, limits = conn.socket.receive, self.limits
        while True:
            msg = await receive()
            if msg["type"] == "websocket.disconnect":
                return
            if conn.closing is not None:
                continue  # closing: keep draining until the peer's close arrives, or the server stalls
            data = msg.get("bytes")
            try:
                if data is None:
                    raise BadRequest("text frame: this socket speaks the binary y-websocket protocol")
                check_size(len(data), limits.max_frame_bytes, "frame")
                wait = conn.bucket.take()
                if wait:
                    raise RateLimited(f"rate limit: more than {limits.rate_per_s:g} messages/s "
                                      f"(burst {limits.burst}); reconnect later", retry_after_s=wait)
                await self._handle(conn, Y.parse(data), data)
            except Y.ProtocolError as e:
                code, reason = close_code(BadRequest(f"malformed message: {e}"))
            except ApiError as e:
                code, reason = close_code(e)
            except Refused as e:
                code, reason = e.code, e.reason
            else:
                continue
            self.counts[f"closed_{code}"] += 1
            conn.close_soon(code, reason)

    async def _handle(self, conn: Connection, m: Y.Message, frame: bytes) -> None:
        room = conn.room
        if m.type is Y.MessageType.SYNC:
            if m.sub is Y.SyncType.STEP1:
                sv = Y.decode_state_vector(m.payload)
                foreign = [c for c in sv if c >= 2**32 and c != room.server_id]
                if foreign:
                    raise Refused(Close.RESYNC, "your copy of the document is from another reducer version: "
                                                "drop it and resync with a fresh Y.Doc")
                reducer = await self._reducer(room.project, room.shot)
                if room.server_id in sv:
                    update = reducer.doc.get_update(m.payload)
                else:
                    update = self._full_update(room, reducer)
                conn.send(Y.sync_step2(update))
                self.counts["syncs"] += 1
            else:  # a client's own update: never applied, so never handed to yrs either (a crafted count in it
                # makes yrs reserve up to ~100 GB and abort the process); only its header is checked
                try:
                    Y.check_update_header(m.payload)
                except Y.ProtocolError:
                    raise Y.ProtocolError("sync payload is not a Yjs update") from None
                self.counts["client_updates_ignored"] += 1
                if not conn.told_read_only:
                    conn.told_read_only = True
                    conn.send(Y.auth_denied("the shot's document is read-only: edit by sending commands "
                                            "(message type 100); local changes are not kept"))
        elif m.type is Y.MessageType.AWARENESS:
            update = room.accept_local(conn, m.payload, time.monotonic())
            if update is not None:
                room.broadcast(Y.awareness(update))
                await self.bus.publish(room.project, room.shot, update)
        elif m.type is Y.MessageType.QUERY_AWARENESS:
            present = room.states(time.monotonic(), self.limits.awareness_timeout_s)
            conn.send(Y.awareness(Y.encode_awareness(present)))
        elif m.type is Y.MessageType.COMMAND:
            self._queue_command(conn, m.payload)
        elif m.type is Y.MessageType.COMMAND_RESULT:
            raise Y.ProtocolError("message type 101 (command result) goes from server to client only")
        # AUTH from a client carries nothing the server uses; ignored

    # ------------------------------------------------------------ commands

    def _queue_command(self, conn: Connection, payload: bytes) -> None:
        if conn.commands is None:
            conn.commands = CommandPipeline(conn, self.submit, self.counts, self.limits.pending_commands)
        conn.commands.put(payload)


async def _close(socket: WebSocket, code: int, reason: str) -> None:
    try:
        await socket.send({"type": "websocket.close", "code": int(code), "reason": close_reason(reason)})
    except Exception:  # already gone
        pass


# ---------------------------------------------------------------- who is on the socket (realtime.policy)


def _default_authorize(system) -> Authorize:
    from . import policy

    async def authorize(socket: WebSocket, project: str, shot: str) -> Principal:
        user = policy.authenticate(system, socket.headers.get("authorization"), socket.query_params.get("token"))
        m = await policy.require_member(system, user, project)
        return Principal(user, m.role)

    return authorize


def _default_submit(system) -> Submit:
    from . import gateway

    async def submit(principal: Principal, project: str, shot: str, command: Command):
        started = await gateway.start_as(system, principal.user, project, shot, command)
        if isinstance(started, Result):
            return started
        return started.verdict()

    return submit


# ---------------------------------------------------------------- the route


def sync_route(system, limits: SyncLimits | None = None, *, authorize: Authorize | None = None,
               submit: Submit | None = None):
    """The litestar WebSocket route handler for ``/v1/projects/{project}/shots/{shot}/sync``; ``limits`` default
    to :meth:`SyncLimits.from_env`, ``authorize`` / ``submit`` to :mod:`realtime.gateway`'s. Its hub is
    ``handler.opt["hub"]``; the app closes it on shutdown (``on_shutdown=[handler.opt["hub"].aclose]``)."""
    hub = SyncHub(system, limits or SyncLimits.from_env(os.environ), authorize=authorize, submit=submit)

    @websocket(SYNC_PATH, opt={"hub": hub}, name="shot-sync")
    async def shot_sync(socket: WebSocket, project: FromPath[str], shot: FromPath[str]) -> None:
        await hub.serve(socket, project, shot)

    return shot_sync
