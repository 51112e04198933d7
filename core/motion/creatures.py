"""Clips of the quadruped, bird and fish other than legged gaits.

- quadruped ``idle``: breathing, a tail wag, a look around; feet on their plants.
- bird ``idle`` (head turns, tail flick), ``flap`` (flight: wingbeat frequency from the wingspan by Pennycuick's
  formula, wings swept up and down about the shoulder with the hand folded on the upstroke, legs tucked, the body
  climbing to ``altitude_m`` and travelling at ``speed_mps``) and ``glide`` (wings spread, a slight dihedral,
  descending along a glide ratio).
- fish ``swim`` and ``idle``: a travelling wave along the spine ``y = A(x) sin(2π(x/λ − φ))``, the amplitude
  envelope carangiform (``A = a (0.1 + 0.9 (x/L)²)``, λ ≈ L) or anguilliform (``A = a e^(2(x/L − 1))``,
  λ ≈ 0.65 L); the tail-beat frequency follows from the speed by the Strouhal number, and the wave's phase
  advances with the distance swum.
"""

from __future__ import annotations

import numpy as np

from .. import quat
from . import figures
from .biped import static_plan
from .locomotion import State
from .pose import Plan, smoothstep, yaw_matrix
from .rigs import RigInfo

__all__ = ["QUADRUPED", "BIRD", "FISH", "bird_layer", "wing_span", "fish_wave"]


def _e(x=0.0, y=0.0, z=0.0) -> np.ndarray:
    return quat.from_euler_deg(np.stack(np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float),
                                                            np.asarray(z, float)), axis=-1), "XYZ")


def _set(layer, ri, name, q):
    layer[..., ri.rig.index(name), :] = q


def _hold_layer(ri: RigInfo, state: State, n: int) -> np.ndarray:
    return np.tile(state.layer, (n, 1, 1))


def quad_idle(ri, state, n, fps, params, notes):
    t = np.arange(n) / fps
    amp = float(params.get("amplitude", 1.0))
    layer = np.tile(quat.identity(), (n, len(ri.rig.names), 1))
    wag = 25.0 * amp * np.sin(2 * np.pi * 1.5 * t)
    for k, name in enumerate(("tail_1", "tail_2", "tail_3")):
        _set(layer, ri, name, _e(x=10.0, y=wag * (0.5 + 0.25 * k)))
    _set(layer, ri, "neck", _e(x=4.0 * amp * np.sin(2 * np.pi * 0.3 * t), y=15.0 * amp * np.sin(2 * np.pi * 0.08 * t)))
    plan = static_plan(ri, state, n, layer)
    plan.pelvis_off[:, 1] = 0.004 * amp * np.sin(2 * np.pi * 0.4 * t)
    return plan, state


def wing_span(ri: RigInfo) -> float:
    return float(abs(ri.pos("l_wing_tip")[0] - ri.pos("r_wing_tip")[0]))


def bird_layer(ri: RigInfo, n: int, folded: np.ndarray) -> np.ndarray:
    """Wings folded along the body by ``folded`` (n,) 0..1."""
    layer = np.tile(quat.identity(), (n, len(ri.rig.names), 1))
    f = np.asarray(folded, dtype=np.float64)
    _set(layer, ri, "l_shoulder", _e(y=80.0 * f, z=-10.0 * f))
    _set(layer, ri, "r_shoulder", _e(y=-80.0 * f, z=10.0 * f))
    _set(layer, ri, "l_elbow", _e(y=-150.0 * f))
    _set(layer, ri, "r_elbow", _e(y=150.0 * f))
    _set(layer, ri, "l_wrist", _e(y=140.0 * f))
    _set(layer, ri, "r_wrist", _e(y=-140.0 * f))
    return layer


def bird_idle(ri, state, n, fps, params, notes):
    t = np.arange(n) / fps
    amp = float(params.get("amplitude", 1.0))
    layer = bird_layer(ri, n, np.ones(n))
    look = 40.0 * amp * np.sign(np.sin(2 * np.pi * 0.4 * t)) * smoothstep(np.abs(np.sin(2 * np.pi * 0.4 * t)) * 4)
    _set(layer, ri, "neck", _e(y=look))
    _set(layer, ri, "tail_1", _e(x=8.0 * amp * np.maximum(np.sin(2 * np.pi * 0.5 * t), 0.0) ** 8))
    return static_plan(ri, state, n, layer), state


