"""Check ≡ apply under adversarial input: commands with huge, tiny and non-finite numbers, 400-digit integers, deep
nesting and odd strings, as raw JSON, go through decoding, the check and the fold.

Whatever the check accepts, the fold applies (also when several commands were checked against the same world,
as a socket pipelines them); nothing leaves the check but ``OpError`` (and never one that stands for a defect);
nothing leaves the fold; the document always equals the world.
"""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import edit
from core import ops as O
from events.envelope import Actor, Event, decode_command, encode_event
from projections.decode import world_from_doc
from projections.reducer import ShotReducer

ALICE = Actor(kind="user", id="alice")

NUMBERS = ["0", "-0.0", "1", "2.5", "1e6", "1000001", "-1e6", "2e6", "1e9", "1e15", "1e16", "1e300", "-1e300",
           "1e308", "1.7976931348623157e308", "1e400", "-1e400", "1e-400", "5e-324", "1e-300",
           "9223372036854775808", "18446744073709551616", "1" + "0" * 400, "-" + "9" * 400, "NaN", "Infinity",
           "-Infinity", "0.1", "48", "10"]
STRINGS = ["", "\\u0000", "p", "hero", "cam", "sun", "ghost", " p", "p ", "a" * 65, "x" * 300, "y" * 5000, "é",
           "\\ud83d\\ude00", "../../x", "joints.hips.rotation", "joints.hips.position", "transform.position",
           "color", "visible", "name", "parent", "skeleton", "geometry", "camera.far_m", "light.intensity",
           "line\\nbreak", "biped", "attached_to", "look_at"]


def _str(s: str) -> str:
    return f'"{s}"'


def _nest(depth: int, leaf: str = "1", dict_: bool = False) -> str:
    return ('{"a":' * depth + leaf + "}" * depth) if dict_ else ("[" * depth + leaf + "]" * depth)


numbers = st.one_of(st.sampled_from(NUMBERS), st.floats(-1e7, 1e7).map(repr), st.integers(-10**20, 10**20).map(str))
strings = st.sampled_from(STRINGS).map(_str)
deep = st.builds(_nest, st.sampled_from([1, 2, 31, 32, 33, 60, 400]), st.sampled_from(["1", "[]", "{}", '"s"']),
                 st.booleans())
scalars = st.one_of(numbers, strings, st.sampled_from(["true", "false", "null"]))
vecs = st.lists(numbers, min_size=0, max_size=5).map(lambda xs: "[" + ",".join(xs) + "]")
values = st.one_of(vecs, scalars, deep,
                   st.lists(scalars, max_size=3).map(lambda xs: '{"euler_deg": [' + ",".join(xs) + "]}"),
                   st.sampled_from(['{"primitive": "box", "size": [1, 1, 1]}', '{"asset": "x"}',
                                    '{"primitive": "sphere", "radius": 1e400}', "[0, 0, 0, 1]", "[1, 1, 1]"]))
