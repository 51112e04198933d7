"""Lighting presets, measured on the lighting pass at the subject: each light's illuminance relative to the key
(key:fill:back) and its colour temperature, recovered from the rendered pixels; the pack's lighting/ and lights/
files; bad lighting directives."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from agents.lighting.agent import LightingAgent
from agents.lighting.presets import PRESETS
from core import illumination as IL
from core import ops as O
from core.light import temperature_to_rgb
from core.sampling import sample
from core.subject import entity_boxes
from renderers.geometry import instance_ids, part_poses, scene_parts
from renderers.job import RenderJob
from renderers.lighting import EXPOSURE_WHITE, light_records, lighting_image, srgb8, surface
from renderers.pack import render_pack

from .shot_rig import Rig

torch = pytest.importorskip("torch")
from renderers.raycast import Raycaster  # noqa: E402

RES = (240, 136)


def _lit(preset: str, extra=(), follow: bool | None = None) -> Rig:
    rig = Rig(LightingAgent())
    rig.edit(O.ShotConfigure(fps=24, frame_start=0, frame_end=48, resolution=RES),
             O.EntityCreate(id="ann", kind="character", props={"color": [1.0, 1.0, 1.0],
                                                                "transform.position": [0.5, 0.0, -1.0]}),
             O.SkeletonSet(id="ann", template="biped"),
             O.EntityCreate(id="cam", kind="camera", props={"transform.position": [0.5, 0.9, 4.0],
                                                            "camera.focal_length_mm": 30.0}), *extra)
    params = {"preset": preset, "subject": "ann"}
    if follow is not None:
        params["params"] = {"follow": follow}
    rig.edit(O.DirectiveAdd(id="mood", agent="lighting", params=params))
    assert rig.report("mood")["status"] == "done"
    return rig


def _look_at(eye, target):
    """world_to_camera (4, 4), OpenGL axes, +Y up."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    fwd = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, np.cross(right, fwd), -fwd, eye
    return np.linalg.inv(c2w)


def _frame(world, frame: float, eye=None):
    """Ray-cast ids, depth and normals of the world at ``frame``, through the shot's camera or, with ``eye``, a
    meter camera at ``eye`` looking at the subject's centre."""
    s = sample(world, [frame])
    parts = scene_parts(world, s.ids)
    ids = instance_ids(world.entities)
    cam = s.cameras["cam"]
    K, w2c = cam.K[0], cam.world_to_camera[0]
    size = RES
    if eye is not None:   # a 128² meter view framing the subject (2.4 m high at 4 m)
        lo, hi = entity_boxes(world, s, "ann")
        w2c = _look_at(eye, ((lo + hi) / 2)[0])
        size = (128, 128)
        K = np.array([[128 * 4.0 / 2.4, 0.0, 64.0], [0.0, 128 * 4.0 / 2.4, 64.0], [0.0, 0.0, 1.0]])
    rc = Raycaster(*size)
    rc.load(parts, ids)
    poses = np.stack([part_poses(p, s) for p in parts], axis=1)
    vis = np.stack([s.visible[:, p.index] for p in parts], axis=1)
    fr = rc.render_batch(poses, vis, K[None], w2c[None], 0.05, 100.0)
    from renderers.raster import Frame

    one = Frame(fr.ids[0], fr.depth[0], fr.normal[0])
    palette = np.array(sorted({ids[p.entity] for p in parts}), dtype=np.int64)
    colours = np.array([s.color[0, s.ids.index(next(e for e in ids if ids[e] == k))] for k in palette])
    return s, one, K, w2c, palette, colours, ids


def _temperature_of(rgb) -> float:
    """The colour temperature whose (max-normalised) black-body RGB is nearest ``rgb``."""
    grid = np.geomspace(1000.0, 40000.0, 4000)
    table = temperature_to_rgb(grid)
    rgb = np.asarray(rgb) / np.max(rgb)
    return float(grid[np.argmin(np.linalg.norm(table - rgb, axis=1))])


