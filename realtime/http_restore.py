"""Rollback, undo, redo and fork (SPEC §4, §6). Paths under ``/v1/projects/{p}/shots/{s}``.

| route | body | answer (200 unless said) |
|---|---|---|
| ``POST /rollback`` | ``{command_id, to_seq}`` | ``{seq, status, reason?, to_seq}`` |
| ``POST /undo`` | ``{command_id}`` | ``{seq, status, undone, restored: [...], skipped: [...]}``; 409 nothing to undo |
| ``POST /redo`` | ``{command_id}`` | ``{seq, status, redone, restored, skipped}``; 409 nothing to redo |
| ``POST /fork`` | ``{shot, at_seq?, command_id?}`` | 201 ``{seq, status, shot, at_seq, first_seq, events}``; 409 exists |

``skipped`` names the items (``box.transform.position@10``, ``relation r1``, …) someone else changed after the
edit being undone: they are left as they are. A restore bigger than one event (1000 ops) answers 413.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, post
from litestar.params import FromPath

from .restores import fork_as, redo_as, rollback_as, undo_as
from .http_common import INT64_MAX, CommandId, User, read_body, state_of, timed

__all__ = ["ROUTES"]


class RollbackIn(msgspec.Struct, forbid_unknown_fields=True):
    command_id: Annotated[str, CommandId]
    to_seq: Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]


class UndoIn(msgspec.Struct, forbid_unknown_fields=True):
    command_id: Annotated[str, CommandId]


class ForkIn(msgspec.Struct, forbid_unknown_fields=True):
    shot: str
    at_seq: Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)] | None = None
    command_id: Annotated[str, CommandId] | None = None


_BASE = "/v1/projects/{project:str}/shots/{shot:str}"


@post(f"{_BASE}/rollback", status_code=200, summary="One new event that restores the world at to_seq")
async def rollback(request: Request, user: User, project: FromPath[str], shot: FromPath[str]) -> dict:
    body = await read_body(request, RollbackIn)
    system = state_of(request).system
    return await timed(request, "rollback", user,
                       lambda: rollback_as(system, user, project, shot, body.command_id, body.to_seq))


@post(f"{_BASE}/undo", status_code=200, summary="Undo the caller's last edit, leaving others' later edits")
async def undo(request: Request, user: User, project: FromPath[str], shot: FromPath[str]) -> dict:
    body = await read_body(request, UndoIn)
    system = state_of(request).system
    return await timed(request, "undo", user, lambda: undo_as(system, user, project, shot, body.command_id))


@post(f"{_BASE}/redo", status_code=200, summary="Redo the caller's last undone edit")
async def redo(request: Request, user: User, project: FromPath[str], shot: FromPath[str]) -> dict:
    body = await read_body(request, UndoIn)
    system = state_of(request).system
    return await timed(request, "redo", user, lambda: redo_as(system, user, project, shot, body.command_id))


@post(f"{_BASE}/fork", status_code=201, summary="Copy the world at at_seq into a new shot")
async def fork(request: Request, user: User, project: FromPath[str], shot: FromPath[str]) -> dict:
    body = await read_body(request, ForkIn)
    system = state_of(request).system
    command_id = body.command_id or f"fork-{shot}-{body.shot}"
    return await timed(request, "fork", user,
                       lambda: fork_as(system, user, project, shot, body.shot, command_id, body.at_seq))


ROUTES = [rollback, undo, redo, fork]
