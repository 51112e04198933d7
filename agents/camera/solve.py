"""Solving a shot: from a :class:`~agents.camera.spec.ShotSpec` and the world to the camera's position, rotation,
focal length and focus distance on every keyed frame (pure; raises :class:`ShotError` when it cannot).

Steps:

1. The subject's box, centre C, height and aim point A on each frame (:mod:`core.subject`), smoothed over
   ``params.smooth_s`` (a walk's bob does not shake the camera). A is the named joint, else the point of the
   subject's vertical axis that the shot size and headroom put at the frame's centre line (the figure's centre for
   sizes that fit in the frame).
2. The move gives, per frame, either a direction from A (the distance is then solved for the size at the fixed
   focal length: dolly, arc, orbit, follow) or a camera position (the focal length is then solved for the size:
   truck, pedestal, zoom, dolly-zoom, crane, flyover). Static, pan and tilt hold the position of the first frame.
3. People's keys on the camera (pins) replace the solved position / rotation / focal length on their frames.
4. Sight lines: where the line from A to the camera enters an obstacle, leaves the subject's room or dips to the
   ground, the camera is pushed in along it to a clear point (a running minimum, then smoothed, so the camera
   glides rather than jumps) and the focal length shortened to hold the size.
5. Composition: A at the requested third (or, with lateral motion, on the third behind it: lead room), then
   the final rotations and focal lengths; a focal length outside the lens range is an impossible shot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core import lens
from core.sampling import sample
from core.subject import entity_boxes

from . import framing as FR
from .rigs import Crane, Rail
from .scene import Obstacles, build as build_obstacles
from .spec import ANGLES, HEADROOM, ShotError, ShotSpec, ease

__all__ = ["Pins", "Solution", "Subject", "solve", "key_frames", "requested_sizes", "subject_track", "reveal_mask"]

MANAGED = ("transform.position", "transform.rotation", "camera.focal_length_mm", "camera.focus_distance_m",
           "camera.f_stop")
MIN_DISTANCE_M = 0.15
PUSH_WINDOW_S = 1.0
"""A push-in for a clear view starts this long before the sight line is blocked and is eased over as long."""


@dataclass
class Pins:
    """People's keys on the camera inside the shot's range: frame → value."""
    position: dict[float, list] = field(default_factory=dict)
    rotation: dict[float, list] = field(default_factory=dict)
    focal: dict[float, float] = field(default_factory=dict)

    def frames(self) -> list[float]:
        return sorted(set(self.position) | set(self.rotation) | set(self.focal))


@dataclass
class Subject:
    """The subject on the keyed frames (raw, unsmoothed): box, centre, height, forward direction, and the named
    joint's position when there is one."""
    lo: np.ndarray
    hi: np.ndarray
    joint: np.ndarray | None
    forward: np.ndarray

    @property
    def centre(self) -> np.ndarray:
        return (self.lo + self.hi) / 2

    @property
    def height(self) -> np.ndarray:
        h = self.hi[:, 1] - self.lo[:, 1]
        return np.where(h > 0.01, h, np.maximum((self.hi - self.lo).max(axis=1), 0.01))


@dataclass
class Solution:
    frames: np.ndarray
    position: np.ndarray
    rotation: np.ndarray       # (F, 4) xyzw
    focal_mm: np.ndarray
    focus_m: np.ndarray
    f_stop: float
    sizes: np.ndarray          # requested σ per frame
    pushed: list[float] = field(default_factory=list)   # frames where the camera was pushed in for a clear view
    notes: list[str] = field(default_factory=list)
    reveal: np.ndarray | None = None   # (F,) bool: frames a pan or tilt has not yet reached the subject


def key_frames(start: float, end: float, budget: int) -> np.ndarray:
    """The frames the camera is keyed on: start, every whole frame in between, end — every k-th whole frame when
    there are more than ``budget``."""
    whole = np.arange(np.ceil(start), np.floor(end) + 1.0)
    k = max(1, int(np.ceil(len(whole) / max(budget - 2, 1))))
    return np.unique(np.concatenate([[start], whole[::k], [end]]))


