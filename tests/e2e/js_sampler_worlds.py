"""Random shots for the browser sampler's conformance suite (tests/e2e/test_js_sampler.py).

Each shot is a list of events folded by the real reducer (:class:`projections.reducer.ShotReducer`), so the same
draw gives both the Python world (sampled by :func:`core.sampling.sample_json`) and the Yjs document the browser
receives. The ops are drawn to cover what sampling reads: parent chains (with non-uniform scale, so the polar
decomposition is exercised), every interpolation kind with and without bezier tangents, rotations keyed as
quaternions and as Euler angles, skeletons from every template and custom ones with rest rotations and several
roots, joint rotation and root-motion keys, attachments to entities and to joints (with offsets), look_at of
cameras, lights, props and characters (to joints, to coincident targets, and circular ones), cameras with varied
intrinsics and resolutions, and lights of every type, with colour temperature or colour. Ops that the world
refuses (an attachment cycle, a second look_at) are rejected by the reducer like any client's, which is part of
the test too: the document and the world must still agree.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random

from core import ops as O
from core.sampling import sample
from core.templates import TEMPLATES
from core.world import Directive, Entity, Key, Relation, World
from events.envelope import Actor, Event
from projections.reducer import ShotReducer
from tests.unit.strategies import random_events

__all__ = ["Shot", "random_shot", "strategy_shot", "frames_for", "world_from_json", "hand_worlds"]

KINDS = ["prop", "prop", "environment", "character", "character", "camera", "light"]
INTERPS = ["constant", "linear", "bezier", "auto"]
RESOLUTIONS = [(1280, 720), (1920, 1080), (640, 480), (832, 480), (1000, 1000), (720, 1280), (7, 3)]
ACTOR = Actor(kind="user", id="gen")


class Shot:
    """A folded shot: the reducer (its ``world`` and ``doc``), how many of its events applied and, when recorded,
    the document's update of each event (what a client receives, one after the other) with the world after it."""

    def __init__(self, project: str, shot: str, events: list[Event], record: bool = False):
        self.reducer = ShotReducer(project, shot)
        self.applied = 0
        self.updates: list[tuple[bytes, dict]] = []
        if record:
            self.updates.append((self.reducer.doc.get_update(), self.reducer.world.to_json()))
        for seq, ev in enumerate(events, 1):
            state = self.reducer.doc.get_state() if record else None
            self.applied += self.reducer.apply(seq, ev).applied
            if record:
                self.updates.append((self.reducer.doc.get_update(state), self.reducer.world.to_json()))

    @property
    def world(self):
        return self.reducer.world


def _r(rnd: random.Random, lo: float, hi: float) -> float:
    return rnd.uniform(lo, hi)


def _vec(rnd, n, lo, hi):
    return [_r(rnd, lo, hi) for _ in range(n)]


def _quat(rnd: random.Random):
    """A rotation as sent by a client: a raw (unnormalised) quaternion of either sign, or Euler angles."""
    if rnd.random() < 0.25:
        return {"euler_deg": _vec(rnd, 3, -180, 180), "order": rnd.choice(["XYZ", "ZYX", "YXZ"])}
    while True:
        q = [rnd.gauss(0, 1) for _ in range(4)]
        if math.sqrt(sum(c * c for c in q)) > 0.1:
            return [c * rnd.choice([0.5, 1.0, 3.0]) for c in q]


_SCALAR_RANGES = {
    "camera.focal_length_mm": (8, 300), "camera.focus_distance_m": (0.2, 80), "camera.f_stop": (0.7, 64),
    "camera.near_m": (0.01, 2), "camera.far_m": (20, 5000), "light.intensity": (0, 5000),
    "light.color_temperature_k": (1000, 40000), "light.cone_deg": (1, 179), "light.blend": (0, 1),
    "light.size_m": (0, 4),
}


def _value(rnd, path: str):
    if path in _SCALAR_RANGES:
        return _r(rnd, *_SCALAR_RANGES[path])
    if path.endswith("rotation"):
        return _quat(rnd)
    if path == "transform.scale":
        return _vec(rnd, 3, 0.2, 3) if rnd.random() < 0.7 else [_r(rnd, 0.2, 3)] * 3
    if path in ("transform.position",) or path.endswith(".position"):
        return _vec(rnd, 3, -8, 8)
    if path in ("color", "light.color"):
        return _vec(rnd, 3, 0, 1)
    if path == "camera.sensor_mm":
        return _vec(rnd, 2, 5, 70)
    if path in ("visible", "light.shadow"):
        return rnd.random() < 0.6
    raise AssertionError(path)


def _tangent(rnd, path: str, value):
    if isinstance(value, dict) or path.endswith("rotation"):
        return _vec(rnd, 4, -0.3, 0.3)
    if isinstance(value, list):
        return _vec(rnd, len(value), -2, 2) if rnd.random() < 0.8 else _r(rnd, -2, 2)
    return _r(rnd, -5, 5)


