"""Clips → joint motion: sequence a directive's clips, blend each into the next, mirror.

Each clip starts where the previous one left the character (:class:`~core.motion.locomotion.State`: body place
and heading, foot plants), so the root never jumps and a planted foot stays planted across a boundary; the pelvis
offset, its rotation and the layer rotations cross-fade from the previous clip's last pose over 0.25 s (no pop).
Legged gaits that touch in time (walk then run) are one continuous stride sequence whose speed, duty factor and
phase offsets blend at the boundary. Between clips that do not touch, the character holds its last pose. After
sequencing, the pelvis comes down wherever a leg could not reach its plant, and the legs are solved by IK.

``mirror`` reflects the result across the character's own YZ plane: left and right joints swap, rotations are
reflected (``[x, −y, −z, w]``) and root motion's X is negated.
"""

from __future__ import annotations

import numpy as np

from .. import quat
from . import biped, creatures, figures
from .clipspec import LOCOMOTION
from .locomotion import (State, _smooth, body_path, gait_track, legs_from_path, lower_for_reach,
                         pelvis_from_phase, rest_state)
from .pose import Motion, Plan, Reach, smoothstep, solve
from .rigs import RigInfo, info

__all__ = ["synthesize", "base_layer", "mirror_motion", "BLEND_S"]

BLEND_S = 0.25

_ACTIONS = {"biped": biped.CLIPS, "quadruped": creatures.QUADRUPED, "bird": creatures.BIRD, "fish": creatures.FISH}


def base_layer(ri: RigInfo, n: int) -> np.ndarray:
    if ri.family == "biped":
        return biped.relaxed_layer(ri, n)
    if ri.family == "bird":
        return creatures.bird_layer(ri, n, np.ones(n))
    return np.tile(quat.identity(), (n, len(ri.rig.names), 1))


def _hold(ri: RigInfo, state: State, n: int) -> Plan:
    plan = biped.static_plan(ri, state, n, np.tile(state.layer, (n, 1, 1)))
    plan.pelvis_off[:] = state.pelvis_off
    plan.pelvis_rot[:] = state.pelvis_rot
    if state.pos[1] > 1e-6 and ri.family in ("bird",):      # hovering where the flight ended: no leg IK
        plan.leg_ik = np.zeros(n, dtype=bool)
    return plan


def _gait_layer(ri: RigInfo, phase, envelope, gt) -> np.ndarray:
    n = phase.shape[0]
    if ri.family == "biped":
        return biped.arm_swing(ri, phase, envelope, gt.amplitude, (gt.bob < 0).astype(float))
    layer = base_layer(ri, n)
    if ri.family == "quadruped":
        flex = np.where(np.array([g in ("gallop", "bound", "canter") for g in gt.names]), 8.0, 2.0) * envelope
        c = np.cos(2 * np.pi * phase)
        layer[:, ri.rig.index("spine")] = quat.from_euler_deg(np.stack([flex * c, 0 * c, 0 * c], -1))
        layer[:, ri.rig.index("neck")] = quat.from_euler_deg(np.stack([-flex * c, 0 * c, 0 * c], -1))
        layer[:, ri.rig.index("tail_1")] = quat.from_euler_deg(np.stack([10 + 0 * c, 10 * np.sin(2 * np.pi * phase)
                                                                         * envelope, 0 * c], -1))
    elif ri.family == "bird":
        bob = 12.0 * np.sin(4 * np.pi * phase) * envelope             # the head bobs with each step
        layer[:, ri.rig.index("neck")] = quat.from_euler_deg(np.stack([bob, 0 * bob, 0 * bob], -1))
    return layer


