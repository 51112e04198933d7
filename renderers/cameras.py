"""Camera files of a control pack: intrinsics at the render resolution, ``cameras.json``, ``cameras.txt``
(RealEstate10K / CameraCtrl layout) and Plücker ray maps.

Axes: core samples ``world_to_camera`` in OpenGL axes (camera looks down −Z, +Y up). OpenCV axes (looks down +Z,
+Y down) are ``diag(1, −1, −1, 1) · world_to_camera``. Pixel coordinates: (0, 0) is the top-left corner of the
top-left pixel, so its centre is (0.5, 0.5).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GL_TO_CV", "render_intrinsics", "to_cv", "cameras_json", "cameras_txt", "read_cameras_txt",
           "plucker"]

GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0])


def render_intrinsics(K, shot_resolution, resolution) -> np.ndarray:
    """Rescale pixel intrinsics ``K`` (..., 3, 3) from the shot's resolution to the render's.

    Horizontal fit: the horizontal field of view is kept and pixels stay square; when the aspect ratios differ
    the picture is cropped (or extended) top and bottom, about the same principal point offset."""
    K = np.asarray(K, dtype=np.float64)
    (W, H), (w, h) = shot_resolution, resolution
    s = w / W
    out = K.copy()
    out[..., 0, 0] = K[..., 0, 0] * s
    out[..., 1, 1] = K[..., 1, 1] * s
    out[..., 0, 2] = (K[..., 0, 2] - W / 2) * s + w / 2
    out[..., 1, 2] = (K[..., 1, 2] - H / 2) * s + h / 2
    return out


def to_cv(world_to_camera_gl) -> np.ndarray:
    """(..., 4, 4) OpenGL-axes world-to-camera → OpenCV axes."""
    return GL_TO_CV @ np.asarray(world_to_camera_gl, dtype=np.float64)


def cameras_json(camera_id: str, width: int, height: int, frames, times_s, K, cam, index) -> dict:
    """Per-frame camera record. ``K`` (F, 3, 3) at the render size; ``cam`` a core CameraSample sampled at
    the pack's frames; ``index`` picks the pack's frames out of it."""
    w2c = cam.world_to_camera[index]
    return {
        "camera": camera_id,
        "width": width,
        "height": height,
        "axes": {"world_to_camera": "OpenGL (camera looks down -Z, +Y up)",
                 "world_to_camera_cv": "OpenCV (camera looks down +Z, +Y down)"},
        "frames": [
            {
                "index": i,
                "frame": float(frames[i]),
                "time_s": float(times_s[i]),
                "K": K[i].tolist(),
                "world_to_camera": w2c[i].tolist(),
                "world_to_camera_cv": to_cv(w2c[i]).tolist(),
                "focal_length_mm": float(cam.focal_length_mm[index][i]),
                "sensor_mm": cam.sensor_mm[index][i].tolist(),
                "focus_distance_m": float(cam.focus_distance_m[index][i]),
                "f_stop": float(cam.f_stop[index][i]),
                "near_m": float(cam.near_m[index][i]),
                "far_m": float(cam.far_m[index][i]),
            }
            for i in range(len(frames))
        ],
    }


def cameras_txt(header: str, width: int, height: int, times_s, K, world_to_camera_gl) -> str:
    """RealEstate10K layout: a first line (here ``header``), then per frame
    ``timestamp_us fx/w fy/h cx/w cy/h 0 0`` and the 3×4 OpenCV world-to-camera, row-major.
    Numbers are written with ``repr`` so they read back exactly."""
    lines = [header.replace("\n", " ")]
    w2c = to_cv(world_to_camera_gl)
    for t, k, m in zip(times_s, K, w2c):
        head = [int(round(float(t) * 1e6)), k[0, 0] / width, k[1, 1] / height, k[0, 2] / width, k[1, 2] / height,
                0, 0]
        lines.append(" ".join(repr(float(x)) if not isinstance(x, int) else str(x)
                              for x in head + m[:3, :4].reshape(-1).tolist()))
    return "\n".join(lines) + "\n"


def read_cameras_txt(text: str, width: int, height: int) -> list[dict]:
    """Parse ``cameras.txt`` → per frame ``{time_s, K (3, 3), world_to_camera (OpenGL 4×4),
    world_to_camera_cv}``."""
    out = []
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        v = [float(x) for x in line.split()]
        if len(v) != 19:
            raise ValueError(f"cameras.txt line has {len(v)} numbers, expected 19")
        K = np.array([[v[1] * width, 0, v[3] * width], [0, v[2] * height, v[4] * height], [0, 0, 1.0]])
        cv = np.eye(4)
        cv[:3, :4] = np.array(v[7:]).reshape(3, 4)
        out.append({"time_s": v[0] / 1e6, "K": K, "world_to_camera_cv": cv, "world_to_camera": GL_TO_CV @ cv})
    return out


def plucker(K, world_to_camera_gl, width: int, height: int) -> np.ndarray:
    """Plücker ray map of one camera: (6, H, W) float32, channels (o × d, d) with ``d`` the unit world ray
    through each pixel centre and ``o`` the camera centre (CameraCtrl's order)."""
    K = np.asarray(K, dtype=np.float64)
    cv = to_cv(world_to_camera_gl)
    R, t = cv[:3, :3], cv[:3, 3]
    origin = -R.T @ t
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    pix = np.stack([u, v, np.ones_like(u)], axis=-1)                 # (H, W, 3)
    d_cam = pix @ np.linalg.inv(K).T
    d = d_cam @ R                                                   # R.T applied to row vectors
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    m = np.cross(np.broadcast_to(origin, d.shape), d)
    return np.concatenate([m, d], axis=-1).transpose(2, 0, 1).astype(np.float32)