def _flight(ri, state, n, fps, params, notes, glide: bool):
    t = np.arange(n) / fps
    tau = np.linspace(0.0, 1.0, n)
    span = wing_span(ri)
    amp = float(params.get("amplitude", 1.0))
    mass, area = figures.bird_mass_area(span)
    freq = float(params.get("frequency_hz", figures.flap_frequency_hz(mass, span, area)))
    speed = float(params.get("speed_mps", 8.0 * np.sqrt(span / 0.67)))
    if not glide:
        notes.append(f"flap: {freq:.1f} Hz for a {span:.2f} m wingspan (Pennycuick), {speed:.1f} m/s")
    fwd = yaw_matrix(state.yaw) @ np.array([0.0, 0.0, 1.0])
    ramp = smoothstep(tau / 0.3)
    dist = np.concatenate([[0.0], np.cumsum(0.5 * (ramp[1:] + ramp[:-1]) * speed / fps)])
    pos = state.pos + np.outer(dist, fwd)
    if glide:
        ratio = float(params.get("glide_ratio", 8.0))
        pos[:, 1] -= dist / ratio
        pos[:, 1] = np.maximum(pos[:, 1], 0.0)
    else:
        climb = float(params.get("altitude_m", 1.0))
        if climb > state.pos[1]:
            pos[:, 1] = state.pos[1] + (climb - state.pos[1]) * smoothstep(tau / 0.6)
    on_ground = state.pos[1] <= 1e-6
    layer = bird_layer(ri, n, (1.0 - smoothstep(tau / 0.1)) if on_ground else np.zeros(n))   # wings open
    if glide:
        stroke = np.full(n, 8.0 * amp)
        fold = np.zeros(n)
    else:
        ph = 2 * np.pi * freq * t
        stroke = 45.0 * amp * np.sin(ph) + 5.0
        fold = np.clip(-np.cos(ph), 0.0, 1.0) * 0.35          # the hand folds on the upstroke
    _set(layer, ri, "l_shoulder", quat.multiply(_e(z=stroke), layer[:, ri.rig.index("l_shoulder")]))
    _set(layer, ri, "r_shoulder", quat.multiply(_e(z=-stroke), layer[:, ri.rig.index("r_shoulder")]))
    _set(layer, ri, "l_wrist", _e(y=60.0 * fold))
    _set(layer, ri, "r_wrist", _e(y=-60.0 * fold))
    for s in ("l_", "r_"):
        _set(layer, ri, s + "hip", _e(x=-70.0 * smoothstep(tau / 0.3)))
        _set(layer, ri, s + "knee", _e(x=-60.0 * smoothstep(tau / 0.3)))
    L = len(ri.legs)
    plan = Plan(pos, np.full(n, state.yaw), np.zeros((n, 3)), quat.identity((n,)), layer, None, None,
                np.zeros((n, L), dtype=bool), [])
    plants = np.array([pos[-1] + yaw_matrix(state.yaw) @ ri.pos(leg.end) for leg in ri.legs])
    end = State(pos[-1].copy(), state.yaw, plants, np.full(L, state.yaw), np.zeros(3), quat.identity(),
                layer[-1].copy(), state.notes)
    return plan, end


def land(ri, state, n, fps, params, notes):
    """A bird in the air comes down to the ground over ``n`` frames: gliding forward as it slows, a few braking
    beats, legs reaching down, wings folding as it touches."""
    tau = np.linspace(0.0, 1.0, n)
    t = np.arange(n) / fps
    fwd = yaw_matrix(state.yaw) @ np.array([0.0, 0.0, 1.0])
    span = wing_span(ri)
    mass, area = figures.bird_mass_area(span)
    freq = figures.flap_frequency_hz(mass, span, area)
    v = 1.5 * np.sqrt(span / 0.67) * (1.0 - tau)
    dist = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) / fps)])
    pos = state.pos + np.outer(dist, fwd)
    pos[:, 1] = state.pos[1] * (1.0 - smoothstep(tau))
    layer = bird_layer(ri, n, smoothstep((tau - 0.8) / 0.2))
    brake = 35.0 * np.sin(2 * np.pi * freq * t) * np.clip(tau * 3, 0, 1) * (1.0 - smoothstep((tau - 0.6) / 0.3))
    _set(layer, ri, "l_shoulder", quat.multiply(_e(z=brake), layer[:, ri.rig.index("l_shoulder")]))
    _set(layer, ri, "r_shoulder", quat.multiply(_e(z=-brake), layer[:, ri.rig.index("r_shoulder")]))
    for side in ("l_", "r_"):
        _set(layer, ri, side + "hip", _e(x=-70.0 * (1.0 - smoothstep(tau / 0.7))))
        _set(layer, ri, side + "knee", _e(x=-60.0 * (1.0 - smoothstep(tau / 0.7))))
    L = len(ri.legs)
    plan = Plan(pos, np.full(n, state.yaw), np.zeros((n, 3)), quat.identity((n,)), layer, None, None,
                np.zeros((n, L), dtype=bool), [])
    plants = np.array([pos[-1] + yaw_matrix(state.yaw) @ ri.pos(leg.end) for leg in ri.legs])
    notes.append(f"landed from {state.pos[1]:.2f} m before the next clip")
    end = State(pos[-1].copy(), state.yaw, plants, np.full(L, state.yaw), np.zeros(3), quat.identity(),
                layer[-1].copy(), state.notes)
    return plan, end


def flap(ri, state, n, fps, params, notes):
    return _flight(ri, state, n, fps, params, notes, glide=False)


def glide(ri, state, n, fps, params, notes):
    return _flight(ri, state, n, fps, params, notes, glide=True)


