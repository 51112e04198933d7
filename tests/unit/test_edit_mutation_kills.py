"""Tests written against mutants of ``core/edit.py`` that survived ``bench/mutation.sh 'core.edit.*'``: each pins
a behaviour of the op checks and handlers that no other test held (see ``bench/MUTATION.md``).

The handlers are the fold itself, so a mutant that applies an op differently changes every replica's world; a
refusal's field and reason reach people (a 422's ``field``, the history's reason), so they are pinned too.
"""

from __future__ import annotations

import pytest

from core import edit
from core import ops as O
from core.ops import decode_ops
from core.world import World
from projections.decode import world_from_doc
from projections.reducer import ShotReducer

from .test_mutation_kills import _event  # an event of p/s by alice


def _fold(steps: list[list]) -> ShotReducer:
    """Each step one event; every one must apply, and the document must decode to the world after each."""
    r = ShotReducer("p", "s")
    for seq, ops in enumerate(steps, start=1):
        out = r.apply(seq, _event(seq, ops))
        assert out.applied, (seq, out)
        assert world_from_doc(r.doc).to_json() == r.world.to_json(), f"after step {seq}"
    return r


def _refused(world: World, ops: list) -> edit.OpError:
    before = world.to_json()
    with pytest.raises(edit.OpError) as e:
        edit.check(world, ops, "user:alice")
    assert world.to_json() == before  # a refused command leaves the world exactly as it was
    return e.value


# --- directives and relations: update and removal reach the world and the document ------------------------------

def test_directive_update_and_remove_reach_the_world_and_the_document():
    r = _fold([
        [O.DirectiveAdd(id="d1", agent="layout", params={"n": 1}),
         O.DirectiveAdd(id="d2", agent="lighting", params={"preset": "noon"})],
        [O.DirectiveUpdate(id="d1", params={"n": 2, "more": [1, "x", None, True]})],
        [O.DirectiveRemove(id="d2")],
    ])
    assert sorted(r.world.directives) == ["d1"]
    d1 = r.world.directives["d1"]
    assert (d1.agent, d1.params) == ("layout", {"n": 2.0, "more": [1.0, "x", None, True]})  # the agent is kept


def test_an_update_or_removal_of_an_unknown_directive_or_relation_is_refused_naming_it():
    w = World("p", "s")
    for op, reason in [(O.DirectiveUpdate(id="nope", params={}), "unknown directive 'nope'"),
                       (O.DirectiveRemove(id="nope"), "unknown directive 'nope'"),
                       (O.RelationRemove(id="nope"), "unknown relation 'nope'")]:
        e = _refused(w, [op])
        assert (e.index, e.field, e.reason) == (0, "id", reason)


def test_the_changes_of_directive_and_relation_ops_are_named_for_the_document():
    w = World("p", "s")
    changes = edit.apply(w, [
        O.EntityCreate(id="cup", kind="prop"), O.EntityCreate(id="table", kind="prop"),
        O.RelationAdd(id="r1", kind="on", subject="cup", object="table"),
        O.DirectiveAdd(id="d1", agent="layout", params={"a": 1}),
        O.DirectiveUpdate(id="d1", params={"a": 2}),
    ], "user:alice")
    assert [c.target for c in changes[2:]] == ["relation.put", "directive.put", "directive.put"]
    assert changes[-1].args == ("d1", {"agent": "layout", "params": {"a": 2.0}})
    changes = edit.apply(w, [O.RelationRemove(id="r1"), O.DirectiveRemove(id="d1")], "user:alice")
    assert [(c.target, c.args) for c in changes] == [("relation.del", ("r1",)), ("directive.del", ("d1",))]
    assert not w.relations and not w.directives


# --- track.shift moves keys with their values ------------------------------------------------------------------

