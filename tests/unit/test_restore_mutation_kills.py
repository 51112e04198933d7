"""Tests written against mutants of ``core/restore.py`` that survived ``bench/mutation.sh 'core.restore.*'``: the
ops of rollback, undo, redo and fork, checked item by item on two worlds that differ in every way a world can
(see ``bench/MUTATION.md``). The property tests in ``test_restore.py`` draw such worlds only now and then."""

from __future__ import annotations

import copy

import pytest

from core import ops as O
from core.restore import changed_items, describe, diff, item_value, revert, same_world, set_item

from .test_restore import _world
from .test_restore import applied as _applied  # by "user:restorer", as a restore writes


def _keys(frames_values, path="transform.position", eid="box"):
    return [O.KeySet(id=eid, path=path, frame=f, value=v) for f, v in frames_values]


BEFORE = [
    O.ShotConfigure(name="A", fps=24, agents={"collision": "off"}),
    O.EntityCreate(id="box", kind="prop", name="Box", props={"color": [1, 0, 0]}),
    O.EntityCreate(id="hero", kind="character", name="Hero"),
    O.SkeletonSet(id="hero", template="biped"),
    O.EntityCreate(id="gone", kind="prop"),
    O.EntityCreate(id="morph", kind="prop", props={"color": [0, 1, 0]}),
    O.EntityCreate(id="cup", kind="prop", parent="box"),
    *_keys([(0, [0, 0, 0]), (10, [1, 0, 0]), (20, [2, 0, 0]), (30, [3, 0, 0])]),
    *_keys([(0, True), (10, False)], path="visible"),
    O.RelationAdd(id="hold", kind="attached_to", subject="cup", object="hero", joint="r_hand", offset=[0, 0.1, 0],
                  start=0, end=10),
    O.RelationAdd(id="sup", kind="supports", subject="box", object="gone"),
    O.DirectiveAdd(id="d1", agent="layout", params={"n": 1}),
    O.DirectiveAdd(id="d2", agent="camera", params={}),
]

CHANGES = [
    O.ShotConfigure(name="B", fps=30, agents={"support": "suggest"}),
    O.EntitySet(id="box", path="name", value="Crate"),
    O.EntitySet(id="box", path="color", value=None),
    O.EntitySet(id="box", path="transform.scale", value=[2, 2, 2]),
    O.TrackClear(id="box", path="transform.position"),
    *_keys([(0, [9, 0, 0]), (5, [5, 0, 0])]),                    # 3 keys gone, 2 changed: the track is rewritten
    O.KeyRemove(id="box", path="visible", frame=10),              # one key gone: removed alone
    O.EntitySet(id="hero", path="name", value="Hera"),
    O.EntitySet(id="hero", path="parent", value="box"),
    O.EntityRemove(id="gone"),
    O.EntityRemove(id="morph"),
    O.EntityCreate(id="morph", kind="light", props={"light.intensity": 50}),
    O.EntityCreate(id="lamp", kind="light"),
    *_keys([(0, 10.0), (24, 20.0)], path="light.intensity", eid="lamp"),
    O.EntitySet(id="cup", path="parent", value=None),
    O.RelationRemove(id="hold"),
    O.RelationAdd(id="hold", kind="attached_to", subject="cup", object="hero", joint="l_hand", offset=[0, 0.2, 0],
                  start=5, end=20),
    O.RelationAdd(id="look", kind="look_at", subject="lamp", object="hero", joint="head"),
    O.DirectiveUpdate(id="d1", params={"n": 2}),
    O.DirectiveRemove(id="d2"),
    O.DirectiveAdd(id="d3", agent="shot", params={"move": "orbit"}),
]

ITEMS = [
    ("meta", "name"), ("meta", "fps"), ("meta", "agents"),
    ("name", "box"), ("prop", "box", "color"), ("prop", "box", "transform.scale"),
    ("key", "box", "transform.position", 0.0), ("key", "box", "transform.position", 5.0),
    ("key", "box", "transform.position", 10.0), ("key", "box", "transform.position", 20.0),
    ("key", "box", "transform.position", 30.0), ("key", "box", "visible", 10.0),
    ("parent", "cup"), ("entity", "gone"), ("name", "hero"), ("parent", "hero"), ("entity", "lamp"),
    ("entity", "morph"),
    ("relation", "hold"), ("relation", "look"), ("relation", "sup"),
    ("directive", "d1"), ("directive", "d2"), ("directive", "d3"),
]


