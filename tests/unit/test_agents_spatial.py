"""The repair agents' spatial index is a cache: on random worlds edited by random events, every answer of the index
kept current event by event equals the full scan, and the agents decide exactly as they do over a full scan."""

from __future__ import annotations

import random

import numpy as np
import pytest

from agents import geometry as G
from agents import repair as R
from agents import spatial
from agents.bounds import BoundsAgent
from agents.collision import CollisionAgent
from agents.support import SupportAgent
from core import edit
from core import ops as O
from core.world import World
from events.envelope import Actor, Event

AGENTS = (CollisionAgent(), SupportAgent(), BoundsAgent())


class FullScan(spatial.SpatialIndex):
    """The oracle: the same queries answered by scanning the whole world every time."""

    def __init__(self, world, asset_size=None):
        self.world, self.asset_size, self.seq = world, asset_size, world.head_seq

    def update(self, world, event):
        self.world, self.seq = world, world.head_seq

    def dependents(self, eid):
        w, out, todo = self.world, set(), [eid]
        while todo:
            i = todo.pop()
            if i in out:
                continue
            out.add(i)
            todo += [c for c, e in w.entities.items() if e.parent == i]
            todo += [r.subject for r in w.relations.values() if r.object == i and r.kind in ("attached_to", "look_at")]
        return out

    def shapes(self, world, frames, ids, fresh=frozenset()):
        got = G.shapes_at(world, list(frames), asset_size=self.asset_size)
        ids = set(ids)
        return {f: {i: s for i, s in at.items() if i in ids} for f, at in got.items()}

    def near(self, rect, frames=None):
        return set(self.world.entities)

    def animated(self):
        w = self.world
        return sorted(i for i, e in w.entities.items() if e.kind in ("prop", "character") and R._is_animated(w, i))

    def environments(self):
        return sorted(i for i, e in self.world.entities.items() if e.kind == "environment")

    def relations_of(self, eid):
        return [(rid, r.kind, r.subject, r.object) for rid, r in sorted(self.world.relations.items())
                if eid in (r.subject, r.object)]

    def children(self, eid):
        return {i for i, e in self.world.entities.items() if e.parent == eid}

    def touching(self, eid):
        return {p for p in R.touching_pairs(self.world) if eid in p}


BOXES = [{"primitive": "box", "size": [1.0, 0.8, 0.6]}, {"primitive": "box", "size": [0.5, 0.9, 0.5]},
         {"primitive": "cylinder", "radius": 0.3, "height": 1.0}, {"primitive": "sphere", "radius": 0.25},
         {"primitive": "box", "size": [3.0, 0.1, 0.4]}]


def _rand_pos(rng, spread):
    return [round(rng.uniform(-spread, spread), 3), round(rng.choice([0.0, 0.0, rng.uniform(0, 1.2)]), 3),
            round(rng.uniform(-spread, spread), 3)]


def _random_op(rng: random.Random, w: World, n: int, spread: float):
    ids = sorted(w.entities)
    solids = [i for i in ids if w.entities[i].kind in ("prop", "character")]
    pick = rng.random()
    if pick < 0.25 or not solids:
        eid = f"e{n}"
        kind = rng.choice(["prop", "prop", "prop", "character", "environment"])
        props = {"transform.position": _rand_pos(rng, spread)}
        if kind == "prop":
            props["geometry"] = rng.choice(BOXES)
        elif kind == "environment":
            props["geometry"] = rng.choice([{"primitive": "box", "size": [8.0, 3.0, 6.0]},
                                            {"primitive": "plane", "size": [30.0, 30.0]}])
            props["transform.position"] = [round(rng.uniform(-spread, spread), 1), 0.0, 0.0]
        parent = rng.choice(solids) if solids and kind == "prop" and rng.random() < 0.15 else None
        return [O.EntityCreate(id=eid, kind=kind, parent=parent, props=props)]
    eid = rng.choice(solids)
    if pick < 0.55:
        return [O.EntitySet(id=eid, path="transform.position", value=_rand_pos(rng, spread))]
    if pick < 0.65:
        return [O.KeySet(id=eid, path="transform.position", frame=float(rng.choice([0, 12, 24, 48])),
                         value=_rand_pos(rng, spread), interp="linear")]
    if pick < 0.7:
        q = [0.0, float(np.sin(0.3)), 0.0, float(np.cos(0.3))]
        return [O.EntitySet(id=eid, path="transform.rotation", value=q)]
    if pick < 0.8 and len(solids) > 1:
        other = rng.choice([i for i in solids if i != eid])
        kind = rng.choice(["supports", "attached_to", "look_at"])
        return [O.RelationAdd(id=f"r{n}", kind=kind, subject=eid, object=other)]
    if pick < 0.85 and w.relations:
        return [O.RelationRemove(id=rng.choice(sorted(w.relations)))]
    if pick < 0.9:
        others = [i for i in solids if i != eid]
        return [O.EntitySet(id=eid, path="parent", value=rng.choice(others) if others and rng.random() < 0.7
                            else None)]
    if pick < 0.95 and ids:
        return [O.EntityRemove(id=rng.choice(ids))]
    return [O.ShotConfigure(frame_end=float(rng.choice([24, 48, 96])))]