def test_a_shifted_track_keeps_each_keys_value_interpolation_and_author():
    r = _fold([
        [O.EntityCreate(id="p", kind="prop")],
        [O.KeySet(id="p", path="transform.position", frame=f, value=[f, 2 * f, 0.0], interp=i)
         for f, i in ((0.0, "linear"), (10.0, "step"), (20.0, "auto"))],
        [O.TrackShift(id="p", path="transform.position", by=5.0, start=10.0)],
    ])
    keys = r.world.entities["p"].tracks["transform.position"]
    assert [(k.frame, list(k.value), k.interp, k.by) for k in keys] == [
        (0.0, [0.0, 0.0, 0.0], "linear", "user:alice"),
        (15.0, [10.0, 20.0, 0.0], "step", "user:alice"),
        (25.0, [20.0, 40.0, 0.0], "auto", "user:alice"),
    ]


# --- every refusal names its op, field and reason exactly (people read them: a 422's field, the history) -------

WORLD = """[
    {"type": "entity.create", "id": "p", "kind": "prop"},
    {"type": "entity.create", "id": "q", "kind": "prop", "parent": "p"},
    {"type": "entity.create", "id": "c", "kind": "character"},
    {"type": "skeleton.set", "id": "c", "template": "biped"},
    {"type": "key.set", "id": "p", "path": "transform.position", "frame": 0, "value": [0, 0, 0]},
    {"type": "key.set", "id": "p", "path": "transform.position", "frame": 10, "value": [1, 0, 0]},
    {"type": "relation.add", "id": "r1", "kind": "attached_to", "subject": "q", "object": "c", "joint": "r_hand",
     "start": 0, "end": 20},
    {"type": "relation.add", "id": "s1", "kind": "supports", "subject": "p", "object": "c"},
    {"type": "directive.add", "id": "d1", "agent": "layout", "params": {}}
]"""
"""A prop ``p`` keyed at frames 0 and 10, its child ``q``, a biped ``c`` holding ``q`` in its right hand over
frames 0–20 and resting on ``p``, and a directive ``d1``."""

