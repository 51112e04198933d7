"""Shared by the HTTP integration tests: a system on the test NATS / PostgreSQL whose projector follows only the
projects a test touches, an app client, and a tiny API wrapper that speaks as a given user."""

from __future__ import annotations

import contextlib
import uuid
from contextlib import asynccontextmanager

import httpx

from events.jetstream import JetStreamLog
from events.log import stream_for
from realtime.app import create_app
from realtime.bootstrap import open_system
from realtime.limits import Limits
from realtime.settings import Settings

SECRET = "integration-test-secret-0123456789"
ROLES = ("owner", "director", "layout", "camera", "lighting", "motion", "viewer", "agent")


@asynccontextmanager
async def http_system(nats_url: str, database_url: str, data_dir, monkeypatch, limits: Limits | None = None,
                      outcome_timeout_s: float = 10.0, render_farm: bool = False):
    """(system, client) with a fresh app; the streams of projects created through it are deleted afterwards
    (after the system closed: deleting a stream under a live follower can stall its shutdown). With
    ``render_farm`` the render routes are served by a farm on a stream of its own (no worker), removed afterwards."""
    settings = Settings(nats_url=nats_url, database_url=database_url, data_dir=data_dir, secret=SECRET,
                        follow_all_projects=False,  # only the projects a test touches: a shared server holds many
                        outcome_timeout_s=outcome_timeout_s)
    projects: list[str] = []
    try:
        async with open_system(settings, run_projector=True) as system:
            app = create_app(system, limits=limits or Limits(rate_per_s=10_000, burst=10_000))
            transport = httpx.ASGITransport(app=app)
            async with _farm(app, nats_url, data_dir) if render_farm else contextlib.nullcontext():
                try:
                    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                                 timeout=30) as client:
                        yield system, client
                finally:
                    projects = system.projector.projects()
    finally:
        log = await JetStreamLog.connect(nats_url)
        try:
            for project in projects:
                try:
                    await log._nc.jetstream().delete_stream(stream_for(project))
                except Exception:  # noqa: BLE001 - best-effort cleanup of a shared server
                    pass
        finally:
            await log.close()


@asynccontextmanager
async def _farm(app, nats_url: str, data_dir):
    """A render farm for ``app`` (the ASGI test transport runs no startup hooks) on a uniquely named stream."""
    from renderers.farm import FarmConfig, RenderFarm

    cfg = FarmConfig(prefix=f"WNM_RENDER_T{uuid.uuid4().hex[:12]}")
    farm = app.state.render_farm = await RenderFarm.connect(nats_url, config=cfg, root=f"{data_dir}/packs")
    try:
        yield farm
    finally:
        for delete in (lambda: farm.js.delete_key_value(cfg.status_bucket),
                       lambda: farm.js.delete_object_store(cfg.object_bucket),
                       lambda: farm.js.delete_stream(cfg.stream)):
            with contextlib.suppress(Exception):  # best-effort cleanup of a shared server
                await delete()
        await farm.close()


@asynccontextmanager
async def module_database(server_database_url: str):
    """A fresh database on the test server for fixtures wider than one test (the ``database_url`` fixture is per
    test); dropped afterwards."""
    import asyncpg

    from tests.conftest import _with_database

    name = "wnm_t_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(server_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(server_database_url, name)
    finally:
        admin = await asyncpg.connect(server_database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


class Api:
    """Calls as one user: ``api.as_("alice").post(path, json)``."""

    def __init__(self, client, system, user: str = "alice"):
        self.client, self.system, self.user = client, system, user
        self.headers = {"Authorization": f"Bearer {system.tokens.issue(user)}"}

    def as_(self, user: str) -> "Api":
        return Api(self.client, self.system, user)

    async def get(self, path: str, **params):
        return await self.client.get(path, params={k: v for k, v in params.items() if v is not None},
                                     headers=self.headers)

    async def post(self, path: str, body=None, **kw):
        return await self.client.post(path, json=body, headers=self.headers, **kw)

    async def command(self, project: str, shot: str, ops: list, **extra):
        body = {"command_id": uuid.uuid4().hex, "ops": ops, **extra}
        return await self.post(f"/v1/projects/{project}/shots/{shot}/commands", body)

    async def ok(self, method: str, path: str, body=None, status: int = 200, **params):
        r = await (self.post(path, body) if method == "POST" else self.get(path, **params))
        assert r.status_code == status, (r.status_code, r.text)
        return r.json()


async def project_with_shot(api: Api, project: str, shot: str = "s1", **meta) -> None:
    await api.ok("POST", "/v1/projects", {"id": project}, status=201)
    await api.ok("POST", f"/v1/projects/{project}/shots", {"id": shot, **meta}, status=201)
