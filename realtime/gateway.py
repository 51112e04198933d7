"""The authorised way in: reading a shot and writing to it as a user (who may do what: :mod:`realtime.policy`;
rollback, undo, redo and fork: :mod:`realtime.restores`).

HTTP handlers and the WebSocket both call these functions; they raise :mod:`realtime.errors` /
``events.verdicts.CommandError`` and never choose a status themselves.

* :func:`current_reducer`, :func:`world_at_as` — the shot's live world, or a replay at an offset, for a member.
* :func:`submit_as`, :func:`start_as`, :func:`create_shot_as` — writes: membership, then each op authorised
  against the shot's live world (:func:`realtime.policy.authorize`), then checked and sent by the command service
  with that same reducer. Clients may not send the reasons the server's own restores record.
"""

from __future__ import annotations

import re
from typing import Any

from core import ops as O
from core.values import check_id
from events.envelope import Command, check_command_id

from .commands import Result
from .access import SCOPES
from .errors import Conflict, Forbidden, Invalid, NotFound
from .policy import FULL_ROLES, actor_for, authorize, require_member

__all__ = ["submit_as", "start_as", "create_shot_as", "current_reducer", "world_at_as", "RESERVED_REASON"]

RESERVED_REASON = re.compile(r"^(undo|redo|rollback|fork)\b")
"""Reasons only the server's rollback, undo, redo and fork record (:mod:`realtime.restores`)."""


# ---------------------------------------------------------------- reading


async def current_reducer(system, project: str, shot: str):
    """The shot's live reducer (the projector's in ``wnm up``); NotFound when the shot has no events."""
    reducer = await system.commands.replica.reducer(project, shot)
    if reducer.last_seq == 0:
        raise NotFound(f"no shot {project}/{shot}")
    return reducer


async def world_at_as(system, user: str, project: str, shot: str, at: int | None = None):
    """(reducer at ``at`` or the head) for a member; the live reducer at the head, a replay otherwise."""
    await require_member(system, user, project)
    live = await current_reducer(system, project, shot)
    if at is None or at >= live.last_seq:
        return live
    if at < 0:
        raise Invalid("at must be ≥ 0", field="at")
    return await system.world_at(project, shot, at)


# ---------------------------------------------------------------- writing


async def submit_as(system, user: str, project: str, shot: str, command: Command, *,
                    reason: str | None = None, causation: int | None = None) -> Result:
    """Authorise every op of ``command`` for ``user`` and submit it; answers once its verdict is known."""
    started = await start_as(system, user, project, shot, command, reason=reason, causation=causation)
    return started if isinstance(started, Result) else await started.verdict()


async def start_as(system, user: str, project: str, shot: str, command: Command, *,
                   reason: str | None = None, causation: int | None = None):
    """The one write ladder for people: check membership and role, authorise each op against the shot's live
    world, then check and send (``CommandService.start``, handed the same reducer): a ``Pending`` (ack, then
    verdict) — the socket pipelines its commands with it — or the first verdict of a retried command."""
    m = await require_member(system, user, project, write=True)
    if command.reason and RESERVED_REASON.match(command.reason):
        raise Invalid(f"reason {command.reason!r} is reserved for the server's own rollback, undo, redo and fork",
                      field="reason")
    reducer = await current_reducer(system, project, shot)
    authorize(m, reducer.world, command.ops)
    return await system.commands.start(project, shot, actor_for(m), command, reason=reason, causation=causation,
                                       reducer=reducer)


async def create_shot_as(system, user: str, project: str, shot: str, *, command_id: str | None = None,
                         **meta: Any) -> Result:
    """A new shot: its first event is one ``shot.configure`` with ``meta`` (fps, frame_start, frame_end, name,
    resolution, agents)."""
    m = await require_member(system, user, project, write=True)
    try:
        check_id(shot, "shot id")
    except ValueError as e:
        raise Invalid(str(e), field="id") from None
    if command_id is not None:
        command_id_field(command_id)
    op = O.ShotConfigure(**{k: v for k, v in meta.items() if v is not None})
    if not (m.role in FULL_ROLES or (m.role == "agent" and "shot" in (m.scopes or SCOPES))):
        raise Forbidden(f"role {m.role} may not create shots")
    authorize(m, None, [op])
    await system.log.ensure_project(project)
    if system.projector is not None:
        system.projector.watch_project(project)
    if await system.log.last_seq(project, shot):
        raise Conflict(f"shot {project}/{shot} already exists")
    cmd = Command(command_id=command_id or f"create-shot-{shot}", ops=[op], expected_seq=0)
    return await system.commands.submit(project, shot, actor_for(m), cmd, must_exist=False)


def command_id_field(command_id: str) -> None:
    """check_command_id, refused as a 422 naming the field."""
    try:
        check_command_id(command_id)
    except ValueError as e:
        raise Invalid(str(e), field="command_id") from None