def measure_lights(world, frame: float = 0.0) -> dict:
    """Per light, measured on the lighting pass rendered with that light alone and seen from the light's side (a
    meter pointed at it: Lambert shading does not depend on the viewpoint): the illuminance it gives at the
    subject's centre (W/m²) — pixel value / (colour · n·l), brought to the centre by the inverse-square law for
    lights at a position — and the colour of the light it reflects."""
    s = sample(world, [frame])
    lights = light_records(world, s, 0)
    lo, hi = entity_boxes(world, s, "ann")
    centre = ((lo + hi) / 2)[0]
    out = {}
    for lid, rec in lights.items():
        m = np.asarray(rec["matrix"])
        towards = -np.asarray(rec["direction"]) if rec["type"] == "sun" else m[:3, 3] - centre
        eye = centre + 4.0 * towards / np.linalg.norm(towards) + np.array([0.0, 1e-3, 0.0])
        _, fr, K, w2c, palette, colours, ids = _frame(world, frame, eye)
        pos, n = surface(fr.depth, fr.normal, K, w2c)
        mine = fr.ids == ids["ann"]
        lin = lighting_image(fr, K, w2c, lights, palette, colours, only=lid, linear=True)
        if rec["type"] == "sun":
            ldir = np.broadcast_to(-np.asarray(rec["direction"]), pos.shape)
            dist_fix = np.ones(pos.shape[:2])
        else:
            to = m[:3, 3] - pos
            r = np.linalg.norm(to, axis=-1)
            ldir = to / r[..., None]
            dist_fix = r ** 2 / np.sum((m[:3, 3] - centre) ** 2)
        ndotl = np.einsum("hwi,hwi->hw", n, ldir)
        use = mine & (ndotl > 0.5)
        if rec["type"] == "spot":
            axis = np.asarray(rec["direction"])
            inner = np.cos(np.radians(rec["cone_deg"]) / 2 * (1 - rec["blend"]))
            use &= np.einsum("hwi,i->hw", -ldir, axis) >= inner
        assert use.sum() >= 100, f"{lid}: only {use.sum()} subject pixels face it"
        value = lin.max(axis=-1)[use] / (EXPOSURE_WHITE / IL.REFERENCE_IRRADIANCE) / ndotl[use] * dist_fix[use]
        colour = np.median(lin[use] / lin[use].max(axis=-1, keepdims=True), axis=0)
        out[lid] = {"irradiance": float(np.median(value)), "rgb": colour}
    return out


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_yields_its_ratios_and_colours_on_the_lighting_pass(name):
    rig = _lit(name)
    preset = PRESETS[name]
    measured = measure_lights(rig.world)
    key = measured[f"mood.{preset.roles[0].role}"]["irradiance"]
    assert key == pytest.approx(preset.level * IL.REFERENCE_IRRADIANCE, rel=0.03)
    for role in preset.roles:
        got = measured[f"mood.{role.role}"]
        assert got["irradiance"] / key == pytest.approx(role.ratio, rel=0.03), role.role
        if role.temperature_k is not None:
            assert _temperature_of(got["rgb"]) == pytest.approx(role.temperature_k, rel=0.03), role.role
        else:
            want = np.asarray(role.color) / max(role.color)
            assert np.allclose(got["rgb"], want, atol=0.02), role.role


def test_the_sunset_dims_reddens_and_sinks_over_the_range():
    rig = _lit("sunset")
    start, end = measure_lights(rig.world, 0.0), measure_lights(rig.world, 48.0)
    sun0, sun1 = start["mood.sun"], end["mood.sun"]
    assert _temperature_of(sun0["rgb"]) == pytest.approx(3000, rel=0.03)
    assert _temperature_of(sun1["rgb"]) == pytest.approx(2000, rel=0.03)
    assert sun1["irradiance"] / sun0["irradiance"] == pytest.approx(0.3, rel=0.03)
    s = sample(rig.world, [0.0, 48.0])
    elevation = np.degrees(np.arcsin(s.matrices[:, s.ids.index("mood.sun"), 1, 2]
                                     / np.linalg.norm(s.matrices[:, s.ids.index("mood.sun"), :3, 2], axis=1)))
    assert elevation == pytest.approx([10.0, 1.0], abs=0.01)


