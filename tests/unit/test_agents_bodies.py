"""The agents' collision and support tests use the white-box bodies the renderer draws (SPEC §7.2)."""

from __future__ import annotations

import numpy as np
import pytest

from agents import geometry as G
from agents.collision import CollisionAgent
from agents.support import SupportAgent
from core import bodies as B
from core import edit
from core import ops as O
from core.sampling import sample
from core.templates import template_joints
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


def _character(eid, template, pos, scale=1.0, **props):
    return [O.EntityCreate(id=eid, kind="character", props={"transform.position": pos, **props}),
            O.SkeletonSet(id=eid, template=template, scale=scale)]


@pytest.mark.parametrize("template", ["biped", "quadruped", "bird", "fish"])
def test_a_characters_collision_prism_is_its_body(template):
    w = _world(*_character("c", template, [1.0, 0.0, -2.0], 1.3))
    shape = G.shapes_at(w, [0])[0.0]["c"]
    lo, hi = B.body_bounds(B.body_of(template_joints(template, 1.3)))
    tall = hi[1] - lo[1]
    assert lo[1] - 0.035 * tall <= shape.y_min <= lo[1] + 1e-9 and hi[1] - 1e-9 <= shape.y_max <= hi[1] + 0.035 * tall
    fx, fz = shape.footprint[:, 0], shape.footprint[:, 1]
    # the footprint holds the body's bounds (boxes exactly, round volumes erring outwards by under 3.5 %)
    assert fx.min() <= 1.0 + lo[0] + 1e-9 and fx.max() >= 1.0 + hi[0] - 1e-9
    assert fz.min() <= -2.0 + lo[2] + 1e-9 and fz.max() >= -2.0 + hi[2] - 1e-9
    assert fx.max() - fx.min() <= (hi[0] - lo[0]) * 1.035 + 1e-9
    assert shape.base_y == 0.0


def test_the_prism_follows_the_animated_body():
    w = _world(*_character("c", "biped", [0, 0, 0]),
               O.KeySet(id="c", path="joints.l_shoulder.rotation", frame=0, value=[0, 0, 0, 1]),
               O.KeySet(id="c", path="joints.r_shoulder.rotation", frame=0, value=[0, 0, 0, 1]),
               O.KeySet(id="c", path="joints.l_shoulder.rotation", frame=10, value={"euler_deg": [0, 0, -85]}),
               O.KeySet(id="c", path="joints.r_shoulder.rotation", frame=10, value={"euler_deg": [0, 0, 85]}))
    shapes = G.shapes_at(w, [0, 10])
    wide = np.ptp(shapes[0.0]["c"].footprint[:, 0])
    hanging = np.ptp(shapes[10.0]["c"].footprint[:, 0])
    assert wide == pytest.approx(1.88, abs=1e-6)                 # hand box tip to hand box tip in the T-pose
    assert 0.45 < hanging < 0.7                                  # arms down: shoulders and hands at the sides
    s = sample(w, [10.0])
    lo, hi = B.body_bounds(B.body_of(w.entities["c"].props["skeleton"]), s.joints["c"].matrices[0])
    assert hanging <= (hi[0] - lo[0]) * 1.035 + 1e-9


def test_collision_pushes_a_character_out_by_its_body():
    # a crate 0.2 m inside the reach of the biped's right hand box (its tip at x = −0.94 m)
    w = _world(O.EntityCreate(id="crate", kind="prop", props={"geometry": BOX(1, 1.6, 1),
                                                              "transform.position": [-1.24, 0, 0]}),
               O.EntityCreate(id="bob", kind="character"))
    ev = _edit(w, O.SkeletonSet(id="bob", template="biped"))
    [p] = CollisionAgent().decide(w, ev, 5)
    assert p.reason.startswith("moved bob 0.20 m +x: intersected crate")
    edit.apply(w, p.ops, "agent:collision")
    assert w.entities["bob"].props["transform.position"][0] == pytest.approx(0.2 + 2e-3, abs=1e-6)
    # two characters: their bodies, not their joints, keep them apart
    w2 = _world(*_character("a", "quadruped", [0, 0, 0]),
                O.EntityCreate(id="b", kind="character", props={"transform.position": [0.2, 0, 0]}))
    ev2 = _edit(w2, O.SkeletonSet(id="b", template="quadruped"))
    [p2] = CollisionAgent().decide(w2, ev2, 9)
    edit.apply(w2, p2.ops, "agent:collision")
    s = G.shapes_at(w2, [0])[0.0]
    assert G.intersections({"b": s["b"]}, s) == []
    gap = s["b"].footprint[:, 0].min() - s["a"].footprint[:, 0].max()
    assert -1e-3 <= gap <= 3e-3                                   # side by side, bodies (0.27 m wide) touching


def test_support_finds_the_surface_under_the_body():
    w = _world(O.EntityCreate(id="stage", kind="prop", props={"geometry": BOX(3, 0.5, 3)}),
               O.EntityCreate(id="fish", kind="character"))
    ev = _edit(w, O.EntitySet(id="fish", path="transform.position", value=[0.0, 0.8, 0.0]),
               O.SkeletonSet(id="fish", template="biped"))
    [p] = SupportAgent().decide(w, ev, 3)
    assert p.reason == "put fish 0.30 m down onto stage at frame 0"
