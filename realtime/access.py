"""Projects, memberships and roles (SPEC §6): the access store port, its PostgreSQL adapter and in-memory twin.

Roles and what they may write (the per-op decision is :func:`realtime.policy.authorize`):

========  ==========================================================================================
owner     everything, and manages members
director  everything but members
layout    props and environment entities (and relations whose subject is one); layout directives
camera    cameras; camera / shot directives
lighting  lights; lighting / light directives
motion    characters (skeletons, joints); motion / path directives
viewer    reads only
agent     its ``scopes``: entity kinds plus "directive" and "shot"; all of them when unset
========  ==========================================================================================

Every role reads the whole project. A user who is not a member cannot tell the project exists.
"""

from __future__ import annotations

import time
from typing import Protocol

import msgspec

from projections.store import StoreError

__all__ = [
    "ROLES",
    "SCOPES",
    "ENTITY_KINDS",
    "Project",
    "Membership",
    "AccessStore",
    "MemoryAccess",
    "PgAccess",
    "check_role",
    "check_scopes",
]

ROLES = ("owner", "director", "layout", "camera", "lighting", "motion", "viewer", "agent")
ENTITY_KINDS = ("prop", "environment", "character", "camera", "light")
SCOPES = ENTITY_KINDS + ("directive", "shot")


def check_role(role: object) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {list(ROLES)}, got {role!r}")
    return role  # type: ignore[return-value]


def check_scopes(scopes: object) -> tuple[str, ...] | None:
    if scopes is None:
        return None
    if not isinstance(scopes, (list, tuple)) or any(s not in SCOPES for s in scopes):
        raise ValueError(f"scopes must be a list drawn from {list(SCOPES)}, got {scopes!r}")
    return tuple(sorted(set(scopes)))


class Project(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str = ""
    created_by: str
    created_at: float = 0.0


class Membership(msgspec.Struct, frozen=True, kw_only=True):
    """``scopes`` only matters for agents (None = every scope)."""

    project: str
    user: str
    role: str
    scopes: tuple[str, ...] | None = None

    @property
    def can_write(self) -> bool:
        return self.role != "viewer"

    @property
    def is_manager(self) -> bool:
        return self.role == "owner"


class AccessStore(Protocol):
    async def create_project(self, project: str, name: str, owner: str) -> bool:
        """Create ``project`` with ``owner`` as its owner; False (nothing changed) when it exists."""

    async def project(self, project: str) -> Project | None: ...

    async def projects_of(self, user: str) -> list[tuple[Project, str]]:
        """The projects ``user`` is a member of, with their role, by project id."""

    async def membership(self, project: str, user: str) -> Membership | None: ...

    async def members(self, project: str) -> list[Membership]: ...

    async def set_member(self, project: str, user: str, role: str, scopes: tuple[str, ...] | None = None,
                         added_by: str | None = None) -> Membership:
        """Add or change a member (the project must exist)."""

    async def remove_member(self, project: str, user: str) -> bool: ...

    async def member_count(self) -> int:
        """Memberships over all projects (0 on a fresh install)."""


class MemoryAccess:
    """In-memory twin of :class:`PgAccess`."""

    def __init__(self):
        self._projects: dict[str, Project] = {}
        self._members: dict[tuple[str, str], Membership] = {}

    async def create_project(self, project, name, owner):
        if project in self._projects:
            return False
        self._projects[project] = Project(id=project, name=name or "", created_by=owner, created_at=time.time())
        self._members[(project, owner)] = Membership(project=project, user=owner, role="owner")
        return True

    async def project(self, project):
        return self._projects.get(project)

    async def projects_of(self, user):
        return [(self._projects[p], m.role) for (p, u), m in sorted(self._members.items()) if u == user]

    async def membership(self, project, user):
        return self._members.get((project, user))

    async def members(self, project):
        return [m for (p, _), m in sorted(self._members.items()) if p == project]

    async def set_member(self, project, user, role, scopes=None, added_by=None):
        if project not in self._projects:
            raise KeyError(project)
        m = self._members[(project, user)] = Membership(project=project, user=user, role=check_role(role),
                                                        scopes=check_scopes(scopes))
        return m

    async def remove_member(self, project, user):
        return self._members.pop((project, user), None) is not None

    async def member_count(self):
        return len(self._members)


_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError)
try:
    import asyncpg

    _ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)
except ImportError:  # pragma: no cover - asyncpg is a dependency
    pass


def _membership(r) -> Membership:
    return Membership(project=r["project"], user=r["user_id"], role=r["role"],
                      scopes=None if r["scopes"] is None else tuple(r["scopes"]))


