"""The layout agent builds scenes from recipes that the repair agents' geometry finds clean, and the log alone
rebuilds them."""

from __future__ import annotations

import copy

import pytest

from agents import geometry as G
from agents.assets.retrieval import builtin_index
from agents.layout.agent import LayoutAgent
from core import edit
from core import ops as O
from core.world import World
from events.envelope import Actor, Event
from projections.reducer import ShotReducer

from .layout_recipes import LIVING_ROOM, STREET


@pytest.fixture(scope="session")
def agent():
    return LayoutAgent(builtin_index())


def _event(n: int, actor: Actor, ops: list) -> Event:
    return Event(event_id=f"e{n}", command_id=f"c{n}", project="p", shot="s", actor=actor, ops=ops)


USER = Actor(kind="user", id="ann")
LAYOUT = Actor(kind="agent", id="layout")


def _run(agent, recipe: dict, did: str = "scene"):
    """Publish the directive as a person would, let the agent decide, fold both events through the reducer."""
    red = ShotReducer("p", "s")
    first = _event(1, USER, [O.DirectiveAdd(id=did, agent="layout", params={"recipe": recipe})])
    assert red.apply(1, first).applied
    proposals = agent.decide(red.world, first, 1)
    assert len(proposals) == 1
    second = _event(2, LAYOUT, proposals[0].ops)
    out = red.apply(2, second)
    assert out.applied, out.reason
    return red, [first, second], proposals[0]


def _audit(world: World, did: str):
    """Collisions, floating and out-of-bounds entities of the layout, judged by agents.geometry."""
    frame = float(world.frame_start)
    shapes = G.shapes_at(world, [frame])[frame]
    mine = {k: v for k, v in shapes.items() if k.startswith(did + ".")}
    rels = list(world.relations.values())
    ignore = {frozenset((r.subject, r.object)) for r in rels if r.kind in ("supports", "attached_to")}
    collisions = G.intersections(mine, shapes, ignore=ignore)
    held = {r.subject for r in rels if r.kind == "attached_to"}
    on = {r.subject: r.object for r in rels if r.kind == "supports"}
    floating = []
    for eid, sh in mine.items():
        if sh.kind == "environment" or eid in held:
            continue
        surface = G.support_surface_below(sh, shapes, only=on.get(eid))
        if abs(surface.top - sh.base_y) > 2e-3:
            floating.append((eid, sh.base_y, surface))
    areas = G.walkable_areas(shapes)
    outside = [eid for eid, sh in mine.items() if sh.kind != "environment" and not any(
        all(G.contains_point(a, p, tol=1e-2) for p in sh.footprint) for a in areas.values())]
    return collisions, floating, outside


def test_living_room_is_clean_and_complete(agent):
    red, _, proposal = _run(agent, LIVING_ROOM, "living")
    world = red.world
    report = world.directives["living"].params["report"]
    assert report["status"] == "done", report
    assert world.directives["living"].params["recipe"] == LIVING_ROOM  # the recipe is kept
    objects = [e for e in world.entities.values()
               if e.kind == "prop" and e.name not in ("wall",)]
    assert len(objects) >= 12
    collisions, floating, outside = _audit(world, "living")
    assert collisions == [] and floating == [] and outside == []
    assert all("color" in e.props for e in world.entities.values())
    # the lamp stands on the side table, the pendant hangs from the ceiling, the painting from a wall
    rels = {(r.kind, r.subject): r.object for r in world.relations.values()}
    assert rels[("supports", "living.lamp-1")] == "living.side-1"
    assert rels[("attached_to", "living.pendant-1")] == "living.ceiling"
    assert rels[("attached_to", "living.painting-1")].startswith("living.wall-west")
    # the two window-height pieces above the door and window hold on to a neighbouring wall
    assert set(report["entities"]) == {e for e in world.entities}


