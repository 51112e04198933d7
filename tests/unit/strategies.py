"""Hypothesis strategies: random events over a small id space, valid and invalid, so sequences collide often."""

from __future__ import annotations

from hypothesis import strategies as st

from core import ops as O
from events.envelope import Actor, Event

ENTITY_IDS = ["a", "b", "c", "cam", "hero"]
KINDS = ["prop", "environment", "character", "camera", "light"]
ACTORS = [Actor(kind="user", id="alice"), Actor(kind="user", id="bob"), Actor(kind="agent", id="collision")]

coord = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)
vec3 = st.lists(coord, min_size=3, max_size=3)
frames = st.sampled_from([0, 1, 2.5, 5, 10, 24, 48])
# sometimes invalid on purpose: NaN, zero quaternion, negative scale, wrong length
bad_value = st.sampled_from([[float("nan"), 0, 0], [0, 0, 0, 0], [-1, 1, 1], [1, 2], "x", None, True])

position = st.one_of(vec3, bad_value)
rotation = st.one_of(
    st.lists(st.floats(min_value=-1, max_value=1, allow_nan=False), min_size=4, max_size=4),
    st.fixed_dictionaries({"euler_deg": vec3}),
    bad_value,
)
paths_values = st.one_of(
    st.tuples(st.just("transform.position"), position),
    st.tuples(st.just("transform.rotation"), rotation),
    st.tuples(st.just("transform.scale"), st.one_of(st.lists(st.floats(0.1, 5), min_size=3, max_size=3), bad_value)),
    st.tuples(st.just("visible"), st.one_of(st.booleans(), bad_value)),
    st.tuples(st.just("color"), st.one_of(st.lists(st.floats(0, 1), min_size=3, max_size=3), bad_value)),
    st.tuples(st.just("camera.focal_length_mm"), st.one_of(st.floats(1, 300), st.just(0.5))),
    st.tuples(st.just("light.intensity"), st.one_of(st.floats(0, 1000), st.just(-1.0))),
    st.tuples(st.just("joints.hips.rotation"), rotation),
    st.tuples(st.just("joints.l_wrist.rotation"), rotation),
)
ids = st.sampled_from(ENTITY_IDS)
interp = st.sampled_from(["constant", "linear", "bezier", "auto"])


@st.composite
def op(draw):
    choice = draw(st.integers(0, 14))
    eid = draw(ids)
    if choice == 0:
        return O.EntityCreate(id=eid, kind=draw(st.sampled_from(KINDS)),
                              parent=draw(st.one_of(st.none(), ids)),
                              props=draw(st.one_of(st.none(), st.dictionaries(
                                  st.sampled_from(["transform.position", "color"]), vec3, max_size=2))))
    if choice == 1:
        return O.EntityRemove(id=eid)
    if choice in (2, 3):
        path, value = draw(paths_values)
        return O.EntitySet(id=eid, path=path, value=value)
    if choice in (4, 5, 6):
        path, value = draw(paths_values)
        return O.KeySet(id=eid, path=path, frame=draw(frames), value=value, interp=draw(interp))
    if choice == 7:
        path, _ = draw(paths_values)
        return O.KeyRemove(id=eid, path=path, frame=draw(frames))
    if choice == 8:
        path, _ = draw(paths_values)
        return O.TrackShift(id=eid, path=path, by=draw(st.sampled_from([-2, 1, 3.5])),
                            start=draw(st.one_of(st.none(), frames)))
    if choice == 9:
        return O.SkeletonSet(id=eid, template=draw(st.sampled_from(["biped", "quadruped", "bird", "fish"])))
    if choice == 10:
        return O.RelationAdd(id=draw(st.sampled_from(["r1", "r2"])),
                             kind=draw(st.sampled_from(["attached_to", "look_at", "supports"])),
                             subject=eid, object=draw(ids))
    if choice == 11:
        return O.EntitySet(id=eid, path="parent", value=draw(st.one_of(st.none(), ids)))
    if choice == 13:
        return O.ShotConfigure(agents=draw(st.dictionaries(st.sampled_from(["collision", "support", "camera"]),
                                                           st.sampled_from(["auto", "suggest", "off"]), max_size=3)),
                               frame_end=draw(st.sampled_from([None, 48.0, 240.0])))
    if choice == 14:
        return O.EntitySet(id=eid, path="geometry", value=draw(st.sampled_from([
            {"primitive": "box", "size": [1, 0.5, 2]}, {"primitive": "sphere", "radius": 0.3},
            {"primitive": "capsule", "radius": 0.2, "height": 1.5}, {"primitive": "cone"}, {"asset": "chair-01"}])))
    return O.DirectiveAdd(id=draw(st.sampled_from(["d1", "d2"])), agent="camera",
                          params={"subject": eid, "start": draw(frames)})


@st.composite
def events(draw, project="p", shot="s", max_events=25):
    n = draw(st.integers(1, max_events))
    out = []
    for i in range(n):
        ops = draw(st.lists(op(), min_size=1, max_size=4))
        out.append(Event(event_id=f"e{i}", command_id=f"c{i}", project=project, shot=shot,
                         actor=draw(st.sampled_from(ACTORS)), ops=ops, ts=float(i)))
    return out
