"""What every HTTP route module shares: the app's state, the authenticated user, strict JSON bodies, and timing of
writes. Handlers only parse, call :mod:`realtime.gateway`, and return; errors are mapped in :mod:`realtime.errors`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

import msgspec
from litestar import Request
from litestar.di import NamedDependency

from .errors import ApiError, BadRequest, Invalid
from .gateway import authenticate
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


_OP_PATH = re.compile(r"at `\$\.ops\[(\d+)\](?:\.(\w+))?")
_FIELD_PATH = re.compile(r"at `\$\.(\w+)")


async def read_body(request: Request, kind: type[T]) -> T:
    """The request's JSON body as ``kind``: 413 over the size limit, 400 when it is not JSON, 422 naming the field
    (and for commands the op index) when it has the wrong shape."""
    st = state_of(request)
    length = request.headers.get("content-length")
    if length and length.isdigit():
        check_size(int(length), st.limits.max_body_bytes)
    raw = await request.body()
    check_size(len(raw), st.limits.max_body_bytes)
    if not raw.strip():
        raise BadRequest("empty body: expected a JSON object")
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as e:
        text = str(e)
        m = _OP_PATH.search(text)
        if m:
            raise Invalid(f"invalid {_what(kind)}: {text}", index=int(m.group(1)), field=m.group(2)) from None
        m = _FIELD_PATH.search(text)
        raise Invalid(f"invalid {_what(kind)}: {text}", field=m.group(1) if m else None) from None
    except msgspec.DecodeError as e:
        raise BadRequest(f"malformed JSON: {e}") from None


def _what(kind: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind.__name__.removesuffix("In")).lower()


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
