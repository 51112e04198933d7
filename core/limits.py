"""Bounds on every input where it enters the world model, in one place.

Anything inside these bounds a check accepts is applied by the reducer the same way on every replica; anything
outside is refused with an :class:`core.edit.OpError` naming the op and the field. Positions keep their bound in
:data:`core.tolerances.MAX_ABS_COORD_M` (±1e6 m).
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["MAX_ABS_FRAME", "MAX_ABS_SHIFT", "MAX_ABS_NUMBER", "MAX_ABS_PARAM", "MAX_DEPTH", "MAX_NODES",
           "MAX_STRING", "MAX_FIELD", "check_json", "check_text", "clip", "describe", "show"]

MAX_ABS_FRAME = 1e6
"""Frames (key frames, the shot's range, ``track.shift`` start/end and every frame a shifted key lands on) are
within ±1e6: 11 hours at 24 fps, far enough for any shot, near enough that ``frame / EPS_FRAME`` stays exact."""

MAX_ABS_SHIFT = 2 * MAX_ABS_FRAME
"""``track.shift`` ``by``: from one end of the frame range to the other."""

MAX_ABS_NUMBER = 1e9
"""Scalars without a tighter range of their own (tangents, light intensity)."""

MAX_ABS_PARAM = 1e15
"""Numbers inside directive params (integers stay exact in JavaScript)."""

MAX_DEPTH = 32
"""Nesting of any JSON value an op carries (directive params, attribute values, props)."""

MAX_NODES = 10_000
"""Values (numbers, strings, lists, objects, keys) inside one such JSON value."""

MAX_STRING = 4096
"""Characters of any string inside such a value."""

MAX_FIELD = 256
"""Characters of an op's own string fields (ids, paths, names, agents)."""


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis says it was)."""
    return text if len(text) <= limit else text[:limit] + "…"


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")


def describe(e: BaseException) -> str:
    """``Type: message`` of an exception, the same text in every process (memory addresses removed, the message
    cut to 200 characters)."""
    return f"{type(e).__name__}: {_ADDRESS.sub('0x…', clip(str(e)))}"


def show(value: Any, limit: int = 60) -> str:
    """A short ``repr`` of ``value`` for an error message, whatever it is (huge, deep, a 5,000-digit integer)."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + "…"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    try:
        r = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"
    return r if len(r) <= limit else r[:limit] + "…"


def check_text(value: Any, what: str, max_len: int = MAX_STRING) -> str:
    """A string of at most ``max_len`` characters that encodes as UTF-8 (no lone surrogates)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > max_len:
        raise ValueError(f"{what} must be at most {max_len} characters, got {len(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{what} holds a lone surrogate (not valid Unicode text)") from None
    return value


def check_json(value: Any, what: str) -> None:
    """Raise ``ValueError`` unless ``value`` is plain JSON data within the bounds above: dicts with string keys,
    lists, strings, bools, None and finite numbers (integers within float range), at most :data:`MAX_DEPTH` deep,
    :data:`MAX_NODES` values and :data:`MAX_STRING` characters a string. Walks without recursion."""
    if type(value) is list and len(value) <= 16 and all(type(x) is float for x in value):
        if all(map(math.isfinite, value)):  # the common case (a vector), checked in bulk
            return
    stack = [(value, 0)]
    nodes = 1
    while stack:
        v, depth = stack.pop()
        if v is None or isinstance(v, bool):
            continue
        if isinstance(v, float):
            if not math.isfinite(v):
                raise ValueError(f"{what} holds a non-finite number {v}")
            continue
        if isinstance(v, int):
            if v.bit_length() > 1000:
                raise ValueError(f"{what} holds {show(v)}, beyond float range")
            try:
                float(v)
            except OverflowError:
                raise ValueError(f"{what} holds {show(v)}, beyond float range") from None
            continue
        if isinstance(v, str):
            check_text(v, f"a string in {what}")
            continue
        if isinstance(v, (list, tuple, dict)):
            if depth >= MAX_DEPTH:
                raise ValueError(f"{what} nests deeper than {MAX_DEPTH} levels")
            nodes += len(v) * (2 if isinstance(v, dict) else 1)
            if nodes > MAX_NODES:
                raise ValueError(f"{what} holds more than {MAX_NODES} values")
            if isinstance(v, dict):
                for k, x in v.items():
                    check_text(k, f"a key in {what}", MAX_FIELD)
                    stack.append((x, depth + 1))
            else:
                stack.extend((x, depth + 1) for x in v)
            continue
        raise ValueError(f"{what} holds an unsupported value of type {type(v).__name__}")