def _frames(rnd) -> list[float]:
    n = rnd.choice([1, 2, 2, 3, 4, 5, 7])
    frames = set()
    while len(frames) < n:
        frames.add(rnd.choice([float(rnd.randint(-5, 120)), round(_r(rnd, -5, 120), 2)]))
    return sorted(frames)


def _track_ops(rnd, eid: str, path: str) -> list:
    ops = []
    for f in _frames(rnd):
        value = _value(rnd, path)
        tangents = {}
        if path not in ("visible", "light.shadow") and rnd.random() < 0.5:
            if rnd.random() < 0.8:
                tangents["in_tangent"] = _tangent(rnd, path, value)
            if rnd.random() < 0.8:
                tangents["out_tangent"] = _tangent(rnd, path, value)
        ops.append(O.KeySet(id=eid, path=path, frame=f, value=value, interp=rnd.choice(INTERPS), **tangents))
    return ops


_PATHS = {
    "prop": ["transform.position", "transform.rotation", "transform.scale", "visible", "color"],
    "environment": ["transform.position", "transform.rotation", "transform.scale", "visible", "color"],
    "character": ["transform.position", "transform.rotation", "transform.scale", "visible", "color"],
    "camera": ["transform.position", "transform.rotation", "visible", "camera.focal_length_mm", "camera.sensor_mm",
               "camera.focus_distance_m", "camera.f_stop", "camera.near_m", "camera.far_m"],
    "light": ["transform.position", "transform.rotation", "visible", "color", "light.intensity",
              "light.color_temperature_k", "light.color", "light.cone_deg", "light.blend", "light.size_m",
              "light.shadow"],
}


def _custom_skeleton(rnd) -> list[dict]:
    """A small skeleton of any topology: several roots sometimes, rest rotations, parents listed after children."""
    n = rnd.randint(2, 7)
    joints = []
    for i in range(n):
        parent = None if i == 0 or rnd.random() < 0.15 else f"j{rnd.randrange(i)}"
        j = {"name": f"j{i}", "parent": parent, "offset": _vec(rnd, 3, -0.5, 0.5)}
        if rnd.random() < 0.7:
            j["rotation"] = _quat(rnd)
        joints.append(j)
    rnd.shuffle(joints)
    return joints


def _skeleton_op(rnd, eid: str):
    if rnd.random() < 0.3:
        return O.SkeletonSet(id=eid, joints=_custom_skeleton(rnd))
    return O.SkeletonSet(id=eid, template=rnd.choice(sorted(TEMPLATES)), scale=rnd.choice([None, 0.5, 1.3, 2.0]))


def _joint_ops(rnd, eid: str, joints: list[dict]) -> list:
    ops = []
    names = [j["name"] for j in joints]
    roots = [j["name"] for j in joints if j.get("parent") is None]
    for name in rnd.sample(names, min(len(names), rnd.randint(1, 8))):
        if rnd.random() < 0.2:
            ops.append(O.EntitySet(id=eid, path=f"joints.{name}.rotation", value=_quat(rnd)))
        else:
            ops.extend(_track_ops(rnd, eid, f"joints.{name}.rotation"))
    for name in roots:
        if rnd.random() < 0.5:
            ops.extend(_track_ops(rnd, eid, f"joints.{name}.position"))
        elif rnd.random() < 0.3:
            ops.append(O.EntitySet(id=eid, path=f"joints.{name}.position", value=_vec(rnd, 3, -1, 1)))
    return ops


