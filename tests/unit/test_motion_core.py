"""core.motion: gait figures from biomechanics, locomotion along a path with planted feet, swings that lift before
they travel, every clip of every family, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from core import kinematics, quat, templates, transform
from core.motion import check_clips, figures, locomote, synthesize
from core.motion.clipspec import CLIPS
from core.motion.rigs import family_of, info, leg_length

FPS = 24.0


def test_stride_and_gait_choice_follow_dynamic_similarity():
    h = leg_length(templates.template_joints("biped"))
    assert h == pytest.approx(0.90)
    # a human walking at 1.37 m/s strides about 1.44 m (NOTES.md); Alexander's formula gives 1.3–1.45
    assert 1.25 < figures.stride_length(1.37, h) < 1.5
    assert figures.gait_for("biped", "walk", h, 1.37).name == "walk"
    assert figures.gait_for("biped", "walk", h, 3.0).name == "run"              # Fr 1.02 > 0.5
    # the same Froude number means the same gait at any size: a 2× skeleton walks at √2× the speed
    big = figures.gait_for("biped", "walk", 2 * h, 1.37 * np.sqrt(2))
    assert big.name == "walk" and big.froude == pytest.approx(figures.froude(1.37, h))
    q = leg_length(templates.template_joints("quadruped"))
    assert figures.gait_for("quadruped", "walk", q, 0.8).name == "walk"
    assert figures.gait_for("quadruped", "walk", q, 2.0).name == "trot"
    assert figures.gait_for("quadruped", "walk", q, 5.0).name == "gallop"
    assert figures.gait_for("quadruped", "trot", q).offsets == (0.5, 0.0, 0.0, 0.5)      # diagonal pairs
    assert figures.gait_for("quadruped", "pace", q).offsets == (0.0, 0.5, 0.0, 0.5)      # lateral pairs
    assert figures.gait_for("quadruped", "walk", q).duty > 0.5 > figures.gait_for("quadruped", "gallop", q).duty


def test_wingbeat_and_tail_beat_figures():
    assert figures.flap_frequency_hz(0.4, 0.67, 0.065) == pytest.approx(7.5, abs=0.1)     # pigeon
    m, s = figures.bird_mass_area(0.67 * 4)
    pigeon = figures.flap_frequency_hz(0.4, 0.67, 0.065)
    assert figures.flap_frequency_hz(m, 0.67 * 4, s) == pytest.approx(pigeon / 2, rel=1e-9)  # f ∝ size^-1/2
    f = figures.fish_frequency_hz(0.55, 0.55, 0.1)
    assert f * (2 * 0.1 * 0.55) / 0.55 == pytest.approx(figures.STROUHAL)


def test_families_are_recognised_by_their_joints():
    for fam in ("biped", "quadruped", "bird", "fish"):
        assert family_of(templates.template_joints(fam, scale=1.7)) == fam
    one_legged = [j for j in templates.template_joints("biped") if j["name"] not in ("l_knee", "l_ankle", "l_toe")]
    with pytest.raises(ValueError, match="not of a family.*nearest is biped.*l_knee"):
        family_of(one_legged)


def _skate(joints, motion, base) -> tuple[float, int]:
    r = kinematics.rig(joints)
    g = kinematics.forward(r, motion.rotations, motion.root_position, base)
    worst, n = 0.0, 0
    for leg in info(joints).legs:
        for name in (leg.lower, leg.end):
            p = g[:, r.index(name), :3, 3]
            low = p[:, 1] < 0.05
            both = low[1:] & low[:-1]
            v = np.linalg.norm(np.diff(p[:, [0, 2]], axis=0), axis=-1) * FPS
            n += int(both.sum())
            if both.any():
                worst = max(worst, float(v[both].max()))
    return worst, n


@pytest.mark.parametrize("template", ["biped", "quadruped"])
def test_locomote_along_a_curve_keeps_feet_planted_in_either_root_mode(template):
    joints = templates.template_joints(template)
    n = 150
    t = np.arange(n) / FPS
    s = 0.5 - 0.5 * np.cos(np.pi * np.clip(t / 5.0, 0.0, 1.0))
    ang = s * np.pi / 2
    pos = np.stack([4 - 4 * np.cos(ang), np.zeros(n), 4 * np.sin(ang)], axis=-1)
    m, end = locomote(joints, pos, ang, FPS, "walk")
    base = transform.compose(pos, quat.from_axis_angle([0.0, 1.0, 0.0], ang), np.ones((n, 3)))
    worst, contacts = _skate(joints, m, base)
    assert contacts > 100 and worst <= 0.05
    m2, _ = locomote(joints, pos, ang, FPS, "walk", root_travel=True)
    r = kinematics.rig(joints)
    g1 = kinematics.forward(r, m.rotations, m.root_position, base)
    g2 = kinematics.forward(r, m2.rotations, m2.root_position)
    assert np.allclose(g1[..., :3, 3], g2[..., :3, 3], atol=1e-9)     # the same motion either way
    assert end.plants.shape == (len(info(joints).legs), 3) and not m.unreached.any()


def test_a_swinging_foot_lifts_before_it_travels():
    joints = templates.template_joints("biped")
    frames, m, _ = synthesize(joints, check_clips("biped", [{"clip": "walk", "start": 0, "end": 72}]), FPS)
    r = kinematics.rig(joints)
    g = kinematics.forward(r, m.rotations, m.root_position)
    for name in ("l_toe", "r_toe"):
        p = g[:, r.index(name), :3, 3]
        ground = p[:, 1].min()
        swings = 0
        f = 1
        while f < len(p):
            if p[f, 1] > ground + 1e-6 and p[f - 1, 1] <= ground + 1e-6:       # lift-off
                lift_at = p[f - 1]
                k = f
                while k < len(p) and np.linalg.norm(p[k, [0, 2]] - lift_at[[0, 2]]) < 1e-3:
                    k += 1
                if k < len(p):
                    assert p[k, 1] - lift_at[1] > 0.04              # up by the time it travels
                    swings += 1
                f = k
            f += 1
        assert swings >= 2


@pytest.mark.parametrize("family", ["biped", "quadruped", "bird", "fish"])
def test_every_clip_of_every_family_synthesises_finite_motion(family):
    joints = templates.template_joints(family)
    clips = []
    for k, name in enumerate(CLIPS[family]):
        clips.append({"clip": name, "start": 30 * k, "end": 30 * k + 30})
    frames, m, _ = synthesize(joints, check_clips(family, clips), FPS)
    assert frames.shape == (30 * len(clips) + 1,)
    assert np.all(np.isfinite(m.rotations)) and np.all(np.isfinite(m.root_position))
    assert np.allclose(np.linalg.norm(m.rotations, axis=-1), 1.0)
    again = synthesize(joints, check_clips(family, clips), FPS)[1]
    assert np.array_equal(again.rotations, m.rotations) and np.array_equal(again.root_position, m.root_position)


def test_biped_clips_keep_joint_limits():
    """Every joint stays within its limits in every biped clip (arms and spine are projected into them, a foot
    pitches about its planted end to spare the ankle, knees point where the feet do) — except the ankle of a
    running foot coming down far ahead of the hip (documented)."""
    from core import ik

    joints = templates.template_joints("biped")
    limits = ik.joint_limits(joints)
    for clip in CLIPS["biped"]:
        _, m, _ = synthesize(joints, check_clips("biped", [{"clip": clip, "start": 0, "end": 48}]), FPS)
        for k, name in enumerate(m.names):
            if name in limits and not (clip == "run" and name.endswith("ankle")):
                worst = float(ik.violation_deg(m.rotations[:, k], limits[name]).max())
                assert worst < 1e-6, f"{clip}: {name} is {worst:.2f}° past its limits"


def test_retiming_an_action_stretches_it_to_its_frames():
    """An action clip fills its [start, end]: the same punch over twice the frames peaks at twice the frame."""
    joints = templates.template_joints("biped")
    r = kinematics.rig(joints)
    peaks = []
    for end in (24, 48):
        _, m, _ = synthesize(joints, check_clips("biped", [{"clip": "punch", "start": 0, "end": end}]), FPS)
        z = kinematics.forward(r, m.rotations, m.root_position)[:, r.index("r_hand"), 2, 3]
        peaks.append(int(np.argmax(z)))
    assert abs(peaks[1] - 2 * peaks[0]) <= 1 and peaks[0] > 0


def test_locomote_swims_a_fish_along_its_path_with_a_travelling_wave():
    joints = templates.template_joints("fish")
    n = 73
    pos = np.stack([np.zeros(n), np.full(n, 1.0), np.linspace(0.0, 1.5, n)], axis=-1)
    m, _ = locomote(joints, pos, np.zeros(n), FPS, "swim")
    r = kinematics.rig(joints)
    base = transform.compose(pos, quat.identity((n,)), np.ones((n, 3)))
    g = kinematics.forward(r, m.rotations, m.root_position, base)
    tail = g[:, r.index("tail_fin"), :3, 3]
    head = g[:, r.index("head"), :3, 3]
    assert np.ptp(tail[:, 0]) > 2 * np.ptp(head[:, 0]) > 0        # the tail sweeps more than the head
    assert abs(head[-1, 2] - head[0, 2] - 1.5) < 0.05              # and the fish goes where the path goes
    assert any("Strouhal" in note for note in m.report["notes"])


def test_a_fish_given_only_a_tail_beat_swims_at_the_strouhal_speed():
    joints = templates.template_joints("fish")
    _, m, _ = synthesize(joints, check_clips("fish", [{"clip": "swim", "start": 0, "end": 48,
                                                       "params": {"frequency_hz": 2.0}}]), FPS)
    speed = 2.0 * (2 * 0.1 * 0.55) / figures.STROUHAL              # U = f A_pp / St
    assert any(f"{speed:.2f} m/s" in n for n in m.report["notes"])


def test_a_bird_that_flew_lands_before_it_walks():
    joints = templates.template_joints("bird")
    clips = [{"clip": "flap", "start": 0, "end": 48, "params": {"altitude_m": 2.0}},
             {"clip": "walk", "start": 48, "end": 96}]
    _, m, _ = synthesize(joints, check_clips("bird", clips), FPS)
    r = kinematics.rig(joints)
    toe = kinematics.forward(r, m.rotations, m.root_position)[:, r.index("l_toe"), 1, 3]
    assert toe[40] > 1.5                                   # up in the air while flapping
    assert np.all(toe[80:] < 0.08) and toe[-1] < 0.01      # then down on the ground, walking
    assert np.all(np.abs(np.diff(toe)) < 0.2)             # no drop: it comes down over frames
    assert any("landed" in n for n in m.report["notes"])
