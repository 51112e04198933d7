"""The motion agent: walking and running without foot skating (sampled with core.sampling over what the agent
wrote), the same walk on every family, people's keys kept as pins through re-solves, re-solving replaces only the
agent's own keys, clear failures for bad input with nothing half-applied, mirror, and clips that blend."""

from __future__ import annotations

import numpy as np
import pytest

from core import ops as O
from core import quat
from core.sampling import sample

from .motion_helpers import MOTION, USER, Shot, skating

SKATE_LIMIT = 0.05          # m/s, ten times stricter than the 0.5 m/s of motion papers


def _character(shot: Shot, eid: str, template: str, position=(0.0, 0.0, 0.0), yaw_deg: float = 0.0):
    props = {"transform.position": list(position),
             "transform.rotation": [float(x) for x in quat.from_euler_deg([0.0, yaw_deg, 0.0])]}
    shot.apply(USER, [O.EntityCreate(id=eid, kind="character", props=props),
                                                         O.SkeletonSet(id=eid, template=template)])


def _directive(did: str, eid: str, clips: list, **extra) -> O.DirectiveAdd:
    return O.DirectiveAdd(id=did, agent="motion", params={"entity": eid, "clips": clips, **extra})


@pytest.mark.parametrize("template,clip,min_dist", [("biped", "walk", 3.5), ("biped", "run", 8.0),
                                                     ("quadruped", "walk", 3.0), ("quadruped", "trot", 6.0),
                                                     ("bird", "walk", 1.5)])
def test_feet_do_not_skate(template, clip, min_dist):
    shot = Shot()
    _character(shot, "a", template, position=(2.0, 0.0, -1.0), yaw_deg=30.0)
    props = shot.person([_directive("m", "a", [{"clip": clip, "start": 0, "end": 96}])])
    report = shot.world.directives["m"].params["report"]
    assert report["status"] == "done" and report["unreached_frames"] == 0, report
    frames = np.arange(0, 97, dtype=float)
    worst, contacts = skating(shot.world, "a", frames)
    assert contacts > 50                     # the feet really are on the ground most of the time
    assert worst <= SKATE_LIMIT, f"{template} {clip}: a planted foot slid at {worst:.3f} m/s"
    s = sample(shot.world, [0.0, 96.0])
    js = s.joints["a"]
    root = js.matrices[:, 0, :3, 3]
    travel = root[1] - root[0]
    assert np.linalg.norm(travel) > min_dist
    heading = np.array([np.sin(np.radians(30.0)), 0.0, np.cos(np.radians(30.0))])
    assert np.dot(travel, heading) / np.linalg.norm(travel) > 0.999      # along the character's facing
    assert len(props) >= 1 and all(len(p.ops) <= 1000 for p in props)


@pytest.mark.parametrize("template", ["biped", "quadruped", "bird", "fish"])
def test_the_same_walk_directive_works_on_every_family(template):
    shot = Shot()
    _character(shot, "x", template)
    shot.person([_directive("walk", "x", [{"clip": "walk", "start": 0, "end": 48}])])
    report = shot.world.directives["walk"].params["report"]
    assert report["status"] == "done", report
    assert report["family"] == template and report["keys"] > 0
    s = sample(shot.world, [0.0, 48.0])
    root = s.joints["x"].matrices[:, 0, :3, 3]
    assert root[1, 2] - root[0, 2] > 0.3          # it went forward (+Z)
    if template == "fish":
        assert any("swim" in n for n in report["notes"])