def _event(ops, seq) -> Event:
    return Event(event_id=f"e{seq}", command_id=f"c{seq}", project="p", shot="s",
                 actor=Actor(kind="user", id="alice"), ops=ops)


def _scene(seed: int, steps: int, spread: float = 4.0):
    """Yield (world, event) after each applied random event, the world edited in place."""
    rng = random.Random(seed)
    w = World("p", "s", frame_start=0, frame_end=48)
    seq = 0
    for n in range(steps):
        ops = _random_op(rng, w, n, spread)
        try:
            edit.apply(w, ops, "user:alice")
        except edit.OpError:
            continue
        seq += 1
        w.head_seq = seq
        yield w, _event(ops, seq)


def _same_shapes(a: dict, b: dict):
    assert a.keys() == b.keys()
    for f in a:
        assert a[f].keys() == b[f].keys(), f
        for i in a[f]:
            x, y = a[f][i], b[f][i]
            assert (x.id, x.kind, x.frame, x.y_min, x.y_max, x.base_y, x.flat) == \
                (y.id, y.kind, y.frame, y.y_min, y.y_max, y.base_y, y.flat)
            assert np.array_equal(x.footprint, y.footprint) and np.array_equal(x.origin, y.origin)


def _check_answers(ix: spatial.SpatialIndex, w: World):
    oracle = FullScan(w)
    frames = [0.0, 7.5, 24.0, 48.0]
    full = G.shapes_at(w, frames + [5.0])
    assert ix.animated() == oracle.animated()
    assert ix.environments() == oracle.environments()
    for eid in sorted(w.entities):
        assert ix.touching(eid) == oracle.touching(eid), eid
        assert ix.carried(eid) == oracle.carried(eid), eid
        assert ix.relations_of(eid) == oracle.relations_of(eid), eid
        assert ix.attached(eid) == oracle.attached(eid), eid
        assert ix.dependents(eid) == oracle.dependents(eid), eid
    # the neighbours of any rectangle hold every entity whose footprint overlaps it at any of the frames
    rng = random.Random(len(w.entities))
    for _ in range(10):
        x, z = rng.uniform(-6, 6), rng.uniform(-6, 6)
        rect = (x, z, x + rng.uniform(0, 2), z + rng.uniform(0, 2))
        for asked in (frames, frames[1:3], [0.0, 5.0]):  # moving bounds kept for frames sampled before
            near = ix.near(rect, asked)
            for f in asked:
                for i, s in full[f].items():
                    r = spatial.rect_of(s)
                    if r[0] <= rect[2] and rect[0] <= r[2] and r[1] <= rect[3] and rect[1] <= r[3]:
                        assert i in near, (i, rect, r, f)
    for f in frames:  # and every entity is a neighbour of where it is
        for i, s in full[f].items():
            assert i in ix.near(spatial.rect_of(s), frames), (i, f)
    # (after the neighbours: the moving ones' bounds asked above are those kept from the step before)
    _same_shapes(ix.shapes(w, frames, w.entities), {f: full[f] for f in frames})


@pytest.mark.parametrize("seed", range(6))
def test_the_index_kept_current_by_events_answers_like_the_full_scan(seed):
    ix = None
    for w, event in _scene(seed, 70):
        if ix is None:
            ix = spatial.SpatialIndex(w)
        else:
            ix.update(w, event)
        _check_answers(ix, w)


@pytest.mark.parametrize("seed", range(5))
def test_agents_decide_with_the_index_exactly_as_over_the_full_scan(seed, monkeypatch):
    tracker = spatial.Tracker()
    decided = 0
    for w, event in _scene(100 + seed, 40, spread=2.5):
        tracker.applied(w, event, w.head_seq - 1)
        for agent in AGENTS:
            with spatial.using(tracker):
                fast = agent.decide(w, event, w.head_seq)
            with monkeypatch.context() as m:
                m.setattr(spatial, "index_for", lambda world, asset_size=None: FullScan(world, asset_size))
                slow = agent.decide(w, event, w.head_seq)
            assert fast == slow, (agent.name, event.ops)
            decided += bool(slow)
        assert tracker.index is not None and tracker.index.current_for(w, None)
    assert decided > 0  # the scenes do make the agents move things


