"""Camera rigs: where a rig can put the camera, as a function of normalised travel s ∈ [0, 1].

- :class:`Rail` — a dolly track (or a drone's route) through waypoints: a centripetal Catmull–Rom curve (no cusps
  or self-loops between unevenly spaced points, Yuksel et al. 2011) travelled at constant speed (arc-length
  parameterised), so the easing alone decides how the camera speeds up and slows down.
- :class:`Crane` — a boom of length ``arm`` on a pivot: the camera sits at ``pivot + arm · (cos θ · h(φ), sin θ)``
  where θ is the boom's elevation and h(φ) the horizontal direction swung by φ about the vertical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Rail", "Crane"]


def _centripetal(p0, p1, p2, p3, t):
    """Points on the centripetal Catmull–Rom segment p1 → p2 at local parameters t (n,) in [0, 1]."""
    def knot(ti, a, b):
        return ti + max(np.linalg.norm(b - a), 1e-9) ** 0.5

    t0 = 0.0
    t1 = knot(t0, p0, p1)
    t2 = knot(t1, p1, p2)
    t3 = knot(t2, p2, p3)
    x = (t1 + (t2 - t1) * t)[:, None]
    a1 = (t1 - x) / (t1 - t0) * p0 + (x - t0) / (t1 - t0) * p1
    a2 = (t2 - x) / (t2 - t1) * p1 + (x - t1) / (t2 - t1) * p2
    a3 = (t3 - x) / (t3 - t2) * p2 + (x - t2) / (t3 - t2) * p3
    b1 = (t2 - x) / (t2 - t0) * a1 + (x - t0) / (t2 - t0) * a2
    b2 = (t3 - x) / (t3 - t1) * a2 + (x - t1) / (t3 - t1) * a3
    return (t2 - x) / (t2 - t1) * b1 + (x - t1) / (t2 - t1) * b2


@dataclass
class Rail:
    points: np.ndarray          # (n, 3) waypoints, n ≥ 2
    samples_per_segment: int = 256

    def __post_init__(self):
        pts = np.asarray(self.points, dtype=np.float64)
        keep = np.concatenate([[True], np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-9])
        pts = pts[keep]
        if len(pts) < 2:
            raise ValueError("a rail needs two distinct points")
        ext = np.concatenate([[2 * pts[0] - pts[1]], pts, [2 * pts[-1] - pts[-2]]])
        t = np.linspace(0.0, 1.0, self.samples_per_segment, endpoint=False)
        dense = [_centripetal(ext[i], ext[i + 1], ext[i + 2], ext[i + 3], t) for i in range(len(pts) - 1)]
        self._dense = np.concatenate(dense + [pts[-1:]])
        seg = np.linalg.norm(np.diff(self._dense, axis=0), axis=1)
        self._cum = np.concatenate([[0.0], np.cumsum(seg)])

    @property
    def length(self) -> float:
        return float(self._cum[-1])

    def at(self, s) -> np.ndarray:
        """Positions (n, 3) at normalised arc length s (n,) in [0, 1]."""
        d = np.clip(np.asarray(s, dtype=np.float64), 0.0, 1.0) * self.length
        return np.stack([np.interp(d, self._cum, self._dense[:, k]) for k in range(3)], axis=-1)


@dataclass
class Crane:
    pivot: np.ndarray           # (3,) the boom's pivot
    arm: float                  # metres
    heading: float              # radians: the horizontal direction of the boom at swing 0 (atan2(x, z))

    def at(self, elevation_rad, swing_rad) -> np.ndarray:
        """Camera positions (n, 3) at boom elevations and swings (n,) (radians)."""
        el = np.asarray(elevation_rad, dtype=np.float64)
        az = self.heading + np.asarray(swing_rad, dtype=np.float64)
        h = np.stack([np.sin(az), np.zeros_like(az), np.cos(az)], axis=-1)
        up = np.array([0.0, 1.0, 0.0])
        return self.pivot + self.arm * (np.cos(el)[..., None] * h + np.sin(el)[..., None] * up)
