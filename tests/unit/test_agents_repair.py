"""Geometry and the repair agents' pure decisions."""

from __future__ import annotations

import numpy as np
import pytest

from agents import geometry as G
from agents import repair as R
from agents.bounds import BoundsAgent
from agents.collision import CollisionAgent
from agents.support import SupportAgent
from core import edit
from core import ops as O
from core.world import World
from events.envelope import Actor, Event

BOX = lambda w, h, d: {"primitive": "box", "size": [w, h, d]}  # noqa: E731


def _world(*ops) -> World:
    w = World("p", "s", frame_start=0, frame_end=48)
    edit.apply(w, list(ops), "user:alice")
    return w


def _edit(w: World, *ops) -> Event:
    edit.apply(w, list(ops), "user:alice")
    return Event(event_id="e", command_id="c", project="p", shot="s", actor=Actor(kind="user", id="alice"),
                 ops=list(ops))


def _prop(eid, geometry, pos, **props):
    return O.EntityCreate(id=eid, kind="prop", props={"geometry": geometry, "transform.position": pos, **props})


def test_separation_is_the_smallest_horizontal_move():
    w = _world(_prop("a", BOX(1, 1, 1), [0, 0, 0]), _prop("b", BOX(1, 1, 1), [0.8, 0.5, 0.1]))
    s = G.shapes_at(w, [0])[0.0]
    depth, push = G.separation(s["b"], s["a"])
    assert depth == pytest.approx(0.2) and push == pytest.approx([0.2, 0, 0])
    w2 = _world(_prop("a", BOX(1, 1, 1), [0, 0, 0]), _prop("b", BOX(1, 1, 1), [0.5, 1.0, 0]))
    s2 = G.shapes_at(w2, [0])[0.0]
    assert G.separation(s2["b"], s2["a"])[0] <= 0  # stacked: touching, not intersecting


def test_rotated_boxes_use_their_own_axes():
    q45 = [0.0, np.sin(np.pi / 8), 0.0, np.cos(np.pi / 8)]
    w = _world(_prop("a", BOX(1, 1, 1), [0, 0, 0], **{"transform.rotation": q45}),
               _prop("b", BOX(1, 1, 1), [1.1, 0, 0]))
    s = G.shapes_at(w, [0])[0.0]
    depth, push = G.separation(s["b"], s["a"])
    assert depth == pytest.approx(np.sqrt(0.5) + 0.5 - 1.1, abs=1e-6)
    assert push[0] > 0 and push[1] == 0


def test_support_surface_below_and_walkable_areas():
    w = _world(O.EntityCreate(id="room", kind="environment", props={"geometry": BOX(4, 3, 4)}),
               _prop("table", BOX(1, 0.75, 1), [0, 0, 0]), _prop("cup", BOX(0.1, 0.1, 0.1), [0.1, 0.9, 0]))
    s = G.shapes_at(w, [0])[0.0]
    assert G.support_surface_below(s["cup"], s) == G.Surface("table", 0.75)
    assert G.support_surface_below(s["table"], s) == G.Surface("room", 0.0)
    assert set(G.walkable_areas(s)) == {"room"}
    assert G.pull_inside(s["table"], G.walkable_areas(s)["room"]) == pytest.approx([0, 0, 0])


def test_collision_moves_the_edited_entity_with_a_reason():
    w = _world(_prop("table-1", BOX(1.2, 0.75, 0.8), [0, 0, 0]), _prop("sofa-1", BOX(2, 0.8, 0.9), [3, 0, 0]))
    ev = _edit(w, O.EntitySet(id="table-1", path="transform.position", value=[2.0, 0, 0]))
    [p] = CollisionAgent().decide(w, ev, 7)
    assert p.reason == "moved table-1 0.60 m \u2212x: intersected sofa-1 at frame 0"
    edit.apply(w, p.ops, "agent:collision")
    s = G.shapes_at(w, [0])[0.0]
    assert G.intersections({"table-1": s["table-1"]}, s) == []
    assert CollisionAgent().decide(w, ev, 7) == []  # repaired world: nothing to do


