"""The ``motion`` directive's clips (SPEC §7.1): which clips each family has, the params each clip takes, and
the check that turns a raw clip list into a normalised one or says exactly what is wrong.

A clip is ``{clip, start, end, params?}`` with whole frames ``start < end``; clips are in time order and do not
overlap (``start`` of one ≥ ``end`` of the previous; equal means the two blend at that frame). ``walk`` is
accepted for every family, so the same directive works on any character: a bird walks on its legs, a fish swims.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["CLIPS", "LOCOMOTION", "PARAMS", "ALIASES", "MAX_CLIPS", "MAX_FRAMES", "check_clips", "resolve"]

CLIPS = {
    "biped": ("idle", "walk", "run", "jump", "wave", "punch", "kick", "dodge", "sit", "turn"),
    "quadruped": ("idle", "walk", "trot", "pace", "canter", "gallop", "bound"),
    "bird": ("idle", "flap", "glide", "hop", "walk"),
    "fish": ("idle", "swim", "walk"),
}
ALIASES = {("fish", "walk"): "swim"}
"""Clip names that stand for another clip of that family."""

LOCOMOTION = {
    "biped": {"walk", "run", "turn"},
    "quadruped": {"walk", "trot", "pace", "canter", "gallop", "bound"},
    "bird": {"walk", "hop"},
    "fish": set(),
}
"""Legged gaits: consecutive ones (touching in time) make one continuous stride sequence."""

_NUM = {"speed_mps": (0.0, 30.0), "stride_m": (0.05, 10.0), "amplitude": (0.0, 3.0), "turn_deg": (-720.0, 720.0),
        "height_m": (0.0, 3.0), "distance_m": (0.0, 10.0), "rate_hz": (0.1, 10.0), "reach": (0.3, 1.0),
        "seat_height_m": (0.1, 1.5), "degrees": (-720.0, 720.0), "count": (1, 20), "frequency_hz": (0.1, 60.0),
        "altitude_m": (0.0, 100.0), "glide_ratio": (1.0, 40.0), "wavelength": (0.3, 3.0)}
_ENUM = {"side": ("left", "right"), "style": ("neutral",)}
_STYLES = {"fish": ("carangiform", "anguilliform")}
"""``style`` per family: a fish's body wave; the other families have one style so far."""

_GAIT = ("speed_mps", "stride_m", "amplitude", "turn_deg", "style")
PARAMS: dict[str, tuple[str, ...]] = {
    "walk": _GAIT, "run": _GAIT, "trot": _GAIT, "pace": _GAIT, "canter": _GAIT, "gallop": _GAIT, "bound": _GAIT,
    "hop": _GAIT,
    "idle": ("amplitude", "style", "frequency_hz"),
    "turn": ("degrees", "amplitude", "style"),
    "jump": ("height_m", "distance_m", "style"),
    "wave": ("side", "rate_hz", "amplitude", "style"),
    "punch": ("side", "count", "reach", "style"),
    "kick": ("side", "height_m", "style"),
    "dodge": ("side", "amplitude", "style"),
    "sit": ("seat_height_m", "style"),
    "flap": ("speed_mps", "frequency_hz", "amplitude", "altitude_m", "style"),
    "glide": ("speed_mps", "glide_ratio", "amplitude", "style"),
    "swim": ("speed_mps", "frequency_hz", "amplitude", "wavelength", "style"),
}
"""Params each clip accepts (any other key is an error)."""

MAX_CLIPS = 64
MAX_FRAMES = 14_400
"""Ten minutes at 24 fps: the longest span one motion directive covers."""


def resolve(family: str, clip: str) -> str:
    return ALIASES.get((family, clip), clip)


def _number(v: Any, where: str, lo: float, hi: float, integer: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{where} must be a finite number, got {v!r}")
    if integer and float(v) != int(v):
        raise ValueError(f"{where} must be a whole number, got {v!r}")
    if not lo <= v <= hi:
        raise ValueError(f"{where} must be within {lo:g}–{hi:g}, got {v!r}")
    return int(v) if integer else float(v)


def check_clips(family: str, clips: Any) -> list[dict]:
    """Normalise a directive's ``clips`` for ``family``; ValueError naming the clip and field otherwise."""
    if not isinstance(clips, list) or not clips:
        raise ValueError("params.clips must be a non-empty list of {clip, start, end, params?}")
    if len(clips) > MAX_CLIPS:
        raise ValueError(f"params.clips has {len(clips)} clips; at most {MAX_CLIPS}")
    out: list[dict] = []
    for i, c in enumerate(clips):
        where = f"params.clips[{i}]"
        if not isinstance(c, dict):
            raise ValueError(f"{where} must be an object {{clip, start, end, params?}}")
        unknown = sorted(set(c) - {"clip", "start", "end", "params"})
        if unknown:
            raise ValueError(f"{where} has unknown keys {unknown}")
        name = c.get("clip")
        if not isinstance(name, str) or name not in CLIPS[family]:
            raise ValueError(f"{where}.clip {name!r} is not a {family} clip; expected one of {list(CLIPS[family])}")
        start = _number(c.get("start"), f"{where}.start", -1e6, 1e6, integer=True)
        end = _number(c.get("end"), f"{where}.end", -1e6, 1e6, integer=True)
        if end <= start:
            raise ValueError(f"{where}: end ({end}) must be after start ({start})")
        if out and start < out[-1]["end"]:
            raise ValueError(f"{where} starts at frame {start}, before the previous clip ends ({out[-1]['end']}): "
                             "clips must be in time order without overlap")
        if end - (out[0]["start"] if out else start) > MAX_FRAMES:
            raise ValueError(f"the clips span more than {MAX_FRAMES} frames")
        raw = c.get("params") or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{where}.params must be an object")
        resolved = resolve(family, name)
        allowed = PARAMS[resolved]
        bad = sorted(set(raw) - set(allowed))
        if bad:
            raise ValueError(f"{where}.params has unknown keys {bad} for {name!r}; it takes {sorted(allowed)}")
        params: dict[str, Any] = {}
        for k, v in raw.items():
            if k in _ENUM:
                allowed_values = _STYLES.get(family, _ENUM[k]) if k == "style" else _ENUM[k]
                if v not in allowed_values:
                    raise ValueError(f"{where}.params.{k} must be one of {list(allowed_values)}, got {v!r}")
                params[k] = v
            else:
                lo, hi = _NUM[k]
                params[k] = _number(v, f"{where}.params.{k}", lo, hi, integer=isinstance(lo, int))
        out.append({"clip": resolved, "asked": name, "start": start, "end": end, "params": params})
    return out
