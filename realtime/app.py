"""The litestar application over a connected :class:`realtime.bootstrap.System` (SPEC §6).

``create_app(system)`` mounts the REST routes (:mod:`realtime.http_projects`, :mod:`realtime.http_shots`,
:mod:`realtime.http_restore`, :mod:`realtime.http_templates`, :mod:`realtime.http_assets`), the studio at ``/``
(:mod:`realtime.http_studio`), health and metrics (:mod:`realtime.http_health`),
the WebSocket sync route when :mod:`realtime.sync` provides ``sync_route(system)``, and the render farm's routes
when :mod:`realtime.http_renders` is importable. OpenAPI is served at ``/schema`` (``/schema/openapi.json``). Every
``/v1`` route needs a bearer token; every error, ours or litestar's, has the body of
:func:`realtime.errors.http_error`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from litestar import Litestar, Request, Response
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from . import (http_agents, http_assets, http_exports, http_health, http_ik, http_projects, http_restore,
               http_shots, http_studio, http_templates, inputs)
from .errors import ApiError, http_error
from .policy import require_member
from .http_common import AppState, check_params, provide_user, state_of
from .limits import Limits, RateLimiter
from .metrics import Metrics
from .sync import sync_route

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def _error_response(request: Request, exc: Exception) -> Response:
    status, body, headers = http_error(exc)
    extra = getattr(exc, "extra", None)
    if not isinstance(exc, ApiError) and isinstance(extra, list) and extra:  # litestar's validation details
        body["reason"] += ": " + "; ".join(
            f"{x.get('key', '')}: {x.get('message', '')}" if isinstance(x, dict) else str(x) for x in extra)
    return Response(body, status_code=status, headers=headers)


async def _check_inputs(connection, _handler=None) -> None:
    """Every route's one guard: ids and numbers in the path and query (:func:`check_params`, then
    :func:`realtime.inputs.guard`), before authentication or any handler. One coroutine: litestar runs a
    synchronous guard on a worker thread and copies the route handler for each guard, per request."""
    check_params(connection)
    await inputs.guard(connection)


async def _count_response(message, scope) -> None:
    if message["type"] == "http.response.start":
        wnm = getattr(scope["app"].state, "wnm", None)
        if wnm is not None:
            wnm.metrics.requests.labels(scope.get("method", "?"), str(message["status"])).inc()


async def _render_guard(connection, _handler) -> None:
    """The render routes' guard: a valid token, and for a project's routes a member who may write."""
    from .policy import authenticate

    st = state_of(connection)
    user = authenticate(st.system, connection.headers.get("authorization"), connection.query_params.get("token"))
    project = connection.path_params.get("project")
    if project is not None:
        await require_member(st.system, user, project, write=connection.scope.get("method") == "POST")


def _render_handlers() -> list:
    try:
        from .http_renders import render_router
    except ImportError:
        return []
    router = render_router("/v1")
    router.guards = [*(router.guards or []), _render_guard]
    return [router]


async def _connect_render_farm(app: Litestar) -> None:
    """The render routes' queue (:func:`realtime.bootstrap.connect_render_farm`). A farm that cannot connect leaves
    the render routes answering 503, not the whole server down."""
    from .bootstrap import connect_render_farm

    system = app.state.wnm.system
    try:
        app.state.render_farm = await connect_render_farm(system.settings)
    except Exception as e:  # noqa: BLE001 - the rest of the API serves on
        log.warning("render farm not connected: %s", e)


async def _close_render_farm(app: Litestar) -> None:
    farm = getattr(app.state, "render_farm", None)
    if farm is not None:
        await farm.close()


def create_app(system, *, limits: Limits | None = None, debug: bool = False) -> Litestar:
    """The HTTP and WebSocket application serving ``system``."""
    limits = limits or Limits.from_env(os.environ)
    sync_handler = sync_route(system)
    handlers = [*http_projects.ROUTES, *http_shots.ROUTES, *http_restore.ROUTES, *http_health.ROUTES,
                *http_agents.ROUTES, *http_exports.ROUTES, *http_templates.ROUTES, *http_ik.ROUTES,
                *http_studio.ROUTES, *http_assets.ROUTES,
                sync_handler, *_render_handlers()]
    app = Litestar(
        route_handlers=handlers,
        dependencies={"user": Provide(provide_user)},
        guards=[_check_inputs],  # ids and numbers in every path and query, before any handler
        exception_handlers={Exception: _error_response},
        before_send=[_count_response],
        on_startup=[_connect_render_farm],
        on_shutdown=[sync_handler.opt["hub"].aclose,  # sockets close with 1001; the awareness bus lets go
                     _close_render_farm],
        request_max_body_size=limits.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="World Narrative backend",
            version="0.1.0",
            path="/schema",
            components=Components(security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT",
                                         description="`wnm token create --project P --user U --role R`")}),
            security=[{"bearer": []}],
        ),
        debug=debug,
    )
    app.state.wnm = AppState(system=system, limits=limits, rate=RateLimiter(limits.rate_per_s, limits.burst),
                             metrics=Metrics(system))
    return app
