"""The ``shot`` directive's params (SPEC §7.1), checked into a :class:`ShotSpec`; anything wrong is a
:class:`ShotError` whose message names the key.

Shot sizes are defined by the fraction σ of the frame height that the subject's full height fills, measured at the
depth of the framed point — the point of the subject at the frame's centre line, e.g. the face of a close-up, the
middle of a full figure (``σ = subject height / frame height at that depth``; σ > 1 means the subject overflows
the frame, e.g. a medium shot shows a person from the waist up). For a 1.75 m person the cut lines are
the traditional ones:

| size | σ | frame shows (person) | default headroom |
|---|---|---|---|
| ECU | 12.0 | eyes to mouth | −0.25 (crown cut) |
| CU | 5.0 | head and top of shoulders | 0.05 |
| MCU | 3.2 | head to mid-chest | 0.07 |
| MS | 2.2 | head to waist | 0.08 |
| cowboy | 1.6 | head to mid-thigh | 0.08 |
| MLS | 1.3 | head to knees | 0.08 |
| FS | 0.85 | head to toe, little around | centred |
| LS | 0.55 | the whole figure in its setting | centred |
| ELS | 0.12 | the figure small in the landscape | centred |

Headroom is the gap between the top of the subject and the top of the frame, as a fraction of the frame height;
it sets the vertical framing of the sizes that overflow the frame (σ > 1). Sizes that fit (σ ≤ 1) centre the
subject vertically.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

__all__ = ["ShotError", "ShotSpec", "SIZES", "SIZE_ORDER", "HEADROOM", "ANGLES", "MOVES", "EASINGS",
           "parse", "params_hash", "ease"]

SIZES = {"ECU": 12.0, "CU": 5.0, "MCU": 3.2, "MS": 2.2, "cowboy": 1.6, "MLS": 1.3, "FS": 0.85, "LS": 0.55,
         "ELS": 0.12}
SIZE_ORDER = ["ECU", "CU", "MCU", "MS", "cowboy", "MLS", "FS", "LS", "ELS"]   # closest first
HEADROOM = {"ECU": -0.25, "CU": 0.05, "MCU": 0.07, "MS": 0.08, "cowboy": 0.08, "MLS": 0.08}

# angle → (elevation of the camera seen from the subject's aim point, degrees; roll, degrees)
ANGLES = {"eye": (0.0, 0.0), "high": (30.0, 0.0), "low": (-20.0, 0.0), "overhead": (80.0, 0.0),
          "dutch": (0.0, 15.0)}

# move → {param: default}; None = required
_COMMON = {"focal_length_mm": 35.0, "f_stop": 4.0, "azimuth_deg": 0.0, "elevation_deg": None, "roll_deg": None,
           "thirds": None, "headroom": None, "easing": "ease_in_out", "zoom_range_mm": [12.0, 600.0],
           "smooth_s": 0.25, "clearance_m": 0.3}
MOVES = {
    "static": {},
    "pan": {"degrees": 0.0},
    "tilt": {"degrees": 0.0},
    "dolly_in": {"from_size": "auto"},
    "dolly_out": {"from_size": "auto"},
    "truck": {"distance_m": 2.0, "rail": None},
    "pedestal": {"height_m": 1.0},
    "zoom": {"from_size": "auto"},
    "dolly_zoom": {"factor": 0.5},
    "crane": {"arm_m": 3.0, "from_deg": -10.0, "to_deg": 45.0, "swing_deg": 0.0},
    "arc": {"degrees": 90.0},
    "orbit": {"degrees": 360.0, "end_at_frame": None},
    "follow": {"side_deg": 0.0, "heading_smooth_s": 0.75},
    "flyover": {"waypoints": None},
}
EASINGS = ("linear", "ease_in", "ease_out", "ease_in_out")
_TOP = {"camera", "subject", "subject_joint", "size", "angle", "move", "start", "end", "params", "pins", "report"}


class ShotError(ValueError):
    """A shot directive that cannot be solved as written (bad params, unknown subject, impossible framing)."""


@dataclass
class ShotSpec:
    camera: str
    subject: str
    joint: str | None
    size: str
    angle: str
    move: str
    start: float
    end: float
    p: dict = field(default_factory=dict)    # the move's params with defaults filled in

    @property
    def fraction(self) -> float:
        return SIZES[self.size]

    @property
    def from_fraction(self) -> float:
        """Where a dolly or zoom starts: ``from_size``, by default two sizes wider (dolly in, zoom) or closer
        (dolly out)."""
        src = self.p.get("from_size", "auto")
        if src != "auto":
            return SIZES[src]
        i = SIZE_ORDER.index(self.size)
        j = max(0, i - 2) if self.move == "dolly_out" else min(len(SIZE_ORDER) - 1, i + 2)
        return SIZES[SIZE_ORDER[j]]


def _number(params: dict, key: str, lo: float | None = None, hi: float | None = None) -> float:
    v = params[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ShotError(f"params.{key} must be a finite number, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ShotError(f"params.{key} must be within [{lo}, {hi}], got {v!r}")
    return float(v)


def _point(v, n: int, what: str) -> list[float]:
    if not isinstance(v, list) or len(v) != n or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v):
        raise ShotError(f"{what} must be a list of {n} finite numbers, got {v!r}")
    return [float(x) for x in v]


def parse(params: dict) -> ShotSpec:
    """Check a shot directive's params (everything but the report) and fill in the defaults."""
    if not isinstance(params, dict):
        raise ShotError("params must be an object")
    unknown = sorted(set(params) - _TOP)
    if unknown:
        raise ShotError(f"unknown params keys {unknown}; known: {sorted(_TOP - {'report'})}")
    for key in ("camera", "subject", "size", "start", "end"):
        if key not in params:
            raise ShotError(f"params.{key} is missing")
    for key in ("camera", "subject"):
        if not isinstance(params[key], str) or not params[key]:
            raise ShotError(f"params.{key} must be an entity id")
    joint = params.get("subject_joint")
    if joint is not None and (not isinstance(joint, str) or not joint):
        raise ShotError("params.subject_joint must be a joint name")
    size = params["size"]
    if size not in SIZES:
        raise ShotError(f"params.size must be one of {SIZE_ORDER}, got {size!r}")
    angle = params.get("angle", "eye")
    if angle not in ANGLES:
        raise ShotError(f"params.angle must be one of {sorted(ANGLES)}, got {angle!r}")
    move = params.get("move", "static")
    if move not in MOVES:
        raise ShotError(f"params.move must be one of {sorted(MOVES)}, got {move!r}")
    start, end = _number(params, "start"), _number(params, "end")
    if not end > start:
        raise ShotError(f"the frame range is empty: start {start:g} must be before end {end:g}")
    inner = params.get("params") or {}
    if not isinstance(inner, dict):
        raise ShotError("params.params must be an object")
    allowed = {**_COMMON, **MOVES[move]}
    bad = sorted(set(inner) - set(allowed))
    if bad:
        raise ShotError(f"unknown params.params keys {bad} for move {move!r}; known: {sorted(allowed)}")
    p = {**allowed, **inner}
    _check_inner(p, inner, move, start, end)
    return ShotSpec(params["camera"], params["subject"], joint, size, angle, move, start, end, p)


