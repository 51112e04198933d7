"""Event sequences for property tests: built against a shadow world, so most events are valid and every op type
is applied, with a few invalid ops mixed in on purpose so rejections are exercised too.

One generator, two drivers: :func:`events` (a hypothesis strategy, which shrinks) and :func:`random_events`
(a seeded ``random.Random``, for deterministic tests that count what got applied).
"""

from __future__ import annotations

import os
import random
from typing import Any, Sequence

from hypothesis import strategies as st

from core import attributes, edit
from core import ops as O
from core.world import World
from events.envelope import Actor, Event

def examples(n: int) -> int:
    """``n`` property-test examples, divided by ``WNM_EXAMPLES_DIVISOR`` when set (bench/mutation.sh sets it:
    every mutant reruns the property tests, and a mutant that changes the world fails on the first few)."""
    return max(5, n // max(1, int(os.environ.get("WNM_EXAMPLES_DIVISOR", "1"))))


ENTITY_IDS = ["a", "b", "c", "cam", "hero", "sun", "box"]
KINDS = ["prop", "environment", "character", "camera", "light"]
ACTORS = [Actor(kind="user", id="alice"), Actor(kind="user", id="bob"), Actor(kind="agent", id="collision")]
FRAMES = [0, 1, 2.5, 5, 10, 24, 48]
RELATION_IDS = ["r1", "r2", "r3"]
DIRECTIVE_IDS = ["d1", "d2", "d3"]
AGENTS = ["camera", "collision", "support"]
TEMPLATES = ["biped", "quadruped", "bird", "fish"]
GEOMETRIES = [{"primitive": "box", "size": [1, 0.5, 2]}, {"primitive": "sphere", "radius": 0.3},
              {"primitive": "capsule", "radius": 0.2, "height": 1.5}, {"primitive": "plane", "size": [4, 4]},
              {"asset": "chair-01"}]
SMALL_SKELETON = [{"name": "hips"}, {"name": "spine", "parent": "hips", "offset": [0, 0.2, 0]},
                  {"name": "head", "parent": "spine", "offset": [0, 0.3, 0], "limits_deg": [[-45, 45]] * 3}]

OP_WEIGHTS = {
    "entity.create": 10, "entity.remove": 2, "entity.set": 10, "key.set": 20, "key.remove": 6, "track.clear": 2,
    "track.shift": 4, "skeleton.set": 3, "relation.add": 4, "relation.remove": 2, "directive.add": 3,
    "directive.update": 2, "directive.remove": 1, "shot.configure": 2,
}
WILD = 0.05
"""Share of ops drawn blind (unknown ids, bad values): most of them make their event rejected."""

_RANGES = {
    "camera.focal_length_mm": (10, 200), "camera.focus_distance_m": (0.1, 100), "camera.f_stop": (1, 22),
    "camera.near_m": (0.01, 1), "camera.far_m": (10, 1000), "light.intensity": (0, 1000),
    "light.color_temperature_k": (1000, 40000), "light.cone_deg": (1, 179), "light.blend": (0, 1),
    "light.size_m": (0, 5),
}


class Pick:
    """What the generator asks of its driver."""

    def int(self, lo: int, hi: int) -> int: ...

    def choice(self, seq: Sequence) -> Any: ...

    def float(self, lo: float, hi: float) -> float: ...

    def chance(self, p: float) -> bool:
        return self.int(0, 999) < p * 1000


class RandomPick(Pick):
    def __init__(self, seed: int):
        self.rnd = random.Random(seed)

    def int(self, lo, hi):
        return self.rnd.randint(lo, hi)

    def choice(self, seq):
        return seq[self.rnd.randrange(len(seq))]

    def float(self, lo, hi):
        return round(self.rnd.uniform(lo, hi), 3)


class DrawPick(Pick):
    def __init__(self, draw):
        self.draw = draw

    def int(self, lo, hi):
        return self.draw(st.integers(lo, hi))

    def choice(self, seq):
        return self.draw(st.sampled_from(list(seq)))

    def float(self, lo, hi):
        return self.draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))


# ---------------------------------------------------------------- values


def vec(pick: Pick, n: int, lo: float, hi: float) -> list[float]:
    return [pick.float(lo, hi) for _ in range(n)]


def rotation(pick: Pick):
    if pick.chance(0.3):
        return {"euler_deg": vec(pick, 3, -180, 180)}
    q = vec(pick, 4, -1, 1)
    q[pick.int(0, 3)] = pick.choice([1.0, -0.9, 0.7])  # never near zero length
    return q


def value_for(pick: Pick, path: str, spec) -> Any:
    if path in _RANGES:
        return pick.float(*_RANGES[path])
    t = spec.type
    if t == "vec3":
        return vec(pick, 3, 0.1, 5) if path == "transform.scale" else vec(pick, 3, -50, 50)
    if t == "quat":
        return rotation(pick)
    if t == "bool":
        return pick.chance(0.5)
    if t == "rgb":
        return vec(pick, 3, 0, 1)
    if t == "vec2":
        return vec(pick, 2, 1, 100)
    if t == "geometry":
        return pick.choice(GEOMETRIES)
    if t == "enum":
        return pick.choice(attributes.LIGHT_TYPES)
    raise AssertionError(f"no generator for {path} ({t})")


