"""Legged locomotion: the gait phase advances with the distance travelled (and with turning), each leg is in
stance or swing by its phase offset and duty factor, a stance foot stays where it landed, a swinging foot lifts
before it travels, and legs are placed by two-bone IK (:mod:`core.motion.pose`).

Footfalls: the plant of a leg's stance is where the body will be a third of the way into that stance (biped) or
at its middle (its rest foot offset carried by the body), so steps follow the body's path, turns included. A swing
goes from the last plant to the next; the foot rises over the first quarter of the swing, travels horizontally only
in its middle 70 % (smoothstep), and comes down over the last quarter. Starting from rest the initial phase is
chosen so that the planted feet are least overstretched; a swing already under way at the start begins from the
ground at its plant (compressed in time). At a stop, a swing more than half done lands on the final stance, one
less than half done is not taken.

The pelvis is locked to the gait phase: bob twice a cycle (highest at mid-stance walking, lowest running), sway
towards the stance leg, rotation about the vertical with the swinging leg and list away from the stance leg;
then lowered wherever a planted or landing foot could not otherwise be reached (:func:`lower_for_reach`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import kinematics, quat
from . import figures
from .pose import Plan, smoothstep, yaw_matrix
from .rigs import RigInfo

__all__ = ["State", "rest_state", "GaitTrack", "gait_track", "legs_from_path", "pelvis_from_phase",
           "body_path", "TURN_CYCLE_RAD", "SWING_TRAVEL"]

TURN_CYCLE_RAD = np.pi / 3
"""Turning advances the gait by one cycle per 60° (each foot steps once), on top of what travel does."""

SWING_TRAVEL = (0.15, 0.85)
"""The part of a swing (fraction) in which the foot moves horizontally; it lifts before and lands after."""

PLANT_AT = {"biped": 0.35}
"""A foot lands where its rest place will be when this fraction of its stance has passed: mid-stance (0.5) by
default; a little before for a biped, whose flat foot reaches worst far ahead of the hip (the heel rise helps
behind)."""

LIFT_RAMP = 0.25
"""The foot rises over the first quarter of a swing (two thirds up when it starts to travel) and lands over the
last."""


@dataclass
class State:
    """Where a clip leaves the character: body ground point and heading, the plants of the legs' planted joints
    (entity frame) and their headings, and the last pelvis offset/rotation and layer (for blending)."""

    pos: np.ndarray
    yaw: float
    plants: np.ndarray
    plant_yaw: np.ndarray
    pelvis_off: np.ndarray
    pelvis_rot: np.ndarray
    layer: np.ndarray
    notes: list = field(default_factory=list)


def rest_state(ri: RigInfo, layer: np.ndarray | None = None) -> State:
    L = len(ri.legs)
    plants = np.array([ri.pos(leg.end) for leg in ri.legs]).reshape(L, 3)
    nj = len(ri.rig.names)
    return State(np.zeros(3), 0.0, plants, np.zeros(L), np.zeros(3), quat.identity(),
                 quat.identity((nj,)) if layer is None else layer.copy())


def body_rest_offsets(ri: RigInfo) -> np.ndarray:
    """(L, 3) rest positions of the legs' planted (end) joints in the body frame."""
    return np.array([ri.pos(leg.end) for leg in ri.legs]).reshape(len(ri.legs), 3)


@dataclass
class GaitTrack:
    """Gait parameters per frame (a clip's gait, blended across clip boundaries)."""

    duty: np.ndarray        # (F,)
    offsets: np.ndarray     # (F, L)
    stride: np.ndarray      # (F,) stride at the cruise speed of the frame's clip
    cruise: np.ndarray      # (F,) cruise speed
    lift: np.ndarray        # (F,)
    bob: np.ndarray         # (F,) signed: > 0 highest at mid-stance (walking), < 0 lowest (running)
    sway: np.ndarray        # (F,)
    amplitude: np.ndarray   # (F,) secondary-motion scale
    names: list             # gait name per frame


def _smooth(a: np.ndarray, w: int) -> np.ndarray:
    """Centred moving average over ``w`` frames along axis 0, edges held."""
    if w <= 1 or a.shape[0] < 2:
        return a
    pad = w // 2
    ext = np.concatenate([np.repeat(a[:1], pad, 0), a, np.repeat(a[-1:], w - 1 - pad, 0)], axis=0)
    c = np.cumsum(np.concatenate([np.zeros((1,) + a.shape[1:]), ext], axis=0), axis=0)
    return (c[w:] - c[:-w]) / w


