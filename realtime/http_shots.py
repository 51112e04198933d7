"""Shots, commands and reads (SPEC §6). Paths below are under ``/v1/projects/{p}``.

| route | answer |
|---|---|
| ``POST /shots`` ``{id, name?, fps?, frame_start?, frame_end?, resolution?, agents?}`` | 201 ``{shot, seq, status}``; 409 exists |
| ``GET /shots`` | ``{shots: [catalogue rows]}`` |
| ``GET /shots/{s}`` | the catalogue row (head_seq, last_seq, state_hash, event_count, …) |
| ``POST /shots/{s}/commands`` ``{command_id, ops, expected_seq?, reason?}`` | 200 ``{seq, status, reason?}`` |
| ``GET /shots/{s}/world?at=SEQ&frame=F`` | raw world + ``seq``; with ``frame``: ``{seq, frame, entities}`` |
| ``GET /shots/{s}/hash?at=SEQ`` | ``{seq, state_hash}`` |
| ``GET /shots/{s}/history?actor=&entity=&op=&after=&before=&limit=`` | ``{entries, next_after, next_before}`` |

A command is answered once the local projector has applied it: ``status`` is ``applied``, or ``rejected`` with
the reducer's reason (still 200: the event is in the log and the history, and the body says what happened).
Refusals before the log: 422 (shape, ranges, references; ``op`` and ``field`` name the culprit), 409
(``expected_seq``), 403 (role), 413 (size, ops), 429 (rate), 504 (appended, verdict not yet known).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery

from core import ops as O
from events.envelope import Command
from projections.store import HISTORY_MAX, ShotInfo

from .errors import Invalid, NotFound
from .gateway import command_id_field, create_shot_as, submit_as, world_at_as
from .policy import require_member
from .http_common import CommandId, User, is_mesh_asset, read_body, state_of, timed, to_json
from .limits import check_ops

__all__ = ["ROUTES"]


class ShotIn(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str | None = None
    fps: float | None = None
    frame_start: float | None = None
    frame_end: float | None = None
    resolution: tuple[int, int] | None = None
    agents: dict[str, Literal["auto", "suggest", "off"]] | None = None
    command_id: Annotated[str, CommandId] | None = None


@post("/v1/projects/{project:str}/shots", status_code=201, summary="Create a shot")
async def create_shot(request: Request, user: User, project: FromPath[str]) -> dict:
    body = await read_body(request, ShotIn)
    system = state_of(request).system
    result = await timed(request, "shot", user, lambda: create_shot_as(
        system, user, project, body.id, command_id=body.command_id, name=body.name, fps=body.fps,
        frame_start=body.frame_start, frame_end=body.frame_end, resolution=body.resolution, agents=body.agents))
    return {"shot": body.id, **result.to_json()}


@get("/v1/projects/{project:str}/shots", summary="The shots of a project")
async def list_shots(request: Request, user: User, project: FromPath[str]) -> dict:
    system = state_of(request).system
    await require_member(system, user, project)
    return {"shots": [to_json(_current(system, s)) for s in await system.store.shots(project)]}


@get("/v1/projects/{project:str}/shots/{shot:str}", summary="A shot's catalogue row")
async def get_shot(request: Request, user: User, project: FromPath[str], shot: FromPath[str]) -> dict:
    system = state_of(request).system
    await require_member(system, user, project)
    info = await system.store.shot(project, shot)
    if info is None:
        raise NotFound(f"no shot {project}/{shot}")
    return to_json(_current(system, info))


def _current(system, info: ShotInfo) -> ShotInfo:
    """The catalogue row with the hash of the committed head when this instance has the shot loaded (the stored
    pair may be up to ``projections.projector.HASH_EVERY_S`` behind, longer for a large document)."""
    live = system.projector.current_hash(info.project, info.shot) if system.projector is not None else None
    if live is None or not info.head_seq <= live[0] <= info.last_seq:
        return info
    return msgspec.structs.replace(info, head_seq=live[0], state_hash=live[1])


@post("/v1/projects/{project:str}/shots/{shot:str}/commands", status_code=200,
      summary="Submit a command; answered once the local projector applied it")
async def post_command(request: Request, user: User, project: FromPath[str], shot: FromPath[str]) -> dict:
    st = state_of(request)
    command = await read_body(request, Command)
    command_id_field(command.command_id)  # before anything else, as the command service would refuse it anyway
    check_ops(len(command.ops), st.limits)
    result = await timed(request, "command", user, lambda: submit_as(st.system, user, project, shot, command))
    return result.to_json()


def _finite_frame(frame: float | None) -> float | None:
    if frame is not None and not math.isfinite(frame):
        raise Invalid(f"frame must be finite, got {frame}", field="frame")
    return frame


@get("/v1/projects/{project:str}/shots/{shot:str}/world",
     summary="The world at an offset (default the head): raw, or sampled at a frame")
async def get_world(request: Request, user: User, project: FromPath[str], shot: FromPath[str],
                    at: FromQuery[int | None] = None, frame: FromQuery[float | None] = None) -> dict:
    frame = _finite_frame(frame)
    reducer = await world_at_as(state_of(request).system, user, project, shot, at)
    world = reducer.world
    if frame is None:
        return {**world.to_json(), "seq": world.head_seq}
    from core.sampling import sample_json

    return {"seq": world.head_seq, **sample_json(world, frame, is_mesh_asset)}


@get("/v1/projects/{project:str}/shots/{shot:str}/hash", summary="The state hash at an offset (default the head)")
async def get_hash(request: Request, user: User, project: FromPath[str], shot: FromPath[str],
                   at: FromQuery[int | None] = None) -> dict:
    reducer = await world_at_as(state_of(request).system, user, project, shot, at)
    return {"seq": reducer.world.head_seq, "state_hash": reducer.state_hash()}


@get("/v1/projects/{project:str}/shots/{shot:str}/history",
     summary="Audit entries, filtered; page forward with after=next_after, back with before=next_before")
async def get_history(request: Request, user: User, project: FromPath[str], shot: FromPath[str],
                      actor: FromQuery[str | None] = None, entity: FromQuery[str | None] = None,
                      op: FromQuery[str | None] = None, after: FromQuery[int | None] = None,
                      before: FromQuery[int | None] = None, limit: FromQuery[int] = 100) -> dict:
    system = state_of(request).system
    await require_member(system, user, project)
    if not 1 <= limit <= HISTORY_MAX:
        raise Invalid(f"limit must be within 1–{HISTORY_MAX}, got {limit}", field="limit")
    if op is not None and op not in O.OP_TYPES:
        raise Invalid(f"op must be one of {sorted(O.OP_TYPES)}, got {op!r}", field="op")
    entries = await system.store.history(project, shot, actor=actor, entity=entity, op=op, after=after,
                                         before=before, limit=limit)
    out: list[dict[str, Any]] = []
    for e in entries:
        d = to_json(e)
        d.pop("raw", None)
        out.append(d)
    full = len(entries) == limit
    return {"entries": out,
            "next_after": entries[-1].seq if full and after is not None else None,
            "next_before": entries[0].seq if full and after is None else None}


ROUTES = [create_shot, list_shots, get_shot, post_command, get_world, get_hash, get_history]