REFUSALS = [
    ('[{"type": "shot.configure", "fps": 0}]',
     (0, 'fps', 'fps must be > 0, got 0')),
    ('[{"type": "shot.configure", "frame_start": 50, "frame_end": 40}]',
     (0, 'frame_end', 'frame_end (40) must be greater than frame_start (50)')),
    ('[{"type": "shot.configure", "frame_end": -100}]',
     (0, 'frame_end', 'frame_end (-100) must be greater than frame_start (0)')),
    ('[{"type": "shot.configure", "resolution": [8, 100]}]',
     (0, 'resolution', 'resolution must be within 16–8192 pixels per side, got 8×100')),
    ('[{"type": "shot.configure", "resolution": [100, 9000]}]',
     (0, 'resolution', 'resolution must be within 16–8192 pixels per side, got 100×9000')),
    ('[{"type": "shot.configure", "agents": {"bad name": "auto"}}]',
     (0, 'agents', "agent name 'bad name' must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")),
    ('[{"type": "entity.create", "id": "p", "kind": "prop"}]',
     (0, 'id', "entity 'p' already exists")),
    ('[{"type": "entity.create", "id": "bad id", "kind": "prop"}]',
     (0, 'id', "entity id 'bad id' must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")),
    ('[{"type": "entity.create", "id": "n", "kind": "prop", "parent": "zz"}]',
     (0, 'parent', "unknown entity 'zz'")),
    ('[{"type": "entity.create", "id": "n", "kind": "prop", "name": "<300 x>"}]',
     (0, 'name', 'name must be at most 256 characters, got 300')),
    ('[{"type": "entity.create", "id": "n", "kind": "prop", "props": {"nope": 1}}]',
     (0, 'path', "unknown attribute path 'nope'")),
    ('[{"type": "entity.remove", "id": "zz"}]',
     (0, 'id', "unknown entity 'zz'")),
    ('[{"type": "entity.set", "id": "zz", "path": "name", "value": "x"}]',
     (0, 'id', "unknown entity 'zz'")),
    ('[{"type": "entity.set", "id": "p", "path": "parent", "value": 3}]',
     (0, 'value', 'parent must be an entity id or null, got 3')),
    ('[{"type": "entity.set", "id": "p", "path": "parent", "value": "zz"}]',
     (0, 'value', "unknown entity 'zz'")),
    ('[{"type": "entity.set", "id": "p", "path": "parent", "value": "q"}]',
     (0, 'value', "parenting 'p' to 'q' would make a cycle")),
    ('[{"type": "entity.set", "id": "p", "path": "nope", "value": 1}]',
     (0, 'path', "unknown attribute path 'nope'")),
    ('[{"type": "key.set", "id": "p", "path": "kind", "frame": 0, "value": 1}]',
     (0, 'path', "unknown attribute path 'kind'")),
    ('[{"type": "key.set", "id": "c", "path": "skeleton", "frame": 0, "value": 1}]',
     (0, 'path', "'skeleton' is static and cannot be keyed")),
    ('[{"type": "key.set", "id": "p", "path": "transform.position", "frame": 2000000.0, "value": [0, 0, 0]}]',
     (0, 'frame', 'frame must be within ±1e+06, got 2e+06')),
    ('[{"type": "key.set", "id": "p", "path": "transform.position", "frame": 1, "value": [0, 0, 0],'
     '"in_tangent": [1, 2]}]',
     (0, 'in_tangent', 'in_tangent must be a list of 3 numbers')),
    ('[{"type": "key.set", "id": "p", "path": "visible", "frame": 1, "value": true, "out_tangent": "x"}]',
     (0, 'out_tangent', 'out_tangent must be a number, got str')),
    ('[{"type": "key.remove", "id": "p", "path": "transform.position", "frame": 5}]',
     (0, 'frame', 'no key at frame 5 on p.transform.position')),
    ('[{"type": "key.remove", "id": "p", "path": "visible", "frame": 0}]',
     (0, 'frame', 'no key at frame 0 on p.visible')),
    ('[{"type": "track.shift", "id": "p", "path": "transform.position", "by": 1, "start": 5, "end": 2}]',
     (0, 'end', 'end (2) is before start (5)')),
    ('[{"type": "track.shift", "id": "p", "path": "transform.position", "by": 10, "start": 0, "end": 0}]',
     (0, 'by', 'shifted keys would land on existing keys at frames [10.0]')),
    ('[{"type": "track.shift", "id": "p", "path": "transform.position", "by": 999995, "start": 10}]',
     (0, 'by', 'shifted keys would land beyond ±1e+06 (at frames [1000005.0])')),
    ('[{"type": "track.shift", "id": "p", "path": "transform.position", "by": 2000000.0}]',
     (0, 'by', 'shifted keys would land beyond ±1e+06 (at frames [2000000.0, 2000010.0])')),
    ('[{"type": "skeleton.set", "id": "p", "template": "biped"}]',
     (0, 'id', "'p' is a prop; only characters have skeletons")),
    ('[{"type": "skeleton.set", "id": "c"}]',
     (0, 'template', 'give exactly one of template or joints')),
    ('[{"type": "skeleton.set", "id": "c", "template": "biped", "joints": []}]',
     (0, 'template', 'give exactly one of template or joints')),
    ('[{"type": "skeleton.set", "id": "c", "template": "biped", "scale": 0}]',
     (0, 'scale', 'scale must be > 0, got 0')),
    ('[{"type": "skeleton.set", "id": "c", "joints": [{"name": "root", "parent": null}], "scale": 2}]',
     (0, 'scale', 'scale applies only to a template')),
    ('[{"type": "skeleton.set", "id": "c", "joints": [{"name": "root", "parent": "nope"}]}]',
     (0, 'joints', 'joints has no root joint (one joint must have no parent)')),
    ('[{"type": "skeleton.set", "id": "c", "template": "fish"}]',
     (0, 'template', "relations ['r1'] attach to joints of 'c' that this skeleton lacks; remove them first")),
    ('[{"type": "relation.add", "id": "r1", "kind": "look_at", "subject": "p", "object": "q"}]',
     (0, 'id', "relation 'r1' already exists")),
    ('[{"type": "relation.add", "id": "r2", "kind": "look_at", "subject": "zz", "object": "q"}]',
     (0, 'subject', "unknown entity 'zz'")),
    ('[{"type": "relation.add", "id": "r2", "kind": "look_at", "subject": "p", "object": "zz"}]',
     (0, 'object', "unknown entity 'zz'")),
    ('[{"type": "relation.add", "id": "r2", "kind": "look_at", "subject": "p", "object": "p"}]',
     (0, 'object', 'an entity cannot relate to itself')),
    ('[{"type": "relation.add", "id": "r2", "kind": "attached_to", "subject": "p", "object": "c", "joint": "tail"}]',
     (0, 'joint', "'c' has no joint 'tail'")),
    ('[{"type": "relation.add", "id": "r2", "kind": "look_at", "subject": "p", "object": "q", "start": 1}]',
     (0, 'start', 'only attached_to relations have a frame range')),
    ('[{"type": "relation.add", "id": "r2", "kind": "look_at", "subject": "p", "object": "q", "end": 1}]',
     (0, 'end', 'only attached_to relations have a frame range')),
    ('[{"type": "relation.add", "id": "r2", "kind": "attached_to", "subject": "p", "object": "c", "start": 5,'
     '"end": 5}]',
     (0, 'end', 'end 5 must be after start 5')),
    ('[{"type": "relation.add", "id": "r2", "kind": "attached_to", "subject": "q", "object": "p",'
     '"start": 10, "end": 30}]',
     (0, 'subject', "'q' already has a attached_to relation ('r1') over the same frames")),
    ('[{"type": "relation.add", "id": "r2", "kind": "attached_to", "subject": "q", "object": "p"}]',
     (0, 'subject', "'q' already has a attached_to relation ('r1') over the same frames")),
    ('[{"type": "relation.add", "id": "l1", "kind": "look_at", "subject": "c", "object": "p"},'
     '{"type": "relation.add", "id": "l2", "kind": "look_at", "subject": "c", "object": "q"}]',
     (1, 'subject', "'c' already has a look_at relation ('l1')")),
    ('[{"type": "relation.add", "id": "r2", "kind": "attached_to", "subject": "c", "object": "q", "start": 30}]',
     (0, 'object', "attaching 'c' to 'q' would make a cycle")),
    ('[{"type": "relation.add", "id": "r2", "kind": "supports", "subject": "c", "object": "p"}]',
     (0, 'object', "'p' already rests on 'c'")),
    ('[{"type": "relation.add", "id": "r2", "kind": "look_at", "subject": "p", "object": "q", "offset": [1, 2]}]',
     (0, 'offset', 'offset must be a list of 3 numbers')),
    ('[{"type": "relation.add", "id": "a1", "kind": "attached_to", "subject": "p", "object": "c"},'
     '{"type": "relation.add", "id": "a2", "kind": "attached_to", "subject": "p", "object": "q", "start": 3}]',
     (1, 'subject', "'p' already has a attached_to relation ('a1')")),
    ('[{"type": "relation.remove", "id": "zz"}]',
     (0, 'id', "unknown relation 'zz'")),
    ('[{"type": "directive.add", "id": "d1", "agent": "layout"}]',
     (0, 'id', "directive 'd1' already exists")),
    ('[{"type": "directive.add", "id": "d2", "agent": "bad agent"}]',
     (0, 'agent', "agent 'bad agent' must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")),
    ('[{"type": "directive.add", "id": "d2", "agent": "x", "params": {"a": [1, {"b": 1e+16}]}}]',
     (0, 'params', 'params.a[1].b must be ≤ 1e+15, got 1e+16')),
    ('[{"type": "directive.update", "id": "zz"}]',
     (0, 'id', "unknown directive 'zz'")),
    ('[{"type": "directive.remove", "id": "zz"}]',
     (0, 'id', "unknown directive 'zz'")),
    ('[{"type": "relation.add", "id": "r2", "kind": "attached_to", "subject": "p", "object": "c", "start": 2e6}]',
     (0, 'start', 'start must be within ±1e+06, got 2e+06')),
    ('[{"type": "relation.add", "id": "r2", "kind": "attached_to", "subject": "p", "object": "c", "end": -2e6}]',
     (0, 'end', 'end must be within ±1e+06, got -2e+06')),
    ('[{"type": "relation.add", "id": "a1", "kind": "attached_to", "subject": "p", "object": "c", "start": 5},'
     '{"type": "relation.add", "id": "a2", "kind": "attached_to", "subject": "p", "object": "q", "start": 30}]',
     (1, 'subject', "'p' already has a attached_to relation ('a1') over the same frames")),
    ('[{"type": "entity.set", "id": "p", "path": "transform.position", "value": "x"}]',
     (0, 'value', 'transform.position must be a list of 3 numbers')),
    ('[{"type": "directive.add", "id": "d2", "agent": "x", "params": {"a": -1e16}}]',
     (0, 'params', 'params.a must be ≥ -1e+15, got -1e+16')),
    ('[{"type": "skeleton.set", "id": "c", "joints": [{"name": "hips"}]}]',
     (0, 'joints', "relations ['r1'] attach to joints of 'c' that this skeleton lacks; remove them first")),
    ('[{"type": "entity.set", "id": "p", "path": "name", "value": 5}]',
     (0, 'value', 'name must be a string, got int')),
    ('[{"type": "key.set", "id": "p", "path": "transform.position", "frame": 1, "value": [0, 0, 0],'
     '"in_tangent": -1e10}]',
     (0, 'in_tangent', 'in_tangent must be a list of 3 numbers')),
    ('[{"type": "directive.add", "id": "d2", "agent": "x", "params": {"a": <41 deep>}}]',
     (0, 'params', 'params nests deeper than 32 levels')),
    ('[{"type": "entity.create", "id": "n", "kind": "prop", "props": {"transform.position": "x"}}]',
     (0, 'props.transform.position', 'transform.position must be a list of 3 numbers')),
    ('[{"type": "key.set", "id": "p", "path": "transform.position", "frame": 0, "value": "x"}]',
     (0, 'value', 'transform.position must be a list of 3 numbers')),
]


