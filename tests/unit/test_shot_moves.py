"""Each camera move does what its name says while the framing holds: rigs (crane, rail), lens moves (zoom,
dolly-zoom), pans and tilts, angles, thirds and lead room."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.camera.spec import SIZES
from core import ops as O
from core import quat
from core.sampling import sample

from .shot_rig import Rig, framing, jerk

RES = (640, 360)
FRAMES = np.arange(0.0, 49.0)


def _shot(move: str, size: str = "MS", params=None, extra=(), **top) -> Rig:
    rig = Rig()
    rig.edit(O.ShotConfigure(fps=24, frame_start=0, frame_end=96, resolution=RES),
             O.EntityCreate(id="ann", kind="character", props={"transform.position": [0.0, 0.0, 0.0]}),
             O.SkeletonSet(id="ann", template="biped"), *extra)
    body = {"camera": "cam", "subject": "ann", "size": size, "move": move, "start": 0, "end": 48, **top}
    if params is not None:
        body["params"] = params
    rig.edit(O.DirectiveAdd(id="d", agent="shot", params=body))
    rep = rig.report("d")
    assert rep["status"] == "done", rep
    return rig


def test_a_crane_raises_the_camera_on_its_arm_and_the_zoom_holds_the_size():
    rig = _shot("crane", params={"arm_m": 4.0, "from_deg": -10, "to_deg": 50})
    fr = framing(rig.world, "cam", "ann", FRAMES)
    assert np.allclose(fr["sigma"], SIZES["MS"], rtol=0.01)
    pos = fr["position"]
    # on an arc of radius 4 m about one pivot (the circumcentre of three of its points)
    a, b, c = pos[0], pos[24], pos[-1]
    ab, ac = b - a, c - a
    n = np.cross(ab, ac)
    pivot = a + (np.cross(n, ab) * ac.dot(ac) + np.cross(ac, n) * ab.dot(ab)) / (2 * n.dot(n))
    assert np.allclose(np.linalg.norm(pos - pivot, axis=1), 4.0, atol=1e-3)
    assert pos[-1, 1] - pos[0, 1] == pytest.approx(4.0 * (math.sin(math.radians(50)) - math.sin(math.radians(-10))),
                                                   abs=1e-3)
    assert np.ptp(fr["focal"]) > 5.0


def test_a_truck_along_a_rail_follows_the_rail():
    rail = [[-3.0, 1.5, 4.0], [0.0, 1.5, 5.0], [3.0, 1.5, 4.0]]
    rig = _shot("truck", params={"rail": rail})
    fr = framing(rig.world, "cam", "ann", FRAMES)
    assert np.allclose(fr["sigma"], SIZES["MS"], rtol=0.01)
    assert np.allclose(fr["position"][[0, -1]], [rail[0], rail[-1]], atol=1e-6)
    assert np.abs(fr["position"][:, 1] - 1.5).max() < 1e-6
    # a smootherstep over 6.3 m in 2 s alone gives 60 · 6.3 / 2³ ≈ 47 m/s³; the rail's bend adds some
    assert jerk(fr["position"], 24.0) < 100.0


def test_a_zoom_stays_put_and_changes_the_focal_length():
    rig = _shot("zoom", size="CU", params={"from_size": "MLS"})
    fr = framing(rig.world, "cam", "ann", FRAMES)
    assert np.ptp(fr["position"], axis=0).max() < 1e-9
    assert fr["sigma"][0] == pytest.approx(SIZES["MLS"], rel=0.01)
    assert fr["sigma"][-1] == pytest.approx(SIZES["CU"], rel=0.01)
    # (not exactly σ's ratio: the aim point rises from the body's middle to the face as the frame tightens)
    assert fr["focal"][-1] / fr["focal"][0] == pytest.approx(SIZES["CU"] / SIZES["MLS"], rel=0.06)


def test_a_dolly_zoom_holds_the_size_while_the_camera_halves_its_distance():
    rig = _shot("dolly_zoom", params={"factor": 0.5})
    fr = framing(rig.world, "cam", "ann", FRAMES)
    assert np.allclose(fr["sigma"], SIZES["MS"], rtol=0.01)
    assert fr["centre_depth"][-1] / fr["centre_depth"][0] == pytest.approx(0.5, rel=0.05)
    assert fr["focal"][-1] / fr["focal"][0] == pytest.approx(0.5, rel=0.05)


def test_a_pan_starts_off_the_subject_and_settles_on_it():
    rig = _shot("pan", params={"degrees": 40})
    fr = framing(rig.world, "cam", "ann", FRAMES)
    assert np.ptp(fr["position"], axis=0).max() < 1e-9
    W = RES[0]
    assert fr["top_uv"][0, 0] > W or fr["top_uv"][0, 0] < 0        # 40° off: she is out of frame at first
    assert fr["top_uv"][-1, 0] == pytest.approx(W / 2, abs=1.0)
    assert rig.report("d")["reveal_frames"] > 10


@pytest.mark.parametrize("angle, elevation, roll", [("high", 30.0, 0.0), ("low", -20.0, 0.0),
                                                     ("overhead", 80.0, 0.0), ("dutch", 0.0, 15.0)])
def test_angles_set_the_camera_elevation_and_roll(angle, elevation, roll):
    rig = _shot("static", size="MS", angle=angle)
    s = sample(rig.world, [0.0])
    m = np.linalg.inv(s.cameras["cam"].world_to_camera[0])
    fr = framing(rig.world, "cam", "ann", [0.0])
    # the framed point is on the optical axis (image centre), so the camera's elevation seen from it is the
    # camera's downward pitch
    assert np.allclose(fr["framed_uv"][0], [RES[0] / 2, RES[1] / 2], atol=1.0)
    assert math.degrees(math.asin(m[1, 2] / np.linalg.norm(m[:3, 2]))) == pytest.approx(elevation, abs=0.5)
    right = m[:3, 0]
    assert math.degrees(math.asin(right[1])) == pytest.approx(roll, abs=0.01)
    assert fr["sigma"][0] == pytest.approx(SIZES["MS"], rel=0.01)


def test_lead_room_puts_a_walker_on_the_third_behind_her_motion():
    walk = [O.KeySet(id="ann", path="transform.position", frame=0.0, value=[-3.0, 0.0, 0.0], interp="linear"),
            O.KeySet(id="ann", path="transform.position", frame=48.0, value=[3.0, 0.0, 0.0], interp="linear"),
            O.EntitySet(id="ann", path="transform.rotation",
                        value=[float(x) for x in quat.from_axis_angle([0, 1, 0], math.pi / 2)])]
    rig = _shot("arc", size="FS", params={"degrees": 0.0, "azimuth_deg": -90.0}, extra=walk)
    fr = framing(rig.world, "cam", "ann", FRAMES)
    # she walks towards +X, the camera watches from +Z: moving right on screen, she keeps to the left third
    assert np.all(fr["centre_uv"][8:-8, 0] < RES[0] / 2 - 0.8 * RES[0] / 6)
    assert np.allclose(fr["sigma"], SIZES["FS"], rtol=0.05)


@pytest.mark.parametrize("angle", ["eye", "high", "low", "overhead", "dutch"])
def test_every_size_at_every_angle_is_solved_cleanly(angle):
    """Close-ups are measured at the face, not the hips; a low wide shot keeps the camera above the ground."""
    for size in SIZES:
        rig = _shot("static", size=size, angle=angle)
        rep = rig.report("d")
        assert rep["problems"] == [] and rep["measured"]["size_error_max"] <= 0.01, (size, rep)
        pos = framing(rig.world, "cam", "ann", [0.0])["position"][0]
        assert pos[1] >= 0.2 - 1e-3, (size, pos)