def gait_track(pieces: list[tuple[int, figures.Gait, float]], fps: float) -> GaitTrack:
    """Per-frame gait from pieces ``(frames, gait, amplitude)``, blended over ~0.3 s at each boundary."""
    L = len(pieces[0][1].offsets)
    duty, offs, stride, cruise, lift, bob, sway, amp, names = [], [], [], [], [], [], [], [], []
    prev = None
    for n, g, a in pieces:
        o = np.array(g.offsets, dtype=np.float64)
        if prev is not None:
            o = o - np.round(o - prev)                 # the nearest phase-equivalent offsets: no leg jumps a cycle
        prev = o
        duty.append(np.full(n, g.duty))
        offs.append(np.tile(o, (n, 1)))
        stride.append(np.full(n, g.stride_m))
        cruise.append(np.full(n, g.speed_mps))
        lift.append(np.full(n, g.lift_m))
        bob.append(np.full(n, -g.bob_m if g.flight else g.bob_m))
        sway.append(np.full(n, g.sway_m))
        amp.append(np.full(n, a))
        names += [g.name] * n
    w = max(1, int(round(0.3 * fps)))
    cat = lambda xs: _smooth(np.concatenate(xs, axis=0), w)  # noqa: E731
    return GaitTrack(cat(duty), cat(offs).reshape(-1, L), cat(stride), cat(cruise), cat(lift), cat(bob), cat(sway),
                     cat(amp), names)


