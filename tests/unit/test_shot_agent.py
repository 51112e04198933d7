"""The shot agent: directives become camera keys that hold the requested size and composition; bad input is a
failed report and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from agents.camera.spec import SIZES
from core import ops as O
from core.tracks import value_at

from .shot_rig import Rig, framing, jerk

RES = (640, 360)


def _stage(rig: Rig, *extra):
    rig.edit(O.ShotConfigure(fps=24, frame_start=0, frame_end=240, resolution=RES),
             O.EntityCreate(id="alice", kind="character", props={"transform.position": [1.0, 0.0, -2.0]}),
             O.SkeletonSet(id="alice", template="biped"), *extra)


def test_a_static_medium_shot_frames_alice_waist_up_with_headroom():
    rig = Rig()
    _stage(rig)
    (p,) = rig.edit(O.DirectiveAdd(id="ms", agent="shot", params={"camera": "cam", "subject": "alice",
                                                                   "size": "MS", "start": 0, "end": 48}))
    rep = rig.report("ms")
    assert rep["status"] == "done" and rep["problems"] == [] and rep["frames"] == 49
    cam = rig.world.entities["cam"]
    assert cam.kind == "camera"
    assert all(k.by == "agent:shot" for keys in cam.tracks.values() for k in keys)
    fr = framing(rig.world, "cam", "alice", np.arange(0, 49))
    assert np.allclose(fr["sigma"], SIZES["MS"], rtol=1e-3)
    W, H = RES
    # the top of the head sits 8 % of the frame below its top edge, centred left to right
    assert np.allclose(fr["top_uv"][:, 1], 0.08 * H, atol=1.0)
    assert np.allclose(fr["top_uv"][:, 0], W / 2, atol=1.0)
    # the camera stands still in front of her (she faces +Z) and focuses on her
    assert np.ptp(fr["position"], axis=0).max() < 1e-6 and fr["position"][0, 2] > -2.0
    assert np.all(np.abs(fr["focus"] - fr["centre_depth"]) < 0.05)


def test_a_slow_dolly_in_from_wide_to_close_up_holds_the_size_on_every_frame():
    rig = Rig()
    _stage(rig)
    rig.edit(O.DirectiveAdd(id="push", agent="shot", params={
        "camera": "cam", "subject": "alice", "size": "CU", "move": "dolly_in", "start": 0, "end": 144,
        "params": {"from_size": "LS"}}))
    rep = rig.report("push")
    assert rep["status"] == "done", rep
    frames = np.arange(0, 145)
    fr = framing(rig.world, "cam", "alice", frames)
    e = frames / 144.0
    e = e ** 3 * (e * (6 * e - 15) + 10)
    want = SIZES["LS"] * (SIZES["CU"] / SIZES["LS"]) ** e
    assert np.all(np.abs(fr["sigma"] / want - 1) <= 0.10)
    assert fr["sigma"][0] == pytest.approx(SIZES["LS"], rel=0.01)
    assert fr["sigma"][-1] == pytest.approx(SIZES["CU"], rel=0.01)
    # a dolly: the lens stays, the camera travels towards her, smoothly
    assert np.ptp(fr["focal"]) < 1e-9
    dist = np.linalg.norm((fr["position"] - np.array([1.0, 0.0, -2.0]))[:, [0, 2]], axis=1)
    assert np.all(np.diff(dist) <= 1e-9) and dist[0] > 4 * dist[-1]
    j = jerk(fr["position"], 24.0)
    assert j < 20.0
    assert rep["measured"]["jerk_max_mps3"] == pytest.approx(j, rel=1e-3)
    # the close-up keeps the head in the frame; the wide start shows the whole figure
    W, H = RES
    assert 0 < fr["top_uv"][-1, 1] < 0.1 * H
    assert 0 < fr["top_uv"][0, 1] and fr["centre_uv"][0, 1] == pytest.approx(H / 2, abs=2)


def test_a_joint_subject_is_framed_at_that_joint():
    rig = Rig()
    _stage(rig)
    rig.edit(O.DirectiveAdd(id="hand", agent="shot", params={
        "camera": "cam", "subject": "alice", "subject_joint": "r_hand", "size": "MCU", "start": 0, "end": 24,
        "params": {"thirds": "right"}}))
    assert rig.report("hand")["status"] == "done"
    fr = framing(rig.world, "cam", "alice", np.arange(0, 25), joint="r_hand")
    assert np.allclose(fr["joint_uv"], [2 * RES[0] / 3, RES[1] / 2], atol=1.0)


@pytest.mark.parametrize("params, reason", [
    ({"subject": "bob"}, "unknown subject 'bob'"),
    ({"subject_joint": "tail"}, "has no joint 'tail'"),
    ({"start": 24, "end": 24}, "the frame range is empty"),
    ({"size": "XXL"}, "params.size must be one of"),
    ({"move": "zoom", "params": {"zoom_range_mm": [24, 70], "from_size": "ELS"}}, "impossible with a 24–70 mm lens"),
    ({"move": "orbit", "params": {"end_at_frame": 99}}, "end_at_frame must lie in"),
    ({"params": {"speed": 3}}, "unknown params.params keys ['speed']"),
    ({"focus": 3}, "unknown params keys ['focus']"),
])
def test_bad_directives_get_a_failed_report_and_nothing_else(params, reason):
    rig = Rig()
    _stage(rig)
    base = {"camera": "cam", "subject": "alice", "size": "MS", "start": 0, "end": 48}
    base.update(params)
    (p,) = rig.edit(O.DirectiveAdd(id="bad", agent="shot", params=base))
    assert len(p.ops) == 1 and isinstance(p.ops[0], O.DirectiveUpdate)
    rep = rig.report("bad")
    assert rep["status"] == "failed" and reason in rep["reason"], rep["reason"]
    assert "cam" not in rig.world.entities


def test_a_person_keyed_position_is_a_pin_and_the_rest_is_re_solved_around_it():
    rig = Rig()
    _stage(rig)
    rig.edit(O.DirectiveAdd(id="arc", agent="shot", params={"camera": "cam", "subject": "alice", "size": "MS",
                                                            "move": "arc", "start": 0, "end": 48}))
    pin = [3.0, 1.6, 1.0]
    (p,) = rig.edit(O.KeySet(id="cam", path="transform.position", frame=24, value=pin))
    rep = rig.report("arc")
    assert rep["pins"] == [24.0] and rep["status"] == "done", rep
    cam = rig.world.entities["cam"]
    keys = {k.frame: k for k in cam.tracks["transform.position"]}
    assert keys[24.0].by == "user:ann" and keys[24.0].value == pin
    assert all(k.by == "agent:shot" for f, k in keys.items() if f != 24.0)
    # at the pin the lens (not the position) holds the size
    fr = framing(rig.world, "cam", "alice", [24.0])
    assert fr["sigma"][0] == pytest.approx(SIZES["MS"], rel=0.01)
    assert np.allclose(value_at(cam, "transform.position", [24.0])[0], pin)


def test_a_long_shot_is_keyed_sparser_to_fit_one_event_and_still_holds_between_keys():
    rig = Rig()
    _stage(rig)
    (p,) = rig.edit(O.DirectiveAdd(id="long", agent="shot", params={
        "camera": "cam", "subject": "alice", "size": "MCU", "move": "dolly_in", "start": 0, "end": 1000,
        "params": {"from_size": "ELS"}}))
    assert len(p.ops) <= 1000
    rep = rig.report("long")
    assert rep["status"] == "done" and rep["frames"] < 250
    assert rep["measured"]["jerk_max_mps3"] is not None
    frames = np.arange(0.0, 1001.0)
    fr = framing(rig.world, "cam", "alice", frames)
    e = frames / 1000.0
    e = e ** 3 * (e * (6 * e - 15) + 10)
    want = SIZES["ELS"] * (SIZES["MCU"] / SIZES["ELS"]) ** e
    assert np.all(np.abs(fr["sigma"] / want - 1) <= 0.10)       # on every frame, keyed or not
    assert rep["measured"]["jerk_max_mps3"] == pytest.approx(jerk(fr["position"], 24.0), rel=1e-3)


def test_two_shots_may_cut_on_one_camera_but_not_overlap():
    rig = Rig()
    _stage(rig)
    base = {"camera": "cam", "subject": "alice", "size": "MS"}
    rig.edit(O.DirectiveAdd(id="a", agent="shot", params=dict(base, start=0, end=47)))
    rig.edit(O.DirectiveAdd(id="b", agent="shot", params=dict(base, size="CU", start=48, end=96)))
    assert rig.report("a")["status"] == rig.report("b")["status"] == "done"
    (p,) = rig.edit(O.DirectiveAdd(id="c", agent="shot", params=dict(base, start=40, end=60)))
    assert len(p.ops) == 1
    assert rig.report("c")["reason"].startswith("camera 'cam' is already driven by shot 'a' over frames 0–47")
    fr = framing(rig.world, "cam", "alice", [0.0, 47.0, 48.0, 96.0])
    assert fr["sigma"] == pytest.approx([SIZES["MS"], SIZES["MS"], SIZES["CU"], SIZES["CU"]], rel=0.01)
