"""What every HTTP route module shares: the app's state, the authenticated user, strict JSON bodies, timing of
writes, and :func:`check_params`, the guard that validates ids and numbers in every route's path and query before
any handler (or store) sees them. Handlers only parse, call :mod:`realtime.gateway`, and return; errors are mapped
in :mod:`realtime.errors`.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

import msgspec
from litestar import Request
from litestar.di import NamedDependency

from core.values import ID_RE
from events.envelope import COMMAND_ID_PATTERN, MAX_COMMAND_ID

from .auth import USER_RE
from .errors import ApiError, BadRequest, Invalid
from .inputs import decode_body
from .limits import Limits, RateLimiter, check_size
from .metrics import Metrics
from .policy import authenticate

__all__ = ["User", "AppState", "state_of", "provide_user", "read_body", "timed", "to_json", "CommandId",
           "check_params", "PATH_IDS", "QUERY_INTS", "INT64_MAX", "MAX_QUERY_FRAME", "is_mesh_asset"]

T = TypeVar("T")

User = NamedDependency[str]
"""A handler parameter ``user: User`` is the authenticated user (see :func:`provide_user`)."""

CommandId = msgspec.Meta(min_length=1, max_length=MAX_COMMAND_ID, pattern=COMMAND_ID_PATTERN,
                         description="client-chosen id; a retried request with the same id is applied once")
"""The command id rule (:func:`events.envelope.check_command_id`) as a schema constraint of request bodies."""


INT64_MAX = 2**63 - 1
"""Integers in a query (seqs, limits) must fit PostgreSQL's bigint: outside ±this they are a 400."""

MAX_QUERY_FRAME = 1e9
"""The largest frame number a query may ask for (a day at 10,000 fps); more is a 400 (not finite: 422)."""

_PRINTABLE = re.compile(r"^[!-~]{1,200}$")  # command and suggestion ids: printable ASCII, no spaces
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:~-]{0,199}$")

PATH_IDS: dict[str, tuple[re.Pattern, str]] = {
    "project": (ID_RE, "project id"),
    "shot": (ID_RE, "shot id"),
    "entity": (ID_RE, "entity id"),
    "member": (USER_RE, "user id"),
    "user": (USER_RE, "user id"),
    "job_id": (_JOB_ID, "render job id"),
    "sid": (_PRINTABLE, "suggestion id"),
}
"""Path parameters by name, the pattern they must match (SPEC §2 for projects, shots and entities), and what
they are called in the 400 that a mismatch answers. Every route module names its parameters from this table."""

QUERY_IDS: dict[str, tuple[re.Pattern, str]] = {
    "entity": (ID_RE, "entity id"),
    "actor": (_PRINTABLE, "actor"),
}

QUERY_INTS = ("at", "after", "before", "limit")
QUERY_FRAMES = ("frame",)


def check_params(connection, _handler=None) -> None:
    """Part of every HTTP route's guard (``realtime.app``): ids in the path and the query match
    their patterns, integers fit in int64 and finite frames are within ``MAX_QUERY_FRAME`` — else 400
    naming the parameter, before authentication, handlers or any store call. A well-formed id that names nothing
    is the handler's 404. Sockets check their own parameters."""
    if connection.scope.get("type") != "http":
        return
    for name, value in connection.path_params.items():
        rule = PATH_IDS.get(name)
        if rule is not None and not (isinstance(value, str) and rule[0].match(value)):
            raise BadRequest(f"{rule[1]} {_show(value)} must match {rule[0].pattern}", field=name)
    query = connection.query_params
    for name, (pattern, what) in QUERY_IDS.items():
        for value in query.getall(name, ()):
            if not pattern.match(value):
                raise BadRequest(f"{what} {_show(value)} must match {pattern.pattern}", field=name)
    for name in QUERY_INTS:
        for value in query.getall(name, ()):
            n = _parsed(value, int)
            if n is not None and not -INT64_MAX - 1 <= n <= INT64_MAX:
                raise BadRequest(f"{name} {_show(value)} is out of range (at most {INT64_MAX})", field=name)
    for name in QUERY_FRAMES:
        for value in query.getall(name, ()):
            x = _parsed(value, float)  # not finite: the handler's 422 says so
            if x is not None and math.isfinite(x) and abs(x) > MAX_QUERY_FRAME:
                raise BadRequest(f"{name} {_show(value)} is out of range (at most ±{MAX_QUERY_FRAME:g})", field=name)


def _parsed(value: str, kind: type) -> Any:
    """``value`` as ``kind``, or None when it is not one (the route's own parsing then answers 400)."""
    try:
        if kind is int and len(value) > 100:
            return 2**64  # beyond int64 whatever it holds (and Python refuses int() of over 4,300 digits)
        return kind(value.strip())
    except (ValueError, OverflowError):
        return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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


def is_mesh_asset(asset_id: str) -> bool:
    """For representation levels (:mod:`core.levels`): built-in catalogue assets are parametric white boxes; any
    other asset id is an imported mesh."""
    try:
        from agents.assets.catalog import BY_ID
    except ImportError:  # pragma: no cover - the agents package ships with the server
        return True
    return asset_id not in BY_ID
