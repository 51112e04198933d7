"""The PostgreSQL adapter of :class:`projections.store.ProjectionStore` (asyncpg). Tables: migrations/001_init.sql.

``commit_batch`` is one call of the SQL function of the same name (migrations/006_commit_batch.sql): it takes
the project's checkpoint row ``FOR UPDATE`` first, so concurrent projectors on the same stream serialise there,
and then only stores rows above the checkpoint it read. Text PostgreSQL cannot hold
(NUL characters, lone surrogates) is replaced — in what is written and in every query's arguments alike, so an
id that holds one reads what was written under it —, integers beyond ``bigint`` are clamped to its range (a
causation beyond it is dropped), and an event that is not valid JSON for ``jsonb`` keeps its raw bytes instead:
no event and no read can make PostgreSQL refuse a statement.
"""

from __future__ import annotations

from typing import Iterable

import asyncpg
import msgspec

from .store import (HISTORY_MAX, AuditEntry, ShotInfo, Snapshot, StoreError, WorldSnapshot, actor_filter,
                    reducer_version_or_current)

__all__ = ["PgStore"]

# InternalClientError: a pooled connection left mid-operation when the server died (it is dropped on release)
_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)

_AUDIT_COLUMNS = ("project, seq, shot, event_id, command_id, actor_kind, actor_id, causation, op_types, "
                  "entity_ids, payload, raw, status, reason, ts")