def random_shot(seed: int, project: str = "p", shot: str = "s") -> Shot:
    """A shot drawn from ``seed`` (see the module docstring), folded through the reducer."""
    rnd = random.Random(seed)
    ops: list = [O.ShotConfigure(resolution=rnd.choice(RESOLUTIONS))]
    ids: list[str] = []
    skeletons: dict[str, list[dict]] = {}
    kinds: dict[str, str] = {}
    for i in range(rnd.randint(4, 12)):
        kind = rnd.choice(KINDS)
        eid = f"{kind[:3]}{i}"
        props = {}
        for path in _PATHS[kind]:
            if rnd.random() < 0.4:
                props[path] = _value(rnd, path)
        if kind == "light":
            props["light.type"] = rnd.choice(["point", "spot", "sun", "area"])
            if rnd.random() < 0.5:
                props.pop("light.color_temperature_k", None)
        parent = rnd.choice(ids) if ids and rnd.random() < 0.45 else None
        ops.append(O.EntityCreate(id=eid, kind=kind, parent=parent, props=props or None))
        ids.append(eid)
        kinds[eid] = kind
        for path in _PATHS[kind]:
            if rnd.random() < 0.3:
                ops.extend(_track_ops(rnd, eid, path))
        if kind == "character" and rnd.random() < 0.85:
            sk = _skeleton_op(rnd, eid)
            ops.append(sk)
            from core.templates import template_joints

            joints = template_joints(sk.template, sk.scale or 1.0) if sk.template else sk.joints
            skeletons[eid] = joints
            ops.extend(_joint_ops(rnd, eid, joints))
    # relations: attachments (to joints where the object has a skeleton), look_at of every kind, supports
    for r in range(rnd.randint(0, 6)):
        subject, obj = rnd.sample(ids, 2)
        kind = rnd.choice(["attached_to", "attached_to", "look_at", "look_at", "supports"])
        joint = None
        if obj in skeletons and rnd.random() < 0.7:
            joint = rnd.choice(skeletons[obj])["name"]
        offset = _vec(rnd, 3, -0.5, 0.5) if kind == "attached_to" and rnd.random() < 0.5 else None
        ops.append(O.RelationAdd(id=f"r{r}", kind=kind, subject=subject, object=obj, joint=joint, offset=offset))
    if rnd.random() < 0.3 and len(ids) >= 2:
        # a circular look_at: the target hangs off the subject (ignored by sampling)
        subject = rnd.choice(ids)
        ops.append(O.EntityCreate(id="orbit", kind="prop", parent=subject,
                                  props={"transform.position": _vec(rnd, 3, -2, 2)}))
        ops.append(O.RelationAdd(id="circ", kind="look_at", subject=subject, object="orbit"))
    if rnd.random() < 0.2:
        # a look_at whose target stands where the subject does: the rotation is left as it was
        p = _vec(rnd, 3, -3, 3)
        ops.append(O.EntityCreate(id="here", kind="camera", props={"transform.position": p,
                                                                   "transform.rotation": _quat(rnd)}))
        ops.append(O.EntityCreate(id="there", kind="prop", props={"transform.position": p}))
        ops.append(O.RelationAdd(id="same", kind="look_at", subject="here", object="there"))
    if rnd.random() < 0.3:
        # relations naming joints a later skeleton lacks: they anchor on (or aim at) the entity itself
        ops.append(O.EntityCreate(id="rig", kind="character", props={"transform.position": _vec(rnd, 3, -3, 3)}))
        ops.append(O.SkeletonSet(id="rig", template="biped"))
        ops.append(O.EntityCreate(id="held", kind="prop"))
        ops.append(O.RelationAdd(id="hold", kind="attached_to", subject="held", object="rig", joint="l_wrist",
                                 offset=_vec(rnd, 3, -0.2, 0.2)))
        ops.append(O.EntityCreate(id="eye", kind="camera", props={"transform.position": _vec(rnd, 3, -9, 9)}))
        ops.append(O.RelationAdd(id="watch", kind="look_at", subject="eye", object="rig", joint="l_eye"))
        ops.append(O.SkeletonSet(id="rig", template=rnd.choice(["fish", "bird", "quadruped"])))
    events = [Event(event_id=f"e{i}", command_id=f"c{i}", project=project, shot=shot, actor=ACTOR, ops=[op],
                    ts=float(i)) for i, op in enumerate(ops)]
    return Shot(project, shot, events)


def strategy_shot(seed: int, project: str = "p", shot: str = "s", n: int = 40, record: bool = False) -> Shot:
    """A shot from the property tests' event generator (removals, shifts, re-keys, wild ops mixed in)."""
    return Shot(project, shot, random_events(seed, n, project=project, shot=shot), record=record)


def frames_for(world, rnd: random.Random) -> list[float]:
    """Frames to sample: key frames exactly and just beside them, fractional frames, and frames far outside."""
    keyed = sorted({k.frame for e in world.entities.values() for keys in e.tracks.values() for k in keys})
    out = [-1000.0, 1e5, round(rnd.uniform(-10, 130), 3), rnd.uniform(0, 120)]
    for f in rnd.sample(keyed, min(3, len(keyed))):
        out += [f, f + rnd.choice([1e-7, -1e-7, 0.5, -0.25])]
    return out


def world_from_json(d: dict) -> World:
    """``World.to_json()`` back into a :class:`World` (for worlds edited by hand, past what editing allows)."""
    m = d["meta"]
    w = World(project=m["project"], shot=m["shot"], name=m["name"], fps=m["fps"], frame_start=m["frame_start"],
              frame_end=m["frame_end"], resolution=tuple(m["resolution"]), agents=dict(m["agents"]),
              head_seq=m["head_seq"])
    for eid, e in d["entities"].items():
        tracks = {p: [Key(k["frame"], k["value"], k["interp"], k["by"], k.get("in_tangent"), k.get("out_tangent"))
                      for k in keys] for p, keys in e["tracks"].items()}
        w.entities[eid] = Entity(eid, e["kind"], e["name"], e["parent"], dict(e["props"]), tracks)
    for rid, r in d["relations"].items():
        window = {k: r[k] for k in ("start", "end") if k in r}  # attachment frame ranges, where core has them
        w.relations[rid] = Relation(rid, r["kind"], r["subject"], r["object"], r.get("joint"), r.get("offset"),
                                    **window)
    for did, dd in d.get("directives", {}).items():
        w.directives[did] = Directive(did, dd["agent"], dd.get("params", {}))
    return w