def test_collision_keys_an_animated_entity_at_the_contact_frame():
    w = _world(_prop("box", BOX(1, 1, 1), [0, 0, 0]), O.EntityCreate(id="cart", kind="prop",
                                                                    props={"geometry": BOX(1, 1, 1)}))
    ev = _edit(w, O.KeySet(id="cart", path="transform.position", frame=0, value=[-3, 0, 0], interp="linear"),
               O.KeySet(id="cart", path="transform.position", frame=48, value=[-3, 0, 3], interp="linear"))
    assert CollisionAgent().decide(w, ev, 3) == []
    ev = _edit(w, O.KeySet(id="cart", path="transform.position", frame=48, value=[0.5, 0, 0.2], interp="linear"))
    [p] = CollisionAgent().decide(w, ev, 4)
    assert all(isinstance(op, O.KeySet) for op in p.ops)
    assert p.reason.endswith("intersected box at frame 48")
    assert p.ops[0].frame == 48 and p.ops[0].value != [0.5, 0, 0.2]
    edit.apply(w, p.ops, "agent:collision")
    at48 = G.shapes_at(w, [48])[48.0]
    assert G.intersections({"cart": at48["cart"]}, at48) == []


def test_collision_ignores_attached_and_environments_and_is_deterministic():
    w = _world(O.EntityCreate(id="room", kind="environment", props={"geometry": BOX(4, 3, 4)}),
               _prop("hand", BOX(0.2, 0.2, 0.2), [0, 1, 0]), _prop("cup", BOX(0.1, 0.1, 0.1), [0, 0, 0]),
               O.RelationAdd(id="r", kind="attached_to", subject="cup", object="hand"))
    ev = _edit(w, O.EntitySet(id="hand", path="transform.position", value=[0.05, 1, 0]))
    assert CollisionAgent().decide(w, ev, 5) == []
    w2 = _world(_prop("a", BOX(1, 1, 1), [0, 0, 0]), _prop("b", BOX(1, 1, 1), [5, 0, 0]))
    ev2 = _edit(w2, O.EntitySet(id="b", path="transform.position", value=[0.5, 0, 0.5]))
    assert CollisionAgent().decide(w2, ev2, 9) == CollisionAgent().decide(w2, ev2, 9)


def test_support_puts_floating_and_sunk_props_on_the_surface_below():
    w = _world(_prop("table-1", BOX(1.2, 0.75, 0.8), [0, 0, 0]))
    ev = _edit(w, _prop("cup-1", BOX(0.1, 0.1, 0.1), [0.2, 0.8, 0]))
    [p] = SupportAgent().decide(w, ev, 3)
    assert p.reason == "put cup-1 0.05 m down onto table-1 at frame 0"
    assert p.ops == [O.EntitySet(id="cup-1", path="transform.position", value=[0.2, 0.75, 0.0])]
    ev = _edit(w, _prop("chair-1", BOX(0.5, 0.9, 0.5), [2, -0.1, 0]))
    [p] = SupportAgent().decide(w, ev, 4)
    assert p.reason == "put chair-1 0.10 m up onto the ground at frame 0"


def test_support_fixes_every_keyed_frame():
    w = _world(_prop("table-1", BOX(1, 0.75, 1), [0, 0, 0]))
    ev = _edit(w, O.EntityCreate(id="ball", kind="prop", props={"geometry": {"primitive": "sphere", "radius": 0.1}}),
               O.KeySet(id="ball", path="transform.position", frame=0, value=[0, 1.0, 0]),
               O.KeySet(id="ball", path="transform.position", frame=24, value=[2, 0.5, 0]))
    [p] = SupportAgent().decide(w, ev, 2)
    assert [(op.frame, op.value) for op in p.ops] == [(0.0, [0.0, 0.75, 0.0]), (24.0, [2.0, 0.0, 0.0])]
    assert "(and 1 more keyed frames)" in p.reason


