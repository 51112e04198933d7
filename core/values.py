"""Checking and normalising attribute values: each function takes raw JSON and returns the canonical form
(lists of Python floats, unit quaternions, …) or raises ``ValueError`` with a reason a person can act on."""

from __future__ import annotations

import math
import re
from typing import Any


from . import quat
from .limits import show
from .tolerances import MAX_ABS_COORD_M

__all__ = [
    "ID_RE",
    "check_id",
    "finite",
    "vec",
    "rotation",
    "boolean",
    "rgb",
    "number",
    "geometry",
]

UNIT_TOLERANCE = 4e-15
"""A quaternion whose length is this close to 1 is already normalised (a few float steps)."""

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_id(value: Any, what: str = "id") -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise ValueError(f"{what} {show(value)} must match {ID_RE.pattern}")
    return value


def finite(x: Any, what: str = "value") -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"{what} must be a number, got {type(x).__name__}")
    try:
        x = float(x)
    except OverflowError:  # an integer beyond float range
        raise ValueError(f"{what} must be within float range, got {show(x)}") from None
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {x}")
    return x


def vec(value: Any, n: int, what: str = "value", positive: bool = False, limit: float = MAX_ABS_COORD_M) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise ValueError(f"{what} must be a list of {n} numbers")
    if all(type(v) is float for v in value):  # the common case, checked in bulk
        out = list(value)
        if not all(map(math.isfinite, out)):
            raise ValueError(f"{what} must be finite, got {out}")
    else:
        out = [finite(v, what) for v in value]
    if positive and any(v <= 0 for v in out):
        raise ValueError(f"{what} components must be > 0, got {out}")
    if any(abs(v) > limit for v in out):
        raise ValueError(f"{what} components must be within ±{limit:g}, got {out}")
    return out


def rotation(value: Any, what: str = "rotation") -> list[float]:
    """A quaternion ``[x, y, z, w]`` or ``{"euler_deg": [x, y, z], "order": "XYZ"}`` → unit ``[x, y, z, w]``.

    The sign is canonicalised to ``w ≥ 0`` so equal rotations have one stored form.
    """
    if isinstance(value, dict):
        unknown = set(value) - {"euler_deg", "order"}
        if unknown or "euler_deg" not in value:
            raise ValueError(f"{what} object must be {{euler_deg: [x, y, z], order?: 'XYZ'}}")
        angles = vec(value["euler_deg"], 3, f"{what}.euler_deg")
        order = value.get("order", "XYZ")
        if not isinstance(order, str):
            raise ValueError(f"{what}.order must be a string like 'XYZ'")
        q = quat.from_euler_deg(angles, order)
    else:
        raw = vec(value, 4, what)
        norm = math.sqrt(sum(c * c for c in raw))
        # an already-unit quaternion is kept exactly, so normalising is idempotent (a restored value reads back
        # bit for bit); anything else is divided by its length
        q = raw if abs(norm - 1.0) <= UNIT_TOLERANCE else quat.normalize(raw)
    if q[3] < 0:
        q = [-c for c in q]
    return [float(c) + 0.0 for c in q]


def boolean(value: Any, what: str = "value") -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false")
    return value


def rgb(value: Any, what: str = "color") -> list[float]:
    out = vec(value, 3, what)
    if any(c < 0 or c > 1 for c in out):
        raise ValueError(f"{what} components must be within 0–1, got {out}")
    return out


def number(value: Any, what: str, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False) -> float:
    x = finite(value, what)
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise ValueError(f"{what} must be {'>' if lo_open else '≥'} {lo:g}, got {x:g}")
    if hi is not None and x > hi:
        raise ValueError(f"{what} must be ≤ {hi:g}, got {x:g}")
    return x


_PRIMITIVE_FIELDS = {
    "box": {"size": 3},
    "sphere": {"radius": 1},
    "cylinder": {"radius": 1, "height": 1},
    "capsule": {"radius": 1, "height": 1},
    "plane": {"size": 2},
}


def geometry(value: Any, what: str = "geometry") -> dict:
    """``{"primitive": ..., dims}`` or ``{"asset": id}``; dimensions in metres, all > 0."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object like {{'primitive': 'box', 'size': [w, h, d]}}")
    if "asset" in value:
        if set(value) != {"asset"}:
            raise ValueError(f"{what} with an asset takes no other fields")
        return {"asset": check_id(value["asset"], "asset id")}
    prim = value.get("primitive")
    if prim not in _PRIMITIVE_FIELDS:
        raise ValueError(f"{what}.primitive must be one of {sorted(_PRIMITIVE_FIELDS)}, got {prim!r}")
    fields = _PRIMITIVE_FIELDS[prim]
    extra = set(value) - set(fields) - {"primitive"}
    if extra:
        raise ValueError(f"{what} {prim} has unknown fields {sorted(extra)}")
    out: dict[str, Any] = {"primitive": prim}
    for name, n in fields.items():
        if name not in value:
            raise ValueError(f"{what} {prim} needs {name}")
        if n == 1:
            out[name] = number(value[name], f"{what}.{name}", lo=0, lo_open=True, hi=MAX_ABS_COORD_M)
        else:
            out[name] = vec(value[name], n, f"{what}.{name}", positive=True)
    return out
