"""HTTP routes of the render farm (litestar), mounted by the application under ``/v1``.

The handlers read the connected :class:`renderers.farm.RenderFarm` from ``app.state.render_farm`` (set in the
application's lifespan). Authentication and project roles are the application's guards (a member may read a
project's jobs; posting one needs a role that writes). Errors are :mod:`realtime.errors`' own, mapped to statuses
in that one place.

Render jobs belong to their project: a job id is unique within it (the same id in another project is another
job), and a job is found only by members of its project (404 for anyone else, as for an unknown job).

| route | what |
|---|---|
| ``POST /projects/{p}/shots/{s}/renders`` | a job ``{preset?, seq?, frames?, start?, passes?, resolution?, camera?, fps?, prompt?, depth_scale_m?, job_id?}`` → 202 status |
| ``GET /projects/{p}/renders/{job_id}`` | ``{job_id, project, shot, state, progress, frames_done, frames_total, …}`` |
| ``GET /projects/{p}/renders/{job_id}/manifest`` | the pack's manifest (409 until done) |
| ``GET /projects/{p}/renders/{job_id}/pack`` | the pack as a tar (409 until done) |
| ``GET /renders/{job_id}`` (``/manifest``, ``/pack``) | the same, for that id in a project of the caller's (409: several) |

A client-chosen ``job_id`` follows the id rule (``^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$``; 422 otherwise).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Router, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Response

from renderers.farm import UnknownJob
from renderers.job import RenderError, RenderJob, check_job_id

from .errors import ApiError, Conflict, Invalid, NotFound, Unavailable, http_error

__all__ = ["render_router"]

_FIELD_PATH = re.compile(r"at `\$\.(\w+)")


def _farm(request: Request):
    farm = getattr(request.app.state, "render_farm", None)
    if farm is None:
        raise Unavailable("the render farm is not connected")
    return farm


@post("/projects/{project:str}/shots/{shot:str}/renders", status_code=202)
async def submit_render(request: Request, project: FromPath[str], shot: FromPath[str]) -> dict:
    try:  # decoded here, not by the framework: a body nested past the recursion limit is the client's error
        data = msgspec.json.decode(await request.body())
    except (msgspec.DecodeError, RecursionError) as e:
        raise Invalid(f"malformed or too deeply nested JSON: {e}") from None
    if not isinstance(data, dict):
        raise Invalid("a render job is a JSON object")
    try:
        job = msgspec.convert({**data, "project": project, "shot": shot}, RenderJob)
    except msgspec.ValidationError as e:
        m = _FIELD_PATH.search(str(e))
        raise Invalid(f"bad render job: {e}", field=m.group(1) if m else None) from None
    try:
        return await _farm(request).submit(job)
    except RenderError as e:
        raise Invalid(str(e), field=e.field) from None


async def _status(request: Request, project: str, job_id: str) -> dict:
    try:
        return await _farm(request).status(project, job_id)
    except UnknownJob:
        raise NotFound(f"unknown render job {job_id!r}") from None


async def _done(request: Request, project: str, job_id: str) -> dict:
    rec = await _status(request, project, job_id)
    if rec["state"] != "done":
        raise Conflict(f"render job {job_id} is {rec['state']}")
    return rec


async def _manifest(request: Request, project: str, job_id: str) -> dict:
    await _done(request, project, job_id)
    m = await _farm(request).manifest(project, job_id)
    if m is None:
        raise NotFound(f"the pack of {job_id} is gone")
    return m


async def _pack(request: Request, project: str, job_id: str) -> Response:
    await _done(request, project, job_id)
    data = await _farm(request).pack_tar(project, job_id)
    if data is None:
        raise NotFound(f"the pack of {job_id} is gone")
    return Response(content=data, media_type="application/x-tar",
                    headers={"Content-Disposition": f'attachment; filename="{job_id}.tar"'})


# ---------------------------------------------------------------- a project's jobs (membership: the app's guard)


@get("/projects/{project:str}/renders/{job_id:str}")
async def project_render_status(request: Request, project: FromPath[str], job_id: FromPath[str]) -> dict:
    return await _status(request, project, job_id)


@get("/projects/{project:str}/renders/{job_id:str}/manifest")
async def project_render_manifest(request: Request, project: FromPath[str], job_id: FromPath[str]) -> dict:
    return await _manifest(request, project, job_id)


@get("/projects/{project:str}/renders/{job_id:str}/pack")
async def project_render_pack(request: Request, project: FromPath[str], job_id: FromPath[str]) -> Response:
    return await _pack(request, project, job_id)


# ---------------------------------------------------------------- by job id alone


async def _project_of(request: Request, job_id: str) -> str:
    """The project of the caller's job ``job_id``: one of the projects holding that id where the caller is a
    member. NotFound when there is none (others' jobs are not told apart from unknown ones)."""
    try:
        check_job_id(job_id)
    except RenderError:
        raise NotFound(f"unknown render job {job_id!r}") from None
    projects = [p for p in await _farm(request).projects_of(job_id) if await _may_read(request, p)]
    if not projects:
        raise NotFound(f"unknown render job {job_id!r}")
    if len(projects) > 1:
        raise Conflict(f"render job id {job_id!r} is used in several of your projects ({', '.join(projects)}): "
                       f"ask /v1/projects/<project>/renders/{job_id}")
    return projects[0]


async def _may_read(request: Request, project: str) -> bool:
    """Whether the caller is a member of ``project``. An application without users (``app.state.wnm`` unset: a
    bare render app, as the farm's own tests run it) lets every caller read."""
    wnm = getattr(request.app.state, "wnm", None)
    if wnm is None:
        return True
    from .policy import authenticate

    user = authenticate(wnm.system, request.headers.get("authorization"), request.query_params.get("token"))
    return await wnm.system.access.membership(project, user) is not None


@get("/renders/{job_id:str}")
async def render_status(request: Request, job_id: FromPath[str]) -> dict:
    return await _status(request, await _project_of(request, job_id), job_id)


@get("/renders/{job_id:str}/manifest")
async def render_manifest(request: Request, job_id: FromPath[str]) -> dict:
    return await _manifest(request, await _project_of(request, job_id), job_id)


@get("/renders/{job_id:str}/pack")
async def render_pack_download(request: Request, job_id: FromPath[str]) -> Response:
    return await _pack(request, await _project_of(request, job_id), job_id)


def _error_response(_request: Request, exc: ApiError) -> Response:
    status, body, headers = http_error(exc)
    return Response(body, status_code=status, headers=headers)


def render_router(path: str = "/v1") -> Router:
    """The render routes; their errors answer with :func:`realtime.errors.http_error`'s bodies (also when the
    router is mounted in an application of its own)."""
    return Router(path=path, route_handlers=[submit_render, project_render_status, project_render_manifest,
                                             project_render_pack, render_status, render_manifest,
                                             render_pack_download],
                  exception_handlers={ApiError: _error_response})