def subject_track(world, spec: ShotSpec, frames: np.ndarray) -> Subject:
    """The subject on ``frames``; ShotError for an unknown subject or joint."""
    e = world.entities.get(spec.subject)
    if e is None:
        raise ShotError(f"unknown subject {spec.subject!r}")
    if e.kind in ("camera", "light"):
        raise ShotError(f"subject {spec.subject!r} is a {e.kind}; a shot frames a character, prop or environment")
    s = sample(world, frames)
    lo, hi = entity_boxes(world, s, spec.subject)
    i = s.ids.index(spec.subject)
    fwd = s.matrices[:, i, :3, 2].copy()
    fwd[:, 1] = 0.0
    n = np.linalg.norm(fwd, axis=1, keepdims=True)
    fwd = np.where(n > 1e-9, fwd / np.maximum(n, 1e-12), np.array([0.0, 0.0, 1.0]))
    joint = None
    if spec.joint is not None:
        js = s.joints.get(spec.subject)
        if js is None or spec.joint not in js.names:
            have = sorted(js.names) if js is not None else []
            raise ShotError(f"subject {spec.subject!r} has no joint {spec.joint!r}"
                            + (f"; its joints: {', '.join(have)}" if have else " (it has no skeleton)"))
        joint = js.matrices[:, js.names.index(spec.joint), :3, 3].copy()
    return Subject(lo, hi, joint, fwd)


def requested_sizes(spec: ShotSpec, frames: np.ndarray) -> np.ndarray:
    """σ asked for on each frame: constant, or for dollies and zooms eased geometrically from ``from_size``."""
    if spec.move in ("dolly_in", "dolly_out", "zoom"):
        e = ease(spec.p["easing"], (frames - spec.start) / (spec.end - spec.start))
        return spec.from_fraction * (spec.fraction / spec.from_fraction) ** e
    return np.full(len(frames), spec.fraction)


def reveal_mask(spec: ShotSpec, frames: np.ndarray) -> np.ndarray:
    """Frames on which a pan or tilt is still more than 1° away from the subject (meant to be off it)."""
    if spec.move not in ("pan", "tilt"):
        return np.zeros(len(frames), dtype=bool)
    e = ease(spec.p["easing"], (frames - spec.start) / (spec.end - spec.start))
    return np.abs(spec.p["degrees"] * (1.0 - e)) > 1.0


def _smooth(x: np.ndarray, sigma: float, hold: bool = False) -> np.ndarray:
    """Gaussian smoothing along axis 0 (sigma in samples; the kernel is cut at min(3σ, n − 1)); the ends are
    extended by odd reflection, or held with ``hold``."""
    if sigma <= 1e-6 or len(x) < 3:
        return x.copy()
    r = min(int(np.ceil(3 * sigma)), len(x) - 1)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    # odd reflection at the ends keeps a steady motion steady (a held edge would drag the start towards the
    # future and the end towards the past)
    if hold:
        pad = np.concatenate([np.repeat(x[:1], r, axis=0), x, np.repeat(x[-1:], r, axis=0)])
    else:
        pad = np.concatenate([2 * x[:1] - x[r:0:-1], x, 2 * x[-1:] - x[-2:-r - 2:-1]])
    out = np.zeros_like(x, dtype=np.float64)
    for j, w in enumerate(k):
        out += w * pad[j:j + len(x)]
    return out


def _min_filter(x: np.ndarray, r: int) -> np.ndarray:
    pad = np.concatenate([np.full(r, x[0]), x, np.full(r, x[-1])])
    return np.min(np.stack([pad[j:j + len(x)] for j in range(2 * r + 1)]), axis=0)


def _aim(spec: ShotSpec, sub_smooth: Subject, sizes: np.ndarray) -> np.ndarray:
    """The named joint, or the point on the subject's vertical axis to put on the frame's centre line: the subject's
    centre for sizes that fit in the frame, and the headroom line (the top of the subject ``headroom`` below the
    top of the frame) once that line rises above the centre (σ > 1 − 2·headroom), joined by a soft maximum so that
    a dolly through the full shot does not kink. An explicit ``params.headroom`` applies at every size."""
    if sub_smooth.joint is not None:
        return sub_smooth.joint
    c, hi, h = sub_smooth.centre, sub_smooth.hi, sub_smooth.height
    hr = spec.p["headroom"]
    frame_h = h / sizes
    line = hi[:, 1] + (HEADROOM.get(spec.size, 0.08) if hr is None else hr) * frame_h - frame_h / 2
    if hr is not None:
        y = line
    else:
        k = 0.03 * h
        y = c[:, 1] + k * np.logaddexp(0.0, (line - c[:, 1]) / k)
    return np.stack([c[:, 0], y, c[:, 2]], axis=1)


