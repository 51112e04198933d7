"""Liveness, readiness and metrics (no token needed; keep them on an internal network).

``GET /healthz`` → 200 ``{status: "ok"}`` while the process serves. ``GET /readyz`` → 200 when NATS and
PostgreSQL answer and every project's projection is healthy (:meth:`projections.projector.Projector.health`: not
failing — a store or log error being retried, a follower restarting —, not halted — its stream ends before the
checkpoint —, and not more than ``ready_lag`` events behind its stream for longer than ``ready_lag_s``), else 503
with ``{status, checks: {nats, postgres, projector}, lag: {project: events}, projects: {project: health}}``
(``projects`` lists the projects that are not ready, with their state and error), and ``agents``: the agents
process and each agent's lag per project (reported, never a reason to be unready: agents are off the command
path). ``GET /metrics`` → Prometheus text.
"""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Request, Response, get

from .agent_health import agents_report
from .http_common import state_of
from .metrics import CONTENT_TYPE_LATEST

__all__ = ["ROUTES"]

_TIMEOUT_S = 2.0


@get("/healthz", summary="Liveness", include_in_schema=True)
async def healthz() -> dict:
    return {"status": "ok"}


async def _check(coro) -> str:
    try:
        async with asyncio.timeout(_TIMEOUT_S):
            await coro
        return "ok"
    except Exception as e:  # noqa: BLE001 - readiness reports any failure
        return f"{type(e).__name__}: {e}"[:300]


@get("/readyz", summary="Readiness: NATS and PostgreSQL reachable, every projection healthy and caught up")
async def readyz(request: Request) -> Response:
    system = state_of(request).system
    checks = {"nats": await _check(system.log.projects()),
              "postgres": await _check(system.store.checkpoint("~readyz"))}
    lag: dict[str, int] = {}
    unready: dict[str, dict] = {}
    projector = system.projector
    if projector is None:
        checks["projector"] = "not running in this process"
    else:
        for p, h in projector.health().items():
            lag[p] = h.lag
            if not h.ready:
                unready[p] = msgspec.to_builtins(h)
        checks["projector"] = "ok" if not unready else "; ".join(
            f"{p}: {h['state']}" + (f" ({h['error']})" if h["error"] else "") for p, h in unready.items())[:2000]
    ok = all(v == "ok" for v in checks.values()) or (projector is None and checks["nats"] == checks["postgres"] == "ok")
    body = {"status": "ready" if ok else "not ready", "checks": checks, "lag": lag}
    if unready:
        body["projects"] = unready
    if checks["postgres"] == "ok":
        agents = await _report(agents_report(system))
        if agents is not None:
            body["agents"] = agents
    return Response(body, status_code=200 if ok else 503)


async def _report(coro):
    try:
        async with asyncio.timeout(_TIMEOUT_S):
            return await coro
    except Exception as e:  # noqa: BLE001 - a report that cannot be made says why
        return {"error": f"{type(e).__name__}: {e}"[:300]}


@get("/metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
async def metrics(request: Request) -> Response:
    await _report(agents_report(state_of(request).system))  # refreshes the lag the collector reads
    return Response(state_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


ROUTES = [healthz, readyz, metrics]