def test_the_key_is_on_the_camera_left_and_key_side_mirrors_it():
    rig = _lit("three_point")
    s = sample(rig.world, [0.0])
    key = s.matrices[0, s.ids.index("mood.key"), :3, 3]
    assert key[0] < 0.5 - 1.0                      # camera looks down −Z: its left is −X
    rig.edit(O.DirectiveUpdate(id="mood", params={"preset": "three_point", "subject": "ann",
                                                  "params": {"key_side": "right"}}))
    s = sample(rig.world, [0.0])
    assert s.matrices[0, s.ids.index("mood.key"), 0, 3] > 0.5 + 1.0


@pytest.mark.parametrize("backend", ["gl", "torch"])
def test_the_pack_has_a_lighting_pass_and_lights_json_and_renders_the_same_bytes(tmp_path, backend):
    rig = _lit("low_key")
    job = RenderJob(project="p", shot="s", frames=[0.0, 24.0], resolution=RES, passes=["lighting", "normal"])
    a = render_pack(rig.world, 5, "h", job, tmp_path / "a", backend=backend)
    b = render_pack(rig.world, 5, "h", job, tmp_path / "b", backend=backend)
    assert a["pack_sha256"] == b["pack_sha256"]
    assert "lighting/000001.png" in a["files"] and "lights/000001.json" in a["files"]
    assert a["lighting"]["reference_irradiance_w_m2"] == IL.REFERENCE_IRRADIANCE
    lights = json.loads((tmp_path / "a" / "lights" / "000000.json").read_text())["lights"]
    assert sorted(lights) == ["mood.fill", "mood.key", "mood.rim"]
    assert lights["mood.key"]["color_temperature_k"] == 3200.0 and lights["mood.key"]["type"] == "spot"
    s, fr, K, w2c, palette, colours, ids = _frame(rig.world, 0.0)
    got = np.asarray(Image.open(tmp_path / "a" / "lighting" / "000000.png"))
    if backend == "torch":   # the PNG is the pass: the same pixels as shading the ray-cast frame directly
        want = lighting_image(fr, K, w2c, light_records(rig.world, s, 0), palette, colours)
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    # a low-key subject: its lit side is bright, its shadow side near black
    lit = got[fr.ids == ids["ann"]].max(axis=-1)
    assert lit.max() > 200 and np.percentile(lit, 10) < 0.5 * lit.max()


def test_srgb_encoding_matches_the_standard():
    assert srgb8(np.array([0.0, 0.0031308, 0.18, 0.5, 1.0, 2.0])).tolist() == [0, 10, 118, 188, 255, 255]


@pytest.mark.parametrize("params, reason", [
    ({"preset": "disco"}, "params.preset must be one of"),
    ({"preset": "moonlight", "subject": "bob"}, "unknown subject 'bob'"),
    ({"preset": "sunset", "start": 10, "end": 10}, "the frame range is empty"),
    ({"preset": "high_key", "params": {"key_side": "up"}}, "key_side must be left or right"),
    ({"preset": "high_key", "gel": "CTO"}, "unknown params keys ['gel']"),
])
def test_bad_lighting_directives_get_a_failed_report_and_nothing_else(params, reason):
    rig = Rig(LightingAgent())
    rig.edit(O.ShotConfigure(fps=24, frame_start=0, frame_end=48, resolution=RES),
             O.EntityCreate(id="ann", kind="character"))
    (p,) = rig.edit(O.DirectiveAdd(id="bad", agent="lighting", params=params))
    assert len(p.ops) == 1
    rep = rig.report("bad")
    assert rep["status"] == "failed" and reason in rep["reason"], rep
    assert not any(e.kind == "light" for e in rig.world.entities.values())


