"""The showcase moves, checked on every frame from the sampled world and the ray-cast instance pass: the subject's
centre in frame, its size within ±10 % of the shot size, the camera outside all geometry, the subject unoccluded,
and the camera's jerk bounded (and the figure the agent reports is the one measured)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents import geometry as G
from agents.camera.spec import SIZES
from core import ops as O
from core import quat
from core import lens
from core.camera import project
from core.sampling import sample
from core.subject import entity_boxes
from renderers.geometry import instance_ids, part_poses, scene_parts

from .shot_rig import Rig, framing, jerk

torch = pytest.importorskip("torch")
from renderers.raycast import Raycaster  # noqa: E402

RES = (640, 360)
FPS = 24.0


def _yaw(deg):
    return [float(x) for x in quat.from_axis_angle([0, 1, 0], math.radians(deg))]


def visible_share(world, camera: str, subject: str, frames, size: int = 64) -> np.ndarray:
    """Per frame, the share of the subject's pixels (in a render of the subject alone) that the full scene still
    shows as the subject: 1.0 = nothing in front of it. Ray cast into a ``size``² window cropped around the
    subject's projected box (clipped to the frame), so a small figure in a wide shot still covers many pixels."""
    s = sample(world, frames)
    cam = s.cameras[camera]
    W, H = world.resolution
    lo, hi = entity_boxes(world, s, subject)
    uv = project(cam.K, cam.world_to_camera, lens.box_corners(lo, hi))                  # (F, 8, 2)
    u0, v0 = np.clip(uv[..., 0].min(1), 0, W), np.clip(uv[..., 1].min(1), 0, H)
    u1, v1 = np.clip(uv[..., 0].max(1), 0, W), np.clip(uv[..., 1].max(1), 0, H)
    side = np.maximum(np.maximum(u1 - u0, v1 - v0), 1.0)
    scale = size / side
    K = cam.K.copy()
    K[:, 0, 0] *= scale
    K[:, 1, 1] *= scale
    K[:, 0, 2] = (cam.K[:, 0, 2] - u0) * scale
    K[:, 1, 2] = (cam.K[:, 1, 2] - v0) * scale
    parts = scene_parts(world, s.ids)
    ids = instance_ids(world.entities)
    poses = np.stack([part_poses(p, s) for p in parts], axis=1)                     # (F, P, 4, 4)
    vis = np.stack([s.visible[:, p.index] for p in parts], axis=1)
    mine = np.array([p.entity == subject for p in parts])
    rc = Raycaster(size, size)
    out = []
    for sel in (np.ones(len(parts), bool), mine):
        rc.load([p for p, k in zip(parts, sel) if k], ids)
        fr = rc.render_batch(poses[:, sel], vis[:, sel], K, cam.world_to_camera, 0.05, 1e4, normals=False)
        out.append(fr.ids == ids[subject])
    full, alone = out
    n_alone = alone.sum(axis=(1, 2))
    assert np.all(n_alone > 0), "the subject must cover some pixels on every frame"
    return (full & alone).sum(axis=(1, 2)) / n_alone


def camera_inside(world, camera: str, frames) -> list[str]:
    """Solid entities (not environments) whose collision prism contains the camera, per frame."""
    s = sample(world, frames)
    pos = np.linalg.inv(s.cameras[camera].world_to_camera)[:, :3, 3]
    shapes = G.shapes_at(world, list(frames))
    hits = []
    for i, f in enumerate(frames):
        for sid, sh in shapes[float(f)].items():
            if sh.kind != "environment" and G.contains_point(sh.footprint, pos[i, [0, 2]]) \
                    and sh.y_min <= pos[i, 1] <= sh.y_max:
                hits.append(f"{sid}@{f:g}")
        if pos[i, 1] < 0:
            hits.append(f"ground@{f:g}")
    return hits


def check_every_frame(rig: Rig, did: str, subject: str, frames, sizes) -> dict:
    world = rig.world
    fr = framing(world, "cam", subject, frames)
    W, H = world.resolution
    u, v = fr["centre_uv"][:, 0], fr["centre_uv"][:, 1]
    assert np.all((fr["centre_depth"] > 0) & (u >= 0) & (u <= W) & (v >= 0) & (v <= H)), "centre out of frame"
    err = np.abs(fr["sigma"] / sizes - 1.0)
    assert err.max() <= 0.10, f"size off by {err.max():.1%} at frame {frames[int(err.argmax())]}"
    assert camera_inside(world, "cam", frames) == []
    every = frames[::4]    # the render check on every fourth frame keeps the test fast
    share = visible_share(world, "cam", subject, every)
    assert share.min() >= 0.97, f"subject hidden ({share.min():.0%} visible) at frame {every[int(share.argmin())]}"
    rep = rig.report(did)
    assert rep["status"] == "done" and rep["problems"] == [], rep
    j = jerk(fr["position"], FPS)
    assert rep["measured"]["jerk_max_mps3"] == pytest.approx(j, rel=1e-3, abs=1e-6)
    return {"framing": fr, "jerk": j, "report": rep}


