"""BVH import (issue 14, item 5): a code-made mocap clip, exported by our BVH writer, read back and retargeted onto
characters of the same family — the round trip is exact (1e-4° per joint), the root path scales with leg length,
planted feet are re-pinned by IK when the limbs' proportions differ, and another rest pose or mocap joint names
still drive the same bones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core import quat
from core import ops as O
from core.edit import apply
from core.sampling import sample
from core.templates import template_joints
from core.world import World
from renderers.export import export
from renderers.export.bvh_import import BvhError, bvh_ops, parse
from renderers.export.scene import shot_frames

FPS = 30.0
N = 48


def _deg(axis, a):
    return [float(x) for x in quat.from_axis_angle(np.asarray(axis, dtype=float), math.radians(a))]


def walk_ops(eid: str) -> list:
    """A walking clip made in code: legs swing and knees bend in a gait cycle, the root travels +Z at 1.2 m/s and
    bobs, arms counter-swing, spine twists. Both feet are low in the middle of their stance."""
    ops = []
    for i in range(N):
        f = float(i)
        ph = 2 * math.pi * i / 24
        ops += [
            O.KeySet(id=eid, path="joints.l_hip.rotation", frame=f, value=_deg([1, 0, 0], -25 * math.sin(ph)),
                     interp="linear"),
            O.KeySet(id=eid, path="joints.r_hip.rotation", frame=f, value=_deg([1, 0, 0], 25 * math.sin(ph)),
                     interp="linear"),
            O.KeySet(id=eid, path="joints.l_knee.rotation", frame=f,
                     value=_deg([1, 0, 0], 5 + 30 * max(0.0, math.sin(ph + 1.2))), interp="linear"),
            O.KeySet(id=eid, path="joints.r_knee.rotation", frame=f,
                     value=_deg([1, 0, 0], 5 + 30 * max(0.0, -math.sin(ph + 1.2))), interp="linear"),
            O.KeySet(id=eid, path="joints.l_shoulder.rotation", frame=f,
                     value=_deg([0, 0, 1], -70 + 10 * math.sin(ph)), interp="linear"),
            O.KeySet(id=eid, path="joints.spine.rotation", frame=f, value=_deg([0, 1, 0], 6 * math.sin(ph)),
                     interp="linear"),
            O.KeySet(id=eid, path="joints.hips.position", frame=f,
                     value=[0.0, -0.03 + 0.02 * math.cos(2 * ph), 1.2 * i / FPS], interp="linear"),
        ]
    return ops


def world_with(eid: str, joints=None, template="biped", scale=None, clip=True) -> World:
    w = World("p", "s", fps=FPS, frame_start=0.0, frame_end=float(N - 1))
    sk = O.SkeletonSet(id=eid, joints=joints) if joints is not None else \
        O.SkeletonSet(id=eid, template=template, scale=scale)
    apply(w, [O.EntityCreate(id=eid, kind="character"), sk] + (walk_ops(eid) if clip else []), "user:u")
    return w


def bvh_of(w: World, eid: str) -> str:
    return export(w, "bvh", seq=1, state_hash="h", entity=eid).decode()


def import_onto(w: World, eid: str, text: str) -> dict:
    ops, report = bvh_ops(w, eid, text)
    apply(w, ops, "user:import")
    return report


def globals_of(w: World, eid: str):
    js = sample(w, shot_frames(w.frame_start, w.frame_end)).joints[eid]
    return js.names, js.matrices


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (degrees) between rotation matrices (..., 3, 3)."""
    rel = np.einsum("...ji,...jk->...ik", a, b)
    c = np.clip((np.trace(rel, axis1=-2, axis2=-1) - 1) / 2, -1.0, 1.0)
    return np.degrees(np.arccos(c))


def test_import_then_export_is_the_same_file_within_1e4_degrees_per_joint():
    text = bvh_of(world_with("src"), "src")
    w = world_with("bob", clip=False)
    import_onto(w, "bob", text)
    again = parse(bvh_of(w, "bob"))
    first = parse(text)
    assert first.names == again.names and first.motion.shape == again.motion.shape
    r1, t1 = first.locals()
    r2, t2 = again.locals()
    err = angle_deg(quat.to_matrix(r1), quat.to_matrix(r2))
    assert err.max() <= 1e-4, err.max()
    assert np.abs(t1 - t2).max() <= 1e-6