@pytest.fixture
def worlds():
    a = _world(BEFORE)
    return a, _applied(a, CHANGES)


def test_every_kind_of_difference_is_an_item_in_a_stable_order(worlds):
    a, b = worlds
    assert changed_items(a, b) == ITEMS
    assert changed_items(b, a) == ITEMS
    assert changed_items(a, copy.deepcopy(a)) == []


def test_the_diff_either_way_rebuilds_the_other_world_exactly(worlds):
    a, b = worlds
    for src, dst in ((a, b), (b, a)):
        ops = diff(src, dst)
        out = _applied(src, ops)
        assert same_world(out, dst) == []
        # left: an unset agent mode that comes back as "auto", keys rewritten by another author (module docstring)
        assert all(i == ("meta", "agents") or i[0] == "key" for i in changed_items(out, dst))
    ops = diff(a, b)
    clears = [op for op in ops if isinstance(op, O.TrackClear)]
    removes = [op for op in ops if isinstance(op, O.KeyRemove)]
    assert [(op.id, op.path) for op in clears] == [("box", "transform.position")]  # rewritten whole
    assert [(op.id, op.path, op.frame) for op in removes] == [("box", "visible", 10.0)]
    hold = next(op for op in ops if isinstance(op, O.RelationAdd) and op.id == "hold")
    assert (hold.joint, hold.offset, hold.start, hold.end) == ("l_hand", [0.0, 0.2, 0.0], 5.0, 20.0)


def test_items_set_one_by_one_make_the_other_world_and_are_copies(worlds):
    a, b = worlds
    w = copy.deepcopy(a)
    for item in ITEMS:
        set_item(w, item, item_value(b, item))
        assert item_value(w, item) == item_value(b, item), item
    assert same_world(w, b, ignore_by=False) == [] and w.to_json() == b.to_json()
    b.entities["morph"].props["light.intensity"] = 1.0
    b.relations["hold"].offset[1] = 9.0
    assert w.entities["morph"].props["light.intensity"] == 50.0 and w.relations["hold"].offset[1] == 0.2


def test_set_item_unsets_what_a_none_value_removes(worlds):
    a, b = worlds
    for item in ITEMS:
        if item[0] == "meta":
            continue
        w = copy.deepcopy(b)
        set_item(w, item, None)
        assert item_value(w, item) in (None, ""), item
    w = copy.deepcopy(b)
    set_item(w, ("key", "box", "visible", 0.0), None)  # the track's last key: the track goes
    assert "visible" not in w.entities["box"].tracks
    set_item(w, ("name", "nobody"), "x")  # an entity that is gone: nothing to set
    assert "nobody" not in w.entities


def test_revert_restores_what_nobody_changed_since_and_skips_the_rest(worlds):
    a, b = worlds
    r = revert(a, b, b)
    assert (r.restored, r.skipped) == (ITEMS, [])
    assert same_world(_applied(b, r.ops), a) == []
    current = _applied(b, [O.EntitySet(id="box", path="name", value="Other")])
    r = revert(a, b, current)
    assert r.skipped == [("name", "box")] and r.restored == [i for i in ITEMS if i != ("name", "box")]
    out = _applied(current, r.ops)
    assert out.entities["box"].name == "Other" and same_world(out, a) == ["box.name"]


def test_reverting_leaves_nothing_dangling():
    """Undo an event that made a cup, changed a character's skeleton and parented nothing, after others attached the
    cup to a hand the old skeleton lacks and parented a lid to the cup: the relations and the parent go too."""
    before = _world([O.EntityCreate(id="hero", kind="character"), O.SkeletonSet(id="hero", template="fish"),
                     O.EntityCreate(id="ball", kind="prop"), O.EntityCreate(id="lid", kind="prop")])
    after = _applied(before, [O.SkeletonSet(id="hero", template="biped"), O.EntityCreate(id="cup", kind="prop")])
    current = _applied(after, [
        O.RelationAdd(id="hold", kind="attached_to", subject="ball", object="hero", joint="r_hand"),
        O.RelationAdd(id="on", kind="supports", subject="cup", object="ball"),
        O.EntitySet(id="lid", path="parent", value="cup"),
    ])
    r = revert(before, after, current)
    assert r.skipped == []
    out = _applied(current, r.ops)
    assert "cup" not in out.entities and out.relations == {} and out.entities["lid"].parent is None
    assert same_world(out, before) == []