@pytest.mark.parametrize("ops, want", REFUSALS, ids=[f"{i}" for i in range(len(REFUSALS))])
def test_each_refusal_names_the_op_field_and_reason_exactly(ops, want):
    w = World("p", "s")
    edit.apply(w, decode_ops(WORLD), "user:alice")
    e = _refused(w, decode_ops(ops.replace("<300 x>", "x" * 300).replace("<41 deep>", "[" * 41 + "]" * 41)))
    assert (e.index, e.field, e.reason) == want
    assert str(e) == f"op {want[0]}: {want[1]}: {want[2]}"


# --- a skeleton change keeps every joint value it has a joint for ------------------------------------------------

def _posed_biped() -> World:
    w = World("p", "s")
    edit.apply(w, [O.EntityCreate(id="c", kind="character"), O.SkeletonSet(id="c", template="biped"),
                   O.EntitySet(id="c", path="joints.l_toe.rotation", value={"euler_deg": [0, 10, 0]}),
                   O.KeySet(id="c", path="joints.head.rotation", frame=0, value={"euler_deg": [0, 0, 20]}),
                   O.EntitySet(id="c", path="joints.hips.position", value=[0, 1, 0])], "user:alice")
    return w


def test_a_skeleton_without_joints_that_hold_values_is_refused_by_either_op():
    w = _posed_biped()
    lacking = [{"name": "hips"}, {"name": "spine", "parent": "hips"}]
    want = (0, "joints", "values exist for joints the new skeleton lacks: ['joints.head.rotation', "
                         "'joints.l_toe.rotation']; clear them first")
    for op in (O.SkeletonSet(id="c", joints=lacking), O.EntitySet(id="c", path="skeleton", value=lacking)):
        e = _refused(w, [op])
        assert (e.index, e.field, e.reason) == want


