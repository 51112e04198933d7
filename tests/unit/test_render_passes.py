"""White-box passes: depth, instance, normal, pose and camera files of small rendered packs."""

from __future__ import annotations

import copy
import importlib.util
import json

import numpy as np
import pytest
from PIL import Image

# pyrender is not imported here (the renderer picks the GL platform first); without it these tests fail unless
# WNM_ALLOW_SKIP=1 (tests/conftest.py)
pytestmark = pytest.mark.skipif(importlib.util.find_spec("pyrender") is None, reason="pyrender is not installed")

from core import ops as O  # noqa: E402
from core.camera import project  # noqa: E402
from core.edit import apply  # noqa: E402
from core.sampling import sample  # noqa: E402
from core.world import World  # noqa: E402
from renderers.cameras import read_cameras_txt  # noqa: E402
from renderers.checks import check_decoupling, check_determinism  # noqa: E402
from renderers.job import RenderJob  # noqa: E402
from renderers.pack import render_pack, verify_pack, write_pack  # noqa: E402


def box_world(extra=()):
    w = World(project="p", shot="s")
    apply(w, [
        O.ShotConfigure(resolution=(160, 120), frame_end=10.0),
        O.EntityCreate(id="cam", kind="camera", props={"camera.focal_length_mm": 35.0}),
        O.EntityCreate(id="wall", kind="prop", props={
            "geometry": {"primitive": "box", "size": [2.0, 2.0, 0.2]}, "transform.position": [0.0, -1.0, -5.0],
            "color": [0.2, 0.4, 0.8]}),
        *extra,
    ], "user:t")
    return w


def job(**kw):
    base = dict(project="p", shot="s", frames=[0.0], resolution=(160, 120))
    base.update(kw)
    return RenderJob(**base)


def test_depth_of_a_box_face_at_a_known_distance_is_within_a_millimetre(tmp_path):
    m = render_pack(box_world(), 3, "h", job(passes=["depth", "depth_f32"]), tmp_path)
    scale = m["depth"]["scale_m"]
    d16 = np.asarray(Image.open(tmp_path / "depth/000000.png")).astype(np.float64) * scale
    d32 = np.load(tmp_path / "depth_f32/000000.npy")
    # the front face is at z = -4.9 (box 0.2 m deep centred on z = -5); the camera is at the origin looking down -Z
    assert abs(d16[60, 80] - 4.9) <= 0.001
    assert abs(d32[60, 80] - 4.9) <= 0.001
    assert d16[2, 2] == 0 and d32[2, 2] == 0  # background


def test_instance_ids_match_the_manifest_palette_and_normals_face_the_camera(tmp_path):
    m = render_pack(box_world(), 3, "h", job(passes=["instance", "normal", "proxy"]), tmp_path)
    pal = m["instance"]["palette"]
    assert set(pal) == {"wall"}
    inst = np.asarray(Image.open(tmp_path / "instance/000000.png"))
    assert inst[60, 80].tolist() == pal["wall"]["rgb"]
    assert inst[2, 2].tolist() == [0, 0, 0]
    normal = np.asarray(Image.open(tmp_path / "normal/000000.png")).astype(int)
    assert np.all(np.abs(normal[60, 80] - [128, 128, 255]) <= 1)
    proxy = np.asarray(Image.open(tmp_path / "proxy/000000.png")).astype(float)
    # blue wall, lit from the camera side: blue dominates, background black
    assert proxy[60, 80, 2] > proxy[60, 80, 0] > 0 and proxy[2, 2].sum() == 0


def test_instance_ids_do_not_change_when_other_entities_appear():
    from renderers.geometry import instance_ids

    a = instance_ids(["a", "b", "c"])
    b = instance_ids(["0", "a", "aa", "b", "c", "zz"])
    assert all(a[k] == b[k] for k in a) and 0 not in a.values()


def biped_world():
    return box_world([
        O.EntityCreate(id="alice", kind="character", props={"transform.position": [0.3, -1.6, -4.0],
                                                            "transform.rotation": {"euler_deg": [0, 20, 0]}}),
        O.SkeletonSet(id="alice", template="biped"),
    ])