TEMPLATES = [
    {"type": "key.set", "id": "p", "path": "transform.position", "frame": 3, "value": [1, 2, 3]},
    {"type": "key.set", "id": "hero", "path": "joints.hips.rotation", "frame": 7, "value": [0, 0, 0, 1],
     "in_tangent": [0, 0, 0, 0.5], "interp": "bezier"},
    {"type": "key.set", "id": "p", "path": "visible", "frame": 4, "value": False, "out_tangent": 0.5},
    {"type": "key.remove", "id": "p", "path": "transform.position", "frame": 1},
    {"type": "track.shift", "id": "p", "path": "transform.position", "by": 2, "start": 0, "end": 10},
    {"type": "track.shift", "id": "p", "path": "visible", "by": -3},
    {"type": "track.clear", "id": "p", "path": "visible"},
    {"type": "entity.create", "id": "new1", "kind": "prop", "name": "n", "parent": "p",
     "props": {"transform.position": [1, 1, 1], "geometry": {"primitive": "box", "size": [1, 2, 3]}}},
    {"type": "entity.set", "id": "p", "path": "color", "value": [0.5, 0.5, 0.5]},
    {"type": "entity.set", "id": "p", "path": "transform.rotation", "value": {"euler_deg": [0, 90, 0]}},
    {"type": "entity.set", "id": "p", "path": "parent", "value": "hero"},
    {"type": "entity.set", "id": "p", "path": "name", "value": "cup"},
    {"type": "entity.set", "id": "cam", "path": "camera.far_m", "value": 500},
    {"type": "entity.set", "id": "sun", "path": "light.intensity", "value": 50},
    {"type": "entity.remove", "id": "sun"},
    {"type": "skeleton.set", "id": "hero", "joints": [{"name": "hips", "offset": [0, 1, 0]},
                                                      {"name": "spine", "parent": "hips"}]},
    {"type": "relation.add", "id": "r2", "kind": "attached_to", "subject": "p", "object": "hero", "joint": "hips",
     "offset": [0, 0.1, 0]},
    {"type": "relation.remove", "id": "r1"},
    {"type": "directive.add", "id": "d2", "agent": "camera", "params": {"a": [1, {"b": "c"}]}},
    {"type": "directive.update", "id": "d1", "params": {"x": 1}},
    {"type": "directive.remove", "id": "d1"},
    {"type": "shot.configure", "fps": 30, "frame_start": 0, "frame_end": 200, "resolution": [1920, 1080],
     "name": "s", "agents": {"camera": "off"}},
]
"""One valid op of each kind against the base world; the strategy mutates up to two fields of one."""

anything = st.one_of(numbers, strings, deep, vecs, values, st.sampled_from(["null", "true", "[1]", "{}"]))


@st.composite
def mutant(draw, original) -> str:
    """An adversarial replacement for a field whose valid value is ``original``."""
    if isinstance(original, list) and original and all(isinstance(x, (int, float)) for x in original) \
            and draw(st.booleans()):
        parts = [json.dumps(x) for x in original]
        parts[draw(st.integers(0, len(parts) - 1))] = draw(numbers)
        return "[" + ", ".join(parts) + "]"
    if isinstance(original, dict) and draw(st.booleans()):
        return "{" + ", ".join([f"{json.dumps(k)}: {json.dumps(v)}" for k, v in original.items()]
                               + [f"{draw(strings)}: {draw(anything)}"]) + "}"
    if isinstance(original, (int, float)) and not isinstance(original, bool):
        return draw(numbers) if draw(st.integers(0, 3)) else draw(anything)
    if isinstance(original, str):
        return draw(strings) if draw(st.integers(0, 3)) else draw(anything)
    return draw(anything)


@st.composite
def raw_op(draw) -> str:
    template = draw(st.sampled_from(TEMPLATES))
    fields = {k: json.dumps(v) for k, v in template.items()}
    names = [k for k in template if k != "type"]
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
        name = draw(st.sampled_from(names))
        fields[name] = draw(mutant(template[name]))
    return "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"


commands = st.lists(st.lists(raw_op(), min_size=1, max_size=2).map(lambda ops: "[" + ", ".join(ops) + "]"),
                    min_size=1, max_size=3)


def _base() -> bytes:
    r = ShotReducer("p", "s")
    ops = O.decode_ops(json.dumps([
        {"type": "entity.create", "id": "p", "kind": "prop"},
        {"type": "key.set", "id": "p", "path": "transform.position", "frame": 1, "value": [0, 0, 0]},
        {"type": "key.set", "id": "p", "path": "visible", "frame": 10, "value": True},
        {"type": "entity.create", "id": "hero", "kind": "character"},
        {"type": "skeleton.set", "id": "hero", "template": "biped"},
        {"type": "key.set", "id": "hero", "path": "joints.hips.rotation", "frame": 5, "value": [0, 0, 0, 1]},
        {"type": "entity.create", "id": "cam", "kind": "camera"},
        {"type": "entity.create", "id": "sun", "kind": "light"},
        {"type": "relation.add", "id": "r1", "kind": "look_at", "subject": "cam", "object": "hero"},
        {"type": "directive.add", "id": "d1", "agent": "camera", "params": {"a": 1}},
    ]))
    assert r.apply(1, Event(event_id="e1", command_id="c1", project="p", shot="s", actor=ALICE, ops=ops)).applied
    return r.snapshot()


BASE = _base()