def test_bounds_pulls_back_inside_the_room():
    w = _world(O.EntityCreate(id="room-1", kind="environment", props={"geometry": BOX(4, 3, 4)}))
    ev = _edit(w, _prop("lamp-1", BOX(0.4, 1.5, 0.4), [0, 0, 2.3]))
    [p] = BoundsAgent().decide(w, ev, 2)
    assert p.reason == "pulled lamp-1 0.50 m \u2212z back inside room-1 at frame 0"
    assert p.ops[0].value == pytest.approx([0, 0, 1.8])
    assert BoundsAgent().decide(_world(), ev, 2) == []  # no environment, no bounds


def _floating_walk(keys: int) -> tuple[World, list]:
    """A ball keyed at frames 0 … keys − 1, every key 0.5 m above the ground."""
    w = _world(O.EntityCreate(id="ball", kind="prop", props={"geometry": {"primitive": "sphere", "radius": 0.1}}))
    return w, [O.KeySet(id="ball", path="transform.position", frame=float(f), value=[f * 0.1, 0.6, 0])
               for f in range(keys)]


def test_a_key_set_is_checked_near_that_key_only():
    """Setting one key of a long animation changes the curve from two keys before it to two after (auto slopes
    follow their neighbours): only those keyed frames are looked at, so the cost does not grow with the keys."""
    w, keys = _floating_walk(40)
    edit.apply(w, keys, "user:alice")
    ev = _edit(w, O.KeySet(id="ball", path="transform.position", frame=20.0, value=[2.0, 0.7, 0]))
    [p] = SupportAgent().decide(w, ev, 3)
    assert [op.frame for op in p.ops] == [18.0, 19.0, 20.0, 21.0, 22.0]
    ev = _edit(w, O.KeyRemove(id="ball", path="transform.position", frame=39.0))  # the last: open towards the end
    [p] = SupportAgent().decide(w, ev, 4)
    assert [op.frame for op in p.ops] == [37.0, 38.0]  # 38 is the last key now: its slope changed, and 37-38
    ev = _edit(w, O.KeySet(id="ball", path="transform.position", frame=1.0, value=[0.1, 0.6, 0]),
               O.KeySet(id="ball", path="transform.position", frame=30.0, value=[3.0, 0.6, 0]))
    [p] = SupportAgent().decide(w, ev, 5)  # two keys: from the first's span to the second's
    assert [op.frame for op in p.ops] == [float(f) for f in range(0, 33)]


def test_a_static_or_structural_edit_is_checked_at_every_keyed_frame():
    w, keys = _floating_walk(12)
    ev = _edit(w, *keys)  # a new track: every key is new
    [p] = SupportAgent().decide(w, ev, 2)
    assert len(p.ops) == 12
    ev = _edit(w, O.EntitySet(id="ball", path="geometry", value={"primitive": "sphere", "radius": 0.3}))
    [p] = SupportAgent().decide(w, ev, 3)
    assert len(p.ops) == 12


def test_collision_looks_near_the_key_set_only():
    w = _world(_prop("wall", BOX(1, 2, 1), [5, 0, 0]), O.EntityCreate(id="cart", kind="prop",
                                                                     props={"geometry": BOX(1, 1, 1)}))
    edit.apply(w, [O.KeySet(id="cart", path="transform.position", frame=float(f), value=[f * 0.25, 0, 0],
                            interp="linear") for f in range(41)], "user:alice")  # through the wall at 16-24
    ev = _edit(w, O.KeySet(id="cart", path="transform.position", frame=40.0, value=[10.0, 0, 0.5], interp="linear"))
    assert CollisionAgent().decide(w, ev, 3) == []  # frames 38-40 are clear; the wall is not looked at
    ev = _edit(w, O.KeySet(id="cart", path="transform.position", frame=20.0, value=[5.0, 0, 0.1], interp="linear"))
    [p] = CollisionAgent().decide(w, ev, 4)
    assert 18.0 <= p.ops[0].frame <= 22.0 and "intersected wall" in p.reason