def test_simulated_moves_copy_only_what_they_write():
    w = World("p", "s")
    edit.apply(w, [O.EntityCreate(id="a", kind="prop", props={"geometry": BOXES[0]}),
                   O.EntityCreate(id="b", kind="prop", props={"geometry": BOXES[1]})], "user:alice")
    moved = R.simulate(w, [O.EntitySet(id="a", path="transform.position", value=[1.0, 0.0, 0.0])], "agent:x")
    assert moved.entities["b"] is w.entities["b"] and moved.entities["a"] is not w.entities["a"]
    assert "transform.position" not in w.entities["a"].props
    assert moved.entities["a"].props["transform.position"] == [1.0, 0.0, 0.0]


def test_the_agents_deciding_on_one_event_sample_the_edited_entity_once(monkeypatch):
    """Collision, support and bounds look at the edited entity at the same frames: it is sampled once between
    them, and again after the next event (which may have moved it)."""
    w = World("p", "s")
    tracker = spatial.Tracker()
    calls = []
    real = spatial.SpatialIndex.sample
    monkeypatch.setattr(spatial.SpatialIndex, "sample",
                        lambda self, world, frames, ids: calls.append(sorted(ids)) or real(self, world, frames, ids))

    def step(*ops):
        head = w.head_seq
        edit.apply(w, list(ops), "user:alice")
        w.head_seq = head + 1
        event = Event(event_id=f"e{head}", command_id=f"c{head}", project="p", shot="s",
                      actor=Actor(kind="user", id="alice"), ops=list(ops))
        tracker.applied(w, event, head)
        calls.clear()
        with spatial.using(tracker):
            return [p for agent in AGENTS for p in agent.decide(w, event, w.head_seq)]

    step(O.EntityCreate(id="room", kind="environment", props={"geometry": {"primitive": "box", "size": [8, 3, 8]}}))
    step(O.EntityCreate(id="cart", kind="prop", props={"geometry": BOXES[0]}),
         *[O.KeySet(id="cart", path="transform.position", frame=float(f), value=[0.1 * f, 0, 0]) for f in range(8)])
    step(O.KeySet(id="cart", path="transform.position", frame=7.0, value=[0.5, 0, 0]))
    assert calls.count(["cart"]) == 1
    [moved] = step(O.KeySet(id="cart", path="transform.position", frame=7.0, value=[0.5, 0.4, 0]))
    assert calls.count(["cart"]) == 1 and moved.reason == "put cart 0.40 m down onto room at frame 7"


@pytest.mark.parametrize("seed", range(4))
def test_a_moving_prop_s_reach_holds_its_footprint_at_every_frame(seed):
    """The index skips a moving prop whose reach (its key values' range, widened by its farthest support point at
    its largest scale) misses the query, without sampling it: sampled densely between and beyond its keys,
    turning and scaling, its footprint never leaves that reach."""
    rng = random.Random(seed)
    w = World("p", "s", frame_start=0, frame_end=48)
    ops = [O.EntityCreate(id="m", kind="prop", props={"geometry": rng.choice(BOXES)})]
    for path, make in (("transform.position", lambda: [rng.uniform(-3, 3), rng.uniform(0, 1), rng.uniform(-3, 3)]),
                       ("transform.rotation", lambda: list(np.array(_unit_quat(rng)))),
                       ("transform.scale", lambda: [rng.uniform(0.5, 2) for _ in range(3)])):
        for f in sorted(rng.sample(range(0, 48), 6)):
            ops.append(O.KeySet(id="m", path=path, frame=float(f), value=make(),
                                interp=rng.choice(["constant", "linear", "auto"])))
    edit.apply(w, ops, "user:alice")
    reach = spatial.SpatialIndex(w)._reaches["m"]
    for at in G.shapes_at(w, np.linspace(-5, 55, 241), ["m"]).values():
        x0, z0, x1, z1 = spatial.rect_of(at["m"])
        assert reach[0] - 1e-9 <= x0 and reach[1] - 1e-9 <= z0 and x1 <= reach[2] + 1e-9 and z1 <= reach[3] + 1e-9
    edit.apply(w, [O.KeySet(id="m", path="transform.position", frame=10.0, value=[0, 0, 0], interp="bezier")],
               "user:alice")
    assert "m" not in spatial.SpatialIndex(w)._reaches  # a bezier key may overshoot: sampled as before


def _unit_quat(rng):
    q = np.array([rng.gauss(0, 1) for _ in range(4)])
    return q / np.linalg.norm(q)