def test_same_world_reports_a_difference_after_one_it_ignores():
    a = _world([O.EntityCreate(id="a", kind="prop"), *_keys([(0, [0, 0, 0])], eid="a"),
                O.EntityCreate(id="b", kind="prop", name="B")])
    b = _applied(a, [*_keys([(0, [0, 0, 0])], eid="a"), O.EntitySet(id="b", path="name", value="C")])
    assert changed_items(a, b) == [("key", "a", "transform.position", 0.0), ("name", "b")]  # the first: its `by`
    assert same_world(a, b) == ["b.name"]
    assert same_world(a, b, ignore_by=False) == ["a.transform.position@0", "b.name"]


def test_items_are_described_by_kind():
    assert [describe(i) for i in [("meta", "fps"), ("entity", "e"), ("relation", "r"), ("directive", "d"),
                                  ("name", "e"), ("parent", "e"), ("prop", "e", "color"),
                                  ("key", "e", "visible", 12.5)]] == [
        "shot fps", "entity e", "relation r", "directive d", "e.name", "e.parent", "e.color", "e.visible@12.5"]


def test_unknown_items_are_refused():
    w = _world([O.EntityCreate(id="e", kind="prop")])
    for call in (lambda: item_value(w, ("bogus", "e")), lambda: set_item(w, ("bogus", "e"), 1)):
        with pytest.raises(ValueError, match=r"^unknown item \('bogus', 'e'\)$"):
            call()


def test_a_world_diffed_with_itself_needs_no_op(worlds):
    a, b = worlds
    assert diff(a, copy.deepcopy(a)) == [] and diff(b, copy.deepcopy(b)) == []


def test_a_character_gaining_a_skeleton_gets_it_before_its_joints_values():
    bare = _world([O.EntityCreate(id="hero", kind="character")])
    posed = _applied(bare, [
        O.SkeletonSet(id="hero", template="biped"),
        O.EntitySet(id="hero", path="joints.l_toe.rotation", value={"euler_deg": [0, 10, 0]}),
        O.KeySet(id="hero", path="joints.head.rotation", frame=0, value={"euler_deg": [0, 0, 20]}),
    ])
    ops = diff(bare, posed)
    assert [getattr(op, "path", None) for op in ops] == ["skeleton", "joints.l_toe.rotation", "joints.head.rotation"]
    assert same_world(_applied(bare, ops), posed) == []


@pytest.mark.parametrize("cur, tgt, whole", [
    ([0, 10, 20], [0, 5], False),       # 2 gone + 1 new = 3 = len(target) + 1: key by key
    ([0, 10, 20, 30], [0, 5], True),    # 3 gone + 1 new = 4 > 3: cleared and rewritten whole
])
def test_a_track_is_rewritten_whole_only_when_that_takes_fewer_ops(cur, tgt, whole):
    a = _world([O.EntityCreate(id="box", kind="prop"), *_keys([(f, [f, 0, 0]) for f in cur])])
    b = _world([O.EntityCreate(id="box", kind="prop"), *_keys([(f, [f, 0, 0]) for f in tgt])])
    ops = diff(a, b)
    assert any(isinstance(op, O.TrackClear) for op in ops) is whole
    assert len(ops) == (1 + len(tgt) if whole else len(cur) - 1 + 1)
    out = _applied(a, ops)
    assert same_world(out, b) == []
    assert [k.by for k in out.entities["box"].tracks["transform.position"]][0] == (
        "user:restorer" if whole else "user:alice")  # a key left alone keeps its author


def test_a_key_set_or_unset_on_a_track_that_does_not_exist(worlds):
    from core.world import Key

    a, _ = worlds
    w = copy.deepcopy(a)
    set_item(w, ("key", "hero", "transform.position", 3.0), None)
    assert "transform.position" not in w.entities["hero"].tracks
    set_item(w, ("key", "hero", "transform.position", 3.0), Key(3.0, [1.0, 2.0, 3.0], "linear", "user:x"))
    assert [k.frame for k in w.entities["hero"].tracks["transform.position"]] == [3.0]
