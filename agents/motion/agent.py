"""The ``motion`` agent (SPEC §7, §7.1): turns a ``motion`` directive ``{entity, clips: [{clip, start, end,
params?}], mirror?}`` into joint rotation keys and root motion keys on the entity (:mod:`core.motion`).

Trigger: an event (not its own) that adds or updates a motion directive, changes the shot's fps, or changes the
skeleton or keys of a character a motion directive drives (its joints, or its transform). It solves when the
directive's *solve key* — a hash of its params (without ``report`` and ``pins``), the skeleton, the shot's fps and
the keys others set on the tracks it drives and on the entity's transform — differs from the one its report
records, so its own report update, replays and retries never solve twice, and a person's new key makes it solve
again around that key.

Following a path: when every clip is a gait and the entity's own transform travels over them (keys of the path
agent, or anyone's), the gait follows that transform (:func:`core.motion.locomote`): feet are planted in the world
along it and the root is keyed relative to the moving transform; the path agent's new keys make it solve again.

Decision (pure): validate (unknown keys, clip names for the family, frames, params; an unknown or unsuitable
entity) → synthesise → bend through pins (:mod:`agents.motion.keys`) → reduce keys → build the ops → check them
on a copy of the world. The result:

- done: ``key.remove`` of its own superseded keys, ``key.set`` of the new keys and, last, a ``directive.update``
  keeping the params and adding ``report = {status: "done", solve_key, family, frames, tracks, keys, pins,
  notes, unreached_frames}``. One event holds at most ``MAX_OPS`` ops: a long motion is several events, the
  report in the last (the runtime publishes a decision's events in order);
- failed: only the ``directive.update`` with ``report = {status: "failed", reason, solve_key}`` — nothing else
  changes, and a previous solution stays as it was.
"""

from __future__ import annotations

import copy
import hashlib
import json

import numpy as np

from agents.base import Proposal, register
from core import edit
from core import ops as O
from core.attributes import joint_path
from core.motion import check_clips, locomote, synthesize
from core.motion.clipspec import LOCOMOTION
from core import tracks, transform
from core.sampling import sample
from core.motion.rigs import family_of
from core.world import World
from events.envelope import MAX_OPS, Event

from . import keys as K

__all__ = ["MotionAgent", "solve", "solve_key", "ME"]

ME = "agent:motion"
_PARAMS = {"entity", "clips", "mirror", "report", "pins"}
MAX_EVENTS = 100
"""The most events one solve may publish."""
_TIGHT = ("hips", "spine_1")
_TRANSFORM = ("transform.position", "transform.rotation")


class MotionError(ValueError):
    pass


def _entity_of(params: dict) -> str | None:
    e = params.get("entity")
    return e if isinstance(e, str) else None


def _driven_paths(world: World, eid: str) -> list[str]:
    e = world.entities.get(eid)
    if e is None or not e.props.get("skeleton"):
        return []
    names = [j["name"] for j in e.props["skeleton"]]
    roots = [j["name"] for j in e.props["skeleton"] if j["parent"] is None]
    return [f"joints.{n}.rotation" for n in names] + [f"joints.{n}.position" for n in roots]


