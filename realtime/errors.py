"""The one place errors become HTTP statuses and WebSocket close codes.

Handlers and the gateway raise; nothing else chooses a status. :class:`ApiError` and its subclasses are the
realtime layer's own errors; :func:`http_error` also maps the write path's ``events.verdicts.CommandError`` (by its kind), the log's
``ConflictError`` / ``LogError`` and the store's ``StoreError``. Every error body has the same shape::

    {"status_code": 422, "error": "invalid", "reason": "op 2: frame: frame must be finite, got nan",
     "op": 2, "field": "frame"}

(``op`` / ``field`` only when known; 429 adds ``retry_after_s`` and a ``Retry-After`` header).

Socket close codes (:func:`close_code`) for the same errors. The stock y-websocket client stops reconnecting on
4400–4499, so 44xx is used only where reconnecting cannot help:

==========  ===========================================================
code        when
==========  ===========================================================
4401        missing, expired or forged token
4403        authenticated, but the role may not do this
4404        no such project or shot, or not a member (never says which)
4400        malformed message that cannot be answered per message
4410        the client holds a document of another reducer version: drop it and resync
1009        a frame over the size limit (standard "message too big")
1013        rate limit exceeded (standard "try again later": reconnect)
1011        server error (NATS / PostgreSQL unavailable): reconnect
==========  ===========================================================

Per-command refusals on an open socket (422, 409, 403 for one op, 413 ops per command) should be sent back as a
command result built from :func:`error_body`, not by closing the socket.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec

__all__ = [
    "ApiError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Invalid",
    "TooLarge",
    "RateLimited",
    "Unavailable",
    "http_error",
    "error_body",
    "invalid_from",
    "locate",
    "close_code",
    "CLOSE_CODES",
]

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a client gets told about: ``status`` (HTTP), a short ``code`` and a ``reason`` a person can act on."""

    status = 500
    code = "error"

    def __init__(self, reason: str, *, index: int | None = None, field: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(reason)
        self.reason, self.index, self.field = reason, index, field
        self.headers = headers or {}
        self.extra = extra


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"

    def __init__(self, reason: str, **kw):
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="wnm"'})
        super().__init__(reason, **kw)


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class Invalid(ApiError):
    status, code = 422, "invalid"


class TooLarge(ApiError):
    status, code = 413, "too_large"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"

    def __init__(self, reason: str, retry_after_s: float, **kw):
        kw.setdefault("headers", {"Retry-After": str(max(1, int(retry_after_s + 0.999)))})
        super().__init__(reason, retry_after_s=round(retry_after_s, 3), **kw)


class Unavailable(ApiError):
    status, code = 503, "unavailable"


_AT = re.compile(r" - at `\$(.*)`$")
_OP = re.compile(r"^\.ops\[(\d+)\](.*)$")
_FIRST = re.compile(r"^\.([^.\[]+)")
_NAMED = re.compile(r"(?:missing required|contains unknown) field `(.*?)`(?: - at `|$)")


def invalid_from(e: msgspec.ValidationError, what: str) -> Invalid:
    """A 422 naming the op and field of a msgspec validation error (its message ends with the path)."""
    text = str(e)
    m = _AT.search(text)
    index, field = locate(m.group(1) if m else "")
    if field is None:
        named = _NAMED.search(text)
        if named:  # a missing or unknown field of the object the path names
            field = named.group(1)
        elif index is not None:  # the op itself is not an object
            field = "type"
    return Invalid(f"invalid {what}: {text}", index=index, field=field)


def locate(path: str) -> tuple[int | None, str | None]:
    """(op index, field) of a msgspec path such as ``.ops[3].frame`` or ``.reason``."""
    m = _OP.match(path)
    if m:
        rest = _FIRST.match(m.group(2))
        return int(m.group(1)), rest.group(1) if rest else None
    m = _FIRST.match(path)
    return None, m.group(1) if m else None


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "rate_limited",
          500: "error", 503: "unavailable", 504: "timeout"}


_COMMAND_STATUS = {"invalid": 422, "conflict": 409, "not_found": 404, "too_large": 413, "timeout": 504}
"""The HTTP status of each kind of ``events.verdicts.CommandError``."""


def _classify(exc: BaseException) -> tuple[int, str, dict, dict[str, str]]:
    """(status, reason, extra body fields, headers) of any exception."""
    from events.log import ConflictError, LogError
    from projections.store import StoreError

    from events.verdicts import CommandError

    if isinstance(exc, ApiError):
        extra = dict(exc.extra)
        if exc.index is not None:
            extra["op"] = exc.index
        if exc.field is not None:
            extra["field"] = exc.field
        return exc.status, exc.reason, extra, exc.headers
    if isinstance(exc, CommandError):
        extra = {}
        if exc.index is not None:
            extra["op"] = exc.index
        if exc.field is not None:
            extra["field"] = exc.field
        return _COMMAND_STATUS[exc.kind], exc.reason, extra, {}
    if isinstance(exc, msgspec.ValidationError):  # client data of the wrong shape (a body, a query)
        return _classify(invalid_from(exc, "input"))
    if isinstance(exc, msgspec.DecodeError):
        return 400, f"malformed JSON: {exc}", {}, {}
    if isinstance(exc, ConflictError):
        return 409, str(exc), {}, {}
    if isinstance(exc, LogError):
        return 503, f"event log unavailable: {exc}", {}, {}
    if isinstance(exc, StoreError):
        return 503, f"database unavailable: {exc}", {}, {}
    if isinstance(exc, TimeoutError):
        return 504, "timed out", {}, {}
    try:  # litestar's own (unknown route, wrong method, body over request_max_body_size, …)
        from litestar.exceptions import HTTPException

        if isinstance(exc, HTTPException):
            reason = exc.detail or _CODES.get(exc.status_code, "error")
            if exc.status_code == 413:
                reason = f"request body too large: {reason}"
            named = {k: v for k, v in exc.extra.items() if k in ("op", "field")} if isinstance(exc.extra, dict) else {}
            return exc.status_code, reason, named, dict(exc.headers or {})
    except ImportError:  # pragma: no cover - litestar is a dependency
        pass
    return 500, "internal server error", {}, {}


def error_body(exc: BaseException) -> dict:
    """The JSON body of an error (also what a socket sends back as a refused command's result)."""
    status, reason, extra, _ = _classify(exc)
    return {"status_code": status, "error": _CODES.get(status, "error"), "reason": reason, **extra}


def http_error(exc: BaseException) -> tuple[int, dict, dict[str, str]]:
    """(status, body, headers) for an exception raised while serving a request. Unknown errors are logged."""
    status, reason, extra, headers = _classify(exc)
    if status >= 500 and not isinstance(exc, ApiError):
        log.error("request failed: %s: %s", type(exc).__name__, exc, exc_info=status == 500)
    return status, {"status_code": status, "error": _CODES.get(status, "error"), "reason": reason, **extra}, headers


CLOSE_CODES = {400: 4400, 401: 4401, 403: 4403, 404: 4404, 413: 1009, 429: 1013}


def close_code(exc: BaseException) -> tuple[int, str]:
    """(WebSocket close code, reason ≤ 123 bytes) for an error that ends a socket."""
    status, reason, _, _ = _classify(exc)
    code = CLOSE_CODES.get(status, 4400 if 400 <= status < 500 else 1011)
    raw = reason.encode()[:123]
    return code, raw.decode("utf-8", "ignore")
