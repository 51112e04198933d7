"""Recipes the layout cannot build fail whole: the directive gets a report with the reason and no entity is
touched."""

from __future__ import annotations

import copy

import pytest

from agents.assets.retrieval import builtin_index
from agents.layout.agent import LayoutAgent
from core import ops as O
from events.envelope import Actor, Event
from projections.reducer import ShotReducer

from .layout_recipes import LIVING_ROOM, STREET


@pytest.fixture(scope="session")
def agent():
    return LayoutAgent(builtin_index())


def _room(**changes):
    r = copy.deepcopy(LIVING_ROOM)
    r.update(changes)
    return r


def _with_object(obj):
    r = copy.deepcopy(LIVING_ROOM)
    r["objects"].append(obj)
    return r


def _too_much():
    r = copy.deepcopy(LIVING_ROOM)
    r["objects"].append({"id": "beds", "asset": "bed", "count": 12})
    return r


def _long_row():
    r = copy.deepcopy(STREET)
    r["rows"][0]["count"] = 20
    return r


BAD = [
    ("unknown recipe key", {**LIVING_ROOM, "furniture": []}, "unknown field `furniture`"),
    ("unknown object key", _with_object({"id": "x", "asset": "sofa", "colour": [1, 0, 0]}), "unknown field `colour`"),
    ("unknown kind", {"kind": "underwater", "room": {"size": [3, 3]}}, "recipe"),
    ("more furniture than floor", _too_much(), "m² of floor"),
    ("unknown asset", _with_object({"id": "x", "asset": "flux_capacitor"}), "unknown asset 'flux_capacitor'"),
    ("text that names nothing", _with_object({"id": "x", "text": "zzqx vrrbl"}), "no asset matches"),
    ("reference to a missing object", _with_object({"id": "x", "asset": "vase", "on": "piano"}), "unknown object"),
    ("on something with no top", _with_object({"id": "x", "asset": "vase", "on": "sofa"}), "no top"),
    ("door wider than its wall", _room(openings=[{"type": "door", "wall": "east", "width": 9.0}]), "does not fit"),
    ("row longer than its street", _long_row(), "buildings need"),
    ("two placements", _with_object({"id": "x", "asset": "sofa", "against": "east", "centred": True}),
     "at most one placement"),
]


@pytest.mark.parametrize("name,recipe,reason", BAD, ids=[b[0] for b in BAD])
def test_bad_recipe_fails_with_a_reason_and_builds_nothing(agent, name, recipe, reason):
    red = ShotReducer("p", "s")
    before = red.world.to_json()["entities"]
    ev = Event(event_id="e1", command_id="c1", project="p", shot="s", actor=Actor(kind="user", id="ann"),
               ops=[O.DirectiveAdd(id="d", agent="layout", params={"recipe": recipe})])
    assert red.apply(1, ev).applied
    proposals = agent.decide(red.world, ev, 1)
    assert len(proposals) == 1
    ops = proposals[0].ops
    assert [type(op) for op in ops] == [O.DirectiveUpdate]
    report = ops[0].params["report"]
    assert report["status"] == "failed"
    assert reason in report["reason"], report["reason"]
    assert ops[0].params["recipe"] == recipe
    out = red.apply(2, Event(event_id="e2", command_id="c2", project="p", shot="s",
                             actor=Actor(kind="agent", id="layout"), ops=ops))
    assert out.applied
    assert red.world.to_json()["entities"] == before
    assert agent.decide(red.world, ev, 1) == []  # the failure is recorded for this recipe: no retry loop


def test_a_directive_without_recipe_is_failed(agent):
    red = ShotReducer("p", "s")
    ev = Event(event_id="e1", command_id="c1", project="p", shot="s", actor=Actor(kind="user", id="ann"),
               ops=[O.DirectiveAdd(id="d", agent="layout", params={"room": [3, 3]})])
    assert red.apply(1, ev).applied
    (p,) = agent.decide(red.world, ev, 1)
    assert p.ops[0].params["report"]["status"] == "failed"


def test_other_agents_directives_are_ignored(agent):
    red = ShotReducer("p", "s")
    ev = Event(event_id="e1", command_id="c1", project="p", shot="s", actor=Actor(kind="user", id="ann"),
               ops=[O.DirectiveAdd(id="d", agent="camera", params={"recipe": LIVING_ROOM})])
    assert red.apply(1, ev).applied
    assert agent.decide(red.world, ev, 1) == []
