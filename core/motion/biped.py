"""Biped clips other than walking and running: idle, jump, wave, punch, kick, dodge, sit (``turn`` steps like a
walk, :mod:`core.motion.synth`). Each is a :class:`~core.motion.pose.Plan` over the clip's frames, stretched to
fit them (retiming a clip re-times its action); the feet stay on their plants unless the action moves them, and
the legs are placed by IK, so a punch or a sit never slides a foot.

The relaxed layer (:func:`relaxed_layer`) lowers the template's T-pose arms to the sides; the arm swing of
walking and running counter-swings the legs (:func:`arm_swing`).
"""

from __future__ import annotations

import numpy as np

from .. import quat
from . import figures
from .locomotion import State
from .pose import Plan, Reach, smoothstep, yaw_matrix
from .rigs import RigInfo

__all__ = ["relaxed_layer", "arm_swing", "static_plan", "CLIPS"]

_ARM_DOWN_DEG = 75.0
_ELBOW_BEND = (0.0, 0.0, -1.0)
"""At rest (T-pose) the elbows flex the forearm forward, so the elbow itself goes back."""


def _set(layer: np.ndarray, ri: RigInfo, name: str, q) -> None:
    layer[..., ri.rig.index(name), :] = q


def _euler(x=0.0, y=0.0, z=0.0, order="XYZ") -> np.ndarray:
    return quat.from_euler_deg(np.stack(np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float),
                                                            np.asarray(z, float)), axis=-1), order)


def relaxed_layer(ri: RigInfo, n: int, swing_deg=0.0, elbow_deg=15.0, both_deg=0.0) -> np.ndarray:
    """(n, J, 4): arms down at the sides, elbows slightly bent; ``swing_deg`` (n,) swings the left arm back (and
    the right arm forward) for positive values, ``both_deg`` (n,) both arms back."""
    nj = len(ri.rig.names)
    layer = np.tile(quat.identity(), (n, nj, 1))
    swing = np.broadcast_to(np.asarray(swing_deg, dtype=np.float64), (n,))
    both = np.broadcast_to(np.asarray(both_deg, dtype=np.float64), (n,))
    elbow = np.broadcast_to(np.asarray(elbow_deg, dtype=np.float64), (n,))
    # swing about X after lowering about Z: q = Rx(swing) · Rz(down)
    _set(layer, ri, "l_shoulder", quat.multiply(_euler(x=swing + both), _euler(z=-_ARM_DOWN_DEG)))
    _set(layer, ri, "r_shoulder", quat.multiply(_euler(x=-swing + both), _euler(z=_ARM_DOWN_DEG)))
    _set(layer, ri, "l_elbow", _euler(y=-elbow))
    _set(layer, ri, "r_elbow", _euler(y=elbow))
    return layer


def arm_swing(ri: RigInfo, phase: np.ndarray, envelope: np.ndarray, amplitude: np.ndarray,
              running: np.ndarray) -> np.ndarray:
    """The walking/running layer: arms counter-swing the legs (left arm back when the left foot lands, phase 0),
    elbows bend more when running, the spine turns against the pelvis and the head stays on the path."""
    run = np.clip(running, 0.0, 1.0)
    amp = (18.0 + 17.0 * run) * amplitude * envelope
    c = np.cos(2 * np.pi * phase)
    layer = relaxed_layer(ri, phase.shape[0], swing_deg=amp * c, elbow_deg=15.0 + 70.0 * run * envelope)
    pelvis_yaw = -4.0 * c * amplitude * envelope
    _set(layer, ri, "spine", _euler(y=-pelvis_yaw))
    _set(layer, ri, "chest", _euler(y=-0.6 * pelvis_yaw))
    _set(layer, ri, "neck", _euler(x=-4.0 * run * envelope, y=0.6 * pelvis_yaw))
    return layer


def static_plan(ri: RigInfo, state: State, n: int, layer: np.ndarray | None = None) -> Plan:
    """Standing where the state left the character, feet on their plants."""
    L = len(ri.legs)
    return Plan(
        body_pos=np.tile(state.pos, (n, 1)), body_yaw=np.full(n, state.yaw),
        pelvis_off=np.zeros((n, 3)), pelvis_rot=quat.identity((n,)),
        layer=relaxed_layer(ri, n) if layer is None else layer,
        feet=np.tile(state.plants, (n, 1, 1)) if L else None,
        foot_yaw=np.tile(state.plant_yaw, (n, 1)) if L else None,
        contacts=np.ones((n, L), dtype=bool), reaches=[])


def _bump(tau: np.ndarray, a: float, b: float, ramp: float) -> np.ndarray:
    """0 → 1 over [a, a + ramp], 1 until b − ramp, → 0 at b."""
    return smoothstep((tau - a) / ramp) * smoothstep((b - tau) / ramp)