def body_path(pos0, yaw0: float, speed: np.ndarray, turn: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Integrate speed (F,) along the heading yaw0 + turn (F,) from pos0 → (positions (F, 3), yaw (F,))."""
    yaw = yaw0 + turn
    dt = 1.0 / fps
    mid_yaw = 0.5 * (yaw[1:] + yaw[:-1])
    step = 0.5 * (speed[1:] + speed[:-1]) * dt
    d = np.stack([np.sin(mid_yaw) * step, np.zeros_like(step), np.cos(mid_yaw) * step], axis=-1)
    pos = np.asarray(pos0, dtype=np.float64) + np.concatenate([np.zeros((1, 3)), np.cumsum(d, axis=0)], axis=0)
    return pos, yaw


def _cadence(speed: np.ndarray, yaw: np.ndarray, gt: GaitTrack, fps: float) -> np.ndarray:
    """Cycles per second: travel over a stride that shortens with speed (λ ∝ v^0.6), or turning, whichever is more."""
    ratio = np.clip(speed / np.maximum(gt.cruise, 1e-9), 0.0, None)
    stride = gt.stride * ratio ** 0.6
    c = np.where(speed > 1e-9, speed / np.maximum(stride, 1e-9), 0.0)
    omega = np.abs(np.gradient(yaw) * fps) if yaw.shape[0] > 1 else np.zeros_like(yaw)
    return np.maximum(c, omega / TURN_CYCLE_RAD)


def _initial_phase(offsets: np.ndarray, duty: float, cum_phase: np.ndarray, travel: np.ndarray,
                   stride: float) -> float:
    """The starting phase (from a fixed grid of 48) that keeps the feet planted under the body at the start
    closest to their comfortable range: a foot planted at the start stays until its phase reaches the duty
    factor, while the body travels; the body should not pass it by much more than half a stance's travel."""
    best, best_score = 0.0, None
    for cand in np.arange(48) / 48.0:
        u = (cand + offsets) % 1.0
        stance = u < duty
        worst = 0.0
        for ui, st in zip(u, stance):
            if not st:
                continue
            t_lift = np.searchsorted(cum_phase, duty - ui)
            d = travel[min(t_lift, travel.shape[0] - 1)]
            worst = max(worst, d - 0.5 * duty * stride)
        s = np.where(stance, 0.0, (u - duty) / (1.0 - duty))
        score = (round(worst, 3), float(s.max()))
        if best_score is None or score < best_score:
            best, best_score = float(cand), score
    return best


def legs_from_path(ri: RigInfo, pos: np.ndarray, yaw: np.ndarray, speed: np.ndarray, gt: GaitTrack, fps: float,
                   state: State, stop_at_end: bool = True, landing: np.ndarray | None = None):
    """Foot targets for a body moving along ``pos`` (F, 3) / ``yaw`` (F,) at ``speed`` (F,).

    Returns (feet (F, L, 3), foot yaw (F, L), contacts (F, L), phase (F,)); ``state.plants`` are where the feet
    stand at the first frame. ``landing`` (F, L) bool, when given, is set where a swinging foot is coming down
    (after its horizontal travel)."""
    n = pos.shape[0]
    L = len(ri.legs)
    rest = body_rest_offsets(ri)
    t = np.arange(n) / fps
    cad = _cadence(speed, yaw, gt, fps)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (cad[1:] + cad[:-1]) / fps)])
    travel = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pos, axis=0), axis=-1))])
    p0 = _initial_phase(gt.offsets[0], float(gt.duty[0]), cum, travel, float(np.max(gt.stride)))
    phase = p0 + cum
    T = t[-1]
    vel_end = (pos[-1] - pos[-2]) * fps if n > 1 else np.zeros(3)
    yaw_rate_end = (yaw[-1] - yaw[-2]) * fps if n > 1 else 0.0
    rate_end = cad[-1]

    def body_at(tq: np.ndarray):
        """Body (pos, yaw) at times tq (clamped to the clip at a stop, extrapolated when it goes on)."""
        tc = np.clip(tq, 0.0, T)
        bp = np.stack([np.interp(tc, t, pos[:, k]) for k in range(3)], axis=-1)
        by = np.interp(tc, t, yaw)
        if not stop_at_end:
            extra = np.maximum(tq - T, 0.0)
            bp = bp + extra[:, None] * vel_end
            by = by + extra * yaw_rate_end
        return bp, by

    def time_of(g: np.ndarray, value: float) -> float:
        """First time g(t) (non-decreasing) reaches ``value`` (extrapolated with the final rate beyond the clip)."""
        if value <= g[0]:
            return 0.0
        if value > g[-1]:
            if stop_at_end or rate_end <= 1e-9:
                return T + 1e9 if not stop_at_end else T
            return T + (value - g[-1]) / rate_end
        k = int(np.searchsorted(g, value))
        g0, g1 = g[k - 1], g[k]
        return float(t[k - 1] + (t[k] - t[k - 1]) * ((value - g0) / (g1 - g0) if g1 > g0 else 1.0))

    feet = np.empty((n, L, 3))
    fyaw = np.empty((n, L))
    contacts = np.zeros((n, L), dtype=bool)
    lo_tr, hi_tr = SWING_TRAVEL
    for i in range(L):
        phi = phase + gt.offsets[:, i]
        d = gt.duty
        k = np.floor(phi).astype(np.int64)
        u = phi - k
        stance = u < d
        g_mid = np.maximum.accumulate(phi - d * PLANT_AT.get(ri.family, 0.5))

        def plant(cycle: int):
            tm = time_of(g_mid, float(cycle))
            bp, by = body_at(np.array([tm]))
            return bp[0] + yaw_matrix(by[0]) @ rest[i], float(by[0])

        # runs of frames with the same (cycle, stance) in order
        key = k * 2 + (~stance)
        starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        ends = np.concatenate([starts[1:], [n]])
        cur_plant, cur_yaw = state.plants[i].copy(), float(state.plant_yaw[i])
        plants_of: dict[int, tuple[np.ndarray, float]] = {}
        for s0, e0 in zip(starts, ends):
            cyc = int(k[s0])
            if stance[s0]:
                if s0 == 0:
                    plants_of[cyc] = (cur_plant, cur_yaw)
                elif cyc not in plants_of:
                    plants_of[cyc] = plant(cyc)
                cur_plant, cur_yaw = plants_of[cyc]
                feet[s0:e0, i] = cur_plant
                fyaw[s0:e0, i] = cur_yaw
                contacts[s0:e0, i] = True
                continue
            a_pos, a_yaw = cur_plant, cur_yaw
            if cyc + 1 not in plants_of:
                plants_of[cyc + 1] = plant(cyc + 1)
            b_pos, b_yaw = plants_of[cyc + 1]
            s = (u[s0:e0] - d[s0:e0]) / np.maximum(1.0 - d[s0:e0], 1e-9)
            if s0 == 0 and s[0] > 0:
                s = np.clip((s - s[0]) / max(1.0 - s[0], 1e-9), 0.0, 1.0)         # begin from the ground
            if e0 == n and stop_at_end:
                last = s[-1]
                if last < 0.5:                                                   # not taken: stay planted
                    feet[s0:e0, i] = a_pos
                    fyaw[s0:e0, i] = a_yaw
                    contacts[s0:e0, i] = True
                    continue
                s = np.clip(s / max(last, 1e-9), 0.0, 1.0)                       # land at the stop
            w = smoothstep((s - lo_tr) / (hi_tr - lo_tr))
            lift = smoothstep(s / LIFT_RAMP) * smoothstep((1.0 - s) / LIFT_RAMP)
            feet[s0:e0, i] = a_pos + (b_pos - a_pos) * w[:, None]
            feet[s0:e0, i, 1] += gt.lift[s0:e0] * lift
            dy = (b_yaw - a_yaw + np.pi) % (2 * np.pi) - np.pi
            fyaw[s0:e0, i] = a_yaw + dy * w
            contacts[s0:e0, i] = s <= 0.0
            if landing is not None:
                landing[s0:e0, i] = s > hi_tr
            if e0 < n:
                cur_plant, cur_yaw = b_pos, b_yaw
    return feet, fyaw, contacts, phase


