"""Camera moves: for each move of SPEC §7.1, where the camera goes on each keyed frame (see :func:`place`).

Directions are unit vectors from the subject's aim point towards the camera: ``h`` horizontal, turned by the
azimuth (from the subject's facing), raised by the angle's elevation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import framing as FR
from .rigs import Crane, Rail
from .signal import smooth
from .spec import ShotError, ShotSpec, ease

__all__ = ["Shot", "place", "above_ground", "horizontal", "yaw", "direction", "GROUND_CLEARANCE_M"]

GROUND_CLEARANCE_M = 0.2
"""Where a move would take the camera lower than this above y = 0 it is raised to it instead."""


@dataclass
class Shot:
    """What a move needs: the spec, keyed frames and their eased time, the smoothed subject (aim points A,
    C where σ is measured (the aim points' depth), heights h, centre track, facing), the first frame's direction,
    the lens and the image size."""
    spec: ShotSpec
    frames: np.ndarray
    e: np.ndarray
    sizes: np.ndarray
    A: np.ndarray
    C: np.ndarray
    h: np.ndarray
    centre_smooth: np.ndarray
    forward: np.ndarray
    h0: np.ndarray
    u0: np.ndarray
    el: float
    roll: float
    f0_px: float
    W: int
    H: int
    fps: float
    step: float


def horizontal(v: np.ndarray) -> np.ndarray:
    v = v * np.array([1.0, 0.0, 1.0])
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > 1e-9, v / np.maximum(n, 1e-12), np.array([0.0, 0.0, 1.0]))


def yaw(v: np.ndarray, deg) -> np.ndarray:
    a = np.radians(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    return np.stack([c * v[..., 0] + s * v[..., 2], v[..., 1], -s * v[..., 0] + c * v[..., 2]], axis=-1)


def direction(h: np.ndarray, elevation_deg: float) -> np.ndarray:
    el = np.radians(elevation_deg)
    return np.cos(el) * h + np.sin(el) * np.array([0.0, 1.0, 0.0])


def above_ground(c: Shot, u: np.ndarray, sizes: np.ndarray, target: np.ndarray, sel) -> tuple:
    """Directions (n, 3) and distances (n,) for frames ``sel``: the distance that gives the size along each
    direction, with directions that would put the camera under :data:`GROUND_CLEARANCE_M` raised (the camera
    stays on the ground and tilts up, as a low-angle wide shot does)."""
    A, C, h = c.A[sel], c.C[sel], c.h[sel]
    f = np.full(len(A), c.f0_px)
    u = u.copy()
    d = FR.solve_distance(A, u, C, h, sizes, f, target, (c.W, c.H), c.roll)
    for _ in range(4):
        low = A[:, 1] + d * u[:, 1] < GROUND_CLEARANCE_M - 1e-6
        if not np.any(low):
            break
        flat = horizontal(u)
        sin_min = np.clip((GROUND_CLEARANCE_M - A[:, 1]) / np.maximum(d, 1e-9), -1.0, 1.0)
        el = np.where(low, np.maximum(np.arcsin(np.clip(u[:, 1], -1, 1)), np.arcsin(sin_min)),
                      np.arcsin(np.clip(u[:, 1], -1, 1)))
        u = np.cos(el)[:, None] * flat + np.sin(el)[:, None] * np.array([0.0, 1.0, 0.0])
        d = FR.solve_distance(A, u, C, h, sizes, f, target, (c.W, c.H), c.roll)
    return u, d


def place(c: Shot, target: np.ndarray):
    """The move's camera positions (F, 3) and mode (``distance``: the distance was solved for the size;
    ``focal``: the focal length must be; ``fixed``: one place for the whole shot) for composition targets (F, 2)
    pixels."""
    spec, A, C, h, u0, h0, el, roll, f0_px = c.spec, c.A, c.C, c.h, c.u0, c.h0, c.el, c.roll, c.f0_px
    frames, e, sizes, F, W, H = c.frames, c.e, c.sizes, len(c.frames), c.W, c.H

    def first_position(sigma0: float) -> np.ndarray:
        u, d = above_ground(c, u0[None], np.array([sigma0]), target[:1], slice(0, 1))
        return A[0] + d[0] * u[0]

    mode = "distance"
    u = np.tile(u0, (F, 1))
    P = None
    move, p = spec.move, spec.p
    if move in ("static", "pan", "tilt"):
        P = np.tile(first_position(sizes[0]), (F, 1))
        mode = "fixed"
    elif move in ("dolly_in", "dolly_out"):
        pass
    elif move in ("arc", "orbit"):
        if move == "orbit":
            s_orb = np.clip((frames - spec.start) / (p["end_at_frame"] - spec.start), 0.0, 1.0)
            e_orb = ease(p["easing"], s_orb)
        else:
            e_orb = e
        u = direction(yaw(np.tile(h0, (F, 1)), p["degrees"] * e_orb), el)
    elif move == "follow":
        vel = np.gradient(c.centre_smooth, frames, axis=0) * c.fps
        vel = smooth(vel, p["heading_smooth_s"] * c.fps / c.step)
        speed = np.linalg.norm(vel * np.array([1.0, 0.0, 1.0]), axis=1)
        heading = np.where((speed > 0.05)[:, None], horizontal(vel), c.forward)
        heading = horizontal(smooth(heading, p["heading_smooth_s"] * c.fps / c.step))
        u = direction(yaw(-heading, p["side_deg"]), el)
    elif move == "truck":
        P0 = first_position(sizes[0])
        if p.get("rail") is not None:
            P = Rail(np.asarray(p["rail"])).at(e)
        else:
            right = np.cross(-u0, [0.0, 1.0, 0.0])
            right /= max(np.linalg.norm(right), 1e-12)
            P = P0 + np.outer(e * p["distance_m"], right)
        mode = "focal"
    elif move == "pedestal":
        P = first_position(sizes[0]) + np.outer(e * p["height_m"], [0.0, 1.0, 0.0])
        mode = "focal"
    elif move == "zoom":
        P = np.tile(first_position(sizes[0]), (F, 1))
        mode = "focal"
    elif move == "dolly_zoom":
        d0 = np.linalg.norm(first_position(sizes[0]) - A[0])
        P = A + np.outer(d0 * (1.0 + (p["factor"] - 1.0) * e), u0)
        mode = "focal"
    elif move == "crane":
        P0 = first_position(sizes[0])
        th0, th1 = np.radians(p["from_deg"]), np.radians(p["to_deg"])
        toward = -h0
        pivot = P0 - p["arm_m"] * (np.cos(th0) * toward + np.sin(th0) * np.array([0.0, 1.0, 0.0]))
        rig = Crane(pivot, p["arm_m"], float(np.arctan2(toward[0], toward[2])))
        P = rig.at(th0 + (th1 - th0) * e, np.radians(p["swing_deg"]) * e)
        mode = "focal"
    elif move == "flyover":
        P = Rail(np.asarray(p["waypoints"])).at(e)
        mode = "focal"
    else:  # pragma: no cover - spec.parse allows only the moves above
        raise ShotError(f"unknown move {move!r}")

    f_px = np.full(F, f0_px)
    if mode == "distance":
        u, d = above_ground(c, u, sizes, target, slice(None))
        if np.any(~np.isfinite(d)) or np.any(d <= 0):
            raise ShotError("no camera distance gives the requested size")
        P = A + d[:, None] * u
    return P, mode