def test_a_person_dimming_a_light_is_kept_when_the_preset_is_re_solved():
    rig = _lit("three_point")
    rig.edit(O.EntitySet(id="mood.fill", path="light.intensity", value=5.0))
    # the studio updates a directive's params keeping the agent's report (which records what the agent set)
    params = dict(rig.world.directives["mood"].params, params={"intensity_scale": 2.0})
    rig.edit(O.DirectiveUpdate(id="mood", params=params))
    world = rig.world
    assert world.entities["mood.fill"].props["light.intensity"] == 5.0
    assert rig.report("mood")["pinned"] == {"mood.fill": ["light.intensity"]}
    key = world.entities["mood.key"].props["light.intensity"]
    assert key == pytest.approx(2 * float(IL.power_for_irradiance(IL.REFERENCE_IRRADIANCE, 3.0)), rel=1e-6)


def test_a_sun_placed_by_compass_azimuth_and_elevation():
    rig = _lit("golden_hour")
    params = dict(rig.world.directives["mood"].params, params={"sun_azimuth_deg": 90.0, "sun_elevation_deg": 20.0})
    rig.edit(O.DirectiveUpdate(id="mood", params=params))
    s = sample(rig.world, [0.0])
    towards_sun = s.matrices[0, s.ids.index("mood.sun"), :3, 2]          # a light shines down its −Z
    assert np.allclose(towards_sun, [np.cos(np.radians(20)), np.sin(np.radians(20)), 0.0], atol=1e-6)   # east
    measured = measure_lights(rig.world)
    assert measured["mood.sun"]["irradiance"] == pytest.approx(IL.REFERENCE_IRRADIANCE, rel=0.03)
    (p,) = rig.edit(O.DirectiveAdd(id="night", agent="lighting", params={
        "preset": "three_point", "subject": "ann", "params": {"sun_elevation_deg": 10}}))
    assert rig.report("night") == {"status": "failed", "params_hash": rig.report("night")["params_hash"],
                                   "reason": "preset 'three_point' has no sun to place by azimuth and elevation"}


def test_the_lights_travel_with_a_walking_subject_unless_told_not_to():
    rig = _lit("three_point")
    rig.edit(O.KeySet(id="ann", path="transform.position", frame=0, value=[0.5, 0.0, -1.0]),
             O.KeySet(id="ann", path="transform.position", frame=48, value=[4.5, 0.0, -3.0]))
    s = sample(rig.world, [0.0, 48.0])
    key = s.matrices[:, s.ids.index("mood.key"), :3, 3]
    assert np.allclose(key[1] - key[0], [4.0, 0.0, -2.0], atol=1e-6)
    walked = measure_lights(rig.world, 48.0)
    assert walked["mood.key"]["irradiance"] == pytest.approx(IL.REFERENCE_IRRADIANCE, rel=0.03)
    assert walked["mood.fill"]["irradiance"] / walked["mood.key"]["irradiance"] == pytest.approx(0.5, rel=0.03)
    params = dict(rig.world.directives["mood"].params, params={"follow": False})
    rig.edit(O.DirectiveUpdate(id="mood", params=params))
    assert not any(rid.endswith(".follow") for rid in rig.world.relations)
    s = sample(rig.world, [0.0, 48.0])
    assert np.allclose(s.matrices[0, s.ids.index("mood.key"), :3, 3], key[0], atol=1e-6)
    assert np.allclose(s.matrices[1, s.ids.index("mood.key"), :3, 3], key[0], atol=1e-6)   # left behind


def test_moving_the_subject_re_places_the_rig_around_it():
    rig = _lit("three_point", follow=False)
    before = {lid: list(rig.world.entities[lid].props["transform.position"]) for lid in
              ("mood.key", "mood.fill", "mood.back")}
    (p,) = rig.edit(O.EntitySet(id="ann", path="transform.position", value=[2.5, 0.0, -1.0]))
    assert p.reason.startswith("lighting mood: three_point")
    for lid, pos in before.items():
        now = rig.world.entities[lid].props["transform.position"]
        assert now[0] > pos[0] + 0.5      # the subject moved 2 m along +X; the rig turned to keep facing the camera
    measured = measure_lights(rig.world)
    assert measured["mood.fill"]["irradiance"] / measured["mood.key"]["irradiance"] == pytest.approx(0.5, rel=0.03)