def _side(params: dict, default: str = "right") -> float:
    return 1.0 if params.get("side", default) == "left" else -1.0


def idle(ri, state, n, fps, params, notes):
    t = np.arange(n) / fps
    amp = float(params.get("amplitude", 1.0))
    plan = static_plan(ri, state, n)
    plan.pelvis_off[:, 0] = 0.012 * amp * np.sin(2 * np.pi * 0.12 * t)
    breath = 1.5 * amp * np.sin(2 * np.pi * 0.25 * t)
    _set(plan.layer, ri, "chest", _euler(x=-breath))
    _set(plan.layer, ri, "neck", _euler(x=0.5 * breath, y=6.0 * amp * np.sin(2 * np.pi * 0.07 * t)))
    return plan, state


def jump(ri, state, n, fps, params, notes):
    T = (n - 1) / fps
    tau = np.linspace(0.0, 1.0, n)
    leg = ri.leg_m
    height = float(params.get("height_m", 0.35 * leg / 0.9))
    dist = float(params.get("distance_m", 0.0))
    flight_avail = 0.45 * T
    h_fit = figures.G * flight_avail ** 2 / 8.0
    if height > h_fit:
        notes.append(f"jump: {height:.2f} m needs {2 * np.sqrt(2 * height / figures.G):.2f} s in the air; the clip "
                     f"allows {flight_avail:.2f} s, so it jumps {h_fit:.2f} m")
        height = h_fit
    t_flight = 2.0 * np.sqrt(2.0 * height / figures.G) if height > 0 else 0.0
    a = 0.30
    b = min(0.95, a + t_flight / max(T, 1e-9))
    fwd = yaw_matrix(state.yaw) @ np.array([0.0, 0.0, 1.0])
    prog = np.clip((tau - a) / max(b - a, 1e-9), 0.0, 1.0)
    plan = static_plan(ri, state, n)
    plan.body_pos = state.pos + np.outer(prog, fwd * dist)
    pre = smoothstep(tau / (0.8 * a)) * smoothstep((a - tau) / (0.2 * a))
    post = np.where(tau >= b, np.sin(np.pi * np.clip((tau - b) / max(1.0 - b, 1e-9), 0.0, 1.0)), 0.0)
    crouch = 0.14 * leg * (pre + post)
    tf = np.clip((tau - a) * T, 0.0, t_flight)
    rise = np.where((tau > a) & (tau < b), 4.0 * height * (tf / max(t_flight, 1e-9)) * (1 - tf / max(t_flight, 1e-9)),
                    0.0)
    plan.pelvis_off[:, 1] = -crouch + rise
    land = state.plants + fwd * dist
    inair = (tau > a) & (tau < b)
    tuck = 0.25 * leg * np.sin(np.pi * prog) * inair
    plan.feet = state.plants[None] + (land - state.plants)[None] * smoothstep(prog)[:, None, None]
    plan.feet[:, :, 1] += (rise + tuck)[:, None] * inair[:, None]
    plan.contacts = np.tile(~inair[:, None], (1, len(ri.legs)))
    plan.layer = relaxed_layer(ri, n, both_deg=40.0 * pre - 70.0 * inair - 20.0 * post)
    state = _moved(state, plan, land)
    return plan, state


def _moved(state: State, plan: Plan, plants: np.ndarray) -> State:
    return State(plan.body_pos[-1].copy(), float(plan.body_yaw[-1]), plants.copy(), state.plant_yaw.copy(),
                 plan.pelvis_off[-1].copy(), plan.pelvis_rot[-1].copy(), plan.layer[-1].copy(), state.notes)


def _shoulder(ri: RigInfo, side: float) -> np.ndarray:
    return ri.pos("l_shoulder" if side > 0 else "r_shoulder").copy()


def _arm(side: float) -> tuple[str, str, str]:
    s = "l_" if side > 0 else "r_"
    return s + "shoulder", s + "elbow", s + "wrist"


def _arm_len(ri: RigInfo, side: float) -> float:
    u, m, lo = _arm(side)
    return float(np.linalg.norm(ri.pos(m) - ri.pos(u)) + np.linalg.norm(ri.pos(lo) - ri.pos(m)))


def wave(ri, state, n, fps, params, notes):
    side = _side(params)
    rate = float(params.get("rate_hz", 2.0))
    amp = float(params.get("amplitude", 1.0))
    t = np.arange(n) / fps
    tau = np.linspace(0.0, 1.0, n)
    plan = static_plan(ri, state, n)
    w = _bump(tau, 0.0, 1.0, 0.2)
    sh = _shoulder(ri, side)
    L = _arm_len(ri, side)
    target = np.tile(sh + np.array([side * 0.35 * L, 0.55 * L, 0.15 * L]), (n, 1))
    target[:, 0] += side * 0.18 * L * amp * np.sin(2 * np.pi * rate * t) * w
    u, m, lo = _arm(side)
    plan.reaches = [Reach(u, m, lo, (side * 0.3, -1.0, 0.0), target, w, _ELBOW_BEND)]
    return plan, state


