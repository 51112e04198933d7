"""Exports of a shot at an offset (SPEC §6, §8). Paths below are under ``/v1/projects/{p}/shots/{s}``.

| route | answer |
|---|---|
| ``GET /export.{usda,usdc,usdz,glb,bvh}?at=SEQ&entity=E`` | the file (attachment); BVH needs ``entity`` (a character) |
| ``GET /levels?at=SEQ`` | ``{seq, counts: {L0…L4: n}, entities: {id: {kind, level, lacks}}}`` (SPEC §7.2) |
| ``POST /import?name=F&entity=E&start=F0`` | body: a USD (.usda/.usdc/.usdz) or glTF (.glb/.gltf) file, or a BVH clip for the character ``entity`` from frame ``start``; at most ``WNM_MAX_IMPORT_BYTES`` (64 MB) → ``{shot, entities, ops, events, seq}`` |

and ``GET /v1/schema/world``: the JSON Schema of a sampled entity at each representation level.

Membership as for the world read (any member, viewers included). The world is the shot at ``at`` (default the
head), sampled at every frame of the shot (:mod:`renderers.export`); the file records the seq and state hash it
came from. Refusals: 404 unknown format, shot or project; 422 an offset beyond the shot's last event
(``field: at``), an unknown entity, a BVH of something that is not a character with a skeleton (``field:
entity``). The export runs in a worker thread on a private copy of the world.

An import creates the file's entities in an existing shot (its fps and frame range stay the shot's) as the caller,
authorised op by op like any command, in one event or — for a large scene — several, each expecting the last; if
any part is refused, the parts that went in are rolled back in one event and the answer is the refusal (409 or
422, ``field: file`` for a file that cannot be read or whose entity ids the shot already has). The file type is
read from its first bytes.
"""

from __future__ import annotations

import asyncio
import copy
import os
import tempfile
import uuid
from pathlib import Path

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from renderers.export import FORMATS, MEDIA_TYPES, ExportError, export
from renderers.export import levels as L
from renderers.export.importing import import_plan, parts, submit_parts, suffix_of

from .errors import Conflict, Invalid, NotFound
from .gateway import current_reducer, submit_as, world_at_as
from .policy import require_member
from .restores import rollback_as
from .http_common import User, is_mesh_asset, state_of

__all__ = ["ROUTES", "load_for_export"]


async def load_for_export(system, user: str, project: str, shot: str, at: int | None):
    """(private World copy, seq, state_hash) of the shot at ``at`` for a member; Invalid beyond the head."""
    await require_member(system, user, project)
    live = await current_reducer(system, project, shot)
    if at is not None and at > live.last_seq:
        raise Invalid(f"offset {at} is beyond the head of {project}/{shot} (its last event is seq "
                      f"{live.last_seq})", field="at")
    reducer = await world_at_as(system, user, project, shot, at)
    # the live reducer's world changes as events arrive: copy it here, between two awaits, before the export thread
    world = copy.deepcopy(reducer.world)
    return world, world.head_seq, reducer.state_hash()


@get("/v1/projects/{project:str}/shots/{shot:str}/{filename:str}",
     summary="Export the shot at an offset: export.usda, export.usdc, export.usdz, export.glb or export.bvh "
             "(?at=SEQ, ?entity=E; BVH: one character)")
async def get_export(request: Request, user: User, project: FromPath[str], shot: FromPath[str],
                     filename: FromPath[str], at: FromQuery[int | None] = None,
                     entity: FromQuery[str | None] = None) -> Response:
    stem, dot, fmt = filename.partition(".")
    if stem != "export" or not dot:
        raise NotFound(f"no route {request.url.path}")
    if fmt not in FORMATS:
        raise NotFound(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    system = state_of(request).system
    world, seq, state_hash = await load_for_export(system, user, project, shot, at)
    try:
        data = await asyncio.to_thread(export, world, fmt, seq=seq, state_hash=state_hash, entity=entity)
    except ExportError as e:
        raise Invalid(str(e), field=e.field) from None
    name = f"{project}-{shot}-{seq}{'-' + entity if entity else ''}.{fmt}"
    return Response(data, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "X-WNM-Seq": str(seq),
                             "X-WNM-State-Hash": state_hash})


@get("/v1/projects/{project:str}/shots/{shot:str}/levels",
     summary="Representation levels L0–L4 of the shot's entities: counts, and what each lacks for the next")
async def get_levels(request: Request, user: User, project: FromPath[str], shot: FromPath[str],
                     at: FromQuery[int | None] = None) -> dict:
    world, seq, _ = await load_for_export(state_of(request).system, user, project, shot, at)
    return {"seq": seq, **L.summary(world, is_mesh_asset)}


@get("/v1/schema/world", summary="JSON Schema of a sampled world's entities at each representation level")
async def get_world_schema(user: User) -> dict:
    return L.world_schema()


MAX_IMPORT_BYTES = int(os.environ.get("WNM_MAX_IMPORT_BYTES", 64_000_000))


@post("/v1/projects/{project:str}/shots/{shot:str}/import", status_code=200,
      request_max_body_size=MAX_IMPORT_BYTES,
      summary="Import a USD or glTF scene (the request body) into the shot: its entities, all or none")
async def post_import(request: Request, user: User, project: FromPath[str], shot: FromPath[str],
                      name: FromQuery[str] = "scene", entity: FromQuery[str | None] = None,
                      start: FromQuery[float | None] = None) -> dict:
    system = state_of(request).system
    await require_member(system, user, project, write=True)
    live = await current_reducer(system, project, shot)
    before = copy.deepcopy(live.world)
    last = live.last_seq
    data = await request.body()
    suffix = suffix_of(data[:64])
    if suffix is None:
        raise Invalid("the body is not a USD (.usda, .usdc, .usdz), glTF (.glb, .gltf) or BVH file", field="file")
    with tempfile.TemporaryDirectory(prefix="wnm-import-") as tmp:
        path = Path(tmp) / f"import{suffix}"
        path.write_bytes(data)
        try:
            plan = await asyncio.to_thread(import_plan, path, before, False, entity, start)
        except ValueError as e:  # ExportError, and core's OpError naming the op that would not apply
            raise Invalid(f"{name}: {e}", field=getattr(e, "field", None) or "file") from None
    chunks = parts(plan)
    base = f"import-{uuid.uuid4().hex}"

    async def submit(cmd):
        return await submit_as(system, user, project, shot, cmd)

    seq, failed = await submit_parts(chunks, submit, base=base, last=last, label=name)
    if failed is not None:
        if seq != last:  # parts went in: one event takes the shot back to where it was
            await rollback_as(system, user, project, shot, f"{base}/undo", last)
        raise Conflict(f"import stopped and was undone: {failed}")
    created = sum(1 for op in plan if type(op).__struct_config__.tag == "entity.create")
    return {"shot": shot, "entities": created, "ops": len(plan), "events": len(chunks), "seq": seq}


ROUTES = [get_levels, get_world_schema, get_export, post_import]
