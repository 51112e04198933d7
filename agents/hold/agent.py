"""The ``hold`` agent: a character picks an object up and puts it down (issue 14, item 7).

Directive (a narrative intent like SPEC §7.1's; params are a contract, unknown keys are errors)::

    {agent: "hold", params: {character, object, hand?: "r_hand", pick: frame, place?: frame,
                             put_at?: [x, z], onto?: entity, reach_frames?: 12}}

- ``pick``: the frame the hand closes on the object (its grip point is the centre of its bounding box);
- ``place``: the frame it lets go, the object resting at ``put_at`` on ``onto``'s top (or the highest surface
  there, or the ground); without ``put_at`` it goes back where it was; without ``place`` it is carried to the end.

The solution is ONE event: ``relation.add attached_to {subject: object, object: character, joint: hand,
start: pick, end: place}`` (a frame-ranged attachment, see ``core.sampling``), the object's transform keys
(constant: resting before ``pick``, its grip relative to the hand while held, resting at the destination from
``place``), and the arm's shoulder, elbow and wrist keys — reaching at ``pick`` and ``place`` by two-bone IK
(:mod:`agents.hold.reach`), the arm as it was ``reach_frames`` before and after — plus ``report``. The object keeps
its orientation, so it is put down upright; the hand turns to match. A hand that cannot reach is a failed report
naming how far it is short; nothing is half-applied. Keys others wrote on those tracks are pins, never touched.

Re-solves when its params change, and when another actor edits the character or the object (a path that moves
the character, a new motion), so the hand still meets the object; an unchanged solution publishes nothing.
"""

from __future__ import annotations

import copy
import hashlib

import numpy as np

from agents import geometry as G
from agents import repair as R
from agents.base import Proposal, failed, params_hash, register, to_solve
from core import edit, quat, tracks, transform
from core import ops as O
from core.sampling import sample
from core.world import World
from events.envelope import Event

from .reach import ReachError, arm_chain, reach

__all__ = ["HoldAgent", "HoldError", "solve", "ACTOR", "REACH_TOL_M"]

NAME = "hold"
ACTOR = f"agent:{NAME}"
KEYS = frozenset({"character", "object", "hand", "pick", "place", "put_at", "onto", "reach_frames", "pins",
                  "report"})
REACH_TOL_M = 1e-3
LIFT_M = 0.1
"""How far above the straight line between pick-up and put-down the object is carried at the middle frame."""
POSITION, ROTATION = "transform.position", "transform.rotation"


class HoldError(ValueError):
    pass


class HoldAgent:
    name = NAME
    generative = True

    def decide(self, world: World, event: Event, seq: int) -> list[Proposal]:
        if event.actor.kind == "agent" and event.actor.id == self.name:
            return []
        seen = {op.id for op in event.ops if isinstance(op, (O.DirectiveAdd, O.DirectiveUpdate))}
        out = [solve(world, d.id, d.params) for d in to_solve(world, event, self.name)]
        edited = set(R.edited_entities(world, event))
        for did in sorted(world.directives):
            d = world.directives[did]
            if did in seen or d.agent != self.name or not edited & {d.params.get("character"), d.params.get("object")}:
                continue
            rep = d.params.get("report")
            if not isinstance(rep, dict) or rep.get("status") != "done":
                continue
            p = solve(world, did, d.params)
            new = p.ops[-1].params.get("report") if p.ops else None
            if new != rep:
                out.append(p)
        return out


def _frame(params: dict, key: str, required: bool) -> float | None:
    v = params.get(key)
    if v is None:
        if required:
            raise HoldError(f"params.{key} (a frame) is missing")
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise HoldError(f"params.{key} must be a frame number, got {v!r}")
    return float(v)


def relation_id(did: str) -> str:
    return f"{did}.held" if len(did) <= 59 else f"{did[:50]}-{hashlib.sha256(did.encode()).hexdigest()[:8]}.held"


def solve(world: World, did: str, params: dict) -> Proposal:
    """The pick-up and put-down of directive ``did`` (pure; see the module docstring)."""
    try:
        ops, report, reason = _solve(world, did, params)
    except (HoldError, ReachError) as e:
        return failed(NAME, did, params, str(e))
    new = dict(params)
    new["report"] = report
    ops.append(O.DirectiveUpdate(id=did, params=new))
    try:
        edit.check(world, ops, ACTOR)
    except edit.OpError as e:
        return failed(NAME, did, params, f"the hold's ops do not apply: {e}")
    return Proposal(ops, reason)


def _undo_own(world: World, did: str, paths: dict[str, list[str]]) -> list:
    """Ops removing what an earlier solve of ``did`` wrote (its relation and its keys)."""
    ops: list = []
    rid = relation_id(did)
    if rid in world.relations:
        ops.append(O.RelationRemove(id=rid))
    for eid, ps in paths.items():
        e = world.entities.get(eid)
        for path in ps:
            ops += [O.KeyRemove(id=eid, path=path, frame=k.frame) for k in (e.tracks.get(path, []) if e else [])
                    if k.by == ACTOR]
    return ops