def pelvis_from_phase(ri: RigInfo, phase: np.ndarray, gt: GaitTrack, envelope: np.ndarray):
    """Pelvis offset (F, 3) in the body frame and rotation (F, 4) locked to the gait phase (biped figures; the
    other families bob only). ``envelope`` (F,) 0..1 fades it in and out with speed."""
    d = gt.duty
    amp = gt.amplitude * envelope
    ph_mid = 2 * np.pi * (phase - d / 2.0)
    off = np.zeros((phase.shape[0], 3))
    off[:, 1] = gt.bob * np.cos(2 * ph_mid) * amp - np.abs(gt.bob) * amp
    rot = quat.identity(phase.shape)
    if ri.family == "biped":
        off[:, 0] = gt.sway * np.cos(ph_mid) * amp
        yaw = -np.radians(4.0) * np.cos(2 * np.pi * phase) * amp
        roll = np.radians(3.0) * np.cos(ph_mid) * amp
        pitch = np.where(gt.bob < 0, np.radians(8.0), np.radians(2.0)) * envelope
        rot = quat.from_euler_deg(np.degrees(np.stack([yaw, pitch, roll], axis=-1)), "YXZ")
    return off, rot


def lower_for_reach(ri: RigInfo, plan: Plan, fps: float, margin: float = 0.985, mask=None) -> np.ndarray:
    """How far (F,) the pelvis must come down so that every planted foot is within reach (smoothed, never less than
    needed): planted and landing feet (``plan.reach_mask``, else the contacts); a foot in mid-swing does not lower
    the body (:func:`core.motion.pose.solve` raises it within reach)."""
    from .pose import root_and_layer
    r = ri.rig
    n = plan.frames
    need = np.zeros(n)
    rot, trans = root_and_layer(ri, plan)
    g = kinematics.forward(r, rot, trans)
    from .pose import leg_lengths, place_lower
    for i, leg in enumerate(ri.legs):
        hip = g[:, r.index(leg.upper), :3, 3]
        lower, _ = place_lower(ri, leg, hip, plan.feet[:, i], plan.foot_yaw[:, i])
        reach = sum(leg_lengths(ri, leg)) * margin
        dv = lower - hip
        dh2 = dv[:, 0] ** 2 + dv[:, 2] ** 2
        allowed = np.sqrt(np.maximum(reach * reach - dh2, 0.0))
        leg_need = -dv[:, 1] - allowed
        must = plan.reach_mask if plan.reach_mask is not None else plan.contacts
        if must is not None:
            leg_need = np.where(must[:, i], leg_need, 0.0)   # a foot in mid-swing is brought within reach
        need = np.maximum(need, leg_need)
    need = np.maximum(need, 0.0)
    if mask is not None:
        need = np.where(mask, need, 0.0)
    w = max(1, int(round(0.12 * fps)))
    grown = need.copy()
    for s in range(1, w + 1):
        grown[s:] = np.maximum(grown[s:], need[:-s])
        grown[:-s] = np.maximum(grown[:-s], need[s:])
    return np.maximum(_smooth(grown, 2 * w + 1), need)