def _legged(ri: RigInfo, group: list[dict], n_total: int, fps: float, state: State, notes: list):
    """One continuous stride sequence over the clips of ``group`` (legged gaits touching in time)."""
    pieces, cruise, turn = [], [], []
    spent = 0
    total_turn = 0.0
    lengths = [c["end"] - c["start"] for c in group[:-1]]
    excess = sum(lengths) + 1 - n_total                  # frames taken by a landing before the group: from the front
    for k in range(len(lengths)):
        cut = min(excess, lengths[k] - 1) if excess > 0 else 0
        lengths[k] -= cut
        excess -= cut
    for k, c in enumerate(group):
        n = lengths[k] if k < len(group) - 1 else n_total - spent
        spent += n
        p = c["params"]
        if c["clip"] == "turn":
            g = figures.gait_for(ri.family if ri.family != "bird" else "bird", "walk", ri.leg_m)
            g = figures.Gait(g.name, g.offsets, g.duty, 0.0, g.stride_m, 0.0, g.bob_m, g.sway_m, g.lift_m, g.flight)
            ang = np.radians(float(p.get("degrees", 90.0)))
        else:
            g = figures.gait_for(ri.family, c["clip"], ri.leg_m, p.get("speed_mps"), p.get("stride_m"))
            ang = np.radians(float(p.get("turn_deg", 0.0)))
            said = f"{c['asked']} at {g.speed_mps:.2f} m/s (Froude {g.froude:.2f})"
            notes.append(said + (f": {g.name}, stride {g.stride_m:.2f} m, duty {g.duty:.2f}" if g.name == c["clip"]
                                 else f" is a {g.name} for this animal, stride {g.stride_m:.2f} m"))
        pieces.append((n, g, float(p.get("amplitude", 1.0))))
        cruise.append(np.full(n, g.speed_mps))
        turn.append(total_turn + ang * smoothstep(np.linspace(0.0, 1.0, n)))
        total_turn += ang
    gt = gait_track(pieces, fps)
    t = np.arange(n_total) / fps
    T = t[-1] if n_total > 1 else 0.0
    w = max(1, int(round(0.3 * fps)))
    v = _smooth(np.concatenate(cruise), w)
    acc = min(0.5 * np.sqrt(ri.leg_m / 0.9) + 0.2, T / 3.0) if T > 0 else 1.0
    v = v * smoothstep(t / max(acc, 1e-9)) * smoothstep((T - t) / max(acc, 1e-9))
    pos, yaw = body_path(state.pos, state.yaw, v, np.concatenate(turn), fps)
    landing = np.zeros((n_total, len(ri.legs)), dtype=bool)
    feet, fyaw, contacts, phase = legs_from_path(ri, pos, yaw, v, gt, fps, state, stop_at_end=True, landing=landing)
    env = np.clip(v / np.maximum(gt.cruise, 1e-9), 0.0, 1.0)
    off, rot = pelvis_from_phase(ri, phase, gt, env)
    layer = _gait_layer(ri, phase, env, gt)
    plan = Plan(pos, yaw, off, rot, layer, feet, fyaw, contacts, [])
    plan.reach_mask = contacts | (landing if ri.family == "biped" else False)
    end = State(pos[-1].copy(), float(yaw[-1]), feet[-1].copy(), fyaw[-1].copy(), off[-1].copy(), rot[-1].copy(),
                layer[-1].copy(), state.notes)
    return plan, end


def _blend_in(plan: Plan, state: State, fps: float) -> None:
    """Cross-fade the start of ``plan``'s pelvis and layer from ``state``'s last pose."""
    n = plan.frames
    wb = min(int(round(BLEND_S * fps)), max(n - 1, 0))
    if wb <= 0:
        return
    w = smoothstep(np.arange(1, wb + 1) / (wb + 1))
    plan.pelvis_off[:wb] = state.pelvis_off + (plan.pelvis_off[:wb] - state.pelvis_off) * w[:, None]
    plan.pelvis_rot[:wb] = quat.slerp(np.broadcast_to(state.pelvis_rot, (wb, 4)), plan.pelvis_rot[:wb], w)
    nj = plan.layer.shape[1]
    plan.layer[:wb] = quat.slerp(np.broadcast_to(state.layer, (wb, nj, 4)), plan.layer[:wb],
                                 np.broadcast_to(w[:, None], (wb, nj)))


def _concat(plans: list[Plan], legged: bool) -> Plan:
    cat = lambda f: np.concatenate([f(p) for p in plans], axis=0)  # noqa: E731
    reaches = []
    if any(p.reaches for p in plans):
        # each clip's reaches apply to its own frames; elsewhere their weight is 0
        total = sum(p.frames for p in plans)
        at = 0
        for p in plans:
            for rc in p.reaches or []:
                tgt = np.zeros((total, 3))
                wt = np.zeros(total)
                tgt[at:at + p.frames] = rc.target
                wt[at:at + p.frames] = rc.weight
                tgt[:at] = rc.target[0]
                tgt[at + p.frames:] = rc.target[-1]
                reaches.append(Reach(rc.upper, rc.mid, rc.lower, rc.pole, tgt, wt, rc.bend))
            at += p.frames
    out = Plan(cat(lambda p: p.body_pos), cat(lambda p: p.body_yaw), cat(lambda p: p.pelvis_off),
               cat(lambda p: p.pelvis_rot), cat(lambda p: p.layer),
               cat(lambda p: p.feet) if legged else None, cat(lambda p: p.foot_yaw) if legged else None,
               cat(lambda p: p.contacts) if legged else None, reaches)
    out.leg_ik = cat(lambda p: p.leg_ik if getattr(p, "leg_ik", None) is not None else
                     np.full(p.frames, p.feet is not None)) if legged else None
    out.reach_mask = cat(lambda p: p.reach_mask if p.reach_mask is not None else p.contacts) if legged else None
    return out


def _fill_feet(ri: RigInfo, plan: Plan, state_after: State) -> None:
    """A plan without leg targets (a bird in flight) gets its end plants as targets, unused (leg_ik False)."""
    if plan.feet is None and ri.legs:
        n = plan.frames
        plan.feet = np.tile(state_after.plants, (n, 1, 1))
        plan.foot_yaw = np.tile(state_after.plant_yaw, (n, 1))
        plan.contacts = np.zeros((n, len(ri.legs)), dtype=bool)
        plan.leg_ik = np.zeros(n, dtype=bool)


