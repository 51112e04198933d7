"""The projection store port: what the projector, replay and the API need from PostgreSQL, and its in-memory twin.

The projector writes through one operation, :meth:`ProjectionStore.commit_batch`, which stores a batch of audit
rows, the catalogue rows of the shots they touched, any snapshots and the project's checkpoint in ONE transaction.
It is guarded: the checkpoint never moves backwards, an audit row or snapshot is never stored twice, and a
catalogue row never goes back to an older seq — so a redelivered batch, or two projectors on the same stream, are
harmless. Everything else reads.
"""

from __future__ import annotations

import time
from typing import Any, Literal, Protocol

import msgspec

from core.ops import op_entity_ids
from events.envelope import Event

__all__ = [
    "StoreError",
    "AuditEntry",
    "ShotUpdate",
    "ShotInfo",
    "Snapshot",
    "WorldSnapshot",
    "ProjectionStore",
    "MemoryStore",
    "audit_entry_for",
    "HISTORY_MAX",
]

HISTORY_MAX = 1000
"""The most audit entries one history query returns."""


class StoreError(Exception):
    """The store could not do what was asked (unreachable, failed transaction)."""


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One event of a project's stream as the projection saw it. ``payload`` is the event as JSON data; when the
    bytes were not JSON it is None and ``raw`` keeps them. The fields beside it are empty when the event could not
    be decoded."""

    project: str
    shot: str
    seq: int
    status: Literal["applied", "rejected"]
    reason: str | None = None
    event_id: str | None = None
    command_id: str | None = None
    actor_kind: str | None = None
    actor_id: str | None = None
    causation: int | None = None
    op_types: tuple[str, ...] = ()
    entity_ids: tuple[str, ...] = ()
    payload: Any = None
    raw: bytes | None = None
    ts: float | None = None

    @property
    def applied(self) -> bool:
        return self.status == "applied"


def audit_entry_for(project: str, shot: str, seq: int, data: bytes, event: Event | None,
                    applied: bool, reason: str | None) -> AuditEntry:
    """The audit row of the event ``data`` stored at ``seq`` on ``shot``'s subject (``event`` decoded, or None)."""
    try:
        payload = msgspec.json.decode(data)
    except msgspec.DecodeError:
        payload = None
    status = "applied" if applied else "rejected"
    if event is None:
        return AuditEntry(project=project, shot=shot, seq=seq, status=status, reason=reason, payload=payload,
                          raw=bytes(data) if payload is None else None)
    entity_ids: list[str] = []
    for op in event.ops:
        for eid in op_entity_ids(op):
            if eid not in entity_ids:
                entity_ids.append(eid)
    op_types: list[str] = []
    for op in event.ops:
        tag = type(op).__struct_config__.tag
        if tag not in op_types:
            op_types.append(tag)
    return AuditEntry(
        project=project, shot=shot, seq=seq, status=status, reason=reason,
        event_id=event.event_id, command_id=event.command_id,
        actor_kind=event.actor.kind, actor_id=event.actor.id, causation=event.causation,
        op_types=tuple(op_types), entity_ids=tuple(entity_ids), payload=payload, ts=event.ts,
    )


class ShotUpdate(msgspec.Struct, frozen=True):
    """Where a shot's projection stands after a batch: the catalogue row to write."""

    shot: str
    head_seq: int
    last_seq: int
    state_hash: str


class ShotInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A shot catalogue row. ``head_seq`` is the last applied seq, ``last_seq`` the last processed one;
    ``event_count`` counts both applied and rejected events. Times are seconds since the epoch."""

    project: str
    shot: str
    head_seq: int
    last_seq: int
    state_hash: str
    event_count: int
    created_at: float
    updated_at: float


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A shot's document (its full Yjs update) after the event at ``seq``."""

    project: str
    shot: str
    seq: int
    doc: bytes
    state_hash: str
    reducer_version: int


class WorldSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A shot's plain world after the event at ``seq`` (``projections.world_codec`` bytes)."""

    project: str
    shot: str
    seq: int
    world: bytes
    reducer_version: int


class ProjectionStore(Protocol):
    async def checkpoint(self, project: str) -> int:
        """The last seq of ``project``'s stream the projection holds (0 for none)."""

    async def commit_batch(self, project: str, rows: list[AuditEntry], shot_updates: list[ShotUpdate],
                           snapshots: list[Snapshot | WorldSnapshot], new_checkpoint: int) -> bool:
        """Store one batch atomically; False (and nothing written) when the checkpoint already is at or past
        ``new_checkpoint``. Rows at or below the stored checkpoint are skipped."""

    async def refresh_hash(self, project: str, shot: str, head_seq: int, state_hash: str) -> None:
        """Set the catalogue row's (head_seq, state_hash) pair to a newer one; an older pair changes nothing."""

    async def latest_snapshot(self, project: str, shot: str, at_most_seq: int | None = None,
                              reducer_version: int | None = None) -> Snapshot | None: ...

    async def latest_world_snapshot(self, project: str, shot: str, at_most_seq: int | None = None,
                                    reducer_version: int | None = None) -> WorldSnapshot | None: ...

    async def snapshots(self, project: str, shot: str, reducer_version: int | None = None) -> list[Snapshot]: ...

    async def shot(self, project: str, shot: str) -> ShotInfo | None: ...

    async def shots(self, project: str) -> list[ShotInfo]: ...

    async def history(self, project: str, shot: str, actor: str | None = None, entity: str | None = None,
                      op: str | None = None, after: int | None = None, before: int | None = None,
                      limit: int = 100) -> list[AuditEntry]:
        """Audit entries of a shot in seq order, filtered. ``actor`` is ``kind:id`` or a bare id. With ``after``,
        the first ``limit`` entries after it (paging forward); otherwise the last ``limit`` before ``before``
        (or the newest), still in seq order."""

    async def audit_entry(self, project: str, seq: int) -> AuditEntry | None: ...

    async def command_entry(self, project: str, shot: str, command_id: str) -> AuditEntry | None:
        """The first audited event of ``command_id`` on ``shot`` (how a retried command finds its verdict)."""