def _check_inner(p: dict, given: dict, move: str, start: float, end: float) -> None:
    p["focal_length_mm"] = _number(p, "focal_length_mm", 1.0, 2000.0)
    p["f_stop"] = _number(p, "f_stop", 0.5, 128.0)
    p["azimuth_deg"] = _number(p, "azimuth_deg", -360.0, 360.0)
    p["smooth_s"] = _number(p, "smooth_s", 0.0, 10.0)
    p["clearance_m"] = _number(p, "clearance_m", 0.0, 10.0)
    for key in ("elevation_deg", "roll_deg"):
        if p[key] is not None:
            p[key] = _number(p, key, -89.0 if key == "elevation_deg" else -90.0, 89.0 if key == "elevation_deg"
                             else 90.0)
    if p["thirds"] is not None and p["thirds"] not in ("left", "right", "centre"):
        raise ShotError(f"params.thirds must be left, right or centre, got {p['thirds']!r}")
    if p["headroom"] is not None:
        p["headroom"] = _number(p, "headroom", -0.5, 0.5)
    if p["easing"] not in EASINGS:
        raise ShotError(f"params.easing must be one of {list(EASINGS)}, got {p['easing']!r}")
    zr = _point(p["zoom_range_mm"], 2, "params.zoom_range_mm")
    if not 1.0 <= zr[0] <= zr[1] <= 2000.0:
        raise ShotError(f"params.zoom_range_mm must be [min, max] within 1–2000 mm, got {zr}")
    p["zoom_range_mm"] = zr
    if "from_size" in p and p["from_size"] != "auto" and p["from_size"] not in SIZES:
        raise ShotError(f"params.from_size must be one of {SIZE_ORDER}, got {p['from_size']!r}")
    for key, lo, hi in (("degrees", -3600.0, 3600.0), ("distance_m", -1000.0, 1000.0),
                        ("height_m", -1000.0, 1000.0), ("factor", 0.05, 20.0), ("arm_m", 0.1, 100.0),
                        ("from_deg", -89.0, 89.0), ("to_deg", -89.0, 89.0), ("swing_deg", -360.0, 360.0),
                        ("side_deg", -180.0, 180.0), ("heading_smooth_s", 0.0, 10.0)):
        if key in p:
            p[key] = _number(p, key, lo, hi)
    if move == "orbit":
        if p["end_at_frame"] is None:
            p["end_at_frame"] = end
        e = _number(p, "end_at_frame")
        if not start < e <= end:
            raise ShotError(f"params.end_at_frame must lie in ({start:g}, {end:g}], got {e:g}")
        p["end_at_frame"] = e
    if move == "flyover":
        if p["waypoints"] is None:
            raise ShotError("a flyover needs params.waypoints [[x, y, z], …] (at least two)")
        p["waypoints"] = _points(p["waypoints"], "params.waypoints")
    if move == "truck" and p.get("rail") is not None:
        p["rail"] = _points(p["rail"], "params.rail")