def test_an_op_on_a_directive_or_relation_named_like_the_entity_leaves_its_span_alone():
    """Directives and relations have ids of their own, which may equal an entity's; their ops have no path."""
    w, keys = _floating_walk(12)
    edit.apply(w, keys, "user:alice")
    key = O.KeySet(id="ball", path="transform.position", frame=6.0, value=[0.6, 0.7, 0])
    for other in (O.DirectiveAdd(id="ball", agent="layout", params={}), O.RelationRemove(id="ball"),
                  O.DirectiveRemove(id="ball")):
        ev = Event(event_id="e", command_id="c", project="p", shot="s", actor=Actor(kind="user", id="alice"),
                   ops=[other, key])
        assert R.changed_span(w, ev, "ball") == (4.0, 8.0)


def test_keyed_frames_in_a_span_are_the_keyed_frames_within_it():
    rng = np.random.default_rng(11)
    for trial in range(40):
        w = World("p", "s")
        edit.apply(w, [O.EntityCreate(id="a", kind="prop", props={"geometry": BOX(1, 1, 1)})], "user:alice")
        ops = []
        values = {"transform.position": [0.0, 0.0, 0.0], "transform.scale": [1.0, 1.0, 1.0],
                  "transform.rotation": [0.0, 0.0, 0.0, 1.0], "visible": True}
        for path, value in values.items():
            if rng.random() < 0.6:
                for f in rng.choice(np.arange(0.0, 200.0, 0.5), size=rng.integers(1, 60), replace=False):
                    ops.append(O.KeySet(id="a", path=path, frame=float(f), value=value))
        if ops:
            edit.apply(w, ops, "user:alice")
        for paths in (("transform.", "joints."), ("transform.position",)):
            whole = R.keyed_frames(w, "a", paths)
            assert R.first_keyed_frame(w, "a", paths) == whole[0]
            for _ in range(10):
                lo = float(rng.choice([rng.uniform(-10, 210), rng.choice(whole)]))
                span = (lo, lo + float(rng.choice([0.0, rng.uniform(0, 40), np.inf])))
                assert R.keyed_frames(w, "a", paths, span=span) == R._in_span(whole, span), (paths, span)


def test_keyed_frames_in_a_span_read_the_keys_near_it_only():
    w, keys = _floating_walk(2000)
    edit.apply(w, keys, "user:alice")
    track = w.entities["ball"].tracks["transform.position"]
    read = []

    class Watched(list):
        def __getitem__(self, i):
            read.append(i)
            return super().__getitem__(i)

    w.entities["ball"].tracks["transform.position"] = Watched(track)
    assert R.keyed_frames(w, "ball", span=(1000.0, 1002.0)) == [1000.0, 1001.0, 1002.0]
    assert len(read) < 60  # bisection and the slice: not 2,000 keys
    read.clear()
    assert R.first_keyed_frame(w, "ball") == 0.0 and read == [0]  # the first key only


def test_the_frames_checked_in_a_span_are_those_of_the_whole_check_within_it():
    w, keys = _floating_walk(30)
    edit.apply(w, keys, "user:alice")
    edit.apply(w, [O.EntityCreate(id="cart", kind="prop", props={"geometry": BOX(1, 1, 1)})]
               + [O.KeySet(id="cart", path="transform.position", frame=f, value=[f, 0, 0]) for f in (3.3, 17.25, 80.0)],
               "user:alice")
    whole = R.check_frames(w, "ball")
    assert len(whole) > 30  # keys of both, and frames sampled over the shot
    rng = np.random.default_rng(5)
    for _ in range(200):
        lo = float(rng.choice([rng.uniform(-5, 120), rng.choice(whole)]))
        span = (lo, lo + float(rng.choice([0.0, rng.uniform(0, 30)])))
        assert R.check_frames(w, "ball", span=span) == R._in_span(whole, span), span
