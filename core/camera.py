"""Pinhole cameras (SPEC §2–3): intrinsics, field of view, extrinsics and projection to pixels.

Conventions: a camera looks down its local −Z with +Y up (OpenGL / glTF / USD). Square pixels, horizontal sensor
fit: the sensor width spans the image width, so ``fx = fy = f · W / sensor_w`` and the sensor height does not
affect the image (it matters only to exports). The principal point is the image centre ``(W/2, H/2)`` in
continuous pixel coordinates: pixel (i, j) covers [i, i+1) × [j, j+1) and its centre is (i + 0.5, j + 0.5);
u grows to the right and v downwards (OpenCV image axes).
"""

from __future__ import annotations

import numpy as np

from . import transform

__all__ = [
    "DEFAULT_SENSOR_MM",
    "intrinsics",
    "fov_deg",
    "world_to_camera",
    "GL_TO_CV",
    "project",
]

DEFAULT_SENSOR_MM = (36.0, 24.0)

GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0])
"""Camera axes OpenGL (x right, y up, looking down −z) → OpenCV (x right, y down, looking down +z)."""


def _resolution(resolution) -> tuple[float, float]:
    r = np.asarray(resolution, dtype=np.float64)
    if r.shape != (2,) or not np.all(r > 0):
        raise ValueError(f"resolution must be [width, height] > 0, got {resolution!r}")
    return float(r[0]), float(r[1])


def _focal_sensor(focal_mm, sensor_mm) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(focal_mm, dtype=np.float64)
    s = np.asarray(DEFAULT_SENSOR_MM if sensor_mm is None else sensor_mm, dtype=np.float64)
    if s.shape[-1:] != (2,):
        raise ValueError(f"sensor_mm must have shape (..., 2), got {s.shape}")
    if np.any(f <= 0) or np.any(s <= 0):
        raise ValueError("focal length and sensor size must be > 0")
    return f, s


def intrinsics(focal_mm, resolution, sensor_mm=None) -> np.ndarray:
    """Pixel intrinsics K.

    focal_mm : (...) ; resolution : (W, H) pixels ; sensor_mm : (..., 2) (w, h), default 36 × 24.
    Returns (..., 3, 3) ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` with ``fx = fy = f·W/sensor_w``,
    ``cx = W/2``, ``cy = H/2``.
    """
    w, h = _resolution(resolution)
    f, s = _focal_sensor(focal_mm, sensor_mm)
    fx = f * w / s[..., 0]
    k = np.zeros(fx.shape + (3, 3))
    k[..., 0, 0] = fx
    k[..., 1, 1] = fx
    k[..., 0, 2] = w / 2.0
    k[..., 1, 2] = h / 2.0
    k[..., 2, 2] = 1.0
    return k


def fov_deg(focal_mm, sensor_mm=None, resolution=None) -> np.ndarray:
    """Field of view in degrees, (..., 2) = (horizontal, vertical).

    Horizontal is ``2·atan(sensor_w / 2f)`` (35 mm on a 36 mm sensor → 54.43°). Vertical is what the image shows:
    with a resolution, ``2·atan(sensor_w·H/W / 2f)`` (horizontal fit, square pixels); without one, from the sensor
    height ``2·atan(sensor_h / 2f)``.
    """
    f, s = _focal_sensor(focal_mm, sensor_mm)
    sw = s[..., 0]
    if resolution is None:
        sh = s[..., 1]
    else:
        w, h = _resolution(resolution)
        sh = sw * h / w
    hfov = 2.0 * np.degrees(np.arctan(sw / (2.0 * f)))
    vfov = 2.0 * np.degrees(np.arctan(sh / (2.0 * f)))
    return np.stack(np.broadcast_arrays(hfov, vfov), axis=-1)


def world_to_camera(camera_world) -> np.ndarray:
    """camera_world : (..., 4, 4) the camera's world matrix → (..., 4, 4) its inverse with scale removed
    (OpenGL camera axes: the camera looks down −Z with +Y up)."""
    return transform.invert_rigid(transform.rigid(camera_world))


def project(K, world_to_cam, points, return_depth: bool = False):
    """World points to pixels.

    K : (..., 3, 3); world_to_cam : (..., 4, 4) (OpenGL axes, as from :func:`world_to_camera`);
    points : (..., N, 3). Leading dimensions broadcast. Returns pixels (..., N, 2) as (u, v), u right, v down;
    with ``return_depth`` also the depth (..., N) along the view axis (positive in front of the camera).
    Points at or behind the camera plane give non-finite or mirrored pixels: mask them with the depth.
    """
    K = np.asarray(K, dtype=np.float64)
    if K.shape[-2:] != (3, 3):
        raise ValueError(f"K must have shape (..., 3, 3), got {K.shape}")
    m = transform.as_matrices(world_to_cam, "world_to_camera")
    p = np.asarray(points, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 3:
        raise ValueError(f"points must have shape (..., N, 3), got {p.shape}")
    cam = np.einsum("...ij,...nj->...ni", m[..., :3, :3], p) + m[..., None, :3, 3]
    # OpenGL → OpenCV: flip y and z so that depth is +z and v grows downwards
    x, y, z = cam[..., 0], -cam[..., 1], -cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        xn, yn = x / z, y / z
    fx, fy = K[..., 0, 0, None], K[..., 1, 1, None]
    cx, cy = K[..., 0, 2, None], K[..., 1, 2, None]
    skew = K[..., 0, 1, None]
    uv = np.stack([fx * xn + skew * yn + cx, fy * yn + cy], axis=-1)
    return (uv, z) if return_depth else uv
