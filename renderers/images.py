"""From raw buffers to pass images, and writing them with fixed encoder settings so the same pixels give the
same bytes.

- ``proxy``: the entity's display colour × (0.25 ambient + 0.75 headlight·normal), headlight from the camera's
  upper right (camera space ``normalize(0.3, 0.5, 1)``); flat for boxes, smooth for spheres, capsules and bones.
- ``depth``: 16-bit greyscale PNG, ``metres = value × scale_m`` (manifest ``depth.scale_m``), 0 = background
  or beyond ``65535 × scale_m``.
- ``normal``: camera-space unit normal, OpenGL axes (x right, y up, z towards the viewer), ``rgb = (n + 1) / 2``;
  background black.
- ``instance``: RGB, ``id = r + 256·g + 65536·b`` (0 = background), palette in the manifest.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np

__all__ = ["HEADLIGHT", "AMBIENT", "proxy_image", "depth16", "instance_image", "depth_preview", "png_bytes",
           "sha256"]

HEADLIGHT = np.array([0.3, 0.5, 1.0]) / np.linalg.norm([0.3, 0.5, 1.0])
AMBIENT = 0.25
PNG_COMPRESS_LEVEL = 6


def proxy_image(ids: np.ndarray, normal: np.ndarray, palette_ids: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8. ``ids`` (H, W) instance ids, ``normal`` (H, W, 3) uint8 normal pass, ``palette_ids`` (N,)
    sorted instance ids and ``colors`` (N, 3) their display colours in 0–1 at this frame."""
    n = normal.astype(np.float64) / 255.0 * 2.0 - 1.0
    shade = AMBIENT + (1 - AMBIENT) * np.clip(n @ HEADLIGHT, 0.0, 1.0)
    slot = np.clip(np.searchsorted(palette_ids, ids), 0, max(len(palette_ids) - 1, 0))
    colour = colors[slot] if len(palette_ids) else np.zeros(ids.shape + (3,))
    out = np.clip(colour * shade[..., None], 0.0, 1.0) * 255.0
    out = np.round(out).astype(np.uint8)
    out[ids == 0] = 0
    return out


def depth16(depth: np.ndarray, scale_m: float) -> np.ndarray:
    """(H, W) float metres → uint16 in units of ``scale_m``; beyond range → 0 (unknown), like the background."""
    q = np.round(depth.astype(np.float64) / scale_m)
    return np.where((q > 65535) | (q < 0), 0, q).astype(np.uint16)


def instance_image(ids: np.ndarray) -> np.ndarray:
    ids = ids.astype(np.uint32)
    return np.stack([ids & 255, (ids >> 8) & 255, (ids >> 16) & 255], axis=-1).astype(np.uint8)


def depth_preview(depths: np.ndarray) -> np.ndarray:
    """(F, H, W) depth (any unit, 0 = none) → (F, H, W, 3) uint8 for video: inverse depth normalised over the
    whole pack, near bright, background black."""
    d = depths.astype(np.float64)
    valid = d > 0
    disp = np.where(valid, 1.0 / np.where(valid, d, 1.0), 0.0)
    if valid.any():
        lo, hi = disp[valid].min(), disp[valid].max()
        v = (disp - lo) / (hi - lo) if hi > lo else np.ones_like(disp)
        v = np.where(valid, 0.1 + 0.9 * v, 0.0)
    else:
        v = np.zeros_like(disp)
    g = np.round(v * 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=-1)


def png_bytes(image: np.ndarray) -> bytes:
    """PNG of an (H, W, 3) uint8 or (H, W) uint16 image, with fixed settings (no metadata, fixed zlib level)."""
    from PIL import Image

    if image.dtype == np.uint16:
        img = Image.fromarray(np.ascontiguousarray(image, dtype="<u2")) if image.ndim == 2 else None
    else:
        img = Image.fromarray(image)
    if img is None:
        raise ValueError(f"cannot write a PNG of shape {image.shape} and dtype {image.dtype}")
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL, optimize=False)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
