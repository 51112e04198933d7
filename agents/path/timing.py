"""When the body is where along its curve: a speed profile slowed on curves, heading with a turn-rate limit.

The speed at arc length s is the smallest of the cruising speed, ``sqrt(A_LAT / κ)`` (lateral acceleration) and
``TURN_RATE / κ`` (the body can turn its heading fast enough to follow the curve), then limited by accelerating
from rest at the start and braking to rest at the arrival (``A_LONG``) — both passes vectorised on v². With an
arrival frame the cruising speed is found by bisection so that the walk takes exactly that long; an arrival
that needs more than the top speed is impossible.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["Profile", "curvature", "profile", "fit_duration", "positions_at", "headings", "A_LAT", "A_LONG",
           "TURN_RATE"]

A_LAT = 1.5       # m/s², comfortable lateral acceleration when walking a curve
A_LONG = 1.2      # m/s², speeding up from rest and slowing down to stop
TURN_RATE = math.pi  # rad/s, fastest heading change (half a turn per second)
CURVATURE_WINDOW_M = 0.1


class Profile(NamedTuple):
    s: np.ndarray        # (N,) arc length, m
    v: np.ndarray        # (N,) speed, m/s
    t: np.ndarray        # (N,) time since leaving, s
    cruise: float

    @property
    def duration(self) -> float:
        return float(self.t[-1])


def curvature(pts: np.ndarray, window: float = CURVATURE_WINDOW_M) -> np.ndarray:
    """Curvature (N,) of a polyline (N, 2), measured over ``window`` metres either side of each point: the turn
    between the chords to the points that far back and ahead, over the arc between them (0 at the ends). A sharp
    corner reads as its angle over the window, so the body slows to turn there rather than stopping dead."""
    d = np.diff(pts, axis=0)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(d, axis=1))])
    n = len(pts)
    back = np.clip(np.searchsorted(s, s - window, side="right") - 1, 0, n - 1)
    ahead = np.clip(np.searchsorted(s, s + window, side="left"), 0, n - 1)
    a = pts - pts[back]
    b = pts[ahead] - pts
    ok = (back < np.arange(n)) & (ahead > np.arange(n))
    turn = np.abs((np.arctan2(b[:, 1], b[:, 0]) - np.arctan2(a[:, 1], a[:, 0]) + np.pi) % (2 * np.pi) - np.pi)
    arc = np.maximum(s[ahead] - s[back], 1e-9)
    return np.where(ok, turn / (0.5 * arc), 0.0)


def profile(s: np.ndarray, kappa: np.ndarray, cruise: float, v0: float = 0.0, v1: float = 0.0) -> Profile:
    """The speed profile along arc lengths ``s`` with curvature ``kappa``, leaving at ``v0`` and arriving at ``v1``
    (0: from and to rest)."""
    limit = np.full(len(s), float(cruise))
    bent = kappa > 1e-9
    limit[bent] = np.minimum(limit[bent], np.minimum(np.sqrt(A_LAT / kappa[bent]), TURN_RATE / kappa[bent]))
    limit[0], limit[-1] = v0, v1
    w = limit ** 2
    # forward: w_i ≤ w_k + 2a(s_i − s_k) for all k ≤ i; backward likewise from the arrival
    w = np.minimum(w, 2 * A_LONG * s + np.minimum.accumulate(w - 2 * A_LONG * s))
    back = s[-1] - s
    w = np.minimum(w, (2 * A_LONG * back + np.minimum.accumulate((w - 2 * A_LONG * back)[::-1])[::-1]))
    v = np.sqrt(np.maximum(w, 0.0))
    mean = 0.5 * (v[1:] + v[:-1])
    ds = np.diff(s)
    dt = np.where(ds > 0, ds / np.maximum(mean, 1e-9), 0.0)
    return Profile(s, v, np.concatenate([[0.0], np.cumsum(dt)]), float(cruise))


def fit_duration(s: np.ndarray, kappa: np.ndarray, duration: float, top: float, v0: float = 0.0,
                 v1: float = 0.0) -> Profile | None:
    """The profile (leaving at ``v0``, arriving at ``v1``) that takes exactly ``duration`` seconds with a cruising
    speed ≤ ``top``, or None when even ``top`` is too slow. Times are scaled (a factor within 1e-9 of 1 once the
    bisection converges) so the arrival is exact."""
    fastest = profile(s, kappa, top, v0, v1)
    if fastest.duration > duration * (1 + 1e-12):
        return None
    lo, hi = 1e-4, top
    best = fastest
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        p = profile(s, kappa, mid, v0, v1)
        if p.duration > duration:
            lo = mid
        else:
            hi, best = mid, p
        if abs(p.duration - duration) <= 1e-9 * duration:
            best = p
            break
    k = duration / best.duration
    return Profile(best.s, best.v / k, best.t * k, best.cruise / k)


def positions_at(pr: Profile, pts: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points (F, 2) and velocities (F, 2) in m/s at times (F,) s (clamped to the walk)."""
    times = np.clip(times, 0.0, pr.duration)
    s = np.interp(times, pr.t, pr.s)
    xz = np.stack([np.interp(s, pr.s, pts[:, 0]), np.interp(s, pr.s, pts[:, 1])], axis=1)
    v = np.interp(s, pr.s, pr.v)
    return xz, _tangent(pr.s, pts, s) * v[:, None]


def _tangent(s_all: np.ndarray, pts: np.ndarray, s: np.ndarray) -> np.ndarray:
    d = np.diff(pts, axis=0)
    seg = np.linalg.norm(d, axis=1)
    unit = d / np.maximum(seg, 1e-12)[:, None]
    i = np.clip(np.searchsorted(s_all, s, side="right") - 1, 0, len(unit) - 1)
    return unit[i]


def headings(pr: Profile, pts: np.ndarray, times: np.ndarray, initial: float, fps: float) -> np.ndarray:
    """Yaw (F,) in radians about +Y (0 faces +Z) at the frame times (F,) s: towards the curve's direction, turning
    at most TURN_RATE, starting from ``initial``."""
    s = np.interp(np.clip(times, 0.0, pr.duration), pr.t, pr.s)
    tan = _tangent(pr.s, pts, s)
    target = np.arctan2(tan[:, 0], tan[:, 1])
    out = np.empty(len(times))
    yaw = initial
    prev_t = times[0] if len(times) else 0.0
    for i, (t, want) in enumerate(zip(times, target)):
        limit = TURN_RATE * max(t - prev_t, 0.0)
        delta = (want - yaw + math.pi) % (2 * math.pi) - math.pi
        yaw += max(-limit, min(limit, delta))
        out[i] = yaw
        prev_t = t
    return out