def _check(params: dict, world: World):
    unknown = sorted(set(params) - KEYS)
    if unknown:
        raise HoldError(f"unknown params keys {unknown}; known: {sorted(KEYS - {'report'})}")
    cid, oid = params.get("character"), params.get("object")
    for key, v in (("character", cid), ("object", oid)):
        if not isinstance(v, str) or v not in world.entities:
            raise HoldError(f"params.{key}: unknown entity {v!r}")
    if world.entities[oid].kind not in ("prop",):
        raise HoldError(f"{oid} is a {world.entities[oid].kind}; a character holds a prop")
    if world.entities[oid].parent is not None:
        raise HoldError(f"{oid} has a parent; a held object stands on its own before and after")
    hand = params.get("hand", "r_hand")
    if not isinstance(hand, str):
        raise HoldError(f"params.hand must be a joint name, got {hand!r}")
    pick, place = _frame(params, "pick", True), _frame(params, "place", False)
    if not world.frame_start <= pick < world.frame_end:
        raise HoldError(f"params.pick {pick:g} is outside the shot's frames {world.frame_start:g}–"
                        f"{world.frame_end:g}")
    if place is not None and not pick < place <= world.frame_end:
        raise HoldError(f"params.place {place:g} must be after pick {pick:g} and within the shot "
                        f"(last frame {world.frame_end:g})")
    rf = params.get("reach_frames", 12)
    if isinstance(rf, bool) or not isinstance(rf, (int, float)) or not 0 <= rf <= 240:
        raise HoldError(f"params.reach_frames must be 0–240 frames, got {rf!r}")
    put_at = params.get("put_at")
    if put_at is not None:
        if place is None:
            raise HoldError("params.put_at needs params.place (the frame it is put down)")
        if not (isinstance(put_at, list) and len(put_at) == 2 and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in put_at)):
            raise HoldError(f"params.put_at must be [x, z], got {put_at!r}")
    onto = params.get("onto")
    if onto is not None and (not isinstance(onto, str) or onto not in world.entities):
        raise HoldError(f"params.onto: unknown entity {onto!r}")
    if onto is not None and put_at is None:
        raise HoldError("params.onto needs params.put_at (where on it)")
    return cid, oid, hand, pick, place, float(rf), put_at, onto


def _surface_top(world: World, frame: float, xz, onto: str | None, skip: set[str]) -> tuple[float, str | None]:
    shapes = G.shapes_at(world, [frame])[frame]
    p = np.asarray(xz, dtype=np.float64)
    if onto is not None:
        sh = shapes.get(onto)
        if sh is None or not G.contains_point(sh.footprint, p):
            raise HoldError(f"put_at [{p[0]:g}, {p[1]:g}] is not on {onto}")
        return (sh.y_min if sh.kind == "environment" else sh.y_max), onto
    best, sid = 0.0, None
    for k, sh in sorted(shapes.items()):
        if k in skip or sh.kind == "character" or not G.contains_point(sh.footprint, p):
            continue
        top = sh.y_min if sh.kind == "environment" else sh.y_max
        if sid is None or top > best:
            best, sid = top, k
    return best, sid


def _rigid(pos, rot) -> np.ndarray:
    return transform.compose(np.asarray(pos, dtype=np.float64), np.asarray(rot, dtype=np.float64))


def _vals(v) -> list[float]:
    return [float(round(float(x), 9)) + 0.0 for x in np.asarray(v).reshape(-1)]