def test_a_joint_position_needs_the_joint_to_stay_a_root():
    w = _posed_biped()
    hips_under_a_new_root = [{"name": "root"}, {"name": "hips", "parent": "root"},
                             {"name": "head", "parent": "hips"}, {"name": "l_toe", "parent": "hips"}]
    e = _refused(w, [O.EntitySet(id="c", path="skeleton", value=hips_under_a_new_root)])
    assert (e.field, e.reason) == ("joints", "values exist for joints the new skeleton lacks: "
                                             "['joints.hips.position']; clear them first")
    hips_still_root = [{"name": "hips"}, {"name": "head", "parent": "hips"}, {"name": "l_toe", "parent": "hips"}]
    edit.apply(w, [O.EntitySet(id="c", path="skeleton", value=hips_still_root)], "user:alice")
    assert [j["name"] for j in w.entities["c"].joints] == ["hips", "head", "l_toe"]
    assert "joints.head.rotation" in w.entities["c"].tracks and "joints.hips.position" in w.entities["c"].props


def test_a_skeleton_that_keeps_every_joint_applies():
    w = _posed_biped()
    ones = {j["name"]: j["offset"] for j in w.entities["c"].joints}
    edit.apply(w, [O.SkeletonSet(id="c", template="biped", scale=2.0)], "user:alice")
    twice = {j["name"]: j["offset"] for j in w.entities["c"].joints}
    assert len(twice) == 29 and all(twice[n] == [2 * x for x in ones[n]] for n in ones)


