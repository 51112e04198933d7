"""Measuring a camera's framing of a subject in a world, frame by frame, from the sampled world alone (what the
renderer will show, not what the solver meant):

- ``centre`` — the visible centre: the named joint, or the point of the subject's vertical axis (through its box
  centre) on the image's middle row (the nearest end of the axis' visible part when it does not reach that row);
  it must be in the frame;
- ``size`` — σ, the subject's height over the frame height at the depth of that visible centre
  (:func:`core.lens.size_fraction`; for a figure that fits the frame, its centre), and its relative error against
  the requested σ;
- ``inside`` — the camera inside an obstacle or below the ground; ``occluded`` — an obstacle on the sight line
  from the camera to the visible centre;
- ``box_fraction`` — the image width and height fractions the subject's projected box spans (unclipped);
- ``jerk`` — the camera's jerk, ‖Δ³ position‖ · fps³ over every whole frame of the range (m/s³), and the same
  for its view direction (rad/s³).
"""

from __future__ import annotations

import numpy as np

from core import camera as C
from core import lens
from core.sampling import sample
from core.subject import entity_boxes

from .scene import Obstacles, build as build_obstacles

__all__ = ["measure", "SIZE_TOLERANCE", "failures"]

SIZE_TOLERANCE = 0.10


def measure(world, camera: str, subject: str, frames, sizes, joint: str | None = None,
            obstacles: Obstacles | None = None) -> dict:
    """Per-frame framing figures of ``camera`` on ``subject`` at ``frames`` (F,) against requested ``sizes``
    (F,) (σ); see the module docstring. Returns plain lists and numbers."""
    frames = np.asarray(frames, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    W, H = (int(v) for v in world.resolution)
    s = sample(world, frames)
    cam = s.cameras[camera]
    lo, hi = entity_boxes(world, s, subject)
    centre = (lo + hi) / 2
    height = hi[:, 1] - lo[:, 1]
    height = np.where(height > 0.01, height, np.maximum((hi - lo).max(axis=1), 0.01))
    w2c = cam.world_to_camera
    K = cam.K
    if joint is not None:
        js = s.joints[subject]
        vis_pt = js.matrices[:, js.names.index(joint), :3, 3]
    else:
        top = np.stack([centre[:, 0], hi[:, 1], centre[:, 2]], axis=1)
        bot = np.stack([centre[:, 0], lo[:, 1], centre[:, 2]], axis=1)
        a = np.linspace(0.0, 1.0, 257)
        axis = top[:, None, :] + a[None, :, None] * (bot - top)[:, None, :]               # (F, 257, 3)
        uv, dep = C.project(K, w2c, axis, return_depth=True)
        seen = (dep > 0) & (uv[..., 1] >= 0) & (uv[..., 1] <= H)
        v_lo = np.where(seen, uv[..., 1], np.inf).min(axis=1)
        v_hi = np.where(seen, uv[..., 1], -np.inf).max(axis=1)
        mid = np.where(np.isfinite(v_lo), np.clip(H / 2, v_lo, v_hi), H / 2)
        pick = np.argmin(np.where(seen, np.abs(uv[..., 1] - mid[:, None]), np.inf), axis=1)
        pick = np.where(seen.any(axis=1), pick, 128)
        vis_pt = axis[np.arange(len(frames)), pick]
    uv, dep = C.project(K, w2c, vis_pt[:, None, :], return_depth=True)
    uv, dep = uv[:, 0], dep[:, 0]
    sensor_h = lens.image_sensor_height_mm(cam.sensor_mm, (W, H))
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.where(dep > 0, lens.size_fraction(height, cam.focal_length_mm, sensor_h, np.maximum(dep, 1e-9)),
                         np.nan)
    err = sigma / sizes - 1.0
    in_frame = (dep > 0) & (uv[:, 0] >= 0) & (uv[:, 0] <= W) & (uv[:, 1] >= 0) & (uv[:, 1] <= H)
    box, _ = lens.projected_size(K, w2c, lo, hi, (W, H))          # the projected box, for the report
    ob = obstacles if obstacles is not None else build_obstacles(world, frames, subject)
    cam_pos = np.linalg.inv(w2c)[:, :3, 3]
    inside = [ob.inside(i, cam_pos[i]) for i in range(len(frames))]
    occluded = [ob.blocking(i, cam_pos[i], vis_pt[i]) for i in range(len(frames))]
    whole = np.abs(frames - np.round(frames)) < 1e-9
    every = np.arange(np.ceil(frames.min()), np.floor(frames.max()) + 1.0)
    if np.array_equal(frames[whole], every):
        c2w = np.linalg.inv(w2c)[whole]
    else:   # keyed on some frames only: the motion between keys counts too
        c2w = np.linalg.inv(sample(world, every).cameras[camera].world_to_camera)
    jerk, ang_jerk = _jerk(every, c2w[:, :3, 3], -c2w[:, :3, 2], float(world.fps))
    return {
        "frames": [float(f) for f in frames],
        "size": [float(x) for x in sigma],
        "size_error": [float(x) for x in err],
        "centre_px": [[float(a), float(b)] for a, b in uv],
        "in_frame": [bool(x) for x in in_frame],
        "inside": inside,
        "occluded": occluded,
        "camera_position": [[float(c) for c in p] for p in cam_pos],
        "jerk_max_mps3": jerk,
        "angular_jerk_max_rps3": ang_jerk,
        "size_error_max": float(np.nanmax(np.abs(err))) if np.any(np.isfinite(err)) else float("inf"),
        "box_fraction": [[float(a), float(b)] for a, b in box],
    }


def _jerk(frames, pos, view, fps) -> tuple[float, float]:
    if len(frames) < 4:
        return 0.0, 0.0
    j = np.linalg.norm(np.diff(pos, n=3, axis=0), axis=1) * fps ** 3
    jv = np.linalg.norm(np.diff(view, n=3, axis=0), axis=1) * fps ** 3
    return float(j.max()), float(jv.max())


def failures(m: dict, tol: float = SIZE_TOLERANCE, skip=None) -> list[str]:
    """What is wrong with a measurement, one line per kind of problem (empty when the framing holds). ``skip``
    (F,) bool leaves out frames where the subject is meant to be off (a pan or tilt revealing it): there only
    the camera's place (inside geometry) is checked."""
    out = []
    frames = m["frames"]
    if skip is not None and any(skip):
        keep = [not bool(x) for x in skip]
        m = dict(m, frames=[f for f, k in zip(frames, keep) if k],
                 size_error=[x for x, k in zip(m["size_error"], keep) if k],
                 in_frame=[x for x, k in zip(m["in_frame"], keep) if k],
                 occluded=[x for x, k in zip(m["occluded"], keep) if k], inside=m["inside"])
        inside_frames = frames
        frames = m["frames"]
    else:
        inside_frames = frames

    def at(mask):
        from .signal import ranges
        return ranges([f for f, b in zip(frames, mask) if b])

    err = [not (abs(e) <= tol) for e in m["size_error"]]
    if any(err):
        worst = max(abs(e) if e == e else float("inf") for e in m["size_error"])
        out.append(f"size off by up to {worst:.0%} at frames {at(err)}")
    if not all(m["in_frame"]):
        out.append(f"subject centre out of frame at frames {at([not b for b in m['in_frame']])}")
    if any(m["inside"]):
        from .signal import ranges
        out.append("camera inside geometry at frames "
                   + ranges([f for f, x in zip(inside_frames, m["inside"]) if x]))
    if any(m["occluded"]):
        ids = sorted({i for x in m["occluded"] for i in x})
        out.append(f"view blocked by {', '.join(ids)} at frames {at([bool(x) for x in m['occluded']])}")
    return out