def tangent_for(pick: Pick, spec) -> Any:
    n = {"vec3": 3, "rgb": 3, "vec2": 2, "quat": 4}.get(spec.type)
    return pick.float(-2, 2) if n is None else vec(pick, n, -2, 2)


def paths_of(e, animatable: bool) -> list[str]:
    out = [p for p, s in attributes.ATTRIBUTES.items()
           if e.kind in s.kinds and p != "skeleton" and (s.animatable or not animatable)]
    for j in e.joints or []:
        out.append(f"joints.{j['name']}.rotation")
        if j["parent"] is None:
            out.append(f"joints.{j['name']}.position")
    return out


def params(pick: Pick) -> dict:
    return {"subject": pick.choice(ENTITY_IDS), "start": float(pick.choice(FRAMES)),
            "shots": [{"lens": pick.float(10, 100), "tags": ["wide", pick.choice(["a", "é", "ü"])]}]
            if pick.chance(0.5) else [], "note": pick.choice(["", "hold", None, True])}


# ---------------------------------------------------------------- ops against a world


def _entity(pick: Pick, w: World, kinds=None):
    ids = sorted(eid for eid, e in w.entities.items() if kinds is None or e.kind in kinds)
    return w.entities[pick.choice(ids)] if ids else None


def _track(pick: Pick, w: World):
    tracks = sorted((eid, p) for eid, e in w.entities.items() for p in e.tracks)
    return pick.choice(tracks) if tracks else None


def valid_op(pick: Pick, w: World):
    """An op meant to apply to ``w`` (a few still do not: a parent cycle, a key a shift would land on)."""
    tag = pick.choice([t for t, n in OP_WEIGHTS.items() for _ in range(n)])
    if not w.entities or tag == "entity.create":
        free = [i for i in ENTITY_IDS if i not in w.entities]
        if free:
            kind = pick.choice(KINDS)
            props = {}
            if pick.chance(0.5):
                props["transform.position"] = vec(pick, 3, -10, 10)
            if pick.chance(0.3):
                props["color"] = vec(pick, 3, 0, 1)
            if kind == "character" and pick.chance(0.5):
                props["skeleton"] = SMALL_SKELETON
            parent = pick.choice(sorted(w.entities)) if w.entities and pick.chance(0.3) else None
            return O.EntityCreate(id=pick.choice(free), kind=kind, name=pick.choice(["", "Hero", "café"]),
                                  parent=parent, props=props or None)
        tag = "entity.remove"
    e = _entity(pick, w)
    if tag == "entity.remove":
        return O.EntityRemove(id=e.id)
    if tag == "entity.set":
        roll = pick.int(0, 9)
        if roll == 0:
            return O.EntitySet(id=e.id, path="name", value=pick.choice(["", "Cup", "ß"]))
        if roll == 1:
            others = sorted(i for i in w.entities if i != e.id)
            return O.EntitySet(id=e.id, path="parent", value=pick.choice([None, *others]))
        path = pick.choice(paths_of(e, animatable=False))
        if path in e.props and pick.chance(0.15):
            return O.EntitySet(id=e.id, path=path, value=None)
        return O.EntitySet(id=e.id, path=path, value=value_for(pick, path, attributes.spec_for(path, e.kind,
                                                                                             e.joints)))
    if tag == "key.set":
        path = pick.choice(paths_of(e, animatable=True))
        spec = attributes.spec_for(path, e.kind, e.joints)
        frames = [k.frame for k in e.tracks.get(path, [])] + FRAMES
        tangents = {}
        if pick.chance(0.2):
            tangents = {"in_tangent": tangent_for(pick, spec), "out_tangent": tangent_for(pick, spec)}
        return O.KeySet(id=e.id, path=path, frame=pick.choice(frames), value=value_for(pick, path, spec),
                        interp=pick.choice(["constant", "linear", "bezier", "auto"]), **tangents)
    if tag in ("key.remove", "track.clear", "track.shift"):
        track = _track(pick, w)
        if track is None:
            return valid_op(pick, w)
        eid, path = track
        keys = w.entities[eid].tracks[path]
        if tag == "key.remove":
            return O.KeyRemove(id=eid, path=path, frame=pick.choice(keys).frame)
        if tag == "track.clear":
            return O.TrackClear(id=eid, path=path)
        start = pick.choice([None, keys[0].frame, pick.choice(keys).frame])
        end = None if start is None or pick.chance(0.5) else max(start, pick.choice(keys).frame)
        return O.TrackShift(id=eid, path=path, by=pick.choice([-3, -1, 0.5, 1, 2.5, 5, 100]), start=start, end=end)
    if tag == "skeleton.set":
        c = _entity(pick, w, {"character"})
        if c is None:
            return O.EntityCreate(id=pick.choice([i for i in ENTITY_IDS if i not in w.entities] or ["z"]),
                                  kind="character")
        if c.tracks and any(p.startswith("joints.") for p in c.tracks):
            return O.TrackClear(id=c.id, path=pick.choice(sorted(p for p in c.tracks if p.startswith("joints."))))
        if pick.chance(0.5):
            return O.SkeletonSet(id=c.id, template=pick.choice(TEMPLATES),
                                 scale=pick.choice([None, 0.5, 1.8]))
        return O.SkeletonSet(id=c.id, joints=SMALL_SKELETON)
    if tag == "relation.add":
        free = [r for r in RELATION_IDS if r not in w.relations]
        if not free or len(w.entities) < 2:
            return valid_op(pick, w) if free else O.RelationRemove(id=pick.choice(sorted(w.relations)))
        subject = pick.choice(sorted(w.entities))
        obj = w.entities[pick.choice(sorted(i for i in w.entities if i != subject))]
        joint = pick.choice(obj.joints)["name"] if obj.joints and pick.chance(0.5) else None
        return O.RelationAdd(id=pick.choice(free), kind=pick.choice(["attached_to", "look_at", "supports"]),
                             subject=subject, object=obj.id, joint=joint,
                             offset=vec(pick, 3, -1, 1) if pick.chance(0.3) else None)
    if tag == "relation.remove":
        if not w.relations:
            return valid_op(pick, w)
        return O.RelationRemove(id=pick.choice(sorted(w.relations)))
    if tag == "directive.add":
        free = [d for d in DIRECTIVE_IDS if d not in w.directives]
        if not free:
            return O.DirectiveRemove(id=pick.choice(sorted(w.directives)))
        return O.DirectiveAdd(id=pick.choice(free), agent=pick.choice(AGENTS), params=params(pick))
    if tag in ("directive.update", "directive.remove"):
        if not w.directives:
            return valid_op(pick, w)
        did = pick.choice(sorted(w.directives))
        return O.DirectiveUpdate(id=did, params=params(pick)) if tag == "directive.update" \
            else O.DirectiveRemove(id=did)
    start = pick.choice([None, 0.0, 10.0])
    return O.ShotConfigure(fps=pick.choice([None, 24.0, 30.0]), frame_start=start,
                           frame_end=pick.choice([None, 48.0, 240.0]) if start is None else start + 100,
                           resolution=pick.choice([None, (1920, 1080), (640, 480)]),
                           name=pick.choice([None, "Shot 1"]),
                           agents=pick.choice([None, {"collision": "suggest"}, {"camera": "off", "support": "auto"}]))