# --- cycles found through a walk that meets a node twice ---------------------------------------------------------

def test_a_parent_cycle_is_found_past_a_node_reached_twice():
    """``x`` is parented to ``t`` and attached to ``b1`` (frames 0–10) and ``b2`` (10–20), and ``b2`` is parented
    to ``b1``: the walk from ``x`` meets ``b1`` twice before it looks at ``t``."""
    w = World("p", "s")
    edit.apply(w, [O.EntityCreate(id=i, kind="prop") for i in ("t", "b1", "b2")] + [
        O.EntityCreate(id="x", kind="prop", parent="t"),
        O.EntitySet(id="b2", path="parent", value="b1"),
        O.RelationAdd(id="r1", kind="attached_to", subject="x", object="b1", start=0, end=10),
        O.RelationAdd(id="r2", kind="attached_to", subject="x", object="b2", start=10, end=20),
    ], "user:alice")
    e = _refused(w, [O.EntitySet(id="t", path="parent", value="x")])
    assert (e.field, e.reason) == ("value", "parenting 't' to 'x' would make a cycle")
    e = _refused(w, [O.RelationAdd(id="r3", kind="attached_to", subject="t", object="x")])
    assert (e.field, e.reason) == ("object", "attaching 't' to 'x' would make a cycle")
    assert [(r.start, r.end) for r in w.relations.values()] == [(0.0, 10.0), (10.0, 20.0)]
    edit.apply(w, [O.EntityCreate(id="b0", kind="prop"),  # before r1's range: no overlap with either
                   O.RelationAdd(id="r0", kind="attached_to", subject="x", object="b0", start=-10, end=0)], "user:a")
    assert (w.relations["r0"].start, w.relations["r0"].end) == (-10.0, 0.0)


# --- shot.configure: what it sets, and its bounds, inclusive -----------------------------------------------------