def punch(ri, state, n, fps, params, notes):
    side = _side(params)
    count = int(params.get("count", 1))
    reach = float(params.get("reach", 0.95))
    tau = np.linspace(0.0, 1.0, n)
    plan = static_plan(ri, state, n)
    guard_w = _bump(tau, 0.0, 1.0, 0.15)
    ext = np.zeros(n)
    for k in range(count):
        c = 0.15 + 0.7 * (k + 0.5) / count
        half = 0.35 / count
        x = (tau - (c - half)) / (2 * half)
        ext = np.maximum(ext, np.where((x > 0) & (x < 1), np.sin(np.pi * np.clip(x, 0, 1)) ** 2, 0.0))
    plan.reaches = []
    for s in (1.0, -1.0):
        sh = _shoulder(ri, s)
        L = _arm_len(ri, s)
        guard = sh + np.array([-s * 0.45 * L, -0.05 * L, 0.45 * L])
        out = sh + np.array([-s * 0.15 * L, 0.0, reach * L])
        e = ext if s == side else np.zeros(n)
        target = guard[None] + (out - guard)[None] * e[:, None]
        u, m, lo = _arm(s)
        plan.reaches.append(Reach(u, m, lo, (s * 0.6, -1.0, 0.0), target, guard_w, _ELBOW_BEND))
    twist = -side * 18.0 * ext
    _set(plan.layer, ri, "chest", _euler(y=twist))
    _set(plan.layer, ri, "neck", _euler(y=-twist))
    notes.append(f"punch: {count} with the {'left' if side > 0 else 'right'} hand, reaching {reach:.2f} of the arm")
    return plan, state


def kick(ri, state, n, fps, params, notes):
    side = _side(params)
    tau = np.linspace(0.0, 1.0, n)
    leg = ri.leg_m
    height = float(params.get("height_m", 0.6 * leg))
    plan = static_plan(ri, state, n)
    i = 0 if side > 0 else 1
    fwd = yaw_matrix(state.yaw)
    base = state.plants[i]
    chamber = smoothstep(tau / 0.3) * smoothstep((1.0 - tau) / 0.3)
    strike = _bump(tau, 0.3, 0.7, 0.12)
    local = np.stack([np.zeros(n), 0.35 * leg * chamber + (height - 0.35 * leg) * strike,
                      0.15 * leg * chamber + 0.45 * leg * strike], axis=-1)
    plan.feet[:, i] = base + local @ fwd.T
    plan.contacts[:, i] = chamber <= 0.0
    plan.pelvis_rot = _euler(x=-10.0 * strike)
    plan.pelvis_off[:, 0] = -side * 0.04 * leg * chamber
    plan.layer = relaxed_layer(ri, n, swing_deg=side * 25.0 * strike)
    return plan, state


def dodge(ri, state, n, fps, params, notes):
    side = _side(params, "left")
    amp = float(params.get("amplitude", 1.0))
    tau = np.linspace(0.0, 1.0, n)
    leg = ri.leg_m
    plan = static_plan(ri, state, n)
    w = np.sin(np.pi * tau) ** 2 * amp
    plan.pelvis_off[:, 0] = side * 0.12 * leg * w
    plan.pelvis_off[:, 1] = -0.12 * leg * w
    _set(plan.layer, ri, "spine", _euler(z=-side * 12.0 * w))
    _set(plan.layer, ri, "chest", _euler(z=-side * 10.0 * w, x=8.0 * w))
    return plan, state


def sit(ri, state, n, fps, params, notes):
    leg = ri.leg_m
    seat = float(params.get("seat_height_m", 0.5 * leg))
    tau = np.linspace(0.0, 1.0, n)
    plan = static_plan(ri, state, n)
    down = smoothstep(tau / 0.5)
    root_y = ri.rest_global[ri.root, 1, 3]
    plan.pelvis_off[:, 1] = ((seat + 0.12 * leg) - root_y) * down
    plan.pelvis_off[:, 2] = -0.3 * leg * down
    lean = 25.0 * np.sin(np.pi * np.clip(tau / 0.5, 0, 1)) + 8.0 * down
    plan.pelvis_rot = _euler(x=lean)
    _set(plan.layer, ri, "spine", _euler(x=-0.6 * lean))
    return plan, state


CLIPS = {"idle": idle, "jump": jump, "wave": wave, "punch": punch, "kick": kick, "dodge": dodge, "sit": sit}
"""Biped action clips: ``fn(rig info, state, frames, fps, params, notes) -> (Plan, State)``."""
