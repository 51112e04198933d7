"""The path agent (SPEC §7.1 ``path``): routes around obstacles that keep the clearance at every frame (checked on
the sampled world's collision shapes, not on the agent's own model), exact arrival, heading and speed limits,
ground following, pins, and clear reports for bad input with nothing half-applied."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents import geometry as G
from agents.path import PathAgent, solve
from agents.path.agent import ACTOR
from agents.path.scene import polygon_distance
from agents.path.timing import TURN_RATE
from agents.repair import simulate
from core import ops as O
from core import quat, tracks
from core.edit import apply
from core.world import World
from events.envelope import Actor, Event

BOX = lambda w, h, d: {"primitive": "box", "size": [w, h, d]}  # noqa: E731
CRATES = [(0.0, 5.0), (-3.2, 9.0), (3.2, 9.0), (0.0, 13.0), (-4.0, 16.0), (4.0, 17.5), (1.5, 20.0)]
FPS = 24.0


def scene(frame_end: float = 600.0) -> World:
    w = World("p", "s", fps=FPS, frame_end=frame_end)
    ops = [O.EntityCreate(id="alice", kind="character", props={"transform.position": [0.0, 0.0, 0.0]}),
           O.SkeletonSet(id="alice", template="biped")]
    ops += [O.EntityCreate(id=f"crate-{i}", kind="prop", props={"geometry": BOX(1.0, 1.0, 1.0),
                                                                 "transform.position": [x, 0.0, z]})
            for i, (x, z) in enumerate(CRATES)]
    apply(w, ops, "user:u")
    return w


def event(*ops, actor=Actor(kind="user", id="u")) -> Event:
    return Event(event_id="e", command_id="c", project="p", shot="s", actor=actor, ops=list(ops))


def direct(w: World, **params):
    op = O.DirectiveAdd(id="walk", agent="path", params=dict(params))
    apply(w, [op], "user:u")
    return PathAgent().decide(w, event(op), 10)


def polygon_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two convex polygons (negative when they overlap, as far as vertices show)."""
    return float(min(polygon_distance(a, b).min(), polygon_distance(b, a).min()))


def body_gaps(w: World, eid: str, frames, ignore=()) -> np.ndarray:
    """(F,) the smallest horizontal gap between ``eid``'s sampled collision prism and any other solid's."""
    shapes = G.shapes_at(w, frames)
    out = []
    for f in shapes:
        me = shapes[f][eid]
        gaps = [polygon_gap(me.footprint, s.footprint) for sid, s in shapes[f].items()
                if sid != eid and sid not in ignore and s.kind != "environment"]
        out.append(min(gaps) if gaps else math.inf)
    return np.array(out)


def report(proposals) -> dict:
    [p] = proposals
    return p.ops[-1].params["report"]


def test_a_route_around_seven_crates_keeps_the_clearance_at_every_frame_and_arrives_at_end():
    w = scene()
    props = direct(w, entity="alice", goal=[0.0, 24.0], start=12, end=480, clearance_m=0.3)
    rep = report(props)
    assert rep["status"] == "done", rep
    assert rep["arrival_frame"] == 480 and rep["obstacles"] == 7
    after = simulate(w, props[0].ops, ACTOR)
    frames = np.arange(12.0, 481.0)
    gaps = body_gaps(after, "alice", frames)
    assert gaps.min() >= 0.3 - 1e-6, (gaps.min(), frames[gaps.argmin()])
    e = after.entities["alice"]
    pos = tracks.value_at(e, "transform.position", frames)
    assert np.linalg.norm(pos[-1] - [0.0, 0.0, 24.0]) < 1e-6                 # there at frame 480
    assert np.linalg.norm(pos[-2] - [0.0, 0.0, 24.0]) > 1e-4                 # and still walking at 479
    assert np.allclose(pos[0], [0.0, 0.0, 0.0])
    straight = 24.0
    assert rep["length_m"] > straight + 0.5                                   # it went round crate-0 on the line


def test_without_end_it_cruises_at_the_gait_speed_and_reports_the_arrival():
    w = scene()
    rep = report(direct(w, entity="alice", goal=[0.0, 24.0], start=0, gait="run"))
    assert rep["status"] == "done"
    assert rep["gait"]["clip"] == "run" and rep["gait"]["speed_mps"] == pytest.approx(3.5)
    assert rep["speed_mps"]["max"] <= 3.5 + 1e-9
    assert rep["arrival_frame"] == pytest.approx(rep["duration_s"] * FPS, abs=0.01)