def test_walking_into_running_switches_by_froude_and_blends_without_a_pop():
    shot = Shot()
    _character(shot, "a", "biped")
    shot.person([_directive("m", "a", [{"clip": "walk", "start": 0, "end": 48, "params": {"speed_mps": 3.2}},
                                       {"clip": "idle", "start": 48, "end": 72}])])
    report = shot.world.directives["m"].params["report"]
    assert any("run" in n and "Froude" in n for n in report["notes"])   # 3.2 m/s is Fr > 0.5: a run
    frames = np.arange(0, 73, dtype=float)
    s = sample(shot.world, frames)
    g = s.joints["a"].matrices[:, :, :3, 3]
    step = np.linalg.norm(np.diff(g, axis=0), axis=-1)       # every joint, frame to frame
    # no pop: no joint moves much further in one frame than in the frames either side (a jump, not a motion),
    # and across the walk → idle boundary (frame 48) nothing moves more than it did just before
    around = np.maximum(step[:-2], step[2:])
    assert np.all(step[1:-1] <= 3.0 * around + 0.01)
    assert np.all(step[46:50].max(axis=0) <= step[38:46].max(axis=0) + 0.005)
    root_speed = np.linalg.norm(np.diff(g[:, 0, [0, 2]], axis=0), axis=-1) * 24
    assert root_speed[-20:].max() < 0.2                      # standing at the end
    worst, _ = skating(shot.world, "a", frames)
    assert worst <= SKATE_LIMIT


def test_a_persons_key_is_a_pin_that_survives_re_solving():
    shot = Shot()
    _character(shot, "a", "biped")
    clips = [{"clip": "walk", "start": 0, "end": 48}]
    shot.person([_directive("m", "a", clips)])
    pinned = [float(x) for x in quat.from_euler_deg([0.0, -90.0, 0.0])]
    # a person keys the left elbow at frame 20: the agent re-solves around it
    shot.person([O.KeySet(id="a", path="joints.l_elbow.rotation", frame=20.0, value=pinned)])
    shot.person([O.DirectiveUpdate(id="m", params={"entity": "a", "clips": [
        {"clip": "walk", "start": 0, "end": 60, "params": {"speed_mps": 1.0}}]})])
    report = shot.world.directives["m"].params["report"]
    assert report["status"] == "done" and report["frames"] == [0.0, 60.0]
    assert {"path": "joints.l_elbow.rotation", "frame": 20.0, "by": "user:ann"} in report["pins"]
    keys = shot.world.entities["a"].tracks["joints.l_elbow.rotation"]
    at20 = [k for k in keys if k.frame == 20.0]
    assert len(at20) == 1 and at20[0].by == "user:ann" and np.allclose(at20[0].value, pinned)
    from core.tracks import value_at
    q = value_at(shot.world.entities["a"], "joints.l_elbow.rotation", np.array([19.0, 20.0, 21.0]))
    ang = 2 * np.degrees(np.arccos(np.clip(np.abs(np.sum(q * np.asarray(pinned), axis=-1)), 0, 1)))
    assert ang[1] < 1e-6 and ang[0] < 5.0 and ang[2] < 5.0


def test_re_solving_replaces_only_the_agents_own_keys():
    shot = Shot()
    _character(shot, "a", "biped")
    shot.person([_directive("m", "a", [{"clip": "walk", "start": 0, "end": 72}])])
    mine = [k for k in shot.world.entities["a"].tracks["joints.l_knee.rotation"] if k.by == "agent:motion"]
    assert mine and max(k.frame for k in mine) == 72.0
    # a person's key outside the clip, on a driven joint
    shot.person([O.KeySet(id="a", path="joints.l_knee.rotation", frame=100.0,
                          value=[float(x) for x in quat.from_euler_deg([30.0, 0.0, 0.0])])])
    shot.person([O.DirectiveUpdate(id="m", params={"entity": "a", "clips": [
        {"clip": "walk", "start": 0, "end": 36}]})])
    keys = shot.world.entities["a"].tracks["joints.l_knee.rotation"]
    agent = [k.frame for k in keys if k.by == "agent:motion"]
    assert max(agent) == 36.0                                  # the old keys after 36 are gone
    assert [(k.frame, k.by) for k in keys if k.by != "agent:motion"] == [(100.0, "user:ann")]


