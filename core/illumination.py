"""How much light a light puts on a surface (SPEC §3 lights), for the lighting agent and the lighting pass.

Units follow SPEC §3: point, spot and area intensities are radiant power in watts, emitted evenly in all
directions (an area light is treated as a point at its centre; its size only softens, which a Lambert pass
without shadows does not show); a sun's intensity is its irradiance in W/m² on a surface facing it.

- point / area: ``E = P / (4π r²) · max(0, n·l)``
- spot: the same, times the cone falloff: 1 inside ``(1 − blend) · cone/2`` of the axis, 0 outside ``cone/2``,
  a smoothstep between (Blender's spot blend)
- sun: ``E = I · max(0, n·l)``, l the direction towards the sun (the light's +Z axis; it shines down its −Z)

No shadows, no inter-reflection: a white-box pass, not a renderer of record. :data:`REFERENCE_IRRADIANCE` is the
illuminance the presets give their key at the subject and that the lighting pass shows at 80 % of white.
"""

from __future__ import annotations

import numpy as np

__all__ = ["REFERENCE_IRRADIANCE", "irradiance", "power_for_irradiance"]

REFERENCE_IRRADIANCE = 10.0
"""W/m²: a preset's key at the subject (level 1)."""


def power_for_irradiance(e_w_m2, distance_m) -> np.ndarray:
    """The power (W) of a point-like light that gives ``e_w_m2`` at ``distance_m`` on a surface facing it."""
    return np.asarray(e_w_m2, dtype=np.float64) * 4.0 * np.pi * np.asarray(distance_m, dtype=np.float64) ** 2


def _spot_falloff(cos_angle, cone_deg, blend):
    outer = np.cos(np.radians(cone_deg) / 2.0)
    inner = np.cos(np.radians(cone_deg) / 2.0 * (1.0 - np.clip(blend, 0.0, 1.0)))
    t = np.clip((cos_angle - outer) / np.maximum(inner - outer, 1e-9), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def irradiance(kind: str, intensity: float, matrix, points, normals, cone_deg: float = 45.0,
               blend: float = 0.15) -> np.ndarray:
    """Irradiance (W/m²) from one light on surface points (..., 3) with unit normals (..., 3).

    ``matrix`` (4, 4) is the light's world matrix (position in its translation, shining down its −Z)."""
    m = np.asarray(matrix, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64)
    n = np.asarray(normals, dtype=np.float64)
    axis = -m[:3, 2] / max(np.linalg.norm(m[:3, 2]), 1e-12)     # the direction the light shines
    if kind == "sun":
        return intensity * np.clip(n @ -axis, 0.0, None)
    to_light = m[:3, 3] - p
    r2 = np.maximum(np.einsum("...i,...i->...", to_light, to_light), 1e-12)
    l = to_light / np.sqrt(r2)[..., None]
    e = intensity / (4.0 * np.pi * r2) * np.clip(np.einsum("...i,...i->...", n, l), 0.0, None)
    if kind == "spot":
        e = e * _spot_falloff(np.einsum("...i,i->...", -l, axis), cone_deg, blend)
    return e