def test_heading_follows_the_route_within_the_turn_rate_and_speed_drops_on_curves():
    w = scene()
    props = direct(w, entity="alice", waypoints=[[6.0, 3.0], [6.0, 8.0], [-6.0, 8.0]], start=0)
    rep = report(props)
    assert rep["status"] == "done", rep
    after = simulate(w, props[0].ops, ACTOR)
    e = after.entities["alice"]
    frames = np.arange(0.0, math.floor(rep["arrival_frame"]) + 1)
    q = tracks.value_at(e, "transform.rotation", frames)
    fwd = quat.rotate(q, [0.0, 0.0, 1.0])
    assert np.allclose(fwd[:, 1], 0.0, atol=1e-9)                             # turns about the vertical only
    yaw = np.unwrap(np.arctan2(fwd[:, 0], fwd[:, 2]))
    assert np.abs(np.diff(yaw)).max() <= TURN_RATE / FPS + 1e-6
    pos = tracks.value_at(e, "transform.position", frames)[:, [0, 2]]
    vel = np.diff(pos, axis=0) * FPS
    speed = np.linalg.norm(vel, axis=1)
    moving = speed > 0.5
    travel = np.arctan2(vel[moving, 0], vel[moving, 1])
    facing = yaw[1:][moving]
    off = np.abs((travel - facing + np.pi) % (2 * np.pi) - np.pi)
    assert np.median(off) < math.radians(5)                                   # it faces where it goes
    for wp in ([6.0, 3.0], [6.0, 8.0]):                                        # it visits each waypoint, slowly
        d = np.linalg.norm(pos - wp, axis=1)
        i = int(d.argmin())
        assert d[i] < 0.1 and speed[min(i, len(speed) - 1)] < 0.6 * speed.max()


def test_ground_following_steps_onto_a_low_stage():
    w = scene()
    apply(w, [O.EntityCreate(id="stage", kind="prop", props={"geometry": BOX(4.0, 0.15, 3.0),
                                                              "transform.position": [-8.0, 0.0, 0.0]})], "user:u")
    props = direct(w, entity="alice", goal=[-8.0, 0.0], start=0)
    assert report(props)["status"] == "done"
    after = simulate(w, props[0].ops, ACTOR)
    pos = tracks.value_at(after.entities["alice"], "transform.position", [0.0, report(props)["arrival_frame"]])
    assert pos[0, 1] == 0.0 and pos[1, 1] == pytest.approx(0.15)


@pytest.mark.parametrize("params,message", [
    (dict(entity="alice", goal=[0.0, 5.0], start=0), "the goal [0, 5] is inside obstacle crate-0"),
    (dict(entity="alice", goal=[1.0, 5.0], start=0), "the goal [1, 5] is 0.50 m from crate-0; the body needs"),
    (dict(entity="alice", goal=[0.0, 24.0], start=0, end=24), "impossible arrival: the"),
    (dict(entity="alice", goal=[0.0, 24.0], start=30, end=30), "impossible arrival: params.end 30 is not after"),
    (dict(entity="alice", goal=[0.0, 24.0], start=0, end=900), "after the shot's last frame 600"),
    (dict(entity="bob", goal=[0.0, 24.0], start=0), "unknown entity 'bob'"),
    (dict(entity="crate-1", goal=[0.0, 24.0], start=0, gait="gallop"), "params.gait 'gallop' is for characters"),
    (dict(entity="alice", goal=[0.0, 24.0], start=0, gait="gallop"), "unknown gait 'gallop' for a biped"),
    (dict(entity="alice", goal=[0.0, 24.0], waypoints=[[1.0, 1.0]], start=0), "exactly one of"),
    (dict(entity="alice", goal=[0.0, 24.0], start=0, speed=2), "unknown params keys ['speed']"),
    (dict(entity="alice", goal=[0.0, 24.0], start=0, clearance_m=-1), "clearance_m must be ≥ 0"),
    (dict(entity="alice", goal=[0.0, 24.0], start=0, speed_mps=5.0), "faster than the walk's top speed"),
    (dict(entity="alice", goal=[0.0, "far"], start=0), "params.goal[1] must be a finite number"),
])
def test_bad_input_gets_a_clear_report_and_nothing_else(params, message):
    w = scene()
    [p] = direct(w, **params)
    assert [type(op) for op in p.ops] == [O.DirectiveUpdate]
    rep = p.ops[0].params["report"]
    assert rep["status"] == "failed" and message in rep["reason"], rep["reason"]
    assert p.reason.startswith("path walk failed:")