def _points(v, what: str) -> list[list[float]]:
    if not isinstance(v, list) or len(v) < 2:
        raise ShotError(f"{what} must be a list of at least two [x, y, z] points")
    pts = [_point(x, 3, f"{what}[{i}]") for i, x in enumerate(v)]
    if all(a == pts[0] for a in pts):
        raise ShotError(f"{what} has zero length: every point is the same")
    return pts


def params_hash(params: dict) -> str:
    """A digest of the params a person wrote (the report and pins left out): what a solution answers to."""
    body = {k: v for k, v in params.items() if k not in ("report", "pins")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def ease(name: str, s):
    """Easing of normalised time s ∈ [0, 1] (numpy arrays welcome). ``ease_in_out`` is the quintic smootherstep
    (zero velocity and acceleration at both ends, so the jerk stays bounded); ``ease_in`` / ``ease_out`` are its
    halves stretched over the whole range."""
    import numpy as np

    s = np.clip(np.asarray(s, dtype=np.float64), 0.0, 1.0)
    if name == "linear":
        return s
    if name == "ease_in_out":
        return s * s * s * (s * (6 * s - 15) + 10)
    if name == "ease_in":
        h = s / 2
        return 2 * (h * h * h * (h * (6 * h - 15) + 10))
    if name == "ease_out":
        h = 0.5 + s / 2
        return 2 * (h * h * h * (h * (6 * h - 15) + 10)) - 1
    raise ValueError(f"unknown easing {name!r}")
