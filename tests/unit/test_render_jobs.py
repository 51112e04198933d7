"""Render jobs: presets, frame resampling and clear errors for bad requests; video-model adapters."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from core import ops as O
from core.edit import apply
from core.world import World
from renderers.job import RenderError, RenderJob, decode_job, plan


def world(fps=24.0, end=120.0):
    w = World(project="p", shot="s")
    apply(w, [O.ShotConfigure(fps=fps, frame_end=end, resolution=(1280, 720)),
              O.EntityCreate(id="cam", kind="camera"), O.EntityCreate(id="cup", kind="prop")], "user:t")
    return w


def test_vace_is_81_frames_at_16_fps_832x480_resampled_from_the_shot_fps():
    p = plan(RenderJob(project="p", shot="s", preset="vace", start=0.0), world(fps=24.0))
    assert len(p.frames) == 81 and p.fps == 16.0 and p.resolution == (832, 480)
    assert np.allclose(p.frames[:3], [0.0, 1.5, 3.0]) and p.frames[-1] == 120.0  # 24 fps shot: 1.5 shot frames per output frame
    assert np.allclose(p.times_s[1], 1 / 16)
    assert p.held_frames == 0 and p.camera == "cam"
    assert "pose" in p.passes and "keypoints" in p.passes


def test_a_preset_longer_than_the_shot_holds_its_last_frame():
    p = plan(RenderJob(project="p", shot="s", preset="vace"), world(fps=24.0, end=60.0))
    assert p.frames.max() == 60.0 and p.held_frames == 81 - 41


def test_custom_defaults_to_every_frame_at_the_shot_fps_and_resolution():
    p = plan(RenderJob(project="p", shot="s"), world(end=10.0))
    assert p.frames.tolist() == [float(f) for f in range(11)] and p.fps == 24.0 and p.resolution == (1280, 720)


@pytest.mark.parametrize("job, message", [
    (dict(passes=["proxy", "albedo"]), "unknown pass 'albedo'"),
    (dict(preset="sora"), "unknown preset 'sora'"),
    (dict(frames=[0.0, 500.0]), "outside the shot's frames 0–120"),
    (dict(resolution=(8192, 4320)), "too large"),
    (dict(resolution=(641, 480)), "must be even"),
    (dict(camera="cup"), "not a camera"),
    (dict(camera="nope"), "unknown camera"),
    (dict(preset="vace", start=-5.0), "outside the shot's frames"),
    (dict(preset="vace", frames=[1.0]), "only with the custom preset"),
])
def test_bad_requests_fail_with_a_clear_error(job, message):
    with pytest.raises(RenderError, match=message):
        plan(RenderJob(project="p", shot="s", **job), world())


def test_a_shot_without_a_camera_cannot_render():
    w = World(project="p", shot="s")
    with pytest.raises(RenderError, match="no camera"):
        plan(RenderJob(project="p", shot="s"), w)


def test_job_decoding_rejects_unknown_fields():
    with pytest.raises(RenderError, match="bad render job"):
        decode_job(b'{"project": "p", "shot": "s", "colour": 1}')


needs_gl = pytest.mark.skipif(importlib.util.find_spec("pyrender") is None, reason="pyrender not installed")


@needs_gl
def test_preview_and_http_adapters_turn_a_pack_into_a_video(tmp_path):
    import httpx
    import imageio_ffmpeg

    from renderers.adapters import AdapterError, HttpAdapter, PreviewAdapter
    from renderers.demo import demo_world
    from renderers.pack import write_pack

    w = demo_world(boxes=3, character=False)
    write_pack(w, 1, "h", RenderJob(project="demo", shot="s1", frames=[0.0, 1.0, 2.0], resolution=(64, 48),
                                    passes=["proxy"], fps=8.0), tmp_path / "pack")
    out = PreviewAdapter().generate(tmp_path / "pack", tmp_path / "preview.mp4")
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == 3

    seen = {}

    def service(request: httpx.Request):
        body = request.read()
        seen["manifest"] = b'"pack_sha256"' in body and b"pack.tar" in body
        return httpx.Response(200, content=b"\x00\x00\x00\x18ftypmp42", headers={"content-type": "video/mp4"})

    out = HttpAdapter("http://model/v1/generate", transport=httpx.MockTransport(service)).generate(
        tmp_path / "pack", tmp_path / "model.mp4")
    assert seen["manifest"] and out.read_bytes().startswith(b"\x00\x00\x00\x18ftyp")

    failing = HttpAdapter("http://model/v1/generate",
                          transport=httpx.MockTransport(lambda r: httpx.Response(503, text="busy")))
    with pytest.raises(AdapterError, match="503"):
        failing.generate(tmp_path / "pack", tmp_path / "x.mp4")


@needs_gl
@pytest.mark.parametrize("resolution", [pytest.param((128, 72), id="ci-128x72"),
                                        pytest.param(None, id="832x480", marks=pytest.mark.slow)])
def test_a_full_vace_pack(tmp_path, resolution):
    from renderers.demo import demo_world
    from renderers.pack import verify_pack, write_pack

    m = write_pack(demo_world(), 7, "h", RenderJob(project="demo", shot="s1", preset="vace", resolution=resolution),
                   tmp_path / "vace")
    assert m["frame_count"] == 81 and m["resolution"] == list(resolution or (832, 480)) and m["fps"] == 16.0
    assert len([f for f in m["files"] if f.startswith("proxy/")]) == 81
    assert set(m["videos"]) == {"proxy.mp4", "depth.mp4", "normal.mp4", "instance.mp4", "pose.mp4"}
    assert verify_pack(tmp_path / "vace") == []
    assert json.loads((tmp_path / "vace/manifest.json").read_text())["seq"] == 7