def fold_adversarial(batch: list[str]) -> tuple[int, int]:
    """Check every command of ``batch`` against the same world, then fold the accepted ones in order."""
    r = ShotReducer("p", "s", snapshot=BASE)
    accepted = []
    for i, ops_text in enumerate(batch):
        try:
            command = decode_command('{"command_id": "c", "ops": ' + ops_text + "}")
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            continue  # the HTTP and socket layers answer these 422
        try:
            edit.check(r.world, command.ops, ALICE.label)
        except edit.OpError as e:
            assert not e.reason.startswith(edit.INTERNAL), e
            assert isinstance(e.index, int) and 0 <= e.index < len(command.ops) and e.field, e
            continue
        accepted.append(Event(event_id=f"e{i}", command_id=f"c{i}", project="p", shot="s", actor=ALICE,
                              ops=command.ops))
    for n, ev in enumerate(accepted):
        seq = r.last_seq + 1
        out = r.apply_raw(seq, encode_event(ev))
        if n == 0:  # checked against exactly this world: must apply
            assert out.applied, out
        elif not out.applied:  # checked against an older world: may be refused, but only as an OpError
            assert out.reason.startswith("op "), out
            assert edit.INTERNAL not in out.reason, out
        assert world_from_doc(r.doc) == r.world
    return len(accepted), len(batch)


ADVERSARIAL = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ADVERSARIAL
@given(commands)
def test_whatever_the_check_accepts_the_fold_applies(batch):
    fold_adversarial(batch)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands)
def test_whatever_the_check_accepts_the_fold_applies_many(batch):
    fold_adversarial(batch)


_floats = st.one_of(st.floats(), st.integers(-10**500, 10**500), st.sampled_from([10**400, -(10**400), 2**64]))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["frame", "by", "start", "end", "value", "fps", "scale", "offset"]), _floats)
def test_python_built_ops_with_any_number_are_refused_or_applied_never_raised(field, x):
    """Agents build ops in Python: NaN, infinities and integers of any size reach the check directly."""
    r = ShotReducer("p", "s", snapshot=BASE)
    op = {
        "frame": O.KeySet(id="p", path="visible", frame=x, value=True),
        "by": O.TrackShift(id="p", path="transform.position", by=x),
        "start": O.TrackShift(id="p", path="transform.position", by=1, start=x),
        "end": O.TrackShift(id="p", path="transform.position", by=1, end=x),
        "value": O.KeySet(id="p", path="transform.position", frame=3, value=[x, 0, 0]),
        "fps": O.ShotConfigure(fps=x),
        "scale": O.SkeletonSet(id="hero", template="biped", scale=x),
        "offset": O.RelationAdd(id="r9", kind="attached_to", subject="p", object="hero", offset=[0, x, 0]),
    }[field]
    try:
        edit.check(r.world, [op], ALICE.label)
    except edit.OpError as e:
        assert not e.reason.startswith(edit.INTERNAL), e
        return
    out = r.apply(2, Event(event_id="e", command_id="c", project="p", shot="s", actor=ALICE, ops=[op]))
    assert out.applied, out
    assert world_from_doc(r.doc) == r.world


def test_a_skeleton_without_a_joint_that_a_relation_holds_is_refused():
    """Found by the fork property test: a biped's 'hips' held a prop, then the character became a fish; the world
    kept a relation to a joint no relation.add could make, so its fork ops did not rebuild it."""
    from core.world import World

    w = World("p", "s")
    edit.apply(w, [O.EntityCreate(id="sun", kind="character"), O.EntityCreate(id="a", kind="prop"),
                   O.SkeletonSet(id="sun", template="biped")], "alice")
    edit.apply(w, [O.RelationAdd(id="r1", kind="attached_to", subject="a", object="sun", joint="hips")], "alice")
    with pytest.raises(edit.OpError, match=r"r1.*remove them first"):
        edit.apply(w, [O.SkeletonSet(id="sun", template="fish")], "alice")
    edit.apply(w, [O.RelationRemove(id="r1"), O.SkeletonSet(id="sun", template="fish")], "alice")
    assert w.entities["sun"].joints and "hips" not in {j["name"] for j in w.entities["sun"].joints}