_INSERT_SNAPSHOT = ("INSERT INTO snapshots (project, shot, reducer_version, seq, doc, state_hash) "
                    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")

_SHOT_COLUMNS = ("project, shot, head_seq, last_seq, state_hash, event_count, "
                 "extract(epoch FROM created_at)::float8 AS created_at, "
                 "extract(epoch FROM updated_at)::float8 AS updated_at")

_SNAPSHOT_COLUMNS = "project, shot, seq, doc, state_hash, reducer_version"

_INSERT_WORLD_SNAPSHOT = ("INSERT INTO world_snapshots (project, shot, reducer_version, seq, world) "
                          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")


def _text(s: str | None) -> str | None:
    """``s`` as PostgreSQL text takes it: NUL and lone surrogates replaced (ASCII without NUL, the usual case,
    as is)."""
    if s is None or (s.isascii() and "\x00" not in s):
        return s
    return s.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


_INT64 = (-2**63, 2**63 - 1)


def _arg(value):
    """A query argument as PostgreSQL takes it: text through :func:`_text`, integers clamped to ``bigint``."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, _INT64[0]), _INT64[1])
    return value


def _bigint_or_none(value: int | None) -> int | None:
    return value if value is None or _INT64[0] <= value <= _INT64[1] else None


def _jsonb(payload) -> str | None:
    """The payload as text ``jsonb`` accepts, or None (NUL escapes, NaN/Infinity and lone surrogates are not)."""
    if payload is None:
        return None
    try:
        raw = msgspec.json.encode(payload)  # payloads come from JSON, so they hold no NaN or Infinity
        text = raw.decode("utf-8")
    except (ValueError, TypeError, UnicodeError):
        return None
    return None if "\\u0000" in text else text


def _audit_entry(row: AuditEntry) -> tuple:
    """``row`` as the SQL type ``audit_entry`` (migrations/006_commit_batch.sql; the project is passed once)."""
    payload = _jsonb(row.payload)
    raw = None
    if payload is None:
        raw = row.raw
        if raw is None and row.payload is not None:
            try:
                raw = msgspec.json.encode(row.payload)
            except (TypeError, ValueError):
                raw = None
    return (
        row.seq, _text(row.shot), _text(row.event_id), _text(row.command_id),
        _text(row.actor_kind), _text(row.actor_id), _bigint_or_none(row.causation), [_text(t) for t in row.op_types],
        [_text(e) for e in row.entity_ids], payload, raw, row.status,
        _text(row.reason), row.ts,
    )


def _audit_from(r) -> AuditEntry:
    return AuditEntry(
        project=r["project"], shot=r["shot"], seq=r["seq"], status=r["status"], reason=r["reason"],
        event_id=r["event_id"], command_id=r["command_id"], actor_kind=r["actor_kind"], actor_id=r["actor_id"],
        causation=r["causation"], op_types=tuple(r["op_types"]), entity_ids=tuple(r["entity_ids"]),
        payload=None if r["payload"] is None else msgspec.json.decode(r["payload"]),
        raw=None if r["raw"] is None else bytes(r["raw"]), ts=r["ts"],
    )


def _shot_from(r) -> ShotInfo:
    return ShotInfo(**dict(r))


def _snapshot_from(r) -> Snapshot:
    return Snapshot(project=r["project"], shot=r["shot"], seq=r["seq"], doc=bytes(r["doc"]),
                    state_hash=r["state_hash"], reducer_version=r["reducer_version"])


async def _keep_session(_conn) -> None:
    """The pool's reset on release, instead of asyncpg's ``RESET ALL; CLOSE ALL; UNLISTEN *; pg_advisory_unlock_all()``
    (a round trip per release, on every projector commit): nothing here leaves session state behind — no ``SET``,
    ``LISTEN``, session-level advisory lock (migrations take a transaction-level one) or cursor outside a
    transaction. asyncpg still rolls back a transaction left open before this is called."""


class PgStore:
    """Projection store on a PostgreSQL pool. Build it with :meth:`open` (which migrates) or around a pool."""

    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    @classmethod
    async def open(cls, dsn: str, *, min_size: int = 1, max_size: int = 10, migrate: bool = True) -> "PgStore":
        try:
            pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, reset=_keep_session)
        except _ERRORS as e:
            raise StoreError(f"cannot connect to PostgreSQL: {e}") from e
        if migrate:
            from .migrate import migrate as run_migrations

            try:
                await run_migrations(pool)
            except _ERRORS as e:
                await pool.close()
                raise StoreError(f"migrations failed: {e}") from e
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    async def _fetch(self, query: str, *args):
        try:
            return await self.pool.fetch(query, *map(_arg, args))
        except _ERRORS as e:
            raise StoreError(str(e)) from e

    async def _fetchrow(self, query: str, *args):
        try:
            return await self.pool.fetchrow(query, *map(_arg, args))
        except _ERRORS as e:
            raise StoreError(str(e)) from e

    # ------------------------------------------------------------ projector

    async def checkpoint(self, project: str) -> int:
        row = await self._fetchrow("SELECT last_seq FROM projector_checkpoints WHERE project = $1", project)
        return 0 if row is None else row["last_seq"]

    async def commit_batch(self, project, rows, shot_updates, snapshots, new_checkpoint):
        try:
            async with self.pool.acquire() as conn:
                if not snapshots:  # one statement: its own transaction, one round trip
                    return await self._commit(conn, project, rows, shot_updates, snapshots, new_checkpoint)
                async with conn.transaction():
                    return await self._commit(conn, project, rows, shot_updates, snapshots, new_checkpoint)
        except _ERRORS as e:
            raise StoreError(f"commit of {project} up to {new_checkpoint} failed: {e}") from e

    async def _commit(self, conn, project, rows: Iterable[AuditEntry], shot_updates, snapshots,
                      new_checkpoint) -> bool:
        """One call of ``commit_batch`` (migrations/006_commit_batch.sql), then the snapshots, if any."""
        project = _text(project)
        committed = await conn.fetchval(
            "SELECT commit_batch($1, $2, $3::audit_entry[], $4::shot_update[])", project, new_checkpoint,
            [_audit_entry(r) for r in rows],
            [(_text(u.shot), u.head_seq, u.last_seq, u.state_hash) for u in shot_updates])
        if not committed:
            return False
        docs = [s for s in snapshots if isinstance(s, Snapshot)]
        worlds = [s for s in snapshots if isinstance(s, WorldSnapshot)]
        if docs:
            await conn.executemany(_INSERT_SNAPSHOT, [
                (project, _text(s.shot), s.reducer_version, s.seq, s.doc, s.state_hash) for s in docs
            ])
        if worlds:
            await conn.executemany(_INSERT_WORLD_SNAPSHOT, [
                (project, _text(s.shot), s.reducer_version, s.seq, s.world) for s in worlds
            ])
        return True

    async def refresh_hash(self, project, shot, head_seq, state_hash):
        try:
            await self.pool.execute(
                "UPDATE shots SET head_seq = $3, state_hash = $4, updated_at = now() "
                "WHERE project = $1 AND shot = $2 AND head_seq <= $3 AND $3 <= last_seq",
                _text(project), _text(shot), head_seq, state_hash)
        except _ERRORS as e:
            raise StoreError(f"refreshing the hash of {project}/{shot} failed: {e}") from e

    async def latest_snapshot(self, project, shot, at_most_seq=None, reducer_version=None):
        row = await self._fetchrow(
            f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE project = $1 AND shot = $2 AND reducer_version = $3"
            " AND ($4::bigint IS NULL OR seq <= $4) ORDER BY seq DESC LIMIT 1",
            project, shot, reducer_version_or_current(reducer_version), at_most_seq)
        return None if row is None else _snapshot_from(row)

    async def latest_world_snapshot(self, project, shot, at_most_seq=None, reducer_version=None):
        version = reducer_version_or_current(reducer_version)
        row = await self._fetchrow(
            "SELECT project, shot, seq, world, reducer_version FROM world_snapshots WHERE project = $1 AND shot = $2"
            " AND reducer_version = $3 AND ($4::bigint IS NULL OR seq <= $4) ORDER BY seq DESC LIMIT 1",
            project, shot, version, at_most_seq)
        if row is None:
            return None
        return WorldSnapshot(project=row["project"], shot=row["shot"], seq=row["seq"], world=bytes(row["world"]),
                             reducer_version=row["reducer_version"])

    async def snapshots(self, project, shot, reducer_version=None):
        rows = await self._fetch(
            f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE project = $1 AND shot = $2 AND reducer_version = $3"
            " ORDER BY seq", project, shot, reducer_version_or_current(reducer_version))
        return [_snapshot_from(r) for r in rows]

    # ------------------------------------------------------------ reads

    async def shot(self, project, shot):
        row = await self._fetchrow(f"SELECT {_SHOT_COLUMNS} FROM shots WHERE project = $1 AND shot = $2",
                                   project, shot)
        return None if row is None else _shot_from(row)

    async def shots(self, project):
        rows = await self._fetch(f"SELECT {_SHOT_COLUMNS} FROM shots WHERE project = $1 ORDER BY shot", project)
        return [_shot_from(r) for r in rows]

    async def history(self, project, shot, actor=None, entity=None, op=None, after=None, before=None, limit=100):
        limit = max(0, min(limit, HISTORY_MAX))
        if limit == 0:
            return []
        where, args = ["project = $1", "shot = $2"], [project, shot]

        def arg(value):
            args.append(value)
            return f"${len(args)}"

        if actor is not None:
            kind, ident = actor_filter(actor)
            where.append(f"actor_id = {arg(ident)}")
            if kind is not None:
                where.append(f"actor_kind = {arg(kind)}")
        if entity is not None:
            where.append(f"entity_ids @> ARRAY[{arg(entity)}]::text[]")
        if op is not None:
            where.append(f"op_types @> ARRAY[{arg(op)}]::text[]")
        if after is not None:
            where.append(f"seq > {arg(after)}")
        if before is not None:
            where.append(f"seq < {arg(before)}")
        order = "ASC" if after is not None else "DESC"
        rows = await self._fetch(
            f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT {arg(limit)}",
            *args)
        entries = [_audit_from(r) for r in rows]
        return entries if after is not None else entries[::-1]

    async def audit_entry(self, project, seq):
        row = await self._fetchrow(f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE project = $1 AND seq = $2",
                                   project, seq)
        return None if row is None else _audit_from(row)

    async def command_entry(self, project, shot, command_id):
        row = await self._fetchrow(
            f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE project = $1 AND shot = $2 AND command_id = $3"
            " ORDER BY seq LIMIT 1", project, shot, command_id)
        return None if row is None else _audit_from(row)