def _horizontal(v: np.ndarray) -> np.ndarray:
    v = v * np.array([1.0, 0.0, 1.0])
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(n > 1e-9, v / np.maximum(n, 1e-12), np.array([0.0, 0.0, 1.0]))


def _yaw(v: np.ndarray, deg) -> np.ndarray:
    a = np.radians(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    return np.stack([c * v[..., 0] + s * v[..., 2], v[..., 1], -s * v[..., 0] + c * v[..., 2]], axis=-1)


def _direction(h: np.ndarray, elevation_deg: float) -> np.ndarray:
    el = np.radians(elevation_deg)
    return np.cos(el) * h + np.sin(el) * np.array([0.0, 1.0, 0.0])


def solve(world, spec: ShotSpec, pins: Pins | None = None, frames: np.ndarray | None = None,
          obstacles: Obstacles | None = None) -> Solution:
    pins = pins or Pins()
    W, H = (int(v) for v in world.resolution)
    cam = world.entities.get(spec.camera)
    if cam is not None and cam.kind != "camera":
        raise ShotError(f"params.camera {spec.camera!r} is a {cam.kind}, not a camera")
    if cam is not None and cam.parent is not None:
        raise ShotError(f"camera {spec.camera!r} has a parent ({cam.parent!r}); the shot agent keys world "
                        "positions, so film with an unparented camera")
    for r in sorted(world.relations.values(), key=lambda r: r.id):
        if r.subject == spec.camera and r.kind in ("attached_to", "look_at"):
            raise ShotError(f"camera {spec.camera!r} is the subject of {r.kind} relation {r.id!r}, which would "
                            "override the solved keys; remove it first")
    sensor = [36.0, 24.0]
    if cam is not None and isinstance(cam.props.get("camera.sensor_mm"), list):
        sensor = [float(x) for x in cam.props["camera.sensor_mm"]]
    mm_to_px = W / sensor[0]
    frames = key_frames(spec.start, spec.end, 300) if frames is None else frames
    F = len(frames)
    fps = float(world.fps)
    step = float(np.median(np.diff(frames))) if F > 1 else 1.0
    raw = subject_track(world, spec, frames)
    sig = spec.p["smooth_s"] * fps / step
    sm = Subject(_smooth(raw.lo, sig), _smooth(raw.hi, sig), None if raw.joint is None else _smooth(raw.joint, sig),
                 raw.forward)
    sizes = requested_sizes(spec, frames)
    A = _aim(spec, sm, sizes)
    C, h = sm.centre, sm.height
    el, roll = ANGLES[spec.angle]
    if spec.p["elevation_deg"] is not None:
        el = spec.p["elevation_deg"]
    if spec.p["roll_deg"] is not None:
        roll = spec.p["roll_deg"]
    f0_px = spec.p["focal_length_mm"] * mm_to_px
    lo_f, hi_f = spec.p["zoom_range_mm"]
    s_lin = (frames - spec.start) / (spec.end - spec.start)
    e = ease(spec.p["easing"], s_lin)
    h0 = _yaw(raw.forward[0], spec.p["azimuth_deg"])
    u0 = _direction(h0, el)
    centre_px = np.tile([W / 2.0, H / 2.0], (F, 1))
    notes: list[str] = []

    def place(target: np.ndarray):
        """The move's camera positions and mode for a composition target (pixels, (F, 2))."""
        def first_position(sigma0: float) -> np.ndarray:
            d = FR.solve_distance(A[:1], u0[None], C[:1], h[:1], np.array([sigma0]), np.array([f0_px]),
                                  target[:1], (W, H), roll)
            return A[0] + d[0] * u0

        # 2. the move: directions (distance solved) or positions (focal solved)
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
            u = _direction(_yaw(np.tile(h0, (F, 1)), p["degrees"] * e_orb), el)
        elif move == "follow":
            vel = np.gradient(sm.centre, frames, axis=0) * fps
            vel = _smooth(vel, p["heading_smooth_s"] * fps / step)
            speed = np.linalg.norm(vel * np.array([1.0, 0.0, 1.0]), axis=1)
            heading = np.where((speed > 0.05)[:, None], _horizontal(vel), raw.forward)
            heading = _horizontal(_smooth(heading, p["heading_smooth_s"] * fps / step))
            u = _direction(_yaw(-heading, p["side_deg"]), el)
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
            d = FR.solve_distance(A, u, C, h, sizes, f_px, target, (W, H), roll)
            if np.any(~np.isfinite(d)) or np.any(d <= 0):
                raise ShotError("no camera distance gives the requested size")
            P = A + d[:, None] * u
        return P, mode

    move, p = spec.move, spec.p
    P, mode = place(centre_px)
    target = _targets(spec, P, A, sm, frames, fps, step, W, H)
    if not np.allclose(target, centre_px):
        P, mode = place(target)
    focal_solved = np.full(F, mode == "focal")

    # 3. pins: people's positions win; their frames then solve the focal length
    pinned_pos = np.zeros(F, dtype=bool)
    for i, fr in enumerate(frames):
        key = _pin_at(pins.position, fr)
        if key is not None:
            P[i] = key
            pinned_pos[i] = True
            focal_solved[i] = mode != "fixed"

    # 4. sight lines: push in along the line from the aim point to a clear place
    ob = obstacles if obstacles is not None else build_obstacles(world, frames, spec.subject)
    rel = P - A
    dist = np.linalg.norm(rel, axis=1)
    if np.any(dist < 1e-6):
        raise ShotError("the camera would sit on the subject's aim point")
    dirs = rel / dist[:, None]
    margin = p["clearance_m"]
    clear = np.array([ob.clear_distance(i, A[i], dirs[i], dist[i] + margin + 1.0) - margin for i in range(F)])
    allowed = np.minimum(dist, clear)
    if mode == "fixed":
        allowed = np.full(F, allowed.min())
    need = allowed < dist - 1e-9
    if np.any(need & ~pinned_pos):
        r = max(1, int(round(PUSH_WINDOW_S * fps / step)))
        # a running minimum of radius r smoothed by a Gaussian cut at r stays under the allowed distance
        env = np.minimum(_smooth(_min_filter(allowed, r), r / 3.0, hold=True), allowed)
        env = np.where(pinned_pos, dist, env)
        moved = env < dist - 1e-6
        if np.any(env[moved] < MIN_DISTANCE_M):
            bad = frames[moved & (env < MIN_DISTANCE_M)]
            raise ShotError(f"no clear view of {spec.subject!r}: obstacles leave under {MIN_DISTANCE_M} m for the "
                            f"camera at frames {_ranges(bad)}")
        P = np.where(moved[:, None], A + dirs * env[:, None], P)
        if mode != "fixed":
            focal_solved |= moved
        real = dist - env > 0.01
        pushed = [float(x) for x in frames[real]]
        if pushed:
            notes.append(f"pushed in for a clear view at frames {_ranges(frames[real])} "
                         f"(closest {float(env[real].min()):.2f} m)")
    else:
        pushed = []

    # 5. composition: thirds, or lead room from the subject's motion across the image (targets found above)
    f_px = np.full(F, f0_px)
    for i, fr in enumerate(frames):
        key = _pin_at(pins.focal, fr)
        if key is not None:
            f_px[i] = key * mm_to_px
            focal_solved[i] = False
    if mode == "fixed":
        if pushed:   # the camera stands closer: one focal length for the whole shot restores the size
            f_fix, _ = FR.solve_focal(P[:1], A[:1], C[:1], h[:1], sizes[:1], target[:1], (W, H), f_px[:1], roll)
            f_px = np.full(F, float(f_fix[0]))
            focal_solved[:] = True
        R = FR.aim_rotation(P, A, target, f_px, (W, H), roll)
        if move == "static":
            R = np.repeat(R[:1], F, axis=0)
        elif abs(p["degrees"]) > 0:
            off = np.radians(p["degrees"] * (1.0 - e))
            R = FR._ry(off) @ R if move == "pan" else R @ FR._rx(off)
    else:
        R = FR.aim_rotation(P, A, target, f_px, (W, H), roll)
        if np.any(focal_solved):
            idx = np.nonzero(focal_solved)[0]
            f_sol, R_sol = FR.solve_focal(P[idx], A[idx], C[idx], h[idx], sizes[idx], target[idx], (W, H),
                                          f_px[idx], roll)
            f_px[idx], R[idx] = f_sol, R_sol
    rot = FR.rotation_quats(R)
    for i, fr in enumerate(frames):
        key = _pin_at(pins.rotation, fr)
        if key is not None:
            rot[i] = np.asarray(key, dtype=np.float64)
    focal_mm = f_px / mm_to_px
    out = ~((focal_mm >= lo_f - 1e-6) & (focal_mm <= hi_f + 1e-6)) & focal_solved
    if np.any(out) or np.any(~np.isfinite(focal_mm)):
        bad = frames[out | ~np.isfinite(focal_mm)]
        need_mm = focal_mm[out | ~np.isfinite(focal_mm)]
        raise ShotError(f"size {spec.size} is impossible with a {lo_f:g}–{hi_f:g} mm lens for this move: it needs "
                        f"{np.nanmin(need_mm):.1f}–{np.nanmax(need_mm):.1f} mm at frames {_ranges(bad)}")
    z = FR.depth_along_view(P, R, A)
    if np.any(z <= 0):
        raise ShotError(f"the subject is behind the camera at frames {_ranges(frames[z <= 0])}")
    reveal = reveal_mask(spec, frames)
    return Solution(frames, P, rot, focal_mm, z, p["f_stop"], sizes, pushed, notes, reveal)


def _targets(spec, P, A, sm: Subject, frames, fps, step, W, H) -> np.ndarray:
    F = len(frames)
    t = np.tile([W / 2.0, H / 2.0], (F, 1))
    third = spec.p["thirds"]
    if third == "left":
        t[:, 0] = W / 3.0
    elif third == "right":
        t[:, 0] = 2.0 * W / 3.0
    elif third is None and F > 2:
        vel = np.gradient(sm.centre, frames, axis=0) * fps
        fwd = A - P
        right = np.cross(fwd, [0.0, 1.0, 0.0])
        right /= np.maximum(np.linalg.norm(right, axis=1, keepdims=True), 1e-12)
        lateral = np.einsum("fi,fi->f", vel, right)
        # moving right on screen → subject on the left third, the space ahead of it (lead room)
        t[:, 0] = W / 2.0 - (W / 6.0) * np.clip(lateral / 1.0, -1.0, 1.0)
        t[:, 0] = _smooth(t[:, 0], 0.5 * fps / step)
    return t


def _pin_at(d: dict, frame: float):
    for k, v in d.items():
        if abs(k - frame) < 1e-6:
            return v
    return None


def _ranges(frames) -> str:
    """Frames as compact ranges: ``3–7, 12``."""
    fs = [float(f) for f in frames]
    if not fs:
        return ""
    out, a, b = [], fs[0], fs[0]
    for f in fs[1:]:
        if f - b <= 1.0 + 1e-9:
            b = f
        else:
            out.append((a, b))
            a = b = f
    out.append((a, b))
    return ", ".join(f"{a:g}" if a == b else f"{a:g}–{b:g}" for a, b in out)


def dof_at(solution: Solution, sensor_mm) -> tuple[float, float]:
    """Depth of field (near, far) at the first frame, for the report."""
    coc = float(lens.circle_of_confusion_mm(np.asarray(sensor_mm, dtype=np.float64)))
    n, f = lens.depth_of_field_m(solution.focal_mm[0], solution.f_stop, max(solution.focus_m[0],
                                 solution.focal_mm[0] / 1000 + 1e-3), coc)
    return float(n), float(f)