def test_pose_joints_reproject_within_half_a_pixel_of_core_projection(tmp_path):
    w = biped_world()
    m = render_pack(w, 3, "h", job(passes=["pose", "keypoints"]), tmp_path)
    cams = json.loads((tmp_path / "cameras.json").read_text())["frames"][0]
    kp = json.loads((tmp_path / "keypoints/000000.json").read_text())["characters"]["alice"]
    assert kp["family"] == "coco18"
    s = sample(w, np.array([0.0]))
    js = s.joints["alice"]
    world_pts = js.matrices[0, :, :3, 3]
    uv = project(np.array(cams["K"]), np.array(cams["world_to_camera"]), world_pts)
    got = np.array([kp["joints"][n][:2] for n in js.names])
    assert np.max(np.abs(got - uv)) < 0.5
    # the pose image has the neck's COCO colour drawn where the neck projects
    pose = np.asarray(Image.open(tmp_path / "pose/000000.png"))
    u, v, vis = kp["coco18"][1]
    assert vis == 1 and pose[int(v), int(u)].sum() > 0
    assert m["files"]["pose/000000.png"]


def test_cameras_txt_round_trips_to_the_same_camera(tmp_path):
    w = box_world([O.KeySet(id="cam", path="transform.position", frame=0.0, value=[0.0, 0.5, 1.0]),
                   O.KeySet(id="cam", path="transform.position", frame=10.0, value=[1.0, 0.3, 0.0]),
                   O.EntitySet(id="cam", path="transform.rotation", value={"euler_deg": [-5.0, 12.0, 1.0]})])
    render_pack(w, 3, "h", job(frames=[0.0, 5.0, 10.0], passes=["depth"]), tmp_path)
    cams = json.loads((tmp_path / "cameras.json").read_text())["frames"]
    back = read_cameras_txt((tmp_path / "cameras.txt").read_text(), 160, 120)
    assert len(back) == 3
    for c, b in zip(cams, back):
        assert np.max(np.abs(np.array(c["K"]) - b["K"])) < 1e-6
        assert np.max(np.abs(np.array(c["world_to_camera"]) - b["world_to_camera"])) < 1e-6
        assert abs(c["time_s"] - b["time_s"]) < 1e-6


def test_plucker_rays_are_unit_and_the_centre_ray_looks_down_minus_z(tmp_path):
    render_pack(box_world(), 3, "h", job(passes=["plucker"]), tmp_path)
    pl = np.load(tmp_path / "plucker/000000.npy").astype(np.float32)
    assert pl.shape == (6, 120, 160) and pl.dtype == np.float32
    d = pl[3:]
    assert np.allclose(np.linalg.norm(d, axis=0), 1.0, atol=2e-3)
    assert np.allclose(d[:, 60, 80], [0, 0, -1], atol=0.01)
    assert np.allclose(pl[:3], 0, atol=1e-6)  # camera at the origin: zero moments


def test_same_offset_renders_the_same_bytes_and_the_pack_verifies(tmp_path):
    w = biped_world()
    result = check_determinism(w, 3, "h", job(frames=[0.0, 5.0]), tmp_path)
    assert result["ok"], result
    assert result["differing_videos"] == []  # same machine, same ffmpeg: MP4s are stable too
    assert verify_pack(tmp_path / "a") == []
    (tmp_path / "a/depth/000000.png").write_bytes(b"x")
    assert verify_pack(tmp_path / "a") == ["depth/000000.png: sha256 differs"]


def test_an_edit_to_one_entity_changes_pixels_only_inside_its_masks(tmp_path):
    extra = [O.EntityCreate(id=f"b{i}", kind="prop", props={
        "geometry": {"primitive": "box", "size": [0.5, 0.5, 0.5]}, "transform.position": [-1.2 + 0.8 * i, 0.2, -4.0],
        "color": [0.9, 0.3 * i, 0.2]}) for i in range(4)]
    a = box_world(extra)
    b = copy.deepcopy(a)
    apply(b, [O.EntitySet(id="b1", path="transform.position", value=[-0.2, 0.0, -3.8])], "user:t")
    r = check_decoupling(a, 3, b, 4, {"b1"}, job(), tmp_path / "ok")
    assert r["ok"], r
    assert r["passes"]["proxy"]["changed"] > 0
    # the check can fail: blaming another entity leaves the real change outside the allowed masks
    r = check_decoupling(a, 3, b, 4, {"b3"}, job(), tmp_path / "bad")
    assert not r["ok"] and r["changed_outside"] > 0


def test_a_pack_is_written_atomically_and_only_once(tmp_path):
    from renderers.pack import PackExists

    dest = tmp_path / "job1"
    write_pack(box_world(), 3, "h", job(passes=["depth"]), dest)
    with pytest.raises(PackExists):
        write_pack(box_world(), 3, "h", job(passes=["depth"]), dest)
    assert [p.name for p in tmp_path.iterdir()] == ["job1"]  # no temporary folder left behind