def solve_key(world: World, did: str, params: dict) -> str:
    """The hash that decides whether a directive needs solving (see the module docstring)."""
    core_params = {k: v for k, v in params.items() if k not in ("report", "pins")}
    eid = _entity_of(params)
    e = world.entities.get(eid) if eid else None
    people = []
    if e is not None:
        for p in _driven_paths(world, eid) + list(_TRANSFORM):
            for k in e.tracks.get(p, []):
                if k.by != ME:
                    people.append([p, k.frame, k.value, k.interp, k.in_tangent, k.out_tangent])
    blob = json.dumps([did, core_params, world.fps, e.props.get("skeleton") if e else None, people],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class MotionAgent:
    name = "motion"
    generative = True

    def decide(self, world: World, event: Event, seq: int) -> list[Proposal]:
        if event.actor.kind == "agent" and event.actor.id == self.name:
            return []
        touched_dirs: set[str] = set()
        touched_ents: set[str] = set()
        for op in event.ops:
            if isinstance(op, (O.DirectiveAdd, O.DirectiveUpdate)):
                touched_dirs.add(op.id)
            elif isinstance(op, (O.KeySet, O.KeyRemove, O.TrackClear, O.TrackShift)) and (
                    joint_path(op.path) or op.path in _TRANSFORM):
                touched_ents.add(op.id)
            elif isinstance(op, O.EntitySet) and op.path in _TRANSFORM:
                touched_ents.add(op.id)
            elif isinstance(op, O.SkeletonSet):
                touched_ents.add(op.id)
            elif isinstance(op, O.ShotConfigure) and op.fps is not None:       # frames mean other times now
                touched_dirs |= {did for did, d in world.directives.items() if d.agent == self.name}
        if touched_ents:
            for did, d in world.directives.items():
                if d.agent == self.name and _entity_of(d.params) in touched_ents:
                    touched_dirs.add(did)
        out: list[Proposal] = []
        for did in sorted(touched_dirs):
            d = world.directives.get(did)
            if d is None or d.agent != self.name:
                continue
            sk = solve_key(world, did, d.params)
            report = d.params.get("report")
            if isinstance(report, dict) and report.get("solve_key") == sk:
                continue
            out.extend(solve(world, did, d.params))
        return out


def _failed(did: str, params: dict, reason: str, sk: str) -> list[Proposal]:
    new = dict(params)
    new["report"] = {"status": "failed", "reason": reason, "solve_key": sk}
    return [Proposal([O.DirectiveUpdate(id=did, params=new)], f"motion {did} failed: {reason}")]


def _validate(world: World, params: dict):
    unknown = sorted(set(params) - _PARAMS)
    if unknown:
        raise MotionError(f"unknown params keys {unknown}; a motion directive takes entity, clips, mirror")
    eid = params.get("entity")
    if not isinstance(eid, str):
        raise MotionError("params.entity must be the id of a character")
    e = world.entities.get(eid)
    if e is None:
        raise MotionError(f"params.entity: no entity {eid!r} in the shot")
    if e.kind != "character":
        raise MotionError(f"params.entity: {eid!r} is a {e.kind}, not a character")
    joints = e.props.get("skeleton")
    if not joints:
        raise MotionError(f"params.entity: {eid!r} has no skeleton (skeleton.set a template first)")
    mirror = params.get("mirror", False)
    if not isinstance(mirror, bool):
        raise MotionError(f"params.mirror must be true or false, got {mirror!r}")
    try:
        family = family_of(joints)
        clips = check_clips(family, params.get("clips"))
    except ValueError as ex:
        raise MotionError(str(ex)) from None
    return eid, e, joints, family, clips, mirror


def _span(d) -> tuple[float, float] | None:
    """The frames a motion directive covers: its report's when solved, else its clips' (None when unreadable)."""
    rep = d.params.get("report")
    if isinstance(rep, dict) and rep.get("status") == "done" and isinstance(rep.get("frames"), list):
        return float(rep["frames"][0]), float(rep["frames"][1])
    clips = d.params.get("clips")
    try:
        return float(min(c["start"] for c in clips)), float(max(c["end"] for c in clips))
    except (TypeError, KeyError, ValueError):
        return None


def _own_range(world: World, did: str, eid: str) -> tuple[tuple[float, float] | None, set[str]]:
    """Where this directive's earlier keys may be: every frame of the entity's driven tracks outside the spans of
    the other motion directives on the same entity (the directive's params may have been replaced whole, report
    included, so the world is asked, not the report)."""
    others = [s for oid, d in sorted(world.directives.items())
              if oid != did and d.agent == "motion" and _entity_of(d.params) == eid and (s := _span(d)) is not None]
    if others:
        return None, set()       # share the entity: only the new range is ours to replace
    return (-float("inf"), float("inf")), set(_driven_paths(world, eid))


_FOLLOW_MIN_M = 0.01


def _world_matrices(world: World, eid: str, frames: np.ndarray) -> np.ndarray:
    """The entity's world matrices (F, 4, 4): from its own transform when nothing else places it (no parent, not
    attached, not aiming), else by sampling the world."""
    e = world.entities[eid]
    placed = any(r.subject == eid and r.kind in ("attached_to", "look_at") for r in world.relations.values())
    if e.parent is None and not placed:
        return transform.compose(tracks.value_at(e, "transform.position", frames),
                                 tracks.value_at(e, "transform.rotation", frames))
    s = sample(world, frames)
    return s.matrices[:, s.ids.index(eid)]


def _follow(world: World, eid: str, family: str, clips: list[dict]):
    """When every clip is a gait (or a fish's swim) and the entity's own transform travels during them (a path
    agent keyed it), the gait follows that path: (frames, Motion) from :func:`core.motion.locomote` with the root
    relative to the moving transform; else None."""
    gaits = LOCOMOTION[family] | ({"swim"} if family == "fish" else set())
    if not all(c["clip"] in gaits and c["clip"] != "turn" for c in clips):
        return None
    e = world.entities[eid]
    if "transform.position" not in e.tracks and "transform.rotation" not in e.tracks:
        return None
    frames = np.arange(clips[0]["start"], clips[-1]["end"] + 1, dtype=np.float64)
    m = _world_matrices(world, eid, frames)
    pos = m[:, :3, 3]
    if np.linalg.norm(pos[:, [0, 2]] - pos[0, [0, 2]], axis=-1).max() < _FOLLOW_MIN_M:
        return None
    fwd = m[:, :3, 2]
    yaw = np.unwrap(np.arctan2(fwd[:, 0], fwd[:, 2]))
    first = clips[0]
    motion, _ = locomote(e.props["skeleton"], pos, yaw, float(world.fps), first["clip"], first["params"])
    motion.report["notes"].insert(0, f"following {eid}'s own path (its transform keys) over frames "
                                     f"{frames[0]:g}–{frames[-1]:g}")
    return frames, motion


def _tolerance(name: str, family: str, legs: set[str]) -> float:
    if name in _TIGHT or name in legs:
        return K.TOL_TIGHT_RAD
    return K.TOL_LOOSE_RAD


def solve(world: World, did: str, params: dict) -> list[Proposal]:
    """The motion of directive ``did`` as proposals (pure; see the module docstring)."""
    sk = solve_key(world, did, params)
    try:
        eid, e, joints, family, clips, mirror = _validate(world, params)
        follow = _follow(world, eid, family, clips)
        if follow is not None:
            frames, motion = follow
            if mirror:
                motion.report["notes"].append("mirror is ignored while following the entity's own path")
        else:
            frames, motion, _ = synthesize(joints, clips, float(world.fps), mirror=mirror)
    except MotionError as ex:
        return _failed(did, params, str(ex), sk)
    except ValueError as ex:
        return _failed(did, params, f"could not synthesise: {ex}", sk)
    from core.motion.rigs import info
    ri = info(joints)
    legs = {n for leg in ri.legs for n in (leg.upper, leg.mid, leg.lower, leg.end)}
    lo, hi = float(frames[0]), float(frames[-1])
    old_range, old_tracks = _own_range(world, did, eid)
    root = ri.rig.names[ri.root]
    tracks: dict[str, tuple[np.ndarray, bool, float]] = {}
    for j, name in enumerate(motion.names):
        q = motion.rotations[:, j]
        q = np.where(q[:, 3:4] < 0, -q, q)
        moving = np.abs(q - np.array([0.0, 0.0, 0.0, 1.0])).max() > 1e-9
        path = f"joints.{name}.rotation"
        if moving:
            tracks[path] = (q, True, _tolerance(name, family, legs))
    tracks[f"joints.{root}.position"] = (motion.root_position, False, K.TOL_POS_M)
    all_pins = K.pins_on(world, eid, list(tracks), lo, hi, ME)
    ops: list = []
    n_keys = 0
    e_tracks = world.entities[eid].tracks
    mine = {p for p in old_tracks if any(k.by == ME for k in e_tracks.get(p, []))}
    for path in sorted(set(tracks) | mine):
        if path not in tracks:
            ops += K.track_ops(world, eid, path, frames[:0], np.zeros((0, 4)), np.array([], dtype=int), [],
                               old_range, (lo, hi), ME)
            continue
        values, is_quat, tol = tracks[path]
        pins = [p for p in all_pins if p.path == path]
        values = K.apply_pins(values, frames, pins, is_quat, float(world.fps))
        keep = K.reduce_track(values, is_quat, tol)
        t_ops = K.track_ops(world, eid, path, frames, values, keep, pins, old_range, (lo, hi), ME)
        n_keys += sum(isinstance(o, O.KeySet) for o in t_ops)
        ops += t_ops
    if len(ops) > MAX_EVENTS * (MAX_OPS - 1):
        return _failed(did, params, f"the motion needs {len(ops)} key ops, more than {MAX_EVENTS} events hold; "
                                    "split it into several directives", sk)
    report = {
        "status": "done", "solve_key": sk, "family": family, "frames": [lo, hi], "tracks": sorted(tracks),
        "keys": n_keys, "pins": [p.to_json() for p in all_pins], "notes": motion.report["notes"],
        "unreached_frames": int(motion.unreached.any(axis=1).sum()) if motion.unreached.size else 0,
        "clips": [{"clip": c["asked"], "start": c["start"], "end": c["end"]} for c in clips],
    }
    if mirror:
        report["mirrored"] = True
    new = dict(params)
    new["report"] = report
    final = O.DirectiveUpdate(id=did, params=new)
    try:
        w = _just(world, eid, did)
        chunks = _chunks(ops)
        for c in chunks[:-1]:
            edit.apply(w, c, ME)
        edit.apply(w, chunks[-1] + [final], ME)
    except edit.OpError as ex:
        return _failed(did, params, f"the motion's ops do not apply: {ex}", sk)
    chunks[-1] = chunks[-1] + [final]
    n = len(chunks)
    what = f"motion {did}: {len(clips)} clip(s) on {eid} ({family}), {n_keys} keys over frames {lo:g}–{hi:g}"
    if all_pins:
        what += f", around {len(all_pins)} pin(s)"
    return [Proposal(c, what if n == 1 else f"{what} (part {i + 1} of {n})") for i, c in enumerate(chunks)]


def _just(world: World, eid: str, did: str) -> World:
    """A copy of the shot holding only what the motion's ops touch (the entity and the directive), to check them
    on without copying every other character's keys."""
    w = World(world.project, world.shot, world.name, world.fps, world.frame_start, world.frame_end,
              world.resolution, dict(world.agents), world.head_seq)
    w.entities[eid] = copy.deepcopy(world.entities[eid])
    w.directives[did] = copy.deepcopy(world.directives[did])
    return w


def _chunks(ops: list, size: int = MAX_OPS - 1) -> list[list]:
    """Ops in events of at most ``size`` (the last leaves room for the report)."""
    if not ops:
        return [[]]
    return [ops[i:i + size] for i in range(0, len(ops), size)]


@register("motion")
def _make() -> MotionAgent:
    return MotionAgent()