def synthesize(joints: list[dict], clips: list[dict], fps: float, mirror: bool = False,
               state: State | None = None) -> tuple[np.ndarray, Motion, State]:
    """Motion for normalised ``clips`` (:func:`core.motion.clipspec.check_clips`) on a skeleton.

    Returns (frames (F,) — every whole frame from the first clip's start to the last clip's end —, the
    :class:`~core.motion.pose.Motion`, the end state)."""
    ri = info(joints)
    fam = ri.family
    legged = bool(ri.legs)
    start_frame, end_frame = clips[0]["start"], clips[-1]["end"]
    frames = np.arange(start_frame, end_frame + 1, dtype=np.float64)
    state = state or rest_state(ri, base_layer(ri, 1)[0])
    notes: list[str] = []
    plans: list[Plan] = []
    cursor = start_frame
    i = 0
    while i < len(clips):
        c = clips[i]
        if c["start"] > cursor:
            plans.append(_hold(ri, state, c["start"] - cursor))
            cursor = c["start"]
        group = [c]
        if c["clip"] in LOCOMOTION[fam]:
            while i + 1 < len(clips) and clips[i + 1]["clip"] in LOCOMOTION[fam] and \
                    clips[i + 1]["start"] == group[-1]["end"]:
                i += 1
                group.append(clips[i])
        last = i == len(clips) - 1
        n = group[-1]["end"] - group[0]["start"] + (1 if last else 0)
        if fam == "bird" and state.pos[1] > 1e-6 and c["clip"] not in ("flap", "glide") and n > 3:
            k = max(2, min(int(0.4 * n), int(round(fps))))             # first come down to the ground
            plan, after = creatures.land(ri, state, k, fps, {}, notes)
            _blend_in(plan, state, fps)
            _fill_feet(ri, plan, after)
            plans.append(plan)
            state = after
            n -= k
        if c["clip"] in LOCOMOTION[fam]:
            plan, after = _legged(ri, group, n, fps, state, notes)
        else:
            plan, after = _ACTIONS[fam][c["clip"]](ri, state, n, fps, c["params"], notes)
            if c["asked"] != c["clip"]:
                notes.append(f"{c['asked']} on a {fam} is {c['clip']}")
        if plans or state is not None:
            _blend_in(plan, state, fps)
        _fill_feet(ri, plan, after)
        after.pelvis_off, after.pelvis_rot, after.layer = (plan.pelvis_off[-1].copy(), plan.pelvis_rot[-1].copy(),
                                                           plan.layer[-1].copy())
        plans.append(plan)
        state = after
        cursor = group[-1]["end"] + (1 if last else 0)
        i += 1
    plan = _concat(plans, legged)
    if legged:
        mask = plan.leg_ik
        low = lower_for_reach(ri, plan, fps, mask=mask)
        plan.pelvis_off[:, 1] -= np.where(mask, low, 0.0)
    rot, trans, unreached = solve(ri, plan)
    if legged:
        keep = ~plan.leg_ik
        for leg in ri.legs:
            for name in (leg.upper, leg.mid, leg.lower):
                j = ri.rig.index(name)
                rot[keep, j] = plan.layer[keep, j]
        unreached &= plan.leg_ik[:, None]
    L = len(ri.legs)
    feet = plan.feet if legged else np.zeros((len(frames), 0, 3))
    contacts = plan.contacts if legged else np.zeros((len(frames), 0), dtype=bool)
    if unreached.any():
        notes.append(f"a leg could not reach its plant on {int(unreached.any(axis=1).sum())} frame(s)")
    motion = Motion(ri.rig.names, rot, trans, contacts, feet, unreached, {"family": fam, "notes": notes,
                                                                          "legs": L})
    if mirror:
        motion = mirror_motion(motion)
    return frames, motion, state


def mirror_motion(m: Motion) -> Motion:
    """Reflect a motion across the character's YZ plane (left ↔ right)."""
    names = list(m.names)
    where = {n: i for i, n in enumerate(names)}
    perm = [where.get(("r_" + n[2:]) if n.startswith("l_") else ("l_" + n[2:]) if n.startswith("r_") else n, i)
            for i, n in enumerate(names)]
    rot = m.rotations[:, perm] * np.array([1.0, -1.0, -1.0, 1.0])
    trans = m.root_position * np.array([-1.0, 1.0, 1.0])
    L = m.contacts.shape[1]
    legs = [k ^ 1 for k in range(L)]                      # legs come in (left, right) pairs
    feet = m.feet[:, legs] * np.array([-1.0, 1.0, 1.0]) if L else m.feet
    return Motion(m.names, rot, trans, m.contacts[:, legs] if L else m.contacts, feet,
                  m.unreached[:, legs] if L else m.unreached, dict(m.report, mirrored=True))