def _solve(world: World, did: str, params: dict):
    cid, oid, hand, pick, place, rf, put_at, onto = _check(params, world)
    chain = arm_chain(world, cid, hand)
    arm_paths = [f"joints.{j}.rotation" for j in chain[:3]]
    undo = _undo_own(world, did, {oid: [POSITION, ROTATION], cid: arm_paths})
    w0 = R.simulate(world, undo, ACTOR) if undo else copy.deepcopy(world)
    obj = w0.entities[oid]
    if any(obj.tracks.get(p) for p in (POSITION, ROTATION)):
        raise HoldError(f"{oid} has keys on its transform; a held object starts and ends resting (static)")
    for r in w0.relations.values():
        if r.kind == "attached_to" and r.subject == oid and r.overlaps(pick, place):
            raise HoldError(f"{oid} is already attached ({r.id}) over those frames")
    p0 = tracks.value_at(obj, POSITION, [pick])[0]
    q0 = tracks.value_at(obj, ROTATION, [pick])[0]
    scale = tracks.value_at(obj, "transform.scale", [pick])[0]
    pts = G.local_points(obj.props.get("geometry"))
    height = float(pts[:, 1].max() - pts[:, 1].min()) * float(scale[1]) if pts is not None else 0.0
    up = np.array([0.0, height / 2, 0.0])
    # 1. reach at pick: the hand on the object's centre, keeping its own orientation
    at_pick = reach(w0, cid, hand, pick, p0 + up)
    if at_pick.miss_m > REACH_TOL_M:
        raise HoldError(f"{hand} of {cid} cannot reach {oid} at frame {pick:g}: it is {at_pick.miss_m:.3f} m "
                        f"short (the grip is {at_pick.reach_m:.2f} m from the shoulder, the arm "
                        f"{at_pick.arm_m:.2f} m)")
    arm_ops_pick = [O.KeySet(id=cid, path=f"joints.{j}.rotation", frame=pick, value=v)
                    for j, v in at_pick.rotations.items()]
    w1 = R.simulate(w0, arm_ops_pick, ACTOR)
    s1 = sample(w1, [pick])
    hand_m = transform.rigid(s1.joints[cid].matrices[0, s1.joints[cid].names.index(hand)])
    grip = transform.invert_rigid(hand_m) @ _rigid(p0, q0)
    grip_pos, grip_rot = grip[:3, 3], quat.from_matrix(grip[:3, :3])
    # 2. the destination and the reach there: the object upright at put_at, the hand where that puts it
    arm_ops_place, dest, surface, arm_ops_mid, mid = [], None, None, None, None
    if place is not None:
        xz = put_at if put_at is not None else [p0[0], p0[2]]
        top, surface = _surface_top(w0, place, xz, onto, {oid, cid})
        dest = np.array([float(xz[0]), top, float(xz[1])])
        want = _rigid(dest, q0) @ transform.invert_rigid(grip)
        at_place = reach(w1, cid, hand, place, want[:3, 3], quat.from_matrix(want[:3, :3]))
        if at_place.miss_m > REACH_TOL_M:
            raise HoldError(f"{hand} of {cid} cannot put {oid} at [{dest[0]:g}, {dest[2]:g}] at frame {place:g}: "
                            f"it is {at_place.miss_m:.3f} m short")
        arm_ops_place = [O.KeySet(id=cid, path=f"joints.{j}.rotation", frame=place, value=v)
                         for j, v in at_place.rotations.items()]
        # carried over the surfaces in between: lifted LIFT_M at the middle frame, when the arm reaches that high
        mid = (pick + place) / 2
        if place - pick >= 2:
            lifted = (p0 + dest) / 2 + up + np.array([0.0, LIFT_M + max(0.0, abs(dest[1] - p0[1]) / 2), 0.0])
            w2 = R.simulate(w1, arm_ops_place, ACTOR)
            at_mid = reach(w2, cid, hand, mid, lifted - up + (want[:3, 3] - dest),
                           quat.from_matrix(want[:3, :3]))
            if at_mid.miss_m <= REACH_TOL_M:
                arm_ops_mid = at_mid.rotations
    # 3. the keys: the arm before, reaching, placing, after; the object resting, held, resting
    ops = list(undo)
    pins: list[dict] = []
    ch = w0.entities[cid]
    frames_arm = [pick - rf, pick] + ([place, place + rf] if place is not None else [])
    values_arm: dict[float, dict[str, list[float]]] = {pick: at_pick.rotations}
    if place is not None:
        values_arm[place] = {k.path.split(".")[1]: k.value for k in arm_ops_place}
    if arm_ops_mid is not None:
        values_arm[mid] = arm_ops_mid
        frames_arm = sorted(frames_arm + [mid])
    for f in frames_arm:
        if rf == 0 and f not in values_arm:
            continue
        if not world.frame_start <= f <= world.frame_end and f not in values_arm:
            continue
        for j, path in zip(chain[:3], arm_paths):
            if any(abs(k.frame - f) < 1e-9 for k in ch.tracks.get(path, []) if k.by != ACTOR):
                pins.append({"path": path, "frame": f})
                continue
            v = values_arm[f][j] if f in values_arm else _vals(tracks.value_at(ch, path, [f])[0])
            ops.append(O.KeySet(id=cid, path=path, frame=f, value=v, interp="auto"))
    if pick > world.frame_start:
        ops += [O.KeySet(id=oid, path=POSITION, frame=world.frame_start, value=_vals(p0), interp="constant"),
                O.KeySet(id=oid, path=ROTATION, frame=world.frame_start, value=_vals(q0), interp="constant")]
    ops += [O.KeySet(id=oid, path=POSITION, frame=pick, value=_vals(grip_pos), interp="constant"),
            O.KeySet(id=oid, path=ROTATION, frame=pick, value=_vals(grip_rot), interp="constant")]
    if place is not None:
        ops += [O.KeySet(id=oid, path=POSITION, frame=place, value=_vals(dest), interp="constant"),
                O.KeySet(id=oid, path=ROTATION, frame=place, value=_vals(q0), interp="constant")]
    ops.append(O.RelationAdd(id=relation_id(did), kind="attached_to", subject=oid, object=cid, joint=hand,
                             start=pick, end=place))
    report = {"status": "done", "params_hash": params_hash(params), "relation": relation_id(did),
              "pick": {"frame": pick, "at": _vals(p0), "reach_m": round(at_pick.reach_m, 4)},
              "place": None if place is None else {"frame": place, "at": _vals(dest), "onto": surface},
              "pins": pins}
    where = "" if place is None else f", put down at frame {place:g} on {surface or 'the ground'}"
    return ops, report, f"hold {did}: {cid} picks up {oid} with {hand} at frame {pick:g}{where}"


@register(NAME)
def _make() -> HoldAgent:
    return HoldAgent()