def test_a_taller_character_takes_the_root_path_scaled_by_leg_length_and_plants_its_feet_there():
    text = bvh_of(world_with("src"), "src")
    src_names, src = globals_of(world_with("src"), "src")
    w = world_with("tall", scale=1.25, clip=False)
    report = import_onto(w, "tall", text)
    assert report["leg_scale"] == pytest.approx(1.25)
    names, tall = globals_of(w, "tall")
    hips = names.index("hips")
    np.testing.assert_allclose(tall[:, hips, :3, 3], 1.25 * src[:, src_names.index("hips"), :3, 3], atol=1e-9)
    for foot in ("l_ankle", "r_ankle"):
        np.testing.assert_allclose(tall[:, names.index(foot), :3, 3], 1.25 * src[:, src_names.index(foot), :3, 3],
                                   atol=1e-9)
        assert report["feet"][foot]["planted"] > 0


def test_longer_shins_get_their_planted_feet_repinned_by_ik():
    joints = template_joints("biped")
    for j in joints:
        if j["name"] in ("l_knee", "r_knee"):
            j["offset"] = [j["offset"][0], -0.30, 0.0]          # shorter thighs …
        if j["name"] in ("l_ankle", "r_ankle"):
            j["offset"] = [0.0, -0.52, 0.0]                     # … longer shins, same leg length
    text = bvh_of(world_with("src"), "src")
    src_names, src = globals_of(world_with("src"), "src")
    w = world_with("odd", joints=joints, clip=False)
    report = import_onto(w, "odd", text)
    assert report["leg_scale"] == pytest.approx(1.0)
    names, odd = globals_of(w, "odd")
    b = parse(text)
    for foot in ("l_ankle", "r_ankle"):
        want = src[:, src_names.index(foot), :3, 3]
        got = odd[:, names.index(foot), :3, 3]
        rep = report["feet"][foot]
        assert rep["planted"] > 0 and rep["unreachable"] == 0
        assert rep["moved_max_m"] > 0.01                       # the rotations alone put the foot elsewhere
        from renderers.export.bvh_import import _planted
        planted = _planted(want, 0.95 - want[:, 1].min(), b.frame_time)
        assert planted.sum() == rep["planted"]
        assert np.abs(got[planted] - want[planted]).max() <= 1e-3


def test_mocap_names_in_another_rest_pose_drive_the_same_bones():
    # a source skeleton with mocap names whose arms hang down at rest (not a T-pose)
    rename = {"hips": "Hips", "spine": "Spine", "chest": "Spine1", "neck": "Neck", "head": "Head",
              "l_clavicle": "LeftShoulder", "l_shoulder": "LeftArm", "l_elbow": "LeftForeArm",
              "l_wrist": "LeftHand", "r_clavicle": "RightShoulder", "r_shoulder": "RightArm",
              "r_elbow": "RightForeArm", "r_wrist": "RightHand", "l_hip": "LeftUpLeg", "l_knee": "LeftLeg",
              "l_ankle": "LeftFoot", "l_toe": "LeftToeBase", "r_hip": "RightUpLeg", "r_knee": "RightLeg",
              "r_ankle": "RightFoot", "r_toe": "RightToeBase"}
    joints = []
    for j in template_joints("biped"):
        if j["name"] not in rename:
            continue
        off = list(j["offset"])
        if j["name"] in ("l_elbow", "r_elbow", "l_wrist", "r_wrist"):
            off = [0.0, -off[0] if off[0] > 0 else off[0], 0.0]   # the arm bones point down
        joints.append({"name": rename[j["name"]], "parent": rename.get(j["parent"]), "offset": off})
    src = world_with("mocap", joints=joints, clip=False)
    apply(src, [O.KeySet(id="mocap", path="joints.LeftArm.rotation", frame=float(i),
                         value=_deg([1, 0, 0], -80 * i / (N - 1)), interp="linear") for i in range(N)]
          + [O.KeySet(id="mocap", path="joints.Hips.position", frame=float(i), value=[0.0, 0.0, 0.05 * i],
                      interp="linear") for i in range(N)], "user:u")
    w = world_with("bob", clip=False)
    report = import_onto(w, "bob", bvh_of(src, "mocap"))
    assert report["matched"] == len(rename)
    s_names, s = globals_of(src, "mocap")
    t_names, t = globals_of(w, "bob")

    def bone(m, names, a, b):
        d = m[:, names.index(b), :3, 3] - m[:, names.index(a), :3, 3]
        return d / np.linalg.norm(d, axis=1, keepdims=True)

    np.testing.assert_allclose(bone(t, t_names, "l_shoulder", "l_elbow"),
                               bone(s, s_names, "LeftArm", "LeftForeArm"), atol=1e-9)
    assert bone(t, t_names, "l_shoulder", "l_elbow")[-1] @ [0.0, 0.0, 1.0] > 0.95   # raised forwards at the end


