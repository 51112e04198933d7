"""The ``path`` directive's params (SPEC §7.1), checked: unknown keys, wrong types and impossible values are errors
named after the field.

``{entity, waypoints: [[x, z], …] | goal: [x, z], start, end?: frame, speed_mps?, gait?: clip, clearance_m?: 0.3}``

- exactly one of ``waypoints`` (one or more points, visited in order) and ``goal`` (one point);
- ``start``: the frame the entity leaves; ``end``: the frame it arrives, exactly (then the speed follows from the
  route's length and ``speed_mps``, when given, is the fastest cruising speed allowed); without ``end`` it cruises
  at ``speed_mps`` (default: the gait's natural speed) and arrives when it arrives;
- ``gait``: the locomotion clip of the entity's family that the walk is for (its natural speed is the default
  speed, its top speed the limit); ``clearance_m`` ≥ 0: the gap kept between the body and every obstacle.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import NamedTuple

__all__ = ["PathError", "PathSpec", "parse", "params_hash", "gait_speeds", "GAITS", "DEFAULT_GAIT", "KEYS"]

KEYS = frozenset({"entity", "waypoints", "goal", "start", "end", "speed_mps", "gait", "clearance_m", "pins",
                  "report"})

GAITS: dict[str, dict[str, tuple[float, float]]] = {
    # family -> clip -> (natural speed, top speed) in m/s; figures in ../shared/NOTES.md (Motion), dog-sized
    # quadruped, pigeon-sized bird
    "biped": {"walk": (1.37, 2.2), "run": (3.5, 7.0)},
    "quadruped": {"walk": (1.0, 1.6), "trot": (2.0, 3.5), "pace": (2.0, 3.5), "canter": (4.0, 6.0),
                  "gallop": (7.0, 12.0), "bound": (5.0, 9.0)},
    "bird": {"hop": (0.5, 1.2), "flap": (8.0, 18.0), "glide": (10.0, 18.0)},
    "fish": {"swim": (0.5, 2.0)},
}
DEFAULT_GAIT = {"biped": "walk", "quadruped": "walk", "bird": "hop", "fish": "swim"}
GENERIC = (1.3, 7.0)  # a custom skeleton or a prop: natural and top speed


class PathError(ValueError):
    """A directive that cannot be solved as given; the message is the report's ``reason``."""


class PathSpec(NamedTuple):
    entity: str
    points: tuple[tuple[float, float], ...]   # waypoints (or the goal), in order
    start: float
    end: float | None
    speed_mps: float | None
    gait: str | None
    clearance_m: float


def _num(v, what: str, lo: float | None = None, lo_open: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise PathError(f"params.{what} must be a finite number, got {v!r}")
    v = float(v)
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise PathError(f"params.{what} must be {'>' if lo_open else '≥'} {lo:g}, got {v:g}")
    return v


def _point(v, what: str) -> tuple[float, float]:
    if not isinstance(v, list) or len(v) != 2:
        raise PathError(f"params.{what} must be [x, z], got {v!r}")
    return (_num(v[0], f"{what}[0]"), _num(v[1], f"{what}[1]"))


def parse(params: dict) -> PathSpec:
    """Check ``params``; raises PathError naming the first problem."""
    unknown = sorted(set(params) - KEYS)
    if unknown:
        raise PathError(f"unknown params keys {unknown}; known: {sorted(KEYS - {'report'})}")
    entity = params.get("entity")
    if not isinstance(entity, str) or not entity:
        raise PathError("params.entity must name the entity that moves")
    if ("waypoints" in params) == ("goal" in params):
        raise PathError("give exactly one of params.waypoints and params.goal")
    if "goal" in params:
        points = (_point(params["goal"], "goal"),)
    else:
        wps = params["waypoints"]
        if not isinstance(wps, list) or not wps:
            raise PathError("params.waypoints must be a non-empty list of [x, z]")
        if len(wps) > 64:
            raise PathError(f"params.waypoints has {len(wps)} points; at most 64")
        points = tuple(_point(p, f"waypoints[{i}]") for i, p in enumerate(wps))
    if "start" not in params:
        raise PathError("params.start (the frame the entity leaves) is missing")
    start = _num(params["start"], "start")
    end = None
    if params.get("end") is not None:
        end = _num(params["end"], "end")
        if end <= start:
            raise PathError(f"impossible arrival: params.end {end:g} is not after params.start {start:g}")
    speed = None if params.get("speed_mps") is None else _num(params["speed_mps"], "speed_mps", 0.0, True)
    gait = params.get("gait")
    if gait is not None and not isinstance(gait, str):
        raise PathError(f"params.gait must be a clip name, got {gait!r}")
    clearance = _num(params.get("clearance_m", 0.3), "clearance_m", 0.0)
    if clearance > 10.0:
        raise PathError(f"params.clearance_m must be at most 10 m, got {clearance:g}")
    return PathSpec(entity, points, start, end, speed, gait, clearance)


def gait_speeds(family: str, gait: str | None) -> tuple[str | None, float, float]:
    """(clip, natural speed, top speed) of ``gait`` for ``family``; raises PathError for a clip the family has not."""
    clips = GAITS.get(family)
    if family == "prop" and gait is not None:
        raise PathError(f"params.gait {gait!r} is for characters; a prop just moves")
    if clips is None:
        if gait is not None and not any(gait in c for c in GAITS.values()):
            raise PathError(f"unknown gait {gait!r}")
        return gait, *GENERIC
    gait = gait or DEFAULT_GAIT[family]
    if gait not in clips:
        raise PathError(f"unknown gait {gait!r} for a {family}; one of {', '.join(clips)}")
    return (gait, *clips[gait])


def params_hash(params: dict) -> str:
    """What the solution depends on in the params (everything but ``report`` and ``pins``)."""
    core = {k: v for k, v in params.items() if k not in ("report", "pins")}
    return hashlib.sha256(json.dumps(core, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