def _project(r) -> Project:
    return Project(id=r["id"], name=r["name"], created_by=r["created_by"], created_at=r["created_at"])


_PROJECT_COLUMNS = "id, name, created_by, extract(epoch FROM created_at)::float8 AS created_at"


class PgAccess:
    """Access store on an asyncpg pool (tables: migrations/002_access.sql, applied by ``PgStore.open``)."""

    def __init__(self, pool):
        self.pool = pool

    async def _call(self, method: str, query: str, *args):
        try:
            return await getattr(self.pool, method)(query, *args)
        except _ERRORS as e:
            raise StoreError(str(e)) from e

    async def create_project(self, project, name, owner):
        try:
            async with self.pool.acquire() as conn:
                async with conn.transaction():
                    row = await conn.fetchrow(
                        "INSERT INTO projects (id, name, created_by) VALUES ($1, $2, $3) "
                        "ON CONFLICT DO NOTHING RETURNING id", project, name or "", owner)
                    if row is None:
                        return False
                    await conn.execute(
                        "INSERT INTO members (project, user_id, role, added_by) VALUES ($1, $2, 'owner', $2)",
                        project, owner)
                    return True
        except _ERRORS as e:
            raise StoreError(str(e)) from e

    async def project(self, project):
        row = await self._call("fetchrow", f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = $1", project)
        return None if row is None else _project(row)

    async def projects_of(self, user):
        rows = await self._call(
            "fetch",
            "SELECT p.id, p.name, p.created_by, extract(epoch FROM p.created_at)::float8 AS created_at, m.role "
            "FROM members m JOIN projects p ON p.id = m.project WHERE m.user_id = $1 ORDER BY p.id", user)
        return [(_project(r), r["role"]) for r in rows]

    async def membership(self, project, user):
        row = await self._call("fetchrow", "SELECT project, user_id, role, scopes FROM members "
                                           "WHERE project = $1 AND user_id = $2", project, user)
        return None if row is None else _membership(row)

    async def members(self, project):
        rows = await self._call("fetch", "SELECT project, user_id, role, scopes FROM members WHERE project = $1 "
                                         "ORDER BY user_id", project)
        return [_membership(r) for r in rows]

    async def set_member(self, project, user, role, scopes=None, added_by=None):
        role, scopes = check_role(role), check_scopes(scopes)
        try:
            row = await self.pool.fetchrow(
                "INSERT INTO members (project, user_id, role, scopes, added_by) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (project, user_id) DO UPDATE SET role = EXCLUDED.role, scopes = EXCLUDED.scopes, "
                "updated_at = now() RETURNING project, user_id, role, scopes",
                project, user, role, None if scopes is None else list(scopes), added_by)
        except asyncpg.ForeignKeyViolationError:
            raise KeyError(project) from None
        except _ERRORS as e:
            raise StoreError(str(e)) from e
        return _membership(row)

    async def remove_member(self, project, user):
        status = await self._call("execute", "DELETE FROM members WHERE project = $1 AND user_id = $2",
                                  project, user)
        return status.endswith(" 1")

    async def member_count(self):
        return await self._call("fetchval", "SELECT count(*) FROM members")


class CachedAccess:
    """An access store whose membership reads are kept for ``ttl_s`` seconds: every command checks the caller's
    membership, and a round trip to PostgreSQL per command was a large share of a busy shot's time. Changes made
    through this instance take effect at once; changes made by another instance within ``ttl_s``."""

    def __init__(self, inner, ttl_s: float = 1.0, clock=None):
        import time

        self.inner, self.ttl_s = inner, ttl_s
        self._clock = clock or time.monotonic
        self._memberships: dict[tuple[str, str], tuple[float, Membership | None]] = {}

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def membership(self, project, user):
        now = self._clock()
        hit = self._memberships.get((project, user))
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        m = await self.inner.membership(project, user)
        if len(self._memberships) > 10_000:
            self._memberships.clear()
        self._memberships[(project, user)] = (now, m)
        return m

    def _forget(self, project):
        for key in [k for k in self._memberships if k[0] == project]:
            del self._memberships[key]

    async def create_project(self, project, name, owner):
        self._forget(project)
        return await self.inner.create_project(project, name, owner)

    async def set_member(self, project, user, role, scopes=None, added_by=None):
        self._forget(project)
        return await self.inner.set_member(project, user, role, scopes, added_by)

    async def remove_member(self, project, user):
        self._forget(project)
        return await self.inner.remove_member(project, user)
