"""BVH import: a motion-capture file retargeted onto a character of the same family (issue 14, item 5).

:func:`parse` (:mod:`renderers.export.bvh_read`) reads the file with the conventions :mod:`renderers.export.bvh`
writes.

:func:`retarget` puts the file's motion on a target skeleton through the rest pose. File joints are matched to
target joints by name (exactly, then case-insensitively without a ``prefix:``, then through the usual mocap names
— ``Hips``, ``LeftUpLeg``, ``LeftForeArm`` …, see ``ALIASES``). For a matched joint the target's world rotation is
the file joint's world rotation times ``C · G_rest``: ``G_rest`` is the target joint's rest world rotation and ``C``
turns the target's rest bone (towards its one matched child) onto the file's rest bone, so a file recorded in
another rest pose (arms down rather than a T-pose) still drives the bones the same way; unmatched target joints
keep their rest pose relative to their parent. The root's path is scaled by the ratio of leg lengths (the root's
rest height above the lowest joint), so a taller character takes longer steps on the same beat. **Feet are
re-pinned**: wherever a file foot is planted (low and slow), the target's foot is put by two-bone IK exactly where
the scaled file foot is, which the rotations alone miss when the limbs' proportions differ.

:func:`bvh_ops` makes the keys: ``joints.<j>.rotation`` (and ``joints.<root>.position``) per file frame, linear,
the file's frame ``i`` landing on shot frame ``start + i · frame_time · fps``; the tracks it writes are cleared
first. A file of another family, or one matching too few joints, is refused with :class:`BvhError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import families, kinematics, quat, twobone

from .bvh_read import MAX_FRAMES, Bvh, BvhError, parse

__all__ = ["Bvh", "BvhError", "Retarget", "parse", "retarget", "bvh_ops", "match_joints", "ALIASES", "MAX_FRAMES"]

CONTACT_HEIGHT = 0.06   # × leg length above the foot's lowest point: planted
CONTACT_SPEED = 0.6     # × leg length per second: planted
PIN_TOL_M = 1e-9        # a foot this near its pin is not moved (an import onto the same skeleton stays exact)

ALIASES = {
    "hips": "hips", "pelvis": "hips", "root": "hips", "spine": "spine", "spine1": "chest", "chest": "chest",
    "spine2": "chest", "neck": "neck", "head": "head", "headend": "head_top", "head_end": "head_top",
    "leftshoulder": "l_clavicle", "leftarm": "l_shoulder", "leftupperarm": "l_shoulder",
    "leftforearm": "l_elbow", "leftlowerarm": "l_elbow", "lefthand": "l_wrist",
    "rightshoulder": "r_clavicle", "rightarm": "r_shoulder", "rightupperarm": "r_shoulder",
    "rightforearm": "r_elbow", "rightlowerarm": "r_elbow", "righthand": "r_wrist",
    "leftupleg": "l_hip", "leftthigh": "l_hip", "leftupperleg": "l_hip", "leftleg": "l_knee", "leftshin": "l_knee",
    "leftlowerleg": "l_knee", "leftfoot": "l_ankle", "lefttoebase": "l_toe", "lefttoe": "l_toe",
    "rightupleg": "r_hip", "rightthigh": "r_hip", "rightupperleg": "r_hip", "rightleg": "r_knee",
    "rightshin": "r_knee", "rightlowerleg": "r_knee", "rightfoot": "r_ankle", "righttoebase": "r_toe",
    "righttoe": "r_toe",
}
"""Common mocap joint names (lower case, no ``prefix:``) → biped template joints."""

FEET = ("l_ankle", "r_ankle", "l_front_paw", "r_front_paw", "l_hind_paw", "r_hind_paw", "l_toe", "r_toe")


def _key(name: str) -> str:
    return name.split(":")[-1].lower()


def match_joints(source: tuple[str, ...], target: tuple[str, ...]) -> dict[int, int]:
    """Target joint index → file joint index, by name (exact, case-insensitive without a ``prefix:``, aliases)."""
    exact = {n: i for i, n in enumerate(source)}
    loose: dict[str, int] = {}
    for i, n in enumerate(source):
        loose.setdefault(_key(n), i)
        alias = ALIASES.get(_key(n))
        if alias is not None:
            loose.setdefault(alias, i)
    out = {}
    for t, name in enumerate(target):
        s = exact.get(name)
        if s is None:
            s = loose.get(name.lower())
        if s is not None:
            out[t] = s
    return out


def _world_rotations(parents: np.ndarray, rest: np.ndarray, local: np.ndarray) -> np.ndarray:
    """World rotations (F, J, 4) from local animated rotations (F, J, 4) and rest rotations (J, 4)."""
    out = np.empty_like(local)
    for j, p in enumerate(parents):
        lr = quat.multiply(rest[j], local[:, j])
        out[:, j] = lr if p < 0 else quat.multiply(out[:, p], lr)
    return out


def _leg_length(positions: np.ndarray, root: int) -> float:
    """The root's rest height above the lowest joint (the feet); the skeleton's height when that is zero."""
    y = positions[:, 1]
    leg = float(y[root] - y.min())
    return leg if leg > 1e-6 else float(y.max() - y.min())


@dataclass
class Retarget:
    rotations: np.ndarray          # (F, J) target animated local rotations
    root_translation: np.ndarray   # (F, 3) joints.<root>.position
    matched: dict[str, str]        # target joint → file joint
    scale: float                   # leg length ratio target / file
    report: dict


def retarget(b: Bvh, joints: list[dict]) -> Retarget:
    """Put the file's motion on a target skeleton (normalised joints); see the module docstring."""
    r = kinematics.rig(joints)
    roots = [int(j) for j in r.roots]
    if len(roots) != 1:
        raise BvhError("retargeting needs a skeleton with one root", "entity")
    root = roots[0]
    match = match_joints(b.names, r.names)
    if root not in match or match[root] != 0:
        raise BvhError(f"the file's root {b.names[0]!r} does not match the character's root {r.names[root]!r}",
                       "file")
    n_f = b.motion.shape[0]
    s_local, s_trans = b.locals()
    s_ident = quat.identity((len(b.names),))
    s_rest_pos = kinematics.forward_kinematics(b.parents, b.offsets, s_ident)[:, :3, 3]
    s_glob = kinematics.forward_kinematics(b.parents, np.zeros_like(b.offsets), s_ident, s_local, s_trans)
    s_world = quat.from_matrix(s_glob[..., :3, :3])                          # (F, Js, 4)
    t_rest = kinematics.forward(r)                                           # (J, 4, 4)
    t_rest_pos = t_rest[:, :3, 3]
    t_rest_rot = _world_rotations(r.parents, r.rest, quat.identity((1, len(r.names))))[0]
    k = _leg_length(t_rest_pos, root) / _leg_length(s_rest_pos, 0)
    children = {j: [c for c in range(len(r.names)) if r.parents[c] == j and c in match] for j in match}
    t_world = np.empty((n_f, len(r.names), 4))
    for j in range(len(r.names)):
        p = int(r.parents[j])
        if j in match:
            c = quat.identity()
            if len(children[j]) == 1:
                ch = children[j][0]
                t_dir = t_rest_pos[ch] - t_rest_pos[j]
                s_dir = s_rest_pos[match[ch]] - s_rest_pos[match[j]]
                if np.linalg.norm(t_dir) > 1e-9 and np.linalg.norm(s_dir) > 1e-9:
                    c = twobone.rotation_between(t_dir, s_dir)
            t_world[:, j] = quat.multiply(s_world[:, match[j]], quat.multiply(c, t_rest_rot[j]))
        else:
            t_world[:, j] = r.rest[j] if p < 0 else quat.multiply(t_world[:, p], r.rest[j])
    root_pos = k * s_glob[:, 0, :3, 3]
    local = _locals(r, t_world)
    local, pins = _repin(r, match, local, root_pos, k * s_glob[..., :3, 3], b, k)
    matched = {r.names[t]: b.names[s] for t, s in sorted(match.items())}
    report = {"frames": n_f, "matched": len(matched), "unmatched": [n for i, n in enumerate(r.names)
                                                                    if i not in match],
              "leg_scale": round(k, 6), "feet": pins}
    return Retarget(local, root_pos - r.offsets[root], matched, k, report)


