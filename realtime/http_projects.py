"""Projects and members (SPEC §6).

| route | body | answer |
|---|---|---|
| ``POST /v1/projects`` | ``{id, name?}`` | 201 ``{id, name, role: "owner"}``; 409 if the id is taken |
| ``GET /v1/projects`` | | ``{projects: [{id, name, role}]}`` — the caller's |
| ``GET /v1/projects/{p}`` | | ``{id, name, created_by, role}``; 404 for non-members |
| ``GET /v1/projects/{p}/members`` | | ``{members: [{user, role, scopes}]}`` |
| ``POST /v1/projects/{p}/members`` | ``{user, role, scopes?}`` | the membership; owner only (403) |
| ``DELETE /v1/projects/{p}/members/{user}`` | | 204; owner only; 409 for the last owner |
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, delete, get, post
from litestar.params import FromPath

from core.values import ID_RE

from .access import ROLES, SCOPES, check_role, check_scopes
from .auth import USER_RE
from .errors import Conflict, Forbidden, Invalid, NotFound
from .policy import require_member
from .http_common import User, read_body, state_of, timed

__all__ = ["ROUTES"]


class ProjectIn(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern=ID_RE.pattern)]
    name: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class MemberIn(msgspec.Struct, forbid_unknown_fields=True):
    user: Annotated[str, msgspec.Meta(pattern=USER_RE.pattern)]
    role: str
    scopes: list[str] | None = None


def _member_json(m) -> dict:
    return {"user": m.user, "role": m.role, "scopes": None if m.scopes is None else list(m.scopes)}


@post("/v1/projects", status_code=201, summary="Create a project; the caller becomes its owner")
async def create_project(request: Request, user: User) -> dict:
    body = await read_body(request, ProjectIn)
    system = state_of(request).system

    async def go():
        if not await system.access.create_project(body.id, body.name or "", user):
            raise Conflict(f"project {body.id!r} already exists")
        await system.log.ensure_project(body.id)
        if system.projector is not None:
            system.projector.watch_project(body.id)
        return {"id": body.id, "name": body.name or "", "role": "owner"}

    return await timed(request, "project", user, go)


@get("/v1/projects", summary="The caller's projects")
async def list_projects(request: Request, user: User) -> dict:
    found = await state_of(request).system.access.projects_of(user)
    return {"projects": [{"id": p.id, "name": p.name, "role": role} for p, role in found]}


@get("/v1/projects/{project:str}", summary="A project the caller is a member of")
async def get_project(request: Request, user: User, project: FromPath[str]) -> dict:
    system = state_of(request).system
    m = await require_member(system, user, project)
    p = await system.access.project(project)
    if p is None:
        raise NotFound(f"no project {project!r}")
    return {"id": p.id, "name": p.name, "created_by": p.created_by, "role": m.role,
            "scopes": None if m.scopes is None else list(m.scopes)}


@get("/v1/projects/{project:str}/members", summary="Members of a project")
async def list_members(request: Request, user: User, project: FromPath[str]) -> dict:
    system = state_of(request).system
    await require_member(system, user, project)
    return {"members": [_member_json(m) for m in await system.access.members(project)]}


async def _require_owner(system, user, project):
    m = await require_member(system, user, project)
    if not m.is_manager:
        raise Forbidden(f"only an owner manages members; {user} is {m.role}")


async def _not_last_owner(system, project, user, new_role: str | None):
    members = await system.access.members(project)
    owners = [m.user for m in members if m.role == "owner"]
    if owners == [user] and new_role != "owner":
        raise Conflict(f"{user} is the last owner of {project!r}; make someone else owner first")


@post("/v1/projects/{project:str}/members", status_code=200,
      summary=f"Add or change a member (owner only); roles: {', '.join(ROLES)}; agent scopes: {', '.join(SCOPES)}")
async def set_member(request: Request, user: User, project: FromPath[str]) -> dict:
    body = await read_body(request, MemberIn)
    system = state_of(request).system
    await _require_owner(system, user, project)
    try:
        role, scopes = check_role(body.role), check_scopes(body.scopes)
    except ValueError as e:
        raise Invalid(str(e), field="scopes" if "scopes" in str(e) else "role") from None
    if scopes is not None and role != "agent":
        raise Invalid("scopes apply only to the agent role", field="scopes")
    await _not_last_owner(system, project, body.user, role)
    m = await system.access.set_member(project, body.user, role, scopes, added_by=user)
    return _member_json(m)


@delete("/v1/projects/{project:str}/members/{member:str}", status_code=204, summary="Remove a member (owner only)")
async def remove_member(request: Request, user: User, project: FromPath[str], member: FromPath[str]) -> None:
    system = state_of(request).system
    await _require_owner(system, user, project)
    await _not_last_owner(system, project, member, None)
    if not await system.access.remove_member(project, member):
        raise NotFound(f"{member} is not a member of {project!r}")


ROUTES = [create_project, list_projects, get_project, list_members, set_member, remove_member]