def test_street_has_two_building_rows_and_is_clean(agent):
    red, _, _ = _run(agent, STREET, "street")
    world = red.world
    assert world.directives["street"].params["report"]["status"] == "done"
    north = [e for e in world.entities.values() if e.id.startswith("street.north-")]
    south = [e for e in world.entities.values() if e.id.startswith("street.south-")]
    assert len(north) == 6 and len(south) == 4
    # the rows face each other across the street
    assert all(e.props["transform.position"][2] < -4 for e in north)
    assert all(e.props["transform.position"][2] > 4 for e in south)
    collisions, floating, outside = _audit(world, "street")
    assert collisions == [] and floating == [] and outside == []


def test_replaying_the_log_rebuilds_the_same_world_without_the_agent(agent):
    red, events, _ = _run(agent, LIVING_ROOM, "living")
    hashes = set()
    for _ in range(2):
        again = ShotReducer("p", "s")
        for seq, ev in enumerate(events, 1):
            assert again.apply(seq, ev).applied
        hashes.add(again.state_hash())
    assert hashes == {red.state_hash()}


def test_the_agent_does_not_react_to_its_own_report_or_resolve_a_solved_recipe(agent):
    red, events, _ = _run(agent, LIVING_ROOM, "living")
    assert agent.decide(red.world, events[1], 2) == []
    # a person touching the directive without changing the recipe does not re-solve either
    params = copy.deepcopy(red.world.directives["living"].params)
    touch = _event(3, USER, [O.DirectiveUpdate(id="living", params=params)])
    assert red.apply(3, touch).applied
    assert agent.decide(red.world, touch, 3) == []


def test_re_solving_keeps_what_a_person_moved(agent):
    red, _, _ = _run(agent, LIVING_ROOM, "living")
    moved_to = [-2.4, 0.0, 1.3]  # the person slides the plant into the south-west corner
    ev = _event(3, USER, [O.EntitySet(id="living.plant-1", path="transform.position", value=moved_to)])
    assert red.apply(3, ev).applied
    recipe = copy.deepcopy(LIVING_ROOM)
    recipe["objects"].append({"id": "stool", "asset": "stool"})
    params = dict(red.world.directives["living"].params, recipe=recipe)
    upd = _event(4, USER, [O.DirectiveUpdate(id="living", params=params)])
    assert red.apply(4, upd).applied
    proposals = agent.decide(red.world, upd, 4)
    assert len(proposals) == 1
    assert red.apply(5, _event(5, LAYOUT, proposals[0].ops)).applied, proposals[0].reason
    world = red.world
    report = world.directives["living"].params["report"]
    assert report["status"] == "done", report
    assert world.entities["living.plant-1"].props["transform.position"] == moved_to
    assert "living.plant-1" in report["pinned"]
    assert "living.stool-1" in world.entities
    collisions, floating, outside = _audit(world, "living")
    assert collisions == [] and floating == [] and outside == []


def test_existing_props_are_obstacles(agent):
    red = ShotReducer("p", "s")
    crate = _event(1, USER, [O.EntityCreate(id="crate", kind="prop", props={
        "geometry": {"primitive": "box", "size": [1.0, 1.0, 1.0]}, "color": [0.5, 0.5, 0.5]})])
    assert red.apply(1, crate).applied
    add = _event(2, USER, [O.DirectiveAdd(id="r", agent="layout", params={"recipe": {
        "kind": "indoor", "room": {"size": [4.0, 4.0]}, "objects": [{"id": "table", "asset": "dining_table",
                                                                     "centred": True}]}})])
    assert red.apply(2, add).applied
    (p,) = agent.decide(red.world, add, 2)
    assert red.apply(3, _event(3, LAYOUT, p.ops)).applied
    report = red.world.directives["r"].params["report"]
    assert report["status"] == "done"
    assert [m["id"] for m in report["moved"]] == ["table-1"]
    shapes = G.shapes_at(red.world, [0.0])[0.0]
    assert G.intersections({"r.table-1": shapes["r.table-1"]}, shapes) == []