def test_bullet_time_orbit_completes_360_degrees_exactly_at_the_jump_apex():
    rig = Rig()
    rig.edit(O.ShotConfigure(fps=FPS, frame_start=0, frame_end=96, resolution=RES),
             O.EntityCreate(id="hero", kind="character", props={"transform.position": [0, 0, 0]}),
             O.SkeletonSet(id="hero", template="biped"),
             O.EntityCreate(id="pillar", kind="prop", props={
                 "geometry": {"primitive": "cylinder", "radius": 0.3, "height": 4.0},
                 "transform.position": [2.5, 0.0, 0.0]}))
    apex = 36.0   # take-off at 24, 1.2 m up at 36, landing at 48
    rig.edit(*[O.KeySet(id="hero", path="transform.position", frame=f, value=[0.0, y, 0.0])
               for f, y in ((0.0, 0.0), (24.0, 0.0), (apex, 1.2), (48.0, 0.0), (96.0, 0.0))])
    rig.edit(O.DirectiveAdd(id="bullet", agent="shot", params={
        "camera": "cam", "subject": "hero", "size": "FS", "move": "orbit", "start": 0, "end": 72,
        "params": {"degrees": 360, "end_at_frame": apex}}))
    frames = np.arange(0.0, 73.0)
    out = check_every_frame(rig, "bullet", "hero", frames, np.full(len(frames), SIZES["FS"]))
    pos = out["framing"]["position"]
    # the camera's bearing around the hero, unwrapped: a full turn, reached exactly at the apex and not before
    bearing = np.unwrap(np.arctan2(pos[:, 0], pos[:, 2]))
    swept = np.degrees(np.abs(bearing - bearing[0]))
    assert swept[int(apex)] == pytest.approx(360.0, abs=1e-3)
    assert swept[int(apex) - 1] < 360.0 - 0.01 and np.all(np.diff(swept[: int(apex) + 1]) > 0)
    assert np.allclose(swept[int(apex):], 360.0, atol=1e-3)
    # the pillar stands in the orbit's way: the camera glides in past it with a wider lens to keep the size
    assert out["report"]["pushed"] > 0 and min(out["framing"]["focal"]) < 30.0
    # bounded jerk: no worse than the same orbit at the unobstructed radius with the same easing
    r = np.linalg.norm(pos[0, [0, 2]])
    t = np.arange(0.0, apex + 1) / apex
    theta = 2 * np.pi * t ** 3 * (t * (6 * t - 15) + 10)
    ideal = np.stack([r * np.sin(theta), np.zeros_like(t), r * np.cos(theta)], axis=1)
    assert out["jerk"] <= 1.05 * jerk(ideal, FPS)


