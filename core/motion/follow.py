"""A gait along a path someone else planned (the path agent): :func:`locomote`."""

from __future__ import annotations

import numpy as np

from .. import quat
from . import creatures, figures
from .locomotion import State, gait_track, legs_from_path, lower_for_reach, pelvis_from_phase, rest_state
from .pose import Motion, Plan, solve, yaw_matrix, yaw_quat
from .rigs import info
from .synth import _gait_layer, base_layer

__all__ = ["locomote"]


def locomote(joints: list[dict], positions, yaw, fps: float, clip: str = "walk", params: dict | None = None,
             state: State | None = None, root_travel: bool = False) -> tuple[Motion, State]:
    """Gait along a given path (for the path agent): the body stands on ``positions`` (F, 3) facing ``yaw`` (F,)
    (radians about +Y, 0 = +Z), in the frame the entity's transform lives in.

    The gait (``clip``: a legged gait of the family, ``swim`` for a fish) runs at the path's own speed (its mean
    while moving, or ``params.speed_mps``), switching walk ↔ run by Froude number; the phase advances with the
    distance travelled (and turning), feet are planted in that frame and legs placed by IK; the motion stops with
    every foot planted when the path ends at rest. ``state`` (the previous call's end state) continues the foot
    plants.

    ``root_travel=False``: the caller puts the entity transform at (positions[f], yaw[f]); the returned root
    rotation and ``root_position`` are relative to it. ``root_travel=True``: the entity stays at the origin
    (identity transform) and the root carries the travel. Returns (Motion, end State).
    """
    params = dict(params or {})
    ri = info(joints)
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    yw = np.asarray(yaw, dtype=np.float64).reshape(-1)
    if pos.shape[0] != yw.shape[0] or pos.shape[0] < 2:
        raise ValueError(f"positions (F, 3) and yaw (F,) must have the same F ≥ 2, got {pos.shape} and {yw.shape}")
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(yw))):
        raise ValueError("positions and yaw must be finite")
    n = pos.shape[0]
    step = np.linalg.norm(np.diff(pos[:, [0, 2]], axis=0), axis=-1) * fps
    speed = np.concatenate([[step[0]], 0.5 * (step[1:] + step[:-1]), [step[-1]]]) if n > 2 else np.r_[step, step]
    moving = speed > 1e-3
    notes: list[str] = []
    if ri.family == "fish":
        dist = np.concatenate([[0.0], np.cumsum(step / fps)])
        cruise = float(params.get("speed_mps", speed[moving].mean() if moving.any() else 0.0))
        fp = dict(params, speed_mps=max(cruise, 1e-6))
        layer, off, rot = creatures.fish_wave(ri, dist, fps, fp, notes, idle=not moving.any())
        plan = Plan(pos, yw, off, rot, layer, None, None, np.zeros((n, 0), dtype=bool), [])
        rotations, trans, unreached = solve(ri, plan)
        feet, contacts = np.zeros((n, 0, 3)), np.zeros((n, 0), dtype=bool)
        end = state or rest_state(ri, layer[-1])
    else:
        cruise = float(params.get("speed_mps", speed[moving].mean() if moving.any() else 0.0))
        g = figures.gait_for(ri.family, clip, ri.leg_m, max(cruise, 1e-3), params.get("stride_m"))
        notes.append(f"{clip} at {g.speed_mps:.2f} m/s (Froude {g.froude:.2f}): {g.name}")
        gt = gait_track([(n, g, float(params.get("amplitude", 1.0)))], fps)
        if state is None:
            state = rest_state(ri, base_layer(ri, 1)[0])
            rest = np.array([ri.pos(leg.end) for leg in ri.legs])
            state.plants = pos[0] + rest @ yaw_matrix(yw[0]).T
            state.plant_yaw = np.full(len(ri.legs), yw[0])
        landing = np.zeros((n, len(ri.legs)), dtype=bool)
        feet, fyaw, contacts, phase = legs_from_path(ri, pos, yw, speed, gt, fps, state,
                                                     stop_at_end=bool(speed[-1] < 1e-3), landing=landing)
        env = np.clip(speed / max(g.speed_mps, 1e-9), 0.0, 1.0)
        off, rot = pelvis_from_phase(ri, phase, gt, env)
        layer = _gait_layer(ri, phase, env, gt)
        plan = Plan(pos, yw, off, rot, layer, feet, fyaw, contacts, [])
        plan.reach_mask = contacts | (landing if ri.family == "biped" else False)
        plan.pelvis_off[:, 1] -= lower_for_reach(ri, plan, fps)
        rotations, trans, unreached = solve(ri, plan)
        end = State(pos[-1].copy(), float(yw[-1]), feet[-1].copy(), fyaw[-1].copy(), off[-1].copy(),
                    rot[-1].copy(), layer[-1].copy(), [])
    if not root_travel:
        # express the root relative to an entity transform standing at (positions[f], yaw[f])
        r = ri.rig
        root = ri.root
        rest_off = r.offsets[root]
        world_pos = trans + rest_off
        inv = np.swapaxes(yaw_matrix(yw), -1, -2)
        trans = np.einsum("fij,fj->fi", inv, world_pos - pos) - rest_off
        q_glob = quat.multiply(r.rest[root], rotations[:, root])
        q_loc = quat.multiply(quat.conjugate(yaw_quat(yw)), q_glob)
        rotations[:, root] = quat.multiply(quat.conjugate(r.rest[root]), q_loc)
    if unreached.any():
        notes.append(f"a leg could not reach its plant on {int(unreached.any(axis=1).sum())} frame(s)")
    return Motion(ri.rig.names, rotations, trans, contacts, feet, unreached,
                  {"family": ri.family, "notes": notes, "legs": len(ri.legs)}), end