BAD = [
    ({"entity": "a", "clips": [{"clip": "walk", "start": 0, "end": 10}], "speed": 2}, "unknown params keys"),
    ({"entity": "ghost", "clips": [{"clip": "walk", "start": 0, "end": 10}]}, "no entity 'ghost'"),
    ({"entity": "a", "clips": [{"clip": "flap", "start": 0, "end": 10}]}, "not a biped clip"),
    ({"entity": "a", "clips": [{"clip": "walk", "start": 10, "end": 5}]}, "must be after start"),
    ({"entity": "a", "clips": [{"clip": "walk", "start": 0, "end": 20}, {"clip": "run", "start": 10, "end": 30}]},
     "without overlap"),
    ({"entity": "a", "clips": [{"clip": "walk", "start": 0, "end": 20, "params": {"sped": 1}}]}, "unknown keys"),
    ({"entity": "a", "clips": [{"clip": "walk", "start": 0, "end": 20, "params": {"speed_mps": -1}}]}, "within"),
    ({"entity": "a", "clips": []}, "non-empty"),
    ({"entity": "a", "clips": [{"clip": "walk", "start": 0, "end": 20}], "mirror": "yes"}, "true or false"),
    ({"entity": "box", "clips": [{"clip": "walk", "start": 0, "end": 20}]}, "not a character"),
    ({"entity": "a", "clips": [{"clip": "walk", "start": 0, "end": 20, "params": {"style": "anguilliform"}}]},
     "must be one of ['neutral']"),
    ({"entity": "a", "clips": [{"clip": "walk", "start": 0.5, "end": 20}]}, "whole number"),
]


@pytest.mark.parametrize("params,reason", BAD)
def test_bad_input_is_reported_and_nothing_is_half_applied(params, reason):
    shot = Shot()
    _character(shot, "a", "biped")
    shot.apply(USER, [O.EntityCreate(id="box", kind="prop")])
    before = {p: list(t) for p, t in shot.world.entities["a"].tracks.items()}
    props = shot.person([O.DirectiveAdd(id="m", agent="motion", params=params)])
    report = shot.world.directives["m"].params["report"]
    assert report["status"] == "failed" and reason in report["reason"], report
    assert len(props) == 1 and all(isinstance(op, O.DirectiveUpdate) for op in props[0].ops)
    assert {p: list(t) for p, t in shot.world.entities["a"].tracks.items()} == before


def test_a_failed_update_leaves_the_previous_solution():
    shot = Shot()
    _character(shot, "a", "biped")
    shot.person([_directive("m", "a", [{"clip": "walk", "start": 0, "end": 24}])])
    tracks = {p: [(k.frame, k.value) for k in t] for p, t in shot.world.entities["a"].tracks.items()}
    shot.person([O.DirectiveUpdate(id="m", params={"entity": "a", "clips": [{"clip": "moonwalk", "start": 0,
                                                                              "end": 24}]})])
    assert shot.world.directives["m"].params["report"]["status"] == "failed"
    assert {p: [(k.frame, k.value) for k in t] for p, t in shot.world.entities["a"].tracks.items()} == tracks


def test_mirror_swaps_sides():
    a, b = Shot(), Shot()
    for shot, mirror in ((a, False), (b, True)):
        _character(shot, "c", "biped")
        shot.person([_directive("m", "c", [{"clip": "wave", "start": 0, "end": 48}], mirror=mirror)])
        assert shot.world.directives["m"].params["report"]["status"] == "done"
    frames = np.arange(0, 49, dtype=float)
    ja, jb = sample(a.world, frames).joints["c"], sample(b.world, frames).joints["c"]
    ra = ja.matrices[:, ja.names.index("r_hand"), :3, 3]
    lb = jb.matrices[:, jb.names.index("l_hand"), :3, 3]
    assert ra[24, 1] > 1.6                                             # the right hand is up, waving
    assert np.allclose(ra * [-1, 1, 1], lb, atol=2e-3)                 # mirrored: the left hand does it


def test_solving_is_deterministic_and_not_repeated():
    ops = []
    for _ in range(2):
        shot = Shot()
        _character(shot, "a", "quadruped")
        props = shot.person([_directive("m", "a", [{"clip": "gallop", "start": 0, "end": 30},
                                                   {"clip": "idle", "start": 40, "end": 60}])])
        ops.append([O.encode_ops(p.ops) for p in props])
        again = shot.agent.decide(shot.world, _resent(shot), shot.seq)
        assert again == []                     # its own report makes the directive solved
    assert ops[0] == ops[1]


