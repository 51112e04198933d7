"""The ``lighting`` pass and ``lights/NNNNNN.json``: the white-box world shaded by the shot's own lights, so a
video model can be conditioned on the light the creator set.

Each pixel's world position comes from the depth buffer (pixel centres, :mod:`core.camera` conventions) and its
normal from the normal buffer; the irradiance of every visible light is summed with
:func:`core.illumination.irradiance` (Lambert, no shadows), tinted by the light's colour (from its colour
temperature when set: :func:`core.light.temperature_to_rgb`, largest channel 1) and the entity's display colour:

    linear = colour · Σ_i E_i · rgb_i / REFERENCE_IRRADIANCE · 0.8

so a white surface facing a preset's key (10 W/m²) shows 80 % of white; the image is that, clipped to [0, 1] and
sRGB-encoded in 8 bits (IEC 61966-2-1), background black. The exposure is fixed (not per frame or per pack), so a
sunset darkens on screen as it does in the world and the same world renders the same bytes. ``lights.json`` of a
frame lists every light as sampled: type, world position and direction, linear RGB, colour temperature,
intensity, cone, blend, size, shadow, visible.
"""

from __future__ import annotations

import numpy as np

from core import illumination as IL

__all__ = ["EXPOSURE_WHITE", "light_records", "surface", "linear_image", "srgb8", "lighting_image"]

EXPOSURE_WHITE = 0.8
"""The linear value of a white surface facing a light that gives it REFERENCE_IRRADIANCE."""


def light_records(world, s, i: int) -> dict:
    """Every light of sample ``s`` at its frame index ``i``, as JSON-ready data keyed by id."""
    out = {}
    for eid in sorted(s.lights):
        lt = s.lights[eid]
        m = s.matrices[i, s.ids.index(eid)]
        axis = -m[:3, 2] / max(np.linalg.norm(m[:3, 2]), 1e-12)
        temp = world.entities[eid].props.get("light.color_temperature_k")
        tracks = world.entities[eid].tracks.get("light.color_temperature_k")
        if tracks:
            from core.tracks import value_at

            temp = float(value_at(world.entities[eid], "light.color_temperature_k", s.frames[i:i + 1])[0])
        out[eid] = {
            "type": lt.type,
            "position": [float(x) for x in m[:3, 3]],
            "direction": [float(x) for x in axis],
            "color": [float(x) for x in lt.color[i]],
            "color_temperature_k": None if temp is None else float(temp),
            "intensity": float(lt.intensity[i]),
            "cone_deg": float(lt.cone_deg[i]),
            "blend": float(lt.blend[i]),
            "size_m": float(lt.size_m[i]),
            "shadow": bool(lt.shadow[i]),
            "visible": bool(s.visible[i, s.ids.index(eid)]),
            "matrix": [[float(x) for x in row] for row in m],
        }
    return out


def surface(depth: np.ndarray, normal: np.ndarray, K, world_to_camera) -> tuple[np.ndarray, np.ndarray]:
    """World positions and unit normals (H, W, 3) of the pixels of a frame: depth (H, W) metres along the view
    axis (0 = background), normal (H, W, 3) uint8 camera-space normals (``rgb = (n + 1) / 2 · 255``)."""
    H, W = depth.shape
    K = np.asarray(K, dtype=np.float64)
    c2w = np.linalg.inv(np.asarray(world_to_camera, dtype=np.float64))
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    z = depth.astype(np.float64)
    yn = (v + 0.5 - K[1, 2]) / K[1, 1]
    xn = (u + 0.5 - K[0, 2] - K[0, 1] * yn) / K[0, 0]
    cam = np.stack([xn * z, -yn * z, -z], axis=-1)
    pos = cam @ c2w[:3, :3].T + c2w[:3, 3]
    n = normal.astype(np.float64) / 255.0 * 2.0 - 1.0
    n = n @ c2w[:3, :3].T
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    return pos, n


def linear_image(pos: np.ndarray, n: np.ndarray, albedo: np.ndarray, hit: np.ndarray, lights: dict,
                 only: str | None = None) -> np.ndarray:
    """(H, W, 3) linear values (see the module docstring) from pixel positions, normals, albedo (H, W, 3) and
    hit mask (H, W); ``only`` shades with that one light."""
    out = np.zeros(pos.shape, dtype=np.float64)
    for lid, rec in sorted(lights.items()):
        if not rec["visible"] or (only is not None and lid != only):
            continue
        e = IL.irradiance(rec["type"], rec["intensity"], rec["matrix"], pos, n, rec["cone_deg"], rec["blend"])
        out += e[..., None] * np.asarray(rec["color"], dtype=np.float64)
    out *= albedo * (EXPOSURE_WHITE / IL.REFERENCE_IRRADIANCE)
    out[~hit] = 0.0
    return out


def srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear [0, 1] (clipped) → 8-bit sRGB (IEC 61966-2-1)."""
    x = np.clip(linear, 0.0, 1.0)
    s = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)
    return np.round(s * 255.0).astype(np.uint8)


def lighting_image(frame, K, world_to_camera, lights: dict, palette_ids: np.ndarray, colors: np.ndarray,
                   only: str | None = None, linear: bool = False) -> np.ndarray:
    """The lighting pass of one rendered :class:`~renderers.raster.Frame` (ids, depth, normal): (H, W, 3) uint8
    sRGB, or the linear float values with ``linear``. ``palette_ids`` (N,) sorted instance ids, ``colors`` (N, 3)
    their display colours."""
    ids = frame.ids
    hit = ids != 0
    pos, n = surface(frame.depth, frame.normal, K, world_to_camera)
    slot = np.clip(np.searchsorted(palette_ids, ids), 0, max(len(palette_ids) - 1, 0))
    albedo = colors[slot] if len(palette_ids) else np.zeros(ids.shape + (3,))
    lin = linear_image(pos, n, albedo, hit, lights, only)
    return lin if linear else srgb8(lin)