def test_shot_configure_sets_each_field_it_is_given_and_only_those():
    w = World("p", "s")
    edit.apply(w, [O.ShotConfigure(frame_start=10, frame_end=50)], "user:alice")
    assert (w.frame_start, w.frame_end) == (10.0, 50.0)
    edit.apply(w, [O.ShotConfigure(frame_start=20, name="Opening")], "user:alice")
    assert (w.frame_start, w.frame_end, w.name) == (20.0, 50.0, "Opening")
    edit.apply(w, [O.ShotConfigure(frame_end=30)], "user:alice")
    assert (w.frame_start, w.frame_end) == (20.0, 30.0)
    e = _refused(w, [O.ShotConfigure(frame_end=20)])
    assert (e.field, e.reason) == ("frame_end", "frame_end (20) must be greater than frame_start (20)")
    e = _refused(w, [O.ShotConfigure(frame_start=2e6)])
    assert (e.field, e.reason) == ("frame_start", "frame_start must be within ±1e+06, got 2e+06")


@pytest.mark.parametrize("fps, ok", [(1000, True), (1000.001, False), (0.001, True)])
def test_fps_is_within_0_and_1000_inclusive(fps, ok):
    w = World("p", "s")
    if ok:
        edit.apply(w, [O.ShotConfigure(fps=fps)], "user:alice")
        assert w.fps == fps
    else:
        e = _refused(w, [O.ShotConfigure(fps=fps)])
        assert (e.field, e.reason) == ("fps", f"fps must be ≤ 1000, got {fps:g}")


@pytest.mark.parametrize("res, ok", [((16, 16), True), ((8192, 8192), True), ((15, 16), False), ((16, 15), False),
                                     ((8193, 16), False), ((16, 8193), False)])
def test_resolution_is_within_16_and_8192_inclusive(res, ok):
    w = World("p", "s")
    if ok:
        edit.apply(w, [O.ShotConfigure(resolution=res)], "user:alice")
        assert w.resolution == res
    else:
        e = _refused(w, [O.ShotConfigure(resolution=res)])
        assert e.field == "resolution"


# --- a defect in a handler is named by the op's own field --------------------------------------------------------

@pytest.mark.parametrize("op, field", [(O.KeyRemove(id="p", path="visible", frame=0), "path"),
                                       (O.EntityRemove(id="p"), "id")])
@pytest.mark.parametrize("error, reason", [(ValueError("bad value"), "bad value"),
                                           (TypeError("bad type"), f"{edit.INTERNAL}: TypeError: bad type")])
def test_an_error_a_handler_raises_without_a_field_names_the_ops_path_or_id(monkeypatch, op, field, error, reason):
    def broken(world, op, actor, tx):
        raise error

    monkeypatch.setitem(edit._HANDLERS, type(op), broken)
    e = _refused(World("p", "s"), [op])
    assert (e.index, e.field, e.reason) == (0, field, reason)


# --- track.shift: which keys move, what they keep, and when nothing is written -----------------------------------

def _keyed(frames, **key) -> World:
    w = World("p", "s")
    edit.apply(w, [O.EntityCreate(id="p", kind="prop")] + [
        O.KeySet(id="p", path="transform.position", frame=f, value=[f, 0, 0], **key) for f in frames], "user:a")
    return w


def _frames(w: World) -> list[float]:
    return [k.frame for k in w.entities["p"].tracks.get("transform.position", [])]


def test_a_shift_moves_the_keys_at_both_ends_of_its_range_with_their_tangents():
    from core.tolerances import EPS_FRAME

    w = _keyed([10 - EPS_FRAME, 10, 20, 20 + EPS_FRAME, 30], in_tangent=[1, 2, 3], out_tangent=[4, 5, 6])
    edit.apply(w, [O.TrackShift(id="p", path="transform.position", by=100, start=10, end=20)], "user:a")
    assert _frames(w) == [30, 10 - EPS_FRAME + 100, 110, 120, 20 + EPS_FRAME + 100]
    assert all((list(k.in_tangent), list(k.out_tangent)) == ([1, 2, 3], [4, 5, 6])
               for k in w.entities["p"].tracks["transform.position"])