def test_an_enclosed_goal_has_no_route():
    w = scene()
    ring = [(10.0, 8.0, 6.0, 0.5), (10.0, 12.0, 6.0, 0.5), (7.25, 10.0, 0.5, 4.5), (12.75, 10.0, 0.5, 4.5)]
    apply(w, [O.EntityCreate(id=f"wall-{i}", kind="prop", props={"geometry": BOX(sx, 2.0, sz),
                                                                  "transform.position": [x, 0.0, z]})
              for i, (x, z, sx, sz) in enumerate(ring)], "user:u")
    rep = report(direct(w, entity="alice", goal=[10.0, 10.0], start=0))
    assert rep["status"] == "failed" and "no collision-free route" in rep["reason"]


def test_a_failed_resolve_leaves_the_earlier_route_in_place():
    w = scene()
    props = direct(w, entity="alice", goal=[0.0, 24.0], start=0)
    apply(w, props[0].ops, ACTOR)
    keys_before = list(w.entities["alice"].tracks["transform.position"])
    params = dict(w.directives["walk"].params, goal=[0.0, 5.0])
    op = O.DirectiveUpdate(id="walk", params=params)
    apply(w, [op], "user:u")
    [p] = PathAgent().decide(w, event(op), 11)
    assert [type(op) for op in p.ops] == [O.DirectiveUpdate]
    apply(w, p.ops, ACTOR)
    assert w.entities["alice"].tracks["transform.position"] == keys_before


def test_resolving_replaces_only_the_agents_keys_and_keeps_a_persons_keys_as_pins():
    w = scene()
    props = direct(w, entity="alice", goal=[0.0, 24.0], start=0)
    apply(w, props[0].ops, ACTOR)
    apply(w, [O.KeySet(id="alice", path="transform.rotation", frame=30.0, value=[0.0, 0.0, 0.0, 1.0])], "user:ann")
    params = dict(w.directives["walk"].params, goal=[-6.0, 3.0])
    op = O.DirectiveUpdate(id="walk", params=params)
    apply(w, [op], "user:u")
    [p] = PathAgent().decide(w, event(op), 12)
    rep = p.ops[-1].params["report"]
    assert rep["status"] == "done" and rep["pins"] == [{"path": "transform.rotation", "frame": 30.0,
                                                         "by": "user:ann"}]
    apply(w, p.ops, ACTOR)
    rot = w.entities["alice"].tracks["transform.rotation"]
    assert [k for k in rot if k.by == "user:ann"][0].value == [0.0, 0.0, 0.0, 1.0]
    pos = w.entities["alice"].tracks["transform.position"]
    assert max(k.frame for k in pos) == rep["arrival_frame"]                   # nothing left of the longer walk
    assert all(k.by == ACTOR for k in pos)


def test_the_agents_own_report_update_does_not_solve_again_and_decisions_are_deterministic():
    w = scene()
    a = direct(w, entity="alice", goal=[0.0, 24.0], start=0)
    b = PathAgent().decide(w, event(O.DirectiveAdd(id="walk", agent="path", params=w.directives["walk"].params)), 10)
    assert a == b
    apply(w, a[0].ops, ACTOR)
    op = a[0].ops[-1]
    assert PathAgent().decide(w, event(op, actor=Actor(kind="user", id="u")), 13) == []


def test_moving_a_crate_into_the_route_replans_it_and_other_edits_do_not():
    w = scene()
    props = direct(w, entity="alice", goal=[0.0, 24.0], start=0)
    apply(w, props[0].ops, ACTOR)
    far = O.EntitySet(id="crate-6", path="transform.position", value=[30.0, 0.0, 30.0])
    apply(w, [far], "user:u")
    assert PathAgent().decide(w, event(far), 20) == []
    pos = tracks.value_at(w.entities["alice"], "transform.position", [120.0])[0]
    into = O.EntitySet(id="crate-5", path="transform.position", value=[float(pos[0]), 0.0, float(pos[2])])
    apply(w, [into], "user:u")
    [p] = PathAgent().decide(w, event(into), 21)
    rep = p.ops[-1].params["report"]
    assert rep["status"] == "done" and rep["replanned_after"] == {"seq": 21, "entity": "crate-5"}
    assert p.reason.endswith("crate-5 moved into the route")
    after = simulate(w, p.ops, ACTOR)
    frames = np.arange(0.0, math.floor(rep["arrival_frame"]) + 1)
    assert body_gaps(after, "alice", frames).min() >= 0.3 - 1e-6