WINDOWS = "start" in {f.name for f in dataclasses.fields(Relation)}
"""Whether core's relations have frame ranges (``attached_to`` holding on [start, end) only)."""


def hand_worlds(seed: int) -> list[tuple[str, dict, bool]]:
    """Worlds no edit produces, which sampling still defines: (name, world JSON, whether sampling must raise).

    Two attached_to or look_at relations on one subject (which one wins is core's rule), attachments with frame
    ranges where core has them, relations to entities that are gone (ignored), and a parent cycle and an attachment
    cycle (both raise)."""
    rnd = random.Random(seed)
    out = []
    for i in range(4):
        shot = random_shot(seed * 100 + i)
        d = shot.world.to_json()
        ids = sorted(d["entities"])
        if len(ids) < 3:
            continue
        for n in range(4):
            subject, obj = rnd.sample(ids, 2)
            kind = rnd.choice(["attached_to", "look_at"])
            rel = {"kind": kind, "subject": subject, "object": obj}
            if rnd.random() < 0.5:
                rel["offset"] = _vec(rnd, 3, -1, 1)
            if WINDOWS and kind == "attached_to" and rnd.random() < 0.8:
                ends = rnd.choice([("start",), ("end",), ("start", "end")])
                rel.update({k: _r(rnd, -5, 60) if k == "start" else _r(rnd, 40, 130) for k in ends})
            more = {f"{rnd.choice('ahz')}{n}": rel,
                    f"{rnd.choice('bm')}{n}": {"kind": kind, "subject": subject, "object": rnd.choice(ids)}}
            try:
                sample(world_from_json({**d, "relations": {**d["relations"], **more}}), [0.0])
            except ValueError:
                continue  # these would close an attachment cycle: that case is below
            d["relations"].update(more)
        d["relations"]["gone"] = {"kind": "look_at", "subject": ids[0], "object": "nobody"}
        out.append((f"hand-{seed}-{i}", d, False))
    base = random_shot(seed).world.to_json()
    # a mirrored matrix (negative scale, which only an overshooting scale curve gives) alone, and beside a sheared
    # one (a child turned under a non-uniformly scaled parent): core removes the scale of a frame's matrices with
    # one decision for the batch, so the mirror's rotation depends on the other entity
    for sheared in (False, True):
        d = json.loads(json.dumps(base if sheared else {**base, "entities": {}, "relations": {}}))
        d["entities"]["mirror"] = {"kind": "prop", "name": "", "parent": None, "tracks": {}, "props": {
            "transform.scale": [-1.5, 2.0, 0.7], "transform.rotation": [0.2, 0.5, -0.1, 0.8]}}
        if sheared:
            d["entities"]["squash"] = {"kind": "prop", "name": "", "parent": None, "tracks": {}, "props": {
                "transform.scale": [3.0, 0.5, 1.0], "transform.rotation": [0.0, 0.38268343236508984, 0.0,
                                                                            0.9238795325112867]}}
            d["entities"]["skewed"] = {"kind": "prop", "name": "", "parent": "squash", "tracks": {}, "props": {
                "transform.rotation": [0.3826834323650898, 0.0, 0.0, 0.9238795325112867]}}
        # and a mesh asset a directive drives (levels: L3, lacking only physical properties)
        d["entities"]["chair"] = {"kind": "prop", "name": "", "parent": None, "tracks": {},
                                  "props": {"geometry": {"asset": "chair-01"}}}
        d.setdefault("directives", {})["seat"] = {"agent": "layout", "params": {"items": [{"subject": "chair"}]}}
        out.append((f"hand-{seed}-mirror{'-sheared' if sheared else ''}", d, False))
    a, b = sorted(base["entities"])[:2]
    cyc = json.loads(json.dumps(base))
    cyc["entities"][a]["parent"] = b
    cyc["entities"][b]["parent"] = a
    out.append((f"hand-{seed}-parent-cycle", cyc, True))
    att = json.loads(json.dumps(base))
    att["entities"][a]["parent"] = None
    att["entities"][b]["parent"] = a
    att["relations"]["loop"] = {"kind": "attached_to", "subject": a, "object": b}
    out.append((f"hand-{seed}-attachment-cycle", att, True))
    return out