def test_a_shift_that_moves_nothing_writes_nothing():
    w = _keyed([0, 10])
    for op in (O.TrackShift(id="p", path="transform.position", by=5, start=50),   # no key in range
               O.TrackShift(id="p", path="transform.position", by=0),             # by 0
               O.TrackShift(id="p", path="visible", by=5)):                       # no such track
        assert edit.apply(w, [op], "user:a") == []
    assert _frames(w) == [0, 10] and "visible" not in w.entities["p"].tracks


def test_a_shift_may_land_exactly_on_the_frame_bound_and_names_at_most_five_keys_beyond_it():
    w = _keyed([10])
    edit.apply(w, [O.TrackShift(id="p", path="transform.position", by=1e6 - 10)], "user:a")
    assert _frames(w) == [1e6]
    w = _keyed(range(7))
    e = _refused(w, [O.TrackShift(id="p", path="transform.position", by=1e6)])
    assert e.reason == "shifted keys would land beyond ±1e+06 (at frames [1000001.0, 1000002.0, 1000003.0, " \
                       "1000004.0, 1000005.0])"
    w = _keyed([*range(7), *range(10, 17)])
    e = _refused(w, [O.TrackShift(id="p", path="transform.position", by=-10, start=10)])
    assert e.reason == "shifted keys would land on existing keys at frames [0.0, 1.0, 2.0, 3.0, 4.0]"


# --- what only Python-built ops can hold, and limits too large to reach in a test --------------------------------

def test_python_built_ops_with_odd_values_are_refused_naming_the_field():
    class Unknown(O.EntityRemove, tag="entity.unknown"):
        pass

    w = World("p", "s")
    edit.apply(w, [O.EntityCreate(id="cam", kind="camera")], "user:a")
    cases = [
        ([O.EntityRemove(id="cam"), Unknown(id="x")], (1, "type", "unknown op Unknown")),
        ([O.ShotConfigure(name="a\ud800")], (0, "name", "name holds a lone surrogate (not valid Unicode text)")),
        ([O.KeySet(id="cam", path="visible", frame=float("inf"), value=True)],
         (0, "frame", "frame must be finite, got inf")),
        ([O.KeySet(id="cam", path="camera.near_m", frame=0, value=0.5, in_tangent=-1e10)],
         (0, "in_tangent", "in_tangent must be ≥ -1e+09, got -1e+10")),
        ([O.EntityRemove(id=[1])], (0, "id", "unknown entity [1]")),
    ]
    for ops, want in cases:
        e = _refused(w, ops)
        assert (e.index, e.field, e.reason) == want


def test_names_up_to_the_limit_are_kept_and_scalar_tangents_within_bounds_apply():
    w = World("p", "s")
    edit.apply(w, [O.EntityCreate(id="cam", kind="camera", name="n" * 256),
                   O.KeySet(id="cam", path="camera.near_m", frame=0, value=0.5, in_tangent=-1e9, out_tangent=2.5)],
               "user:a")
    assert w.entities["cam"].name == "n" * 256
    k = w.entities["cam"].tracks["camera.near_m"][0]
    assert (k.in_tangent, k.out_tangent) == (-1e9, 2.5)


def test_a_key_within_eps_of_another_replaces_it():
    from core.tolerances import EPS_FRAME

    w = _keyed([0])
    edit.apply(w, [O.KeySet(id="p", path="transform.position", frame=EPS_FRAME, value=[1, 1, 1])], "user:a")
    assert _frames(w) == [EPS_FRAME]


def test_a_track_holds_at_most_max_keys_per_track(monkeypatch):
    monkeypatch.setattr(edit, "MAX_KEYS_PER_TRACK", 3)
    w = _keyed([0, 1, 2])
    e = _refused(w, [O.KeySet(id="p", path="transform.position", frame=3, value=[0, 0, 0])])
    assert (e.field, e.reason) == ("frame", "track 'transform.position' already has 3 keys")
    edit.apply(w, [O.KeySet(id="p", path="transform.position", frame=2, value=[9, 9, 9])], "user:a")  # a replace
    assert _frames(w) == [0, 1, 2]