def reducer_version_or_current(reducer_version: int | None) -> int:
    if reducer_version is not None:
        return reducer_version
    from .reducer import REDUCER_VERSION

    return REDUCER_VERSION


def actor_filter(actor: str) -> tuple[str | None, str]:
    """``"user:alice"`` → ("user", "alice"); ``"alice"`` → (None, "alice")."""
    kind, sep, ident = actor.partition(":")
    return (kind, ident) if sep else (None, actor)


class MemoryStore:
    """In-memory twin of :class:`projections.pgstore.PgStore`, with the same guards."""

    def __init__(self):
        self._checkpoints: dict[str, int] = {}
        self._audit: dict[str, dict[int, AuditEntry]] = {}
        self._shots: dict[tuple[str, str], ShotInfo] = {}
        self._snapshots: dict[tuple[str, str, int], dict[int, Snapshot]] = {}
        self._world_snapshots: dict[tuple[str, str, int], dict[int, WorldSnapshot]] = {}
        self.commits = 0

    async def checkpoint(self, project):
        return self._checkpoints.get(project, 0)

    async def commit_batch(self, project, rows, shot_updates, snapshots, new_checkpoint):
        current = self._checkpoints.get(project, 0)
        if new_checkpoint <= current:
            return False
        audit = self._audit.setdefault(project, {})
        counts: dict[str, int] = {}
        for row in rows:
            if row.seq <= current or row.seq in audit:
                continue
            audit[row.seq] = row
            counts[row.shot] = counts.get(row.shot, 0) + 1
        now = time.time()
        for u in shot_updates:
            old = self._shots.get((project, u.shot))
            added = counts.pop(u.shot, 0)
            if old is None:
                self._shots[(project, u.shot)] = ShotInfo(
                    project=project, shot=u.shot, head_seq=u.head_seq, last_seq=u.last_seq,
                    state_hash=u.state_hash, event_count=added, created_at=now, updated_at=now)
            else:
                newer = u.last_seq > old.last_seq
                self._shots[(project, u.shot)] = msgspec.structs.replace(
                    old,
                    head_seq=u.head_seq if newer else old.head_seq,
                    last_seq=u.last_seq if newer else old.last_seq,
                    state_hash=u.state_hash if newer else old.state_hash,
                    event_count=old.event_count + added,
                    updated_at=now,
                )
        for s in snapshots:
            kept = self._world_snapshots if isinstance(s, WorldSnapshot) else self._snapshots
            kept.setdefault((project, s.shot, s.reducer_version), {}).setdefault(s.seq, s)
        self._checkpoints[project] = new_checkpoint
        self.commits += 1
        return True

    async def refresh_hash(self, project, shot, head_seq, state_hash):
        old = self._shots.get((project, shot))
        if old is not None and old.head_seq <= head_seq <= old.last_seq:
            self._shots[(project, shot)] = msgspec.structs.replace(old, head_seq=head_seq, state_hash=state_hash,
                                                                    updated_at=time.time())

    async def latest_snapshot(self, project, shot, at_most_seq=None, reducer_version=None):
        snaps = self._snapshots.get((project, shot, reducer_version_or_current(reducer_version)), {})
        seqs = [q for q in snaps if at_most_seq is None or q <= at_most_seq]
        return snaps[max(seqs)] if seqs else None

    async def latest_world_snapshot(self, project, shot, at_most_seq=None, reducer_version=None):
        snaps = self._world_snapshots.get((project, shot, reducer_version_or_current(reducer_version)), {})
        seqs = [q for q in snaps if at_most_seq is None or q <= at_most_seq]
        return snaps[max(seqs)] if seqs else None

    async def snapshots(self, project, shot, reducer_version=None):
        snaps = self._snapshots.get((project, shot, reducer_version_or_current(reducer_version)), {})
        return [snaps[q] for q in sorted(snaps)]

    async def shot(self, project, shot):
        return self._shots.get((project, shot))

    async def shots(self, project):
        return [info for (p, _), info in sorted(self._shots.items()) if p == project]

    async def history(self, project, shot, actor=None, entity=None, op=None, after=None, before=None, limit=100):
        limit = max(0, min(limit, HISTORY_MAX))
        kind, ident = actor_filter(actor) if actor is not None else (None, None)
        found = []
        for seq in sorted(self._audit.get(project, {})):
            e = self._audit[project][seq]
            if e.shot != shot or (after is not None and seq <= after) or (before is not None and seq >= before):
                continue
            if ident is not None and (e.actor_id != ident or (kind is not None and e.actor_kind != kind)):
                continue
            if entity is not None and entity not in e.entity_ids:
                continue
            if op is not None and op not in e.op_types:
                continue
            found.append(e)
        if limit == 0:
            return []
        return found[:limit] if after is not None else found[-limit:]

    async def audit_entry(self, project, seq):
        return self._audit.get(project, {}).get(seq)

    async def command_entry(self, project, shot, command_id):
        found = [e for e in self._audit.get(project, {}).values() if e.shot == shot and e.command_id == command_id]
        return min(found, key=lambda e: e.seq) if found else None
