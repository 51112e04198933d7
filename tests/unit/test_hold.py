"""Held objects (issue 14, item 7): a frame-ranged ``attached_to`` in core (sampled, validated, stored in the
document, restored) and the ``hold`` agent — the hand reaches the object by IK at the pick-up, the object rests
before, follows the hand while held and rests upright on its new support after; unreachable or bad requests get a
clear report and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from agents.hold import HoldAgent
from agents.hold.agent import ACTOR
from core import ops as O
from core import restore, transform
from core.edit import OpError, apply
from core.sampling import sample
from core.world import World
from events.envelope import Actor, Event
from projections.decode import world_from_doc
from projections.reducer import ShotReducer

BOX = lambda w, h, d: {"primitive": "box", "size": [w, h, d]}  # noqa: E731
USER = Actor(kind="user", id="u")


def kitchen() -> World:
    w = World("p", "s", fps=24.0, frame_end=96.0)
    apply(w, [O.EntityCreate(id="alice", kind="character"), O.SkeletonSet(id="alice", template="biped"),
              O.EntityCreate(id="counter", kind="prop", props={"geometry": BOX(1.2, 1.0, 0.4),
                                                                "transform.position": [0.0, 0.0, 0.45]}),
              O.EntityCreate(id="shelf", kind="prop", props={"geometry": BOX(0.4, 1.1, 0.3),
                                                              "transform.position": [-0.5, 0.0, 0.0]}),
              O.EntityCreate(id="cup", kind="prop", props={
                  "geometry": {"primitive": "cylinder", "radius": 0.04, "height": 0.1},
                  "transform.position": [-0.2, 1.0, 0.3], "transform.rotation": [0.0, 0.3826834, 0.0, 0.9238795]})],
          "user:u")
    return w


def event(*ops, actor=USER) -> Event:
    return Event(event_id="e", command_id="c", project="p", shot="s", actor=actor, ops=list(ops))


def direct(w: World, **params):
    op = O.DirectiveAdd(id="grab", agent="hold", params=dict(params))
    apply(w, [op], "user:u")
    return HoldAgent().decide(w, event(op), 7)


def poses(w: World, eid: str, frames):
    s = sample(w, frames)
    return transform.rigid(s.matrices[:, s.ids.index(eid)])


def hand(w: World, frames, joint="r_hand"):
    js = sample(w, frames).joints["alice"]
    return transform.rigid(js.matrices[:, js.names.index(joint)])


# ---------------------------------------------------------------- the frame-ranged attachment in core

def test_a_ranged_attachment_holds_only_on_its_frames():
    w = kitchen()
    apply(w, [O.KeySet(id="alice", path="transform.position", frame=0, value=[0, 0, 0], interp="linear"),
              O.KeySet(id="alice", path="transform.position", frame=40, value=[4, 0, 0], interp="linear"),
              O.RelationAdd(id="h", kind="attached_to", subject="cup", object="alice", joint="r_hand",
                            offset=[0, 0.1, 0], start=10, end=20)], "user:u")
    f = np.array([0.0, 9.99, 10.0, 15.0, 19.99, 20.0, 30.0])
    cup, hd = poses(w, "cup", f), hand(w, f)
    rest = transform.compose(np.array([-0.2, 1.0, 0.3]), np.array([0.0, 0.3826834, 0.0, 0.9238795]))
    for i in (0, 1, 5, 6):
        np.testing.assert_allclose(cup[i], rest, atol=1e-7)
    for i in (2, 3, 4):
        np.testing.assert_allclose(cup[i], hd[i] @ transform.translation_matrix([0, 0.1, 0]) @ rest, atol=1e-9)


def test_ranged_attachments_of_one_object_may_not_overlap():
    w = kitchen()
    apply(w, [O.RelationAdd(id="a", kind="attached_to", subject="cup", object="alice", joint="r_hand", start=10,
                            end=20)], "user:u")
    apply(w, [O.RelationAdd(id="b", kind="attached_to", subject="cup", object="alice", joint="l_hand", start=20,
                            end=30)], "user:u")
    for op, field, message in [
        (O.RelationAdd(id="c", kind="attached_to", subject="cup", object="alice", start=25), "subject",
         "over the same frames"),
        (O.RelationAdd(id="c", kind="attached_to", subject="cup", object="alice", start=40, end=40), "end",
         "must be after start"),
        (O.RelationAdd(id="c", kind="supports", subject="cup", object="counter", start=40), "start",
         "only attached_to"),
    ]:
        with pytest.raises(OpError) as e:
            apply(w, [op], "user:u")
        assert e.value.field == field and message in str(e.value)


def test_the_range_survives_the_document_and_a_rollback():
    w = kitchen()
    r = ShotReducer("p", "s")
    setup = [O.EntityCreate(id="alice", kind="character"), O.EntityCreate(id="cup", kind="prop")]
    assert r.apply(1, Event(event_id="e1", command_id="c1", project="p", shot="s", actor=USER, ops=setup)).applied
    before = world_from_doc(r.doc)
    held = O.RelationAdd(id="h", kind="attached_to", subject="cup", object="alice", start=10.0, end=20.0)
    assert r.apply(2, Event(event_id="e2", command_id="c2", project="p", shot="s", actor=USER, ops=[held])).applied
    back = world_from_doc(r.doc)
    assert back.relations == r.world.relations and back.relations["h"].end == 20.0
    undo = restore.diff(r.world, before)
    redo = restore.diff(before, r.world)
    assert redo == [held]
    assert undo == [O.RelationRemove(id="h")]
    del w


# ---------------------------------------------------------------- the hold agent

def test_pick_up_carry_and_put_down_on_the_shelf():
    w = kitchen()
    [p] = direct(w, character="alice", object="cup", pick=24, place=60, put_at=[-0.5, 0.0], onto="shelf")
    rep = p.ops[-1].params["report"]
    assert rep["status"] == "done", rep
    apply(w, p.ops, ACTOR)
    rel = w.relations["grab.held"]
    assert (rel.kind, rel.subject, rel.object, rel.joint, rel.start, rel.end) == \
        ("attached_to", "cup", "alice", "r_hand", 24.0, 60.0)
    frames = np.array([0.0, 12.0, 23.0, 24.0, 30.0, 42.0, 55.0, 59.0, 60.0, 72.0, 96.0])
    cup, hd = poses(w, "cup", frames), hand(w, frames)
    start = transform.compose(np.array([-0.2, 1.0, 0.3]), np.array([0.0, 0.3826834, 0.0, 0.9238795]))
    for i in range(3):                                                    # resting on the counter before
        np.testing.assert_allclose(cup[i], start, atol=1e-6)
    grip = cup[3][:3, 3] + [0.0, 0.05, 0.0]
    assert np.linalg.norm(hd[3][:3, 3] - grip) <= 1e-3                    # the hand closes on it at the pick-up
    np.testing.assert_allclose(cup[3], start, atol=1e-6)                  # and it has not jumped
    rel_pose = np.linalg.inv(hd[3:9]) @ cup[3:9]
    np.testing.assert_allclose(rel_pose, np.broadcast_to(rel_pose[0], rel_pose.shape), atol=1e-6)  # held
    end = transform.compose(np.array([-0.5, 1.1, 0.0]), np.array([0.0, 0.3826834, 0.0, 0.9238795]))
    for i in range(8, 11):                                                # upright on the shelf after
        np.testing.assert_allclose(cup[i], end, atol=1e-6)
    assert np.linalg.norm(cup[7][:3, 3] - end[:3, 3]) < 0.05               # lowered onto it, no jump
    assert cup[5][1, 3] > 1.1                                             # carried over, not through, the shelf


def test_without_put_at_it_goes_back_where_it_was_and_without_place_it_is_carried_to_the_end():
    w = kitchen()
    [p] = direct(w, character="alice", object="cup", pick=10)
    assert p.ops[-1].params["report"]["status"] == "done"
    apply(w, p.ops, ACTOR)
    assert w.relations["grab.held"].end is None
    cup, hd = poses(w, "cup", [50.0, 96.0]), hand(w, [50.0, 96.0])
    np.testing.assert_allclose(np.linalg.inv(hd) @ cup, np.broadcast_to((np.linalg.inv(hd) @ cup)[0], (2, 4, 4)),
                               atol=1e-9)


@pytest.mark.parametrize("params,message", [
    (dict(character="alice", object="cup", pick=24, place=60, put_at=[2.0, 0.0]),
     "cannot put cup at [2, 0] at frame 60"),
    (dict(character="alice", object="counter", pick=24), "cannot reach counter at frame 24"),
    (dict(character="alice", object="cup", pick=24, place=10), "must be after pick 24"),
    (dict(character="alice", object="cup", pick=24, grip="firm"), "unknown params keys ['grip']"),
    (dict(character="alice", object="mug", pick=24), "params.object: unknown entity 'mug'"),
    (dict(character="alice", object="cup", pick=24, hand="tail"), "alice has no joint 'tail'"),
    (dict(character="alice", object="cup", pick=24, hand="hips"), "fewer than three ancestors"),
    (dict(character="alice", object="cup", pick=24, place=60, put_at=[3.0, 3.0], onto="shelf"),
     "put_at [3, 3] is not on shelf"),
    (dict(character="alice", object="alice", pick=24), "a character holds a prop"),
    (dict(character="alice", object="cup", pick=200), "outside the shot's frames"),
])
def test_bad_requests_get_a_report_and_nothing_else(params, message):
    w = kitchen()
    [p] = direct(w, **params)
    assert [type(op) for op in p.ops] == [O.DirectiveUpdate]
    rep = p.ops[0].params["report"]
    assert rep["status"] == "failed" and message in rep["reason"], rep["reason"]


def test_moving_the_character_resolves_the_reach_and_an_unrelated_edit_does_not():
    w = kitchen()
    [p] = direct(w, character="alice", object="cup", pick=24, place=60)
    apply(w, p.ops, ACTOR)
    step = O.EntitySet(id="alice", path="transform.position", value=[0.05, 0.0, 0.05])
    apply(w, [step], "user:u")
    [again] = HoldAgent().decide(w, event(step), 9)
    assert again.ops[-1].params["report"]["status"] == "done"
    apply(w, again.ops, ACTOR)
    cup, hd = poses(w, "cup", [24.0]), hand(w, [24.0])
    assert np.linalg.norm(hd[0][:3, 3] - (cup[0][:3, 3] + [0, 0.05, 0])) <= 1e-3
    keys = w.entities["cup"].tracks["transform.position"]
    assert [k.frame for k in keys] == [0.0, 24.0, 60.0] and all(k.by == ACTOR for k in keys)
    other = O.EntitySet(id="shelf", path="color", value=[1.0, 0.0, 0.0])
    apply(w, [other], "user:u")
    assert HoldAgent().decide(w, event(other), 10) == []
    same = O.EntitySet(id="alice", path="transform.position", value=[0.05, 0.0, 0.05])
    apply(w, [same], "user:u")
    assert HoldAgent().decide(w, event(same), 11) == []                  # nothing to change: nothing published


async def test_the_hold_agent_publishes_through_the_runtime():
    import asyncio

    from projections.replay import rebuild
    from tests.unit.test_agents_runtime import P, S, Rig
    from tests.unit.test_path_runtime import _published

    rig = Rig()
    await rig.log.ensure_project(P)
    w = kitchen()
    await rig.submit(O.ShotConfigure(fps=24, frame_start=0, frame_end=96),
                     *[O.EntityCreate(id=eid, kind=e.kind, props=dict(e.props)) for eid, e in sorted(w.entities.items())
                       if eid != "alice"],
                     O.EntityCreate(id="alice", kind="character"), O.SkeletonSet(id="alice", template="biped"))
    runner = rig.runner([HoldAgent()])
    task = asyncio.create_task(runner.run())
    try:
        seq = await rig.submit(O.DirectiveAdd(id="grab", agent="hold", params={
            "character": "alice", "object": "cup", "pick": 24, "place": 60, "put_at": [-0.5, 0.0], "onto": "shelf"}))
        done, ev = await _published(rig, seq, agent="hold")
        await runner.wait_for(P, done)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert ev.ops[-1].params["report"]["status"] == "done" and runner.counts["applied"] == 1
    world = (await rebuild(rig.log, P, S)).world
    assert world.relations["grab.held"].start == 24.0 and world.relations["grab.held"].end == 60.0
    cup = poses(world, "cup", [96.0])[0]
    np.testing.assert_allclose(cup[:3, 3], [-0.5, 1.1, 0.0], atol=1e-6)
