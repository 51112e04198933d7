"""Solving a shot: from a :class:`~agents.camera.spec.ShotSpec` and the world to the camera's position, rotation,
focal length and focus distance on every keyed frame (pure; raises :class:`ShotError` when it cannot).

Steps:

1. The subject's box, height and aim point A on each frame (:mod:`core.subject`), smoothed over
   ``params.smooth_s`` (a walk's bob does not shake the camera). A is the named joint, else the point of the
   subject's vertical axis that the shot size and headroom put at the frame's centre line (the figure's centre for
   sizes that fit in the frame). The size σ is the subject's height over the frame height at A's depth.
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
from .moves import Shot, direction, place, yaw
from .scene import Obstacles, build as build_obstacles
from .signal import ranges, running_min, smooth
from .spec import ANGLES, HEADROOM, ShotError, ShotSpec, ease

__all__ = ["Pins", "Solution", "Subject", "solve", "key_frames", "requested_sizes", "subject_track", "reveal_mask",
           "KEY_BUDGET"]

MANAGED = ("transform.position", "transform.rotation", "camera.focal_length_mm", "camera.focus_distance_m",
           "camera.f_stop")
MIN_DISTANCE_M = 0.15
KEY_BUDGET = 245
"""Most keyed frames per shot: four keyed paths each must fit one event (``events.envelope.MAX_OPS`` = 1000)."""
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


def solve(world, spec: ShotSpec, pins: Pins | None = None, frames: np.ndarray | None = None,
          obstacles: Obstacles | None = None) -> Solution:
    """The camera on ``frames`` (default: :func:`key_frames` of the range) for ``spec`` in ``world``, honouring
    ``pins`` (see the module docstring). ``obstacles`` may be passed in when the caller built them already.
    Raises ShotError when the shot cannot be made as asked."""
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
    frames = key_frames(spec.start, spec.end, KEY_BUDGET) if frames is None else frames
    F = len(frames)
    fps = float(world.fps)
    step = float(np.median(np.diff(frames))) if F > 1 else 1.0
    raw = subject_track(world, spec, frames)
    sig = spec.p["smooth_s"] * fps / step
    sm = Subject(smooth(raw.lo, sig), smooth(raw.hi, sig), None if raw.joint is None else smooth(raw.joint, sig),
                 raw.forward)
    sizes = requested_sizes(spec, frames)
    A = _aim(spec, sm, sizes)
    # σ is measured at the depth of the framed point (the aim): for a close-up that is the face, not the hips
    C, h = A, sm.height
    el, roll = ANGLES[spec.angle]
    if spec.p["elevation_deg"] is not None:
        el = spec.p["elevation_deg"]
    if spec.p["roll_deg"] is not None:
        roll = spec.p["roll_deg"]
    f0_px = spec.p["focal_length_mm"] * mm_to_px
    lo_f, hi_f = spec.p["zoom_range_mm"]
    s_lin = (frames - spec.start) / (spec.end - spec.start)
    e = ease(spec.p["easing"], s_lin)
    h0 = yaw(raw.forward[0], spec.p["azimuth_deg"])
    u0 = direction(h0, el)
    centre_px = np.tile([W / 2.0, H / 2.0], (F, 1))
    notes: list[str] = []

    shot = Shot(spec, frames, e, sizes, A, C, h, sm.centre, raw.forward, h0, u0, el, roll, f0_px, W, H, fps, step)
    move, p = spec.move, spec.p
    P, mode = place(shot, centre_px)
    target = _targets(spec, P, A, sm, frames, fps, step, W, H)
    if not np.allclose(target, centre_px):
        P, mode = place(shot, target)
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
    clear = np.array([ob.clear_distance(i, A[i], dirs[i], dist[i] + 1.0, margin) for i in range(F)])
    allowed = np.minimum(dist, clear)
    if mode == "fixed":
        allowed = np.full(F, allowed.min())
    need = allowed < dist - 1e-9
    if np.any(need & ~pinned_pos):
        r = max(1, int(round(PUSH_WINDOW_S * fps / step)))
        # a running minimum of radius r smoothed by a Gaussian cut at r stays under the allowed distance
        env = np.minimum(smooth(running_min(allowed, r), r / 3.0, hold=True), allowed)
        env = np.where(pinned_pos, dist, env)
        moved = env < dist - 1e-6
        if np.any(env[moved] < MIN_DISTANCE_M):
            bad = frames[moved & (env < MIN_DISTANCE_M)]
            raise ShotError(f"no clear view of {spec.subject!r}: obstacles leave under {MIN_DISTANCE_M} m for the "
                            f"camera at frames {ranges(bad)}")
        P = np.where(moved[:, None], A + dirs * env[:, None], P)
        if mode != "fixed":
            focal_solved |= moved
        real = dist - env > 0.01
        pushed = [float(x) for x in frames[real]]
        if pushed:
            notes.append(f"pushed in for a clear view at frames {ranges(frames[real])} "
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
                        f"{np.nanmin(need_mm):.1f}–{np.nanmax(need_mm):.1f} mm at frames {ranges(bad)}")
    z = FR.depth_along_view(P, R, A)
    if np.any(z <= 0):
        raise ShotError(f"the subject is behind the camera at frames {ranges(frames[z <= 0])}")
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
        t[:, 0] = smooth(t[:, 0], 0.5 * fps / step)
    return t


def _pin_at(d: dict, frame: float):
    for k, v in d.items():
        if abs(k - frame) < 1e-6:
            return v
    return None


def dof_at(solution: Solution, sensor_mm) -> tuple[float, float]:
    """Depth of field (near, far) at the first frame, for the report."""
    coc = float(lens.circle_of_confusion_mm(np.asarray(sensor_mm, dtype=np.float64)))
    n, f = lens.depth_of_field_m(solution.focal_mm[0], solution.f_stop, max(solution.focus_m[0],
                                 solution.focal_mm[0] / 1000 + 1e-3), coc)
    return float(n), float(f)
