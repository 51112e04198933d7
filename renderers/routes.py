"""HTTP routes of the render farm (litestar), mounted by the application under ``/v1``.

The handlers read the connected :class:`renderers.farm.RenderFarm` from ``app.state.render_farm`` (set in the
application's lifespan); authentication and project roles are the application's guards.

| route | what |
|---|---|
| ``POST /projects/{p}/shots/{s}/renders`` | a job ``{preset?, seq?, frames?, start?, passes?, resolution?, camera?, fps?, prompt?, depth_scale_m?, job_id?}`` → 202 status |
| ``GET /renders/{job_id}`` | ``{state, progress, frames_done, frames_total, …}`` |
| ``GET /renders/{job_id}/manifest`` | the pack's manifest (409 until done) |
| ``GET /renders/{job_id}/pack`` | the pack as a tar (409 until done) |
"""

from __future__ import annotations

import re

from litestar import Request, Router, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from .farm import UnknownJob
from .job import RenderError, RenderJob

__all__ = ["render_router", "JOB_ID_RE"]

JOB_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _farm(request: Request):
    farm = getattr(request.app.state, "render_farm", None)
    if farm is None:
        raise HTTPException(status_code=503, detail="the render farm is not connected")
    return farm


@post("/projects/{project:str}/shots/{shot:str}/renders", status_code=202)
async def submit_render(request: Request, project: FromPath[str], shot: FromPath[str]) -> dict:
    import msgspec

    try:  # decoded here, not by the framework: a body nested past the recursion limit is the client's error
        data = msgspec.json.decode(await request.body())
    except (msgspec.DecodeError, RecursionError) as e:
        raise HTTPException(status_code=400, detail=f"malformed or too deeply nested JSON: {e}") from None
    if not isinstance(data, dict):
        raise HTTPException(status_code=400, detail="a render job is a JSON object")

    if "job_id" in data and not (isinstance(data["job_id"], str) and JOB_ID_RE.fullmatch(data["job_id"])):
        raise HTTPException(status_code=422, detail=f"job_id must match {JOB_ID_RE.pattern}",
                            extra={"field": "job_id"})
    try:
        job = msgspec.convert({**data, "project": project, "shot": shot}, RenderJob)
    except msgspec.ValidationError as e:
        raise HTTPException(status_code=422, detail=f"bad render job: {e}") from None
    try:
        return await _farm(request).submit(job)
    except RenderError as e:
        raise HTTPException(status_code=422, detail=str(e)) from None


def _known(job_id: str) -> str:
    """A job id as a client may choose it (a NATS KV key and a folder name); anything else is no job."""
    if not JOB_ID_RE.fullmatch(job_id):
        raise NotFoundException(detail=f"unknown render job {job_id[:80]!r}")
    return job_id


async def _done(request: Request, job_id: str) -> dict:
    _known(job_id)
    try:
        rec = await _farm(request).status(job_id)
    except UnknownJob:
        raise NotFoundException(detail=f"unknown render job {job_id!r}") from None
    if rec["state"] != "done":
        raise HTTPException(status_code=409, detail=f"render job {job_id} is {rec['state']}")
    return rec


@get("/renders/{job_id:str}")
async def render_status(request: Request, job_id: FromPath[str]) -> dict:
    try:
        return await _farm(request).status(_known(job_id))
    except UnknownJob:
        raise NotFoundException(detail=f"unknown render job {job_id!r}") from None


@get("/renders/{job_id:str}/manifest")
async def render_manifest(request: Request, job_id: FromPath[str]) -> dict:
    await _done(request, job_id)
    m = await _farm(request).store.manifest(job_id)
    if m is None:
        raise NotFoundException(detail=f"the pack of {job_id} is gone")
    return m


@get("/renders/{job_id:str}/pack")
async def render_pack_download(request: Request, job_id: FromPath[str]) -> Response:
    await _done(request, job_id)
    data = await _farm(request).pack_tar(job_id)
    if data is None:
        raise NotFoundException(detail=f"the pack of {job_id} is gone")
    return Response(content=data, media_type="application/x-tar",
                    headers={"Content-Disposition": f'attachment; filename="{job_id}.tar"'})


def render_router(path: str = "/v1") -> Router:
    return Router(path=path, route_handlers=[submit_render, render_status, render_manifest, render_pack_download])
