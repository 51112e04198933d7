"""Evaluating keyframe tracks at many frames at once (SPEC §3).

A track is a list of :class:`core.world.Key`, sorted by frame. The ``interp`` of key ``i`` governs the segment
from key ``i`` to key ``i + 1``; before the first key the track holds the first value, after the last key the last
value.

Numbers and vectors (``kind="numeric"``), per component:

- ``constant`` holds key ``i``'s value until key ``i + 1``.
- ``linear`` interpolates linearly.
- ``bezier`` is a cubic Hermite segment whose end slopes are key ``i``'s ``out_tangent`` and key ``i + 1``'s
  ``in_tangent``, in value units per frame; a missing tangent takes the ``auto`` slope at that key.
- ``auto`` is a cubic Hermite segment with the monotone (Fritsch–Carlson) slopes: at an interior key the weighted
  harmonic mean of the neighbouring secants (Fritsch–Butland weights, as in PCHIP), zero where the secants change
  sign (a local extremum stays flat), and zero at the first and last key. Zero end slopes make the curve C¹ where
  it meets the held values outside the keyed range. The curve never leaves the range of its two keys.

Booleans (``kind="bool"``: ``visible``, ``light.shadow``) are always stepped.

Quaternions (``kind="quat"``: ``transform.rotation``, ``joints.*.rotation``) are slerped along the short path.
``constant`` holds; ``linear`` is slerp at the linear parameter. ``bezier`` and ``auto`` slerp at an eased
parameter: the cumulative rotation angle along the keys (a monotone function of the frame) is interpolated like a
numeric ``auto``/``bezier`` track and mapped back to the segment's slerp parameter. So angular speed is continuous
across a key where the rotation keeps going, and eases to zero at the first and last key and where the motion
stops (a repeated key). A quaternion tangent (4 numbers, dq/dframe) gives that eased curve's slope as the angular speed
``2·|dq − (dq·q)q|`` radians per frame.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import attributes, quat
from .tolerances import EPS_FRAME

__all__ = ["INTERPS", "track_kind", "auto_slopes", "evaluate", "value_at"]

INTERPS = ("constant", "linear", "bezier", "auto")
_CODE = {name: i for i, name in enumerate(INTERPS)}
_CONSTANT, _LINEAR, _BEZIER, _AUTO = range(4)
WINDOW_MIN_KEYS = 16
"""Tracks longer than this are read only around the frames asked for (:func:`_window`): evaluating a few frames of
a long animation costs the keys around them, not the whole track. Numeric tracks give the same numbers bit for bit
(every slope and segment is computed from the same neighbours); quaternion tracks the same to rounding (their eased
parameter reads differences of a cumulative angle, which then starts at the window)."""


def track_kind(path: str) -> str:
    """The interpolation family of an attribute path: ``"quat"``, ``"bool"``, ``"numeric"`` or ``"static"``."""
    jp = attributes.joint_path(path)
    if jp is not None:
        return "quat" if jp[1] == "rotation" else "numeric"
    spec = attributes.ATTRIBUTES.get(path)
    if spec is None:
        raise ValueError(f"unknown attribute path {path!r}")
    if spec.type == "quat":
        return "quat"
    if spec.type == "bool":
        return "bool"
    if spec.type in ("float", "vec2", "vec3", "rgb"):
        return "numeric"
    return "static"


def _frames(frames) -> np.ndarray:
    f = np.asarray(frames, dtype=np.float64)
    if f.ndim != 1:
        raise ValueError(f"frames must have shape (F,), got {f.shape}")
    if not np.all(np.isfinite(f)):
        raise ValueError("frames must be finite")
    return f


def auto_slopes(t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Monotone (Fritsch–Carlson / PCHIP) slopes at the keys.

    t : (K,) strictly increasing key frames; v : (K, D) values → (K, D) slopes in value units per frame; zero at
    both ends and at local extrema.
    """
    t = np.asarray(t, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if t.ndim != 1 or v.ndim != 2 or v.shape[0] != t.shape[0]:
        raise ValueError(f"auto_slopes wants t (K,) and v (K, D), got {t.shape} and {v.shape}")
    m = np.zeros_like(v)
    if t.shape[0] < 3:
        return m
    h = np.diff(t)[:, None]                      # (K-1, 1)
    d = np.diff(v, axis=0) / h                   # (K-1, D) secants
    d0, d1 = d[:-1], d[1:]
    h0, h1 = h[:-1], h[1:]
    w1 = 2.0 * h1 + h0
    w2 = h1 + 2.0 * h0
    same = (d0 * d1) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        hm = (w1 + w2) / (w1 / d0 + w2 / d1)
    m[1:-1] = np.where(same, hm, 0.0)
    return m


def _hermite(s: np.ndarray, h: np.ndarray, v0, v1, m0, m1) -> np.ndarray:
    """Cubic Hermite at s ∈ [0, 1] over a segment of length h frames; slopes in units per frame. (F, D)."""
    s = s[:, None]
    h = h[:, None]
    s2 = s * s
    s3 = s2 * s
    return ((2 * s3 - 3 * s2 + 1) * v0 + (s3 - 2 * s2 + s) * h * m0
            + (-2 * s3 + 3 * s2) * v1 + (s3 - s2) * h * m1)


def _key_frames(keys: Sequence) -> np.ndarray:
    t = np.array([float(k.frame) for k in keys], dtype=np.float64)
    if t.size > 1 and np.any(np.diff(t) <= EPS_FRAME):
        raise ValueError("keys must be sorted by frame with distinct frames")
    return t


def _locate(t: np.ndarray, f: np.ndarray):
    """Segment index (F,) clipped to [0, K-2], parameter s (F,), and the before/after masks."""
    k = t.shape[0]
    seg = np.clip(np.searchsorted(t, f, side="right") - 1, 0, k - 2)
    h = t[seg + 1] - t[seg]
    s = np.clip((f - t[seg]) / h, 0.0, 1.0)
    return seg, s, h, f < t[0], f >= t[-1]


def _codes(keys: Sequence) -> np.ndarray:
    try:
        return np.array([_CODE[k.interp] for k in keys[:-1]], dtype=np.int64)
    except KeyError as e:
        raise ValueError(f"unknown interp {e.args[0]!r}; expected one of {list(INTERPS)}") from None


def _tangents(keys: Sequence, attr: str, auto: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K, D) explicit tangents where given (else the auto slope) and a (K,) mask of which were given."""
    out = auto.copy()
    given = np.zeros(len(keys), dtype=bool)
    for i, k in enumerate(keys):
        tan = getattr(k, attr)
        if tan is not None:
            out[i] = np.broadcast_to(np.asarray(tan, dtype=np.float64).reshape(-1), out.shape[1:])
            given[i] = True
    return out, given


def _segment_slopes(keys: Sequence, t: np.ndarray, v: np.ndarray, codes: np.ndarray):
    """End slopes (K-1, D) of every segment, for the Hermite form of linear, bezier and auto segments."""
    auto = auto_slopes(t, v)
    out_t, _ = _tangents(keys, "out_tangent", auto)
    in_t, _ = _tangents(keys, "in_tangent", auto)
    m0 = auto[:-1].copy()
    m1 = auto[1:].copy()
    bez = codes == _BEZIER
    m0[bez] = out_t[:-1][bez]
    m1[bez] = in_t[1:][bez]
    lin = codes == _LINEAR
    secant = np.diff(v, axis=0) / np.diff(t)[:, None]
    m0[lin] = secant[lin]
    m1[lin] = secant[lin]
    return m0, m1


def _window(keys: Sequence, f: np.ndarray) -> tuple[Sequence, np.ndarray, np.ndarray]:
    """``(keys, t, codes)`` of the keys that evaluating a track of two or more keys at frames ``f`` reads: the
    segments holding them and one key either side (the auto slope at a key reads its neighbours' values); the whole
    track when it has up to ``WINDOW_MIN_KEYS`` keys. The whole track is checked (sorted frames, known interps)."""
    t = _key_frames(keys)
    codes = _codes(keys)
    k = t.shape[0]
    if k <= WINDOW_MIN_KEYS or f.shape[0] == 0:
        return keys, t, codes
    first, last = np.clip(np.searchsorted(t, (f.min(), f.max()), side="right") - 1, 0, k - 2)
    lo, hi = max(0, int(first) - 1), min(k, int(last) + 3)
    return keys[lo:hi], t[lo:hi], codes[lo:hi - 1]


def _eval_numeric(keys: Sequence, f: np.ndarray) -> np.ndarray:
    if len(keys) > 1:
        keys, t, codes = _window(keys, f)
    v = np.array([k.value for k in keys], dtype=np.float64)
    scalar = v.ndim == 1
    v = v.reshape(len(keys), -1)
    if len(keys) == 1:
        out = np.broadcast_to(v[0], (f.shape[0], v.shape[1])).copy()
    else:
        m0, m1 = _segment_slopes(keys, t, v, codes)
        seg, s, h, before, after = _locate(t, f)
        out = _hermite(s, h, v[seg], v[seg + 1], m0[seg], m1[seg])
        hold = (codes[seg] == _CONSTANT)[:, None]
        out = np.where(hold, v[seg], out)
        out = np.where(before[:, None], v[0], out)
        out = np.where(after[:, None], v[-1], out)
    return out[:, 0] if scalar else out


def _eval_stepped(keys: Sequence, f: np.ndarray) -> np.ndarray:
    t = _key_frames(keys)
    idx = np.clip(np.searchsorted(t, f, side="right") - 1, 0, len(keys) - 1)
    vals = np.array([k.value for k in keys])
    return vals[idx]


def _angular_speed(q: np.ndarray, dq) -> float:
    dq = np.asarray(dq, dtype=np.float64).reshape(-1)
    if dq.shape != (4,):
        raise ValueError(f"a quaternion tangent must have 4 components, got shape {dq.shape}")
    perp = dq - np.dot(dq, q) * q
    return 2.0 * float(np.linalg.norm(perp))


def _eval_quat(keys: Sequence, f: np.ndarray) -> np.ndarray:
    if len(keys) > 1:  # the cumulative angle then starts at the window: the same eased curve, to rounding
        keys, t, codes = _window(keys, f)
    q = quat.normalize(np.array([k.value for k in keys], dtype=np.float64).reshape(len(keys), 4))
    if len(keys) == 1:
        return np.broadcast_to(q[0], (f.shape[0], 4)).copy()
    # short-path angle between consecutive keys, and the cumulative angle along the track
    dots = np.abs(np.sum(q[:-1] * q[1:], axis=-1))
    ang = 2.0 * np.arccos(np.clip(dots, 0.0, 1.0))                 # (K-1,)
    cum = np.concatenate([[0.0], np.cumsum(ang)])[:, None]          # (K, 1)
    auto = auto_slopes(t, cum)
    m0 = auto[:-1].copy()
    m1 = auto[1:].copy()
    for i in np.flatnonzero(codes == _BEZIER):
        if keys[i].out_tangent is not None:
            m0[i, 0] = _angular_speed(q[i], keys[i].out_tangent)
        if keys[i + 1].in_tangent is not None:
            m1[i, 0] = _angular_speed(q[i + 1], keys[i + 1].in_tangent)
    seg, s, h, before, after = _locate(t, f)
    a = _hermite(s, h, cum[seg], cum[seg + 1], m0[seg], m1[seg])[:, 0]
    span = ang[seg]
    tiny = span < 1e-12
    eased = np.where(tiny, s, (a - cum[seg, 0]) / np.where(tiny, 1.0, span))
    code = codes[seg]
    u = np.where(code == _LINEAR, s, eased)
    u = np.where(code == _CONSTANT, 0.0, u)
    out = quat.slerp(q[seg], q[seg + 1], u)
    out = np.where(before[:, None], q[0], out)
    out = np.where(after[:, None], q[-1], out)
    return out


def evaluate(keys: Sequence, frames, kind: str = "numeric") -> np.ndarray:
    """Evaluate a track at many frames.

    keys : sorted list of Key (at least one); frames : (F,) float; kind : "numeric", "quat", "bool" or "static".
    Returns (F,) for scalar values (and bool / static), (F, D) for vector values, (F, 4) for quaternions.
    """
    if not keys:
        raise ValueError("cannot evaluate an empty track")
    f = _frames(frames)
    if kind == "numeric":
        return _eval_numeric(keys, f)
    if kind == "quat":
        return _eval_quat(keys, f)
    if kind in ("bool", "static"):
        return _eval_stepped(keys, f)
    raise ValueError(f"unknown track kind {kind!r}")


def _default(path: str) -> Any:
    jp = attributes.joint_path(path)
    if jp is not None:
        return [0.0, 0.0, 0.0, 1.0] if jp[1] == "rotation" else [0.0, 0.0, 0.0]
    spec = attributes.ATTRIBUTES.get(path)
    if spec is None:
        raise ValueError(f"unknown attribute path {path!r}")
    return spec.default


def value_at(entity, path: str, frames, default: Any = None) -> np.ndarray | None:
    """The value of ``path`` on ``entity`` at frames : (F,): its track if it has one, else its static prop, else
    ``default``, else the registry default (``core.attributes.ATTRIBUTES[path].default``; identity rotation and
    zero root motion for ``joints.*``).

    Returns an array with a leading F axis — (F,) for scalars, bools and strings, (F, D) for vectors — or None when
    there is no value at all (e.g. an unset ``light.color_temperature_k``).
    """
    f = _frames(frames)
    kind = track_kind(path)
    keys = entity.tracks.get(path)
    if keys:
        return evaluate(keys, f, kind)
    value = entity.props.get(path)
    if value is None:
        value = default if default is not None else _default(path)
    if value is None:
        return None
    if isinstance(value, (bool, str)):
        return np.full(f.shape[0], value, dtype=bool if isinstance(value, bool) else object)
    if kind == "static":
        out = np.empty(f.shape[0], dtype=object)
        out[:] = [value] * f.shape[0]
        return out
    arr = np.asarray(value, dtype=np.float64)
    if kind == "quat":
        arr = quat.normalize(arr)
    return np.broadcast_to(arr, (f.shape[0],) + arr.shape).copy()