def _resent(shot):
    from events.envelope import Event
    return Event(event_id="x", command_id="x", project="p", shot="s", actor=USER,
                 ops=[O.DirectiveUpdate(id="m", params=shot.world.directives["m"].params)])


def test_key_reduction_keeps_every_frame_within_tolerance():
    from agents.motion.keys import reduce_track
    t = np.linspace(0.0, 4.0, 97)
    q = quat.from_euler_deg(np.stack([20 * np.sin(t), 5 * np.cos(t), 5 * t], axis=-1))
    p = np.stack([0.2 * np.sin(t), 0.01 * t * t, t], axis=-1)
    for values, is_quat, tol in ((q, True, np.radians(0.01)), (p, False, 1e-4)):
        keep = reduce_track(values, is_quat, tol)
        assert keep[0] == 0 and keep[-1] == len(t) - 1 and len(keep) < len(t)
        for a, b in zip(keep[:-1], keep[1:]):
            for k in range(a + 1, b):
                s = (k - a) / (b - a)
                if is_quat:
                    interp = quat.slerp(values[a], values[b], s)
                    err = 2 * np.arccos(min(1.0, abs(float(np.dot(interp, values[k])))))
                else:
                    err = float(np.linalg.norm(values[a] + (values[b] - values[a]) * s - values[k]))
                assert err <= tol * (1 + 1e-9)


def test_a_gait_follows_the_entitys_own_path_keys_without_skating():
    """A path agent keys the character's transform (position and heading per frame); a walk directive over those
    frames then plants the feet along that path instead of adding its own travel."""
    from events.envelope import Actor

    shot = Shot()
    _character(shot, "a", "biped")
    n = 97
    t = np.arange(n) / 24.0
    s = 0.5 - 0.5 * np.cos(np.pi * np.clip(t / 4.0, 0.0, 1.0))
    ang = s * np.pi / 2
    ops = []
    for f in range(n):
        ops.append(O.KeySet(id="a", path="transform.position", frame=float(f),
                            value=[float(5 - 5 * np.cos(ang[f])), 0.0, float(5 * np.sin(ang[f]))], interp="linear"))
        ops.append(O.KeySet(id="a", path="transform.rotation", frame=float(f),
                            value=[float(x) for x in quat.from_axis_angle([0.0, 1.0, 0.0], ang[f])], interp="linear"))
    shot.apply(Actor(kind="agent", id="path"), ops)
    shot.person([_directive("m", "a", [{"clip": "walk", "start": 0, "end": 96}])])
    report = shot.world.directives["m"].params["report"]
    assert report["status"] == "done" and "following a's own path" in report["notes"][0]
    worst, contacts = skating(shot.world, "a", np.arange(0, 97, dtype=float))
    assert contacts > 50 and worst <= SKATE_LIMIT
    hips = sample(shot.world, [96.0]).joints["a"].matrices[0, 0, :3, 3]
    assert np.linalg.norm(hips[[0, 2]] - [5.0, 5.0]) < 0.1          # the body went where the path went
    # the path changes: the motion follows it (re-solved on the path's own event)
    moved = [O.KeySet(id="a", path="transform.position", frame=float(f),
                      value=[float(5 - 5 * np.cos(ang[f])), 0.0, float(5 * np.sin(ang[f])) + 0.5], interp="linear")
             for f in range(n)]
    ev = shot.apply(Actor(kind="agent", id="path"), moved)
    props = shot.agent.decide(shot.world, ev, shot.seq)
    assert props
    for p in props:
        shot.apply(MOTION, p.ops)
    worst, _ = skating(shot.world, "a", np.arange(0, 97, dtype=float))
    assert worst <= SKATE_LIMIT


