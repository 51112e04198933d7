"""What every HTTP route module shares: the app's state, the authenticated user, strict JSON bodies, and timing of
writes. Handlers only parse, call :mod:`realtime.gateway`, and return; errors are mapped in :mod:`realtime.errors`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

import msgspec
from litestar import Request
from litestar.di import NamedDependency

from .errors import ApiError
from .gateway import authenticate
from .inputs import decode_body
from .limits import Limits, RateLimiter, check_size
from .metrics import Metrics

__all__ = ["User", "AppState", "state_of", "provide_user", "read_body", "timed", "to_json", "CommandId"]

T = TypeVar("T")

User = NamedDependency[str]
"""A handler parameter ``user: User`` is the authenticated user (see :func:`provide_user`)."""

CommandId = msgspec.Meta(min_length=1, max_length=200, pattern=r"^[!-~]+$",
                         description="client-chosen id; a retried request with the same id is applied once")


@dataclass
class AppState:
    system: Any
    limits: Limits
    rate: RateLimiter
    metrics: Metrics
    suggestions: Any = None


def state_of(request: Request) -> AppState:
    return request.app.state.wnm


async def provide_user(request: Request) -> str:
    """The user of the request's bearer token (401 without a valid one)."""
    return authenticate(state_of(request).system, request.headers.get("authorization"))


async def read_body(request: Request, kind: type[T]) -> T:
    """The request's JSON body as ``kind``: 413 over the size limit, 400 when it is not JSON, 422 naming the field
    (and for commands the op index) when it has the wrong shape."""
    st = state_of(request)
    length = request.headers.get("content-length")
    if length and length.isdigit():
        check_size(int(length), st.limits.max_body_bytes)
    raw = await request.body()
    check_size(len(raw), st.limits.max_body_bytes)
    return decode_body(raw, kind)


async def timed(request: Request, kind: str, user: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run a write: rate-limited per user, counted and timed by outcome."""
    st = state_of(request)
    start = time.perf_counter()
    try:
        st.rate.check(user)
        result = await call()
    except ApiError as e:
        st.metrics.commands.labels(kind, str(e.status)).inc()
        raise
    except Exception as e:
        st.metrics.commands.labels(kind, str(getattr(e, "status", 500))).inc()
        raise
    status = result.get("status") if isinstance(result, dict) else getattr(result, "status", "ok")
    st.metrics.commands.labels(kind, str(status)).inc()
    st.metrics.latency.labels(kind).observe(time.perf_counter() - start)
    return result


def to_json(obj: Any) -> Any:
    return msgspec.to_builtins(obj)