def test_a_quadruped_file_does_not_go_on_a_biped():
    text = bvh_of(world_with("rex", template="quadruped", clip=False), "rex")
    with pytest.raises(BvhError, match="not a biped"):
        bvh_ops(world_with("bob", clip=False), "bob", text)


@pytest.mark.parametrize("text,message", [
    ("", "ends early"),
    ("HIERARCHY\nROOT hips\n{\n  CHANNELS 3 Zrotation Xrotation Yrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0.04\n"
     "0 0 0\n", "no OFFSET"),
    ("HIERARCHY\nROOT hips\n{\n  OFFSET 0 1 0\n  CHANNELS 3 Zrotation Xrotation Wrotation\n}\n", "unknown channel"),
    ("HIERARCHY\nROOT hips\n{\n  OFFSET 0 1 0\n  CHANNELS 3 Zrotation Xrotation Yrotation\n}\nMOTION\nFrames: 2\n"
     "Frame Time: 0.04\n0 0 0\n", "MOTION has 3 values; 2 frames × 3 channels need 6"),
    ("HIERARCHY\nROOT hips\n{\n  OFFSET 0 1 0\n  CHANNELS 3 Zrotation Xrotation Yrotation\n}\nMOTION\nFrames: 1\n"
     "Frame Time: 0\n0 0 0\n", "frame time must be > 0"),
    ("ROOT hips", "starts with HIERARCHY"),
])
def test_broken_files_are_named(text, message):
    with pytest.raises(BvhError, match=message):
        parse(text)


def test_import_onto_something_that_is_not_a_character():
    w = world_with("bob", clip=False)
    apply(w, [O.EntityCreate(id="box", kind="prop")], "user:u")
    text = bvh_of(world_with("src"), "src")
    with pytest.raises(BvhError, match="not a character with a skeleton"):
        bvh_ops(w, "box", text)
    with pytest.raises(BvhError, match="no entity 'nobody'"):
        bvh_ops(w, "nobody", text)


def test_the_import_command_plans_a_bvh_onto_the_named_character(tmp_path):
    from renderers.export import ExportError
    from renderers.export.importing import import_plan

    path = tmp_path / "walk.bvh"
    path.write_text(bvh_of(world_with("src"), "src"))
    w = world_with("bob", clip=False)
    plan = import_plan(path, w, new_shot=False, entity="bob", start=5.0)
    apply(w, plan, "user:import")
    keys = w.entities["bob"].tracks["joints.hips.position"]
    assert keys[0].frame == 5.0 and keys[-1].frame == 5.0 + N - 1
    with pytest.raises(ExportError, match="--entity"):
        import_plan(path, w, new_shot=False)


async def test_wnm_import_submits_the_retargeted_clip(tmp_path, capsys):
    import argparse
    import json
    from types import SimpleNamespace

    from events.envelope import Actor
    from projections.replay import rebuild
    from renderers.export.cli import _import
    from tests.unit.test_agents_runtime import P, S, Rig

    rig = Rig()
    await rig.log.ensure_project(P)
    await rig.submit(O.ShotConfigure(fps=FPS, frame_start=0, frame_end=N - 1),
                     O.EntityCreate(id="bob", kind="character"), O.SkeletonSet(id="bob", template="biped"))

    async def world_at(project, shot, seq):
        return await rebuild(rig.log, project, shot, seq)

    system = SimpleNamespace(log=rig.log, commands=rig.commands, world_at=world_at)
    path = tmp_path / "walk.bvh"
    text = bvh_of(world_with("src"), "src")
    path.write_text(text)
    args = argparse.Namespace(project=P, shot=S, file=path, entity="bob", start=None)
    assert await _import(system, args, Actor(kind="user", id="ann")) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ops"] > N and summary["events"] >= 1
    w = (await rebuild(rig.log, P, S)).world
    again = parse(export(w, "bvh", seq=1, state_hash="h", entity="bob").decode())
    r1, _ = parse(text).locals()
    r2, _ = again.locals()
    assert angle_deg(quat.to_matrix(r1), quat.to_matrix(r2)).max() <= 1e-4
    bad = argparse.Namespace(project=P, shot=S, file=path, entity="nobody", start=None)
    assert await _import(system, bad, Actor(kind="user", id="ann")) == 1
    assert "no entity 'nobody'" in capsys.readouterr().err