def _locals(r, world: np.ndarray) -> np.ndarray:
    """Animated local rotations (F, J, 4) giving world rotations ``world`` (F, J, 4)."""
    out = np.empty_like(world)
    for j, p in enumerate(r.parents):
        parent = quat.identity() if p < 0 else quat.conjugate(world[:, p])
        out[:, j] = quat.multiply(quat.conjugate(r.rest[j]), quat.multiply(parent, world[:, j]))
    return quat.normalize(out)


def _planted(pos: np.ndarray, leg: float, frame_time: float) -> np.ndarray:
    """(F,) whether a foot at positions (F, 3) is planted: low (near its lowest point) and slow."""
    low = pos[:, 1] - pos[:, 1].min() <= CONTACT_HEIGHT * leg
    if len(pos) < 2:
        return low
    v = np.linalg.norm(np.diff(pos[:, [0, 2]], axis=0), axis=1) / frame_time
    speed = np.concatenate([[v[0]], np.maximum(v[:-1], v[1:]), [v[-1]]])
    return low & (speed <= CONTACT_SPEED * leg)


def _repin(r, match, local, root_pos, goals_all, b: Bvh, k: float):
    """Two-bone IK on each matched foot's chain at the frames the file's foot is planted, onto the scaled file
    foot. Returns the new locals and ``{foot: {planted, moved_max_m, unreachable}}``."""
    root = int(r.roots[0])
    trans = np.zeros(local.shape[:2] + (3,))
    trans[:, root] = root_pos - r.offsets[root]
    s_leg = _leg_length(kinematics.forward_kinematics(b.parents, b.offsets, quat.identity((len(b.names),)))
                        [:, :3, 3], 0)
    out = {}
    for foot in FEET:
        if foot not in r.names:
            continue
        f = r.names.index(foot)
        p = int(r.parents[f])
        g = int(r.parents[p]) if p >= 0 else -1
        if f not in match or p < 0 or g < 0:
            continue
        goal = goals_all[:, match[f]]
        planted = _planted(goal / k, s_leg, b.frame_time)
        if not planted.any():
            out[foot] = {"planted": 0, "moved_max_m": 0.0, "unreachable": 0}
            continue
        idx = np.flatnonzero(planted)
        glob = kinematics.forward(r, local[idx], trans[idx])                     # (n, J, 4, 4)
        world = _world_rotations(r.parents, r.rest, local[idx])
        off = np.linalg.norm(glob[:, f, :3, 3] - goal[idx], axis=1) > PIN_TOL_M   # already there: left alone
        idx, glob, world = idx[off], glob[off], world[off]
        if not len(idx):
            out[foot] = {"planted": int(planted.sum()), "moved_max_m": 0.0, "unreachable": 0}
            continue
        ik = twobone.solve(glob[:, g, :3, 3], glob[:, p, :3, 3], glob[:, f, :3, 3], goal[idx])
        moved = np.linalg.norm(glob[:, f, :3, 3] - ik.end, axis=1)
        wg = quat.multiply(ik.ra, world[:, g])
        wp = quat.multiply(ik.rb, quat.multiply(ik.ra, world[:, p]))
        gp = int(r.parents[g])
        parent_g = quat.identity((len(idx),)) if gp < 0 else world[:, gp]
        new = local.copy()
        new[idx, g] = quat.multiply(quat.conjugate(r.rest[g]), quat.multiply(quat.conjugate(parent_g), wg))
        new[idx, p] = quat.multiply(quat.conjugate(r.rest[p]), quat.multiply(quat.conjugate(wg), wp))
        new[idx, f] = quat.multiply(quat.conjugate(r.rest[f]), quat.multiply(quat.conjugate(wp), world[:, f]))
        local = quat.normalize(new)
        out[foot] = {"planted": int(planted.sum()), "moved_max_m": round(float(moved.max()), 6),
                     "unreachable": int((~ik.reached).sum())}
    return local, out