@pytest.mark.parametrize("template,gait,speed", [("quadruped", "trot", 2.0), ("bird", "hop", 0.5),
                                                 ("fish", "swim", 0.5)])
def test_every_family_walks_its_gait_round_the_crates(template, gait, speed):
    w = scene()
    apply(w, [O.EntityCreate(id="rex", kind="character", props={"transform.position": [-8.0, 0.4, 0.0]}),
              O.SkeletonSet(id="rex", template=template)], "user:u")
    props = direct(w, entity="rex", goal=[-8.0, 12.0], start=0, gait=gait)
    rep = report(props)
    assert rep["status"] == "done", rep
    assert rep["gait"] == {"clip": gait, "start": 0.0, "end": rep["arrival_frame"], "speed_mps": speed}
    after = simulate(w, props[0].ops, ACTOR)
    pos = tracks.value_at(after.entities["rex"], "transform.position", [0.0, rep["arrival_frame"]])
    y_end = 0.4 if template == "fish" else 0.0                  # a fish keeps its depth; the rest follow the ground
    np.testing.assert_allclose(pos[1], [-8.0, y_end, 12.0], atol=1e-6)


def test_a_prop_on_a_path_and_a_room_that_bounds_the_route():
    w = scene()
    apply(w, [O.EntityCreate(id="room", kind="environment", props={"geometry": BOX(30.0, 3.0, 40.0),
                                                                   "transform.position": [0.0, 0.0, 12.0]}),
              O.EntityCreate(id="cart", kind="prop", props={"geometry": BOX(0.8, 1.0, 1.2),
                                                             "transform.position": [8.0, 0.0, 0.0]})], "user:u")
    props = direct(w, entity="cart", goal=[8.0, 24.0], start=0, speed_mps=1.0)
    rep = report(props)
    assert rep["status"] == "done" and rep["body_radius_m"] == pytest.approx(math.hypot(0.4, 0.6), abs=1e-4)
    rep = solve(w, "walk", {"entity": "cart", "goal": [14.8, 24.0], "start": 0}).ops[-1].params["report"]
    assert rep["status"] == "failed" and "outside the walkable area" in rep["reason"]


def test_a_persons_position_key_inside_the_walk_is_a_pin_the_route_passes_through_on_time():
    w = scene()
    apply(w, [O.KeySet(id="alice", path="transform.position", frame=200.0, value=[6.0, 0.0, 8.0])], "user:ann")
    props = direct(w, entity="alice", goal=[0.0, 24.0], start=0, end=480)
    rep = report(props)
    assert rep["status"] == "done", rep
    assert {"path": "transform.position", "frame": 200.0, "by": "user:ann"} in rep["pins"]
    after = simulate(w, props[0].ops, ACTOR)
    e = after.entities["alice"]
    assert [k.value for k in e.tracks["transform.position"] if k.by == "user:ann"] == [[6.0, 0.0, 8.0]]
    pos = tracks.value_at(e, "transform.position", [0.0, 199.0, 200.0, 201.0, 480.0])
    np.testing.assert_allclose(pos[2], [6.0, 0.0, 8.0])
    assert np.linalg.norm(pos[1] - pos[2]) < 0.1 and np.linalg.norm(pos[3] - pos[2]) < 0.1   # no jump at the pin
    np.testing.assert_allclose(pos[4], [0.0, 0.0, 24.0], atol=1e-6)
    assert body_gaps(after, "alice", np.arange(0.0, 481.0, 2.0)).min() >= 0.3 - 1e-6


def test_a_pin_too_far_to_reach_in_time_is_reported():
    w = scene()
    apply(w, [O.KeySet(id="alice", path="transform.position", frame=0.0, value=[0.0, 0.0, 0.0]),
              O.KeySet(id="alice", path="transform.position", frame=10.0, value=[6.0, 0.0, 8.0])], "user:ann")
    rep = report(direct(w, entity="alice", goal=[0.0, 24.0], start=0, end=480))
    assert rep["status"] == "failed"
    assert "impossible arrival" in rep["reason"] and "user:ann's position key at frame 10" in rep["reason"]


