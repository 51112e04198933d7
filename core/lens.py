"""Lens arithmetic for cinematography: field of view ↔ focal length, circle of confusion, hyperfocal distance,
depth of field, and the projected size of a box (SPEC §2–3).

Conventions (as :mod:`core.camera`): focal lengths and sensor sizes in millimetres, distances in metres, angles in
degrees; square pixels with the sensor width spanning the image width (horizontal fit), so the image's vertical
extent on the sensor is ``sensor_w · H / W``. Thin-lens depth of field with the usual photographic approximations
(distances measured from the lens):

- hyperfocal ``H = f² / (N·c) + f``;
- focused at ``s``: near limit ``s (H − f) / (H + s − 2f)``, far limit ``s (H − f) / (H − s)`` for ``s < H``,
  infinite from ``H`` on;
- circle of confusion ``c = sensor diagonal / 1500`` by default (0.0288 mm on a 36 × 24 mm sensor, the usual
  0.03 mm full-frame figure).

Every function is vectorised over leading dimensions and raises ValueError naming the bad argument.
"""

from __future__ import annotations

import numpy as np

from . import camera

__all__ = [
    "COC_DIVISOR",
    "focal_from_fov",
    "fov_from_focal",
    "image_sensor_height_mm",
    "circle_of_confusion_mm",
    "hyperfocal_m",
    "depth_of_field_m",
    "box_corners",
    "projected_bounds",
    "projected_size",
    "frame_height_at_m",
    "size_fraction",
    "focal_for_size",
    "distance_for_size",
]

COC_DIVISOR = 1500.0
"""Circle of confusion = sensor diagonal / this (the 'Zeiss formula' family; 0.0288 mm for 36 × 24 mm)."""