def _spine(ri: RigInfo) -> tuple[list[str], np.ndarray, float]:
    """The fish's spine joints from the root back, their distance from the snout (m), and the body length."""
    chain = ["spine_1", "spine_2", "spine_3", "spine_4", "tail_fin"]
    z = np.array([ri.pos(n)[2] for n in chain])
    snout = max(float(ri.pos("jaw")[2]) if "jaw" in ri.rig.names else float(ri.pos("head")[2]), float(z.max()))
    length = ri.leg_m
    return chain, snout - z, length


def fish_wave(ri: RigInfo, dist: np.ndarray, fps: float, params: dict, notes: list, idle: bool = False,
              envelope: np.ndarray | None = None):
    """The travelling body wave for a fish that has swum ``dist`` (n,) metres by each frame: (layer (n, J, 4),
    root offset (n, 3), root rotation (n, 4))."""
    n = dist.shape[0]
    chain, x, length = _spine(ri)
    style = params.get("style", "carangiform")
    amp_frac = float(params.get("amplitude", 0.04 if idle else 0.1))
    a = amp_frac * length
    lam = float(params.get("wavelength", 0.65 if style == "anguilliform" else 1.0)) * length
    if idle:
        speed = 0.0
    elif "speed_mps" in params or "frequency_hz" not in params:
        speed = float(params.get("speed_mps", 1.0 * length))
    else:                                                       # a tail beat given: the speed follows by Strouhal
        speed = float(params["frequency_hz"]) * 2.0 * amp_frac * length / figures.STROUHAL
    if idle or speed <= 0:
        freq = float(params.get("frequency_hz", 0.8))
        phase = np.arange(n) / fps * freq
    else:
        freq = float(params.get("frequency_hz", figures.fish_frequency_hz(speed, length, amp_frac)))
        notes.append(f"swim: {freq:.2f} Hz tail beat for {speed:.2f} m/s (Strouhal {figures.STROUHAL})")
        phase = dist * freq / speed                              # cycles: advances with the distance swum
    xn = x / length
    env = a * (np.exp(2.0 * (xn - 1.0)) if style == "anguilliform" else 0.1 + 0.9 * xn ** 2)
    fade = np.ones(n) if envelope is None else envelope
    y = env[None, :] * fade[:, None] * np.sin(2 * np.pi * (x[None, :] / lam - phase[:, None]))
    layer = np.tile(quat.identity(), (n, len(ri.rig.names), 1))
    ang = np.arctan2(np.diff(y, axis=1), np.diff(x)[None, :])           # (n, K-1) heading of each segment
    for k in range(1, len(chain) - 1):
        _set(layer, ri, chain[k], quat.from_axis_angle([0.0, 1.0, 0.0], -(ang[:, k] - ang[:, k - 1])))
    flutter = 20.0 * np.sin(2 * np.pi * 2.0 * freq * np.arange(n) / fps)
    if "l_pectoral_fin" in ri.rig.names:
        _set(layer, ri, "l_pectoral_fin", _e(z=flutter))
        _set(layer, ri, "r_pectoral_fin", _e(z=-flutter))
    off = np.zeros((n, 3))
    off[:, 0] = y[:, 0]
    rot = quat.from_axis_angle([0.0, 1.0, 0.0], -ang[:, 0])
    return layer, off, rot


def _swim(ri, state, n, fps, params, notes, idle: bool):
    length = ri.leg_m
    amp_frac = float(params.get("amplitude", 0.1))
    if idle:
        speed = 0.0
    elif "speed_mps" in params or "frequency_hz" not in params:
        speed = float(params.get("speed_mps", 1.0 * length))
    else:
        speed = float(params["frequency_hz"]) * 2.0 * amp_frac * length / figures.STROUHAL
    tau = np.linspace(0.0, 1.0, n)
    ramp = smoothstep(tau / 0.25) if speed > 0 else np.ones(n)
    fwd = yaw_matrix(state.yaw) @ np.array([0.0, 0.0, 1.0])
    v = speed * ramp
    dist = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) / fps)])
    pos = state.pos + np.outer(dist, fwd)
    layer, off, rot = fish_wave(ri, dist, fps, params, notes, idle, None if idle else np.maximum(ramp, 0.0))
    plan = Plan(pos, np.full(n, state.yaw), off, rot, layer, None, None, np.zeros((n, 0), dtype=bool), [])
    end = State(pos[-1].copy(), state.yaw, state.plants, state.plant_yaw, off[-1].copy(), rot[-1].copy(),
                layer[-1].copy(), state.notes)
    return plan, end


def swim(ri, state, n, fps, params, notes):
    return _swim(ri, state, n, fps, params, notes, idle=False)


def fish_idle(ri, state, n, fps, params, notes):
    return _swim(ri, state, n, fps, params, notes, idle=True)


QUADRUPED = {"idle": quad_idle}
BIRD = {"idle": bird_idle, "flap": flap, "glide": glide}
FISH = {"idle": fish_idle, "swim": swim}
