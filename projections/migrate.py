"""Plain-SQL migrations: ``migrations/NNN_name.sql`` applied in order, each once, recorded in ``schema_migrations``.

Everything runs in one transaction holding a transaction-level advisory lock, so two processes starting at once
apply each file exactly once (the second waits, then finds nothing left to do), and a failing file leaves the
schema as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["MIGRATIONS_DIR", "MIGRATION_LOCK", "Migration", "migrations", "migrate"]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

MIGRATION_LOCK = 0x574E4D_4D49_47  # "WNM" "MI" "G": the advisory lock key every migrating process takes

_NAME = re.compile(r"^(\d+)_([A-Za-z0-9_]+)\.sql$")


class Migration:
    __slots__ = ("version", "name", "path")

    def __init__(self, version: int, name: str, path: Path):
        self.version, self.name, self.path = version, name, path

    def __repr__(self) -> str:
        return f"Migration({self.version}, {self.name!r})"


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; a stray or duplicate-numbered ``.sql`` file is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(Path(directory).glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise ValueError(f"migration file name must be NNN_name.sql: {path.name}")
        version = int(m.group(1))
        if version in found:
            raise ValueError(f"two migrations numbered {version}: {found[version].path.name}, {path.name}")
        found[version] = Migration(version, m.group(2), path)
    return [found[v] for v in sorted(found)]


async def migrate(conn_or_pool, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply the migrations not yet recorded; returns the versions applied now (empty when up to date).

    ``conn_or_pool`` is an asyncpg ``Connection`` or ``Pool``.
    """
    if hasattr(conn_or_pool, "acquire"):
        async with conn_or_pool.acquire() as conn:
            return await _migrate(conn, directory)
    return await _migrate(conn_or_pool, directory)


async def _migrate(conn, directory: Path) -> list[int]:
    pending = migrations(directory)
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for m in pending:
            if m.version in done:
                continue
            await conn.execute(m.path.read_text())
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
            applied.append(m.version)
    return applied