def _positive(x, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{what} must be finite and > 0, got {x!r}")
    return a


def focal_from_fov(fov_deg, sensor_extent_mm) -> np.ndarray:
    """Focal length (mm) whose field of view across ``sensor_extent_mm`` is ``fov_deg`` (0 < fov < 180):
    ``f = s / (2 tan(fov / 2))``. Use the sensor width for the horizontal field of view, the image height on the
    sensor (:func:`image_sensor_height_mm`) for the vertical one."""
    fov = np.asarray(fov_deg, dtype=np.float64)
    if not np.all(np.isfinite(fov)) or np.any(fov <= 0) or np.any(fov >= 180):
        raise ValueError(f"field of view must be within (0, 180) degrees, got {fov_deg!r}")
    s = _positive(sensor_extent_mm, "sensor extent")
    return s / (2.0 * np.tan(np.radians(fov) / 2.0))


def fov_from_focal(focal_mm, sensor_extent_mm) -> np.ndarray:
    """Field of view (degrees) across ``sensor_extent_mm`` at ``focal_mm``: ``2 atan(s / 2f)``."""
    f = _positive(focal_mm, "focal length")
    s = _positive(sensor_extent_mm, "sensor extent")
    return 2.0 * np.degrees(np.arctan(s / (2.0 * f)))


def image_sensor_height_mm(sensor_mm, resolution) -> np.ndarray:
    """The sensor height the image actually uses (horizontal fit): ``sensor_w · H / W``. sensor_mm (..., 2)."""
    s = _positive(sensor_mm, "sensor_mm")
    if s.shape[-1:] != (2,):
        raise ValueError(f"sensor_mm must have shape (..., 2), got {s.shape}")
    w, h = (float(v) for v in np.asarray(resolution, dtype=np.float64))
    if w <= 0 or h <= 0:
        raise ValueError(f"resolution must be [width, height] > 0, got {resolution!r}")
    return s[..., 0] * h / w


def circle_of_confusion_mm(sensor_mm=camera.DEFAULT_SENSOR_MM) -> np.ndarray:
    """The acceptable circle of confusion of a sensor (..., 2) mm: its diagonal / :data:`COC_DIVISOR`."""
    s = _positive(sensor_mm, "sensor_mm")
    return np.hypot(s[..., 0], s[..., 1]) / COC_DIVISOR


def hyperfocal_m(focal_mm, f_stop, coc_mm=None) -> np.ndarray:
    """Hyperfocal distance in metres: ``(f² / (N c) + f) / 1000``; ``coc_mm`` defaults to the 36 × 24 mm value.
    Focused there, everything from half of it to infinity is acceptably sharp."""
    f = _positive(focal_mm, "focal length")
    n = _positive(f_stop, "f-stop")
    c = circle_of_confusion_mm() if coc_mm is None else _positive(coc_mm, "circle of confusion")
    return (f * f / (n * c) + f) / 1000.0


def depth_of_field_m(focal_mm, f_stop, focus_m, coc_mm=None) -> tuple[np.ndarray, np.ndarray]:
    """Near and far limits of acceptable sharpness (metres) focused at ``focus_m``; far is ``inf`` at or beyond
    the hyperfocal distance. ``focus_m`` must exceed the focal length."""
    f_m = _positive(focal_mm, "focal length") / 1000.0
    s = _positive(focus_m, "focus distance")
    if np.any(s <= f_m):
        raise ValueError("focus distance must be longer than the focal length")
    h = hyperfocal_m(focal_mm, f_stop, coc_mm)
    near = s * (h - f_m) / (h + s - 2.0 * f_m)
    with np.errstate(divide="ignore"):
        far = np.where(s < h, s * (h - f_m) / np.where(s < h, h - s, 1.0), np.inf)
    return near, far


def box_corners(lo, hi) -> np.ndarray:
    """The 8 corners (..., 8, 3) of axis-aligned boxes lo, hi : (..., 3); corner k takes hi on axis a where bit a
    of k is set."""
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    if lo.shape[-1:] != (3,) or hi.shape != lo.shape:
        raise ValueError(f"lo and hi must have the same shape (..., 3), got {lo.shape} and {hi.shape}")
    bits = np.array([[(k >> a) & 1 for a in range(3)] for k in range(8)], dtype=bool)   # (8, 3)
    return np.where(bits, hi[..., None, :], lo[..., None, :])


def projected_bounds(K, world_to_cam, points) -> tuple[np.ndarray, np.ndarray]:
    """Pixel bounding boxes of point sets: K (..., 3, 3), world_to_cam (..., 4, 4), points (..., N, 3) →
    ``(bounds (..., 4) = u_min, v_min, u_max, v_max, in_front (...) bool)``; ``in_front`` is False where a point
    lies at or behind the camera plane (the bounds are then meaningless)."""
    uv, depth = camera.project(K, world_to_cam, points, return_depth=True)
    b = np.concatenate([uv.min(axis=-2), uv.max(axis=-2)], axis=-1)
    return b, np.all(depth > 0, axis=-1)


def projected_size(K, world_to_cam, lo, hi, resolution) -> tuple[np.ndarray, np.ndarray]:
    """The fractions of the image width and height (..., 2) that the projection of the boxes lo, hi (..., 3) (a
    prop's bounds, or a body's from :func:`core.subject.body_box`) spans, unclipped (above 1 it overflows), and
    whether the whole box is in front of the camera (...)."""
    w, h = (float(v) for v in np.asarray(resolution, dtype=np.float64))
    b, front = projected_bounds(K, world_to_cam, box_corners(lo, hi))
    return np.stack([(b[..., 2] - b[..., 0]) / w, (b[..., 3] - b[..., 1]) / h], axis=-1), front


def frame_height_at_m(focal_mm, sensor_h_mm, depth_m) -> np.ndarray:
    """The height (metres) the image spans at ``depth_m`` along the view axis: ``depth · sensor_h / f``."""
    return _positive(depth_m, "depth") * _positive(sensor_h_mm, "sensor height") / _positive(focal_mm, "focal")


def size_fraction(subject_height_m, focal_mm, sensor_h_mm, depth_m) -> np.ndarray:
    """The fraction of the frame height a subject of ``subject_height_m`` fills at ``depth_m`` (its centre's
    depth along the view axis): ``height / frame_height_at(depth)``; above 1 the subject overflows the frame."""
    return np.asarray(subject_height_m, dtype=np.float64) / frame_height_at_m(focal_mm, sensor_h_mm, depth_m)


def focal_for_size(fraction, subject_height_m, sensor_h_mm, depth_m) -> np.ndarray:
    """The focal length (mm) at which a subject ``subject_height_m`` tall at ``depth_m`` fills ``fraction`` of
    the frame height."""
    return _positive(fraction, "fraction") * _positive(depth_m, "depth") * _positive(sensor_h_mm, "sensor height") \
        / _positive(subject_height_m, "subject height")


def distance_for_size(fraction, subject_height_m, focal_mm, sensor_h_mm) -> np.ndarray:
    """The depth (metres) at which a subject ``subject_height_m`` tall fills ``fraction`` of the frame height."""
    return _positive(subject_height_m, "subject height") * _positive(focal_mm, "focal") \
        / (_positive(fraction, "fraction") * _positive(sensor_h_mm, "sensor height"))