def test_a_skeleton_of_no_known_family_is_reported():
    shot = Shot()
    joints = [{"name": "root", "parent": None, "offset": [0, 1, 0]},
              {"name": "arm", "parent": "root", "offset": [0.5, 0, 0]}]
    shot.apply(USER, [O.EntityCreate(id="robot", kind="character"),
                                                         O.SkeletonSet(id="robot", joints=joints)])
    shot.person([_directive("m", "robot", [{"clip": "walk", "start": 0, "end": 24}])])
    report = shot.world.directives["m"].params["report"]
    assert report["status"] == "failed" and "not of a family motion knows" in report["reason"]
    assert shot.world.entities["robot"].tracks == {}


@pytest.mark.parametrize("template,clip,params", [("biped", "walk", {"turn_deg": 90}),
                                                  ("biped", "run", {"turn_deg": 90}),
                                                  ("quadruped", "trot", {"turn_deg": 90}),
                                                  ("biped", "turn", {"degrees": 120})])
def test_turning_gaits_keep_feet_planted(template, clip, params):
    shot = Shot()
    _character(shot, "a", template)
    shot.person([_directive("m", "a", [{"clip": clip, "start": 0, "end": 96, "params": params}])])
    assert shot.world.directives["m"].params["report"]["status"] == "done"
    worst, contacts = skating(shot.world, "a", np.arange(0, 97, dtype=float))
    assert contacts > 50 and worst <= SKATE_LIMIT
    hips = sample(shot.world, [96.0]).joints["a"].matrices[0, 0, :3, :3]
    heading = np.degrees(np.arctan2(hips[0, 2], hips[2, 2]))
    turn = params.get("turn_deg", params.get("degrees"))
    assert abs(heading - (turn if turn <= 180 else turn - 360)) < 8.0      # it ends facing the new way


def test_a_new_frame_rate_re_solves_the_motion():
    shot = Shot()
    _character(shot, "a", "biped")
    shot.person([_directive("m", "a", [{"clip": "walk", "start": 0, "end": 48}])])
    before = sample(shot.world, [48.0]).joints["a"].matrices[0, 0, 2, 3]
    props = shot.person([O.ShotConfigure(fps=48.0)])
    assert props                                           # 48 frames are now one second, not two
    after = sample(shot.world, [48.0]).joints["a"].matrices[0, 0, 2, 3]
    assert after < 0.7 * before


def test_random_directives_always_end_in_a_report():
    """Whatever the params (valid or not), the agent answers with a report — done or failed — and its ops apply."""
    from agents.motion.agent import solve
    from core.motion.clipspec import CLIPS, PARAMS

    rng = np.random.default_rng(5)
    values = [0, 1, -1, 0.5, 3, 1e6, "left", "fast", None, [], {}, True, 90, -720, 12.5]
    seen = set()
    for case in range(30):
        family = ["biped", "quadruped", "bird", "fish"][case % 4]
        shot = Shot()
        _character(shot, "a", family)
        clips, at = [], int(rng.integers(-5, 5))
        for _ in range(int(rng.integers(1, 4))):
            name = str(rng.choice(list(CLIPS[family]) + ["moonwalk"]))
            length = int(rng.integers(-2, 40))
            keys = list(PARAMS.get(name, ("speed_mps",))) + ["bogus"]
            params = {str(rng.choice(keys)): values[int(rng.integers(len(values)))]
                      for _ in range(int(rng.integers(0, 3)))}
            clips.append({"clip": name, "start": at, "end": at + length, "params": params})
            at += length + int(rng.integers(0, 3))
        params = {"entity": "a", "clips": clips}
        shot.apply(USER, [O.DirectiveAdd(id="m", agent="motion", params=params)])
        props = solve(shot.world, "m", params)
        for p in props:
            shot.apply(MOTION, p.ops)
        report = shot.world.directives["m"].params["report"]
        assert report["status"] in ("done", "failed"), report
        seen.add(report["status"])
        if report["status"] == "failed":
            assert report["reason"] and len(props) == 1
    assert seen == {"done", "failed"}                       # both kinds of answer were exercised
