"""A removal that would change entities the caller's role may not edit is refused, naming them (issue: a layout
user removing a prop also removed a camera's look_at on it and cleared a character's parent)."""

from __future__ import annotations

import pytest

from core import ops as O
from core.edit import apply
from core.world import World
from realtime.access import Membership
from realtime.errors import Forbidden, error_body
from realtime.policy import authorize

BOX = {"geometry": {"primitive": "box", "size": [1.0, 1.0, 1.0]}}


def member(role: str, scopes=None) -> Membership:
    return Membership(project="p", user="u", role=role, scopes=scopes)


@pytest.fixture
def world() -> World:
    w = World(project="p", shot="s")
    apply(w, [O.ShotConfigure(fps=24, frame_start=0, frame_end=48),
              O.EntityCreate(id="table", kind="prop", props=BOX),
              O.EntityCreate(id="cup", kind="prop", parent="table", props=BOX),
              O.EntityCreate(id="vase", kind="prop", props=BOX),
              O.EntityCreate(id="cam", kind="camera"),
              O.EntityCreate(id="bob", kind="character", parent="vase"),
              O.RelationAdd(id="aim", kind="look_at", subject="cam", object="table"),
              O.RelationAdd(id="hold", kind="supports", subject="cup", object="table")], "user:owner")
    return w


def test_layout_may_not_remove_a_prop_a_camera_looks_at(world):
    with pytest.raises(Forbidden) as e:
        authorize(member("layout"), world, [O.EntityRemove(id="table")])
    body = error_body(e.value)
    assert body["status_code"] == 403 and body["op"] == 0 and body["entities"] == ["cam"]
    assert "camera 'cam'" in body["reason"] and "look_at relation 'aim'" in body["reason"]


def test_layout_may_not_remove_a_prop_a_character_is_parented_to(world):
    with pytest.raises(Forbidden) as e:
        authorize(member("layout"), world, [O.EntityRemove(id="vase")])
    assert e.value.extra["entities"] == ["bob"] and "parent is cleared" in e.value.reason


def test_layout_may_remove_a_prop_whose_dependents_are_props(world):
    authorize(member("layout"), world, [O.EntityRemove(id="cup")])  # its own relation goes with it
    world2 = world
    apply(world2, [O.RelationRemove(id="aim")], "user:owner")
    authorize(member("layout"), world2, [O.EntityRemove(id="table")])  # child cup and cup's relation: props


def test_full_roles_and_scoped_agents(world):
    authorize(member("director"), world, [O.EntityRemove(id="table")])
    authorize(member("agent", ("prop", "camera")), world, [O.EntityRemove(id="table")])
    with pytest.raises(Forbidden) as e:
        authorize(member("agent", ("prop",)), world, [O.EntityRemove(id="table")])
    assert e.value.extra["entities"] == ["cam"]