def wild_op(pick: Pick):
    """An op drawn without looking at the world: unknown ids, bad values, paths for the wrong kind."""
    eid = pick.choice(ENTITY_IDS + ["ghost"])
    bad = pick.choice([[float("nan"), 0, 0], [0, 0, 0, 0], [-1, 1, 1], [1, 2], "x", None, True, 2.0])
    path = pick.choice(["transform.position", "transform.rotation", "transform.scale", "visible", "color",
                        "camera.focal_length_mm", "light.intensity", "joints.hips.rotation", "joints.tail.rotation",
                        "geometry"])
    roll = pick.int(0, 5)
    if roll == 0:
        return O.EntitySet(id=eid, path=path, value=bad)
    if roll == 1:
        return O.KeySet(id=eid, path=path, frame=pick.choice(FRAMES), value=bad)
    if roll == 2:
        return O.KeyRemove(id=eid, path=path, frame=pick.choice(FRAMES))
    if roll == 3:
        return O.RelationAdd(id="r1", kind="attached_to", subject=eid, object=pick.choice(ENTITY_IDS))
    if roll == 4:
        return O.TrackShift(id=eid, path=path, by=pick.choice([-2, 1, 3.5]), start=pick.choice([None, 0, 5]))
    return O.EntitySet(id=eid, path="parent", value=pick.choice([None, *ENTITY_IDS]))


def event_list(pick: Pick, n: int, max_ops: int = 4, project: str = "p", shot: str = "s") -> list[Event]:
    """``n`` events built against a shadow world folded alongside (an event that fails there leaves it as it was).
    """
    w = World(project=project, shot=shot)
    out = []
    for i in range(n):
        ops, undo = [], []
        for _ in range(pick.int(1, max_ops)):
            op = wild_op(pick) if pick.chance(WILD) else valid_op(pick, w)
            ops.append(op)
            try:
                undo.append(edit.apply_undoable(w, [op], "user:x")[1])
            except edit.OpError:
                for u in reversed(undo):
                    u()
                break
        out.append(Event(event_id=f"e{i}", command_id=f"c{i}", project=project, shot=shot,
                         actor=pick.choice(ACTORS), ops=ops, ts=float(i)))
    return out


@st.composite
def events(draw, project="p", shot="s", max_events=25):
    pick = DrawPick(draw)
    return event_list(pick, pick.int(1, max_events), project=project, shot=shot)


def random_events(seed: int, n: int = 25, project: str = "p", shot: str = "s") -> list[Event]:
    return event_list(RandomPick(seed), n, project=project, shot=shot)
