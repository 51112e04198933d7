"""Who may say what in a shot's awareness: the states known for a shot, which socket or instance holds each
client id, and the rules that keep awareness owned and bounded (:class:`ShotPresence`, which
:class:`realtime.sync_room.Room` extends).

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

import time
from collections import Counter
from typing import TYPE_CHECKING, NamedTuple

import msgspec

from . import yprotocol as Y
from .limits import check_size

if TYPE_CHECKING:
    from .sync_room import Connection, SyncLimits

__all__ = ["Presence", "ShotPresence", "stamp_user"]


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


class ShotPresence:
    """The awareness states of one shot (this instance's clients and those relayed from others), who owns each
    client id, and the ids that left a moment ago. ``limits`` is the socket's
    :class:`~realtime.sync_room.SyncLimits`."""

    def __init__(self, limits: "SyncLimits"):
        self.limits = limits
        self.presence: dict[int, Presence] = {}
        self.owners: dict[int, Connection] = {}  # client id -> the socket of this instance that owns it
        self.gone: dict[int, _Gone] = {}
        self.counts: Counter[str] = Counter()  # awareness entries dropped, by reason

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
            elif not local_only or not isinstance(p.owner, bytes):
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
