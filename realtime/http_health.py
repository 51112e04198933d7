"""Liveness, readiness and metrics (no token needed; keep them on an internal network).

``GET /healthz`` → 200 ``{status: "ok"}`` while the process serves. ``GET /readyz`` → 200 when NATS and
PostgreSQL answer and the projector is within ``READY_LAG`` events of every project's stream head, else 503 with
``{status, checks: {nats, postgres, projector}, lag: {project: events}}``. ``GET /metrics`` → Prometheus text.
"""

from __future__ import annotations

import asyncio

from litestar import Request, Response, get

from events.log import stream_for

from .http_common import state_of
from .metrics import CONTENT_TYPE_LATEST

__all__ = ["ROUTES", "READY_LAG"]

READY_LAG = 100
_TIMEOUT_S = 2.0


@get("/healthz", summary="Liveness", include_in_schema=True)
async def healthz() -> dict:
    return {"status": "ok"}


async def _stream_head(log, project: str) -> int:
    """The last seq of a project's stream. The EventLog port has no such call yet: ask JetStream (or the memory
    twin) directly."""
    js = getattr(log, "_js", None)
    if js is not None:
        return (await js.stream_info(stream_for(project))).state.last_seq
    streams = getattr(log, "_streams", {})
    return len(streams.get(project, ()))


async def _check(coro) -> str:
    try:
        async with asyncio.timeout(_TIMEOUT_S):
            await coro
        return "ok"
    except Exception as e:  # noqa: BLE001 - readiness reports any failure
        return f"{type(e).__name__}: {e}"[:300]


@get("/readyz", summary="Readiness: NATS and PostgreSQL reachable, projector caught up")
async def readyz(request: Request) -> Response:
    system = state_of(request).system
    checks = {"nats": await _check(system.log.projects()),
              "postgres": await _check(system.store.checkpoint("~readyz"))}
    lag: dict[str, int] = {}
    projector = system.projector
    if projector is None:
        checks["projector"] = "not running in this process"
    else:
        async def lags():
            for p in projector.projects():
                lag[p] = max(0, await _stream_head(system.log, p) - projector.position(p))
        checks["projector"] = await _check(lags())
        behind = {p: n for p, n in lag.items() if n > READY_LAG}
        if checks["projector"] == "ok" and behind:
            checks["projector"] = f"behind by more than {READY_LAG} events in {sorted(behind)}"
    ok = all(v == "ok" for v in checks.values()) or (projector is None and checks["nats"] == checks["postgres"] == "ok")
    return Response({"status": "ready" if ok else "not ready", "checks": checks, "lag": lag},
                    status_code=200 if ok else 503)


@get("/metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
async def metrics(request: Request) -> Response:
    return Response(state_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


ROUTES = [healthz, readyz, metrics]