def bvh_ops(world, eid: str, text: str, start: float | None = None) -> tuple[list, dict]:
    """Ops that key ``eid`` with the file's motion from frame ``start`` (default: the shot's first frame), and the
    report; raises BvhError for a file that cannot go on that character."""
    from core import ops as O

    e = world.entities.get(eid)
    if e is None:
        raise BvhError(f"no entity {eid!r}", "entity")
    if e.kind != "character" or not e.joints:
        raise BvhError(f"{eid!r} is not a character with a skeleton", "entity")
    b = parse(text)
    target_family = families.family_of(j["name"] for j in e.joints)
    match = match_joints(b.names, tuple(j["name"] for j in e.joints))
    file_family = families.family_of({n for name in b.names for n in (name, _key(name), ALIASES.get(_key(name)))
                                      if n})
    if file_family != target_family:
        raise BvhError(f"the file's skeleton is not a {target_family} like {eid!r} (it reads as {file_family}); "
                       "retargeting works within a family", "file")
    if len(match) < max(2, len(e.joints) // 2):
        raise BvhError(f"only {len(match)} of {eid!r}'s {len(e.joints)} joints match the file's "
                       f"({', '.join(b.names[:8])}…)", "file")
    rt = retarget(b, e.joints)
    start = float(world.frame_start if start is None else start)
    frames = [float(round(start + i * b.frame_time * world.fps, 6)) for i in range(b.motion.shape[0])]
    root = next(j["name"] for j in e.joints if j["parent"] is None)
    ops: list = []
    names = [j["name"] for j in e.joints]

    def put(path: str, values: np.ndarray) -> None:
        if path in e.tracks:
            ops.append(O.TrackClear(id=eid, path=path))
        const = bool(np.all(np.abs(values - values[:1]) <= 1e-12))
        for f, v in zip(frames[:1] if const else frames, values[:1] if const else values):
            ops.append(O.KeySet(id=eid, path=path, frame=f, value=[float(round(x, 12)) + 0.0 for x in v],
                                interp="linear"))

    for j, name in enumerate(names):
        q = rt.rotations[:, j]
        if name not in rt.matched and np.allclose(q, [0.0, 0.0, 0.0, 1.0], atol=1e-12):
            continue
        q = np.where(q[:, 3:] < 0, -q, q)                    # one hemisphere: keys read back as written
        put(f"joints.{name}.rotation", q)
    put(f"joints.{root}.position", rt.root_translation)
    return ops, dict(rt.report, first_frame=frames[0], last_frame=frames[-1])
