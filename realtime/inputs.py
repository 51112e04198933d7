"""What a request brings in, bounded where it enters: its JSON body and its path parameters.

A body is decoded by msgspec into its Struct and then held to bounds that the shape alone cannot say: at most
:data:`MAX_DEPTH` levels of nesting and every number within ±:data:`MAX_NUMBER` (2⁵³: the integers a float, and so
the document, holds exactly; far beyond any frame, position or setting). Past those, input makes Python recurse or
overflow later (writing the document, shifting keys), so it is refused here, with the same 4xx a wrong shape gets:

- 400 ``bad_request``: not JSON at all (empty, malformed, not UTF-8);
- 422 ``invalid``: JSON of the wrong shape, too deep, or a number out of range, naming ``field`` and, inside a
  command's ``ops``, the ``op`` index (``$.ops[3].frame`` → ``op: 3, field: "frame"``; a missing or unknown field
  is named too; an op that is not an object or has no known ``type`` names ``type``).

Path parameters (project, shot, member, job ids) that no id can be — a NUL or other control character, longer
than :data:`MAX_PATH_PARAM`, a project or shot outside ``core.values.ID_RE`` — are answered 404 before any store is asked (PostgreSQL refuses a NUL byte in text);
query values with a control character, or integers beyond ±:data:`MAX_NUMBER`, 422 naming the parameter.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import msgspec

from core.values import ID_RE

from .errors import BadRequest, Invalid, NotFound, invalid_from, locate

__all__ = ["MAX_DEPTH", "MAX_NUMBER", "MAX_PATH_PARAM", "decode_body", "guard"]

T = TypeVar("T")

MAX_DEPTH = 64
"""Nesting levels of a whole body (a command's op values sit at level 4)."""

MAX_NUMBER = 2 ** 53
"""The largest magnitude of a number in a body."""

MAX_PATH_PARAM = 256
"""The longest path parameter (ids are at most 64 characters, users and job ids less)."""


def decode_body(raw: bytes, kind: type[T]) -> T:
    """``raw`` as ``kind``, bounded (see the module docstring); raises :class:`BadRequest` or :class:`Invalid`."""
    if not raw.strip():
        raise BadRequest("empty body: expected a JSON object")
    try:
        value = msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as e:
        raise invalid_from(e, _what(kind)) from None
    except msgspec.DecodeError as e:
        raise BadRequest(f"malformed JSON: {e}") from None
    except RecursionError:
        path = _path_too_deep(raw)
        index, field = locate(path)
        raise Invalid(f"invalid {_what(kind)}: JSON nested more than {MAX_DEPTH} levels - at `${path}`", index=index,
                      field=field) from None
    problem = _out_of_bounds(value)
    if problem is not None:
        path, reason = problem
        index, field = locate(path)
        raise Invalid(f"invalid {_what(kind)}: {reason} - at `${path}`", index=index, field=field)
    return value


def _out_of_bounds(value: Any) -> tuple[str, str] | None:
    """(path, reason) of the first place ``value`` nests too deep or holds a number out of range, else None.
    Iterative, so no depth of input makes it recurse; leaves are checked in place and paths are only spelled out
    for the culprit (this runs on every command)."""
    stack: list[tuple[Any, int, tuple | None]] = [(value, 1, None)]  # (container, its depth, (parent trail, key))
    while stack:
        v, depth, trail = stack.pop()
        if depth > MAX_DEPTH:
            return _spell(trail), f"JSON nested more than {MAX_DEPTH} levels"
        t = type(v)
        if t is list or t is tuple:
            items: Any = enumerate(v)
        elif t is dict:
            items = v.items()
        elif isinstance(v, msgspec.Struct):
            items = ((k, getattr(v, k)) for k in v.__struct_fields__)
        else:
            continue
        for k, x in items:
            tx = type(x)
            if tx is float or tx is int:
                if x > MAX_NUMBER or x < -MAX_NUMBER:
                    shown = f"a {len(str(abs(x)))}-digit integer" if tx is int and abs(x) > 10 ** 30 else repr(x)
                    return _spell((trail, k)), f"numbers must be within ±{MAX_NUMBER}, got {shown}"
            elif tx is not str and tx is not bool and x is not None:
                stack.append((x, depth + 1, (trail, k)))
    return None


def _spell(trail: tuple | None) -> str:
    """``.ops[3].frame`` from a trail of (parent trail, key) pairs."""
    parts: list[str] = []
    while trail is not None:
        trail, key = trail
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(reversed(parts))


_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},]')


def _path_too_deep(raw: bytes) -> str:
    """The path (``.ops[0].params.p[0]``) of the value where ``raw`` first nests deeper than :data:`MAX_DEPTH`.
    Only for a body msgspec found too deep to decode: up to that point it is well-formed JSON."""
    stack: list[list] = []  # per open container: ["[", index] or ["{", key, expecting a key]
    for m in _TOKEN.finditer(raw):
        t = m.group()
        if t in (b"[", b"{"):
            if len(stack) >= MAX_DEPTH:
                break
            stack.append(["[", 0] if t == b"[" else ["{", "", True])
        elif t in (b"]", b"}"):
            if stack:
                stack.pop()
        elif t == b",":
            if stack and stack[-1][0] == "[":
                stack[-1][1] += 1
            elif stack:
                stack[-1][2] = True
        elif stack and stack[-1][0] == "{" and stack[-1][2]:
            try:
                stack[-1][1], stack[-1][2] = json.loads(t), False
            except ValueError:
                stack[-1][1], stack[-1][2] = "?", False
    return "".join(f"[{f[1]}]" if f[0] == "[" else f".{f[1]}" for f in stack)


def _what(kind: type) -> str:
    name = getattr(kind, "__name__", "body")
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("In")).lower()


_INTEGER = re.compile(r"[+-]?[0-9]+")
_IDS = ("project", "shot")
"""Path parameters that are ids (``core.values.ID_RE``): no store holds anything under another name."""


async def guard(connection, _handler=None) -> None:
    """Every HTTP route's first guard: 404 for a path parameter no id can be (a control character, over
    :data:`MAX_PATH_PARAM` characters, or a project or shot outside ``ID_RE``), and 422 for a query value with a control character (PostgreSQL refuses a
    NUL in text) or an integer beyond ±:data:`MAX_NUMBER` (no offset, frame or limit is that large, and past ±2⁶³
    PostgreSQL's bigint refuses it), before any store is asked."""
    if connection.scope.get("type") != "http":
        return
    for name, value in connection.path_params.items():
        if not isinstance(value, str):
            continue
        if (len(value) > MAX_PATH_PARAM or not value.isprintable()
                or name in _IDS and not ID_RE.fullmatch(value)):
            raise NotFound(f"no such {name}: {value[:40]!r}{'…' if len(value) > 40 else ''}", field=name)
    for name, value in connection.query_params.items():
        if not value.isprintable():
            raise BadRequest(f"{name} must not hold control characters, got {value[:40]!r}", field=name)
        digits = value.strip().lstrip("+-").lstrip("0")
        if len(digits) > 15 and _INTEGER.fullmatch(value.strip()) and (len(digits) > 20 or int(digits) > MAX_NUMBER):
            raise BadRequest(f"{name} must be within ±{MAX_NUMBER}, got a {len(digits)}-digit integer", field=name)