def test_a_hand_edited_report_does_not_break_the_agent():
    w = scene()
    props = direct(w, entity="alice", goal=[0.0, 24.0], start=0)
    apply(w, props[0].ops, ACTOR)
    params = dict(w.directives["walk"].params)
    params["report"] = dict(params["report"], arrival_frame="soon", start_position="here")
    apply(w, [O.DirectiveUpdate(id="walk", params=params)], "user:u")
    move = O.EntitySet(id="crate-5", path="transform.position", value=[0.0, 0.0, 2.0])
    apply(w, [move], "user:u")
    assert PathAgent().decide(w, event(move), 30) == []


def test_a_pin_set_after_the_solve_is_routed_through():
    w = scene()
    props = direct(w, entity="alice", goal=[0.0, 24.0], start=0, end=480)
    apply(w, props[0].ops, ACTOR)
    pin = O.KeySet(id="alice", path="transform.position", frame=200.0, value=[6.0, 0.0, 8.0])
    apply(w, [pin], "user:ann")
    [p] = PathAgent().decide(w, event(pin, actor=Actor(kind="user", id="ann")), 40)
    assert p.reason.endswith("a person's position key inside the walk changed")
    rep = p.ops[-1].params["report"]
    assert rep["replanned_after"] == {"seq": 40, "entity": "pin"}
    after = simulate(w, p.ops, ACTOR)
    pos = tracks.value_at(after.entities["alice"], "transform.position", [199.0, 200.0, 201.0])
    np.testing.assert_allclose(pos[1], [6.0, 0.0, 8.0])
    assert np.linalg.norm(pos[0] - pos[1]) < 0.1 and np.linalg.norm(pos[2] - pos[1]) < 0.1


def test_facing_away_it_turns_on_the_spot_before_setting_off():
    w = scene()
    apply(w, [O.EntitySet(id="alice", path="transform.rotation", value=[0.0, 1.0, 0.0, 0.0])], "user:u")  # faces −Z
    props = direct(w, entity="alice", goal=[-6.0, 3.0], start=0)
    rep = report(props)
    assert rep["status"] == "done", rep
    after = simulate(w, props[0].ops, ACTOR)
    e = after.entities["alice"]
    frames = np.arange(0.0, 40.0)
    pos = tracks.value_at(e, "transform.position", frames)
    fwd = quat.rotate(tracks.value_at(e, "transform.rotation", frames), [0.0, 0.0, 1.0])
    yaw = np.unwrap(np.arctan2(fwd[:, 0], fwd[:, 2]))
    away = math.atan2(-6.0, 3.0)
    turn = abs((away - math.pi + math.pi) % (2 * math.pi) - math.pi)
    still = int((turn - math.radians(45)) / TURN_RATE * FPS)              # frames spent turning on the spot
    assert still >= 8
    np.testing.assert_allclose(pos[:still], np.zeros((still, 3)), atol=1e-9)
    assert np.linalg.norm(pos[still + 12]) > 0.05                          # then it walks
    assert np.abs(np.diff(yaw)).max() <= TURN_RATE / FPS + 1e-6


def test_a_walk_through_too_many_pins_is_refused_clearly():
    w = scene()
    apply(w, [O.KeySet(id="alice", path="transform.position", frame=float(f), value=[0.0, 0.0, 0.0])
              for f in range(10, 200, 10)], "user:ann")
    rep = report(direct(w, entity="alice", goal=[0.0, 24.0], start=0, end=480))
    assert rep["status"] == "failed" and "19 position keys by others inside the walk" in rep["reason"]


def test_the_walk_keeps_its_pace_through_a_pin_on_its_way():
    w = World("p", "s", fps=FPS, frame_end=600.0)
    apply(w, [O.EntityCreate(id="alice", kind="character"), O.SkeletonSet(id="alice", template="biped"),
              O.KeySet(id="alice", path="transform.position", frame=180.0, value=[1.0, 0.0, 10.0])], "user:ann")
    props = direct(w, entity="alice", goal=[0.0, 20.0], start=0, end=400)
    assert report(props)["status"] == "done"
    after = simulate(w, props[0].ops, ACTOR)
    pos = tracks.value_at(after.entities["alice"], "transform.position", [178.0, 179.0, 180.0, 181.0, 182.0])
    np.testing.assert_allclose(pos[2], [1.0, 0.0, 10.0])
    speed = np.linalg.norm(np.diff(pos, axis=0), axis=1) * FPS
    assert speed.min() > 0.8                                              # no stop at the pin
    assert np.abs(np.diff(speed)).max() < 0.1                             # nor a jolt