def _alley(half: float = 1.5):
    """A winding alley with two sharp bends: walls along the centreline offset by ±half, mitred at corners."""
    pts = np.array([[0, 0], [0, 12], [7, 15], [7, 26], [0, 30], [0, 42]], float)
    d = np.diff(pts, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    nrm = np.stack([d[:, 1], -d[:, 0]], axis=1)
    vn = np.concatenate([nrm[:1], nrm[:-1] + nrm[1:], nrm[-1:]])
    vn /= np.linalg.norm(vn, axis=1, keepdims=True)
    scale = np.concatenate([[1.0], 1.0 / np.einsum("ij,ij->i", vn[1:-1], nrm[:-1]), [1.0]])
    ops = []
    for side in (-1, 1):
        off = pts + side * half * vn * scale[:, None]
        for i in range(len(pts) - 1):
            a, b = off[i], off[i + 1]
            c = (a + b) / 2 + side * 0.25 * nrm[i]
            ops.append(O.EntityCreate(id=f"wall-{i}-{'l' if side < 0 else 'r'}", kind="prop", props={
                "geometry": {"primitive": "box", "size": [0.5, 6.0, float(np.linalg.norm(b - a))]},
                "transform.position": [float(c[0]), 0.0, float(c[1])],
                "transform.rotation": _yaw(math.degrees(math.atan2(b[0] - a[0], b[1] - a[1])))}))
    return pts, ops


def test_follow_shot_down_a_winding_alley_behind_a_runner():
    rig = Rig()
    pts, walls = _alley()
    rig.edit(O.ShotConfigure(fps=FPS, frame_start=0, frame_end=240, resolution=RES),
             O.EntityCreate(id="runner", kind="character"), O.SkeletonSet(id="runner", template="biped"), *walls)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    keys = []
    for f in np.arange(0.0, 241.0, 8.0):    # 4 m/s along the centreline
        s = min(2.0 + 4.0 * f / FPS, cum[-1] - 1.0)
        keys.append(O.KeySet(id="runner", path="transform.position", frame=float(f),
                             value=[float(np.interp(s, cum, pts[:, 0])), 0.0, float(np.interp(s, cum, pts[:, 1]))]))
    rig.edit(*keys)
    rig.edit(O.DirectiveAdd(id="chase", agent="shot", params={
        "camera": "cam", "subject": "runner", "size": "FS", "move": "follow", "start": 0, "end": 240}))
    frames = np.arange(0.0, 241.0)
    out = check_every_frame(rig, "chase", "runner", frames, np.full(len(frames), SIZES["FS"]))
    # behind her: the camera trails the runner along her direction of travel
    s = sample(rig.world, frames)
    runner = s.matrices[:, s.ids.index("runner"), :3, 3]
    vel = np.gradient(runner, axis=0)
    behind = np.einsum("fi,fi->f", (out["framing"]["position"] - runner)[:, [0, 2]], vel[:, [0, 2]])
    assert np.all(behind[vel[:, [0, 2]].any(axis=1)] < 0)
    # the bends force push-ins (a wider lens holds the size), yet the camera moves more smoothly than the
    # runner it follows
    assert out["report"]["pushed"] > 0 and min(out["framing"]["focal"]) < 32.0
    assert out["jerk"] < 0.5 * jerk(runner, FPS)


def test_drone_flyover_with_altitude_changes_over_city_blocks():
    rig = Rig()
    ops = [O.ShotConfigure(fps=FPS, frame_start=0, frame_end=240, resolution=RES),
           O.EntityCreate(id="walker", kind="character"), O.SkeletonSet(id="walker", template="biped")]
    k = 0
    for bx in (-1, 1):
        for bz in range(-3, 4):
            k += 1
            height = 8.0 + 6.0 * ((bz * 7 + bx * 3) % 3)      # 8, 14 or 20 m
            ops.append(O.EntityCreate(id=f"block-{k}", kind="prop", props={
                "geometry": {"primitive": "box", "size": [16.0, height, 16.0]},
                "transform.position": [bx * 13.0, 0.0, bz * 20.0]}))
    rig.edit(*ops)
    rig.edit(O.KeySet(id="walker", path="transform.position", frame=0, value=[0.0, 0.0, -20.0]),
             O.KeySet(id="walker", path="transform.position", frame=240, value=[0.0, 0.0, 10.0]))
    route = [[0, 30, -70], [0, 18, -40], [0, 26, -10], [0, 14, 25], [0, 22, 50]]
    rig.edit(O.DirectiveAdd(id="drone", agent="shot", params={
        "camera": "cam", "subject": "walker", "size": "ELS", "move": "flyover", "start": 0, "end": 240,
        "params": {"waypoints": route}}))
    frames = np.arange(0.0, 241.0)
    out = check_every_frame(rig, "drone", "walker", frames, np.full(len(frames), SIZES["ELS"]))
    pos = out["framing"]["position"]
    # the drone passes every waypoint (in order) and dips below the tallest roofs between the rows
    for w in route:
        assert np.linalg.norm(pos - np.asarray(w, float), axis=1).min() < 0.6
    assert pos[:, 1].max() == pytest.approx(30.0, abs=0.1) and pos[:, 1].min() < 20.0
    # a fixed route at a fixed size: the zoom does the work
    assert np.ptp(out["framing"]["focal"]) > 20.0
    assert out["jerk"] < 200.0


def test_the_render_check_sees_an_occluder_and_a_camera_inside_a_wall():
    """The checks above can fail: a wall between a hand-placed camera and the subject hides it."""
    rig = Rig()
    rig.edit(O.ShotConfigure(fps=FPS, frame_start=0, frame_end=10, resolution=RES),
             O.EntityCreate(id="hero", kind="character"), O.SkeletonSet(id="hero", template="biped"),
             O.EntityCreate(id="cam", kind="camera", props={"transform.position": [0.0, 0.9, 6.0]}),
             O.EntityCreate(id="wall", kind="prop", props={"geometry": {"primitive": "box", "size": [3, 3, 0.2]},
                                                           "transform.position": [0.0, 0.0, 3.0]}))
    assert visible_share(rig.world, "cam", "hero", [0.0])[0] == 0.0
    rig.edit(O.EntitySet(id="wall", path="transform.position", value=[0.0, 0.0, 6.0]))
    assert camera_inside(rig.world, "cam", [0.0]) == ["wall@0"]
    assert visible_share(rig.world, "cam", "hero", [0.0])[0] == 1.0   # from inside, the wall's faces are culled
