"""IK over HTTP: put a joint on a target at a frame. Path under ``/v1/projects/{p}/shots/{s}``.

| route | body | answer |
|---|---|---|
| ``POST /ik`` | ``{command_id, entity, joint, target: [x, y, z], frame, chain?: [joints], best_effort?: false, expected_seq?}`` | 200 ``{seq, status, reached, error_m, chain, rotations}``; 422 bad input or an unreachable target (``reached: false``, how close it gets) |

The keys are computed on the shot's current world (:func:`agents.motion.ik_ops.put_joint`) and submitted as one
command through the same path as ``POST /commands``, so the caller's role is checked op by op and the event is in
the history like any edit.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, post
from litestar.params import FromPath

from agents.motion.ik_ops import IkRequestError, put_joint
from events.envelope import Command

from .errors import Invalid
from .gateway import submit_as, world_at_as
from .http_common import INT64_MAX, CommandId, User, read_body, state_of, timed

__all__ = ["ROUTES"]


class IkIn(msgspec.Struct, forbid_unknown_fields=True):
    command_id: Annotated[str, CommandId]
    entity: str
    joint: str
    target: list[float]
    frame: float
    chain: list[str] | None = None
    best_effort: bool = False
    expected_seq: Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)] | None = None


@post("/v1/projects/{project:str}/shots/{shot:str}/ik", status_code=200,
      summary="Key a joint chain so that a joint reaches a target at a frame (inverse kinematics)")
async def post_ik(request: Request, user: User, project: FromPath[str], shot: FromPath[str]) -> dict:
    body = await read_body(request, IkIn)
    system = state_of(request).system
    reducer = await world_at_as(system, user, project, shot)
    try:
        result = put_joint(reducer.world, body.entity, body.joint, body.target, body.frame, body.chain,
                           body.best_effort)
    except IkRequestError as e:
        raise Invalid(e.reason, field=e.field) from None
    if not result.ops:
        raise Invalid(result.reason, field="target", reached=False, error_m=result.error_m, chain=result.chain)
    command = Command(command_id=body.command_id, ops=result.ops, expected_seq=body.expected_seq)
    submitted = await timed(request, "command", user, lambda: submit_as(system, user, project, shot, command))
    return {**submitted.to_json(), **result.to_json()}


ROUTES = [post_ik]
