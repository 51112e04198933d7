"""Render geometry against ground truth computed here, by hand, from the scene's numbers — never from the pack's
own ``K`` or ``core.camera.project`` — so a renderer that agrees with itself but not with the world fails.

Each scene is rendered at a resolution different from the shot's (the pack's ``K`` must be rescaled:
``fx = focal / sensor_w × render width``) through both backends: GL (OSMesa) and the torch ray caster.

- a pitched camera over a floor and a wall: the surface each pixel centre's ray hits (instance pass) and its
  depth along the view axis (depth pass), at every pixel, against ray/plane intersections;
- a biped in its rest T-pose: the silhouette's bounding box against its white-box body's volumes (SPEC §7.2)
  projected by hand, joints inside their character's mask, the keypoints and the
  pose pass's joint dots at the joints' hand-projected pixels.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from core import ops as O
from core.camera import intrinsics
from core.edit import apply
from core.bodies import template_volumes
from core.templates import template_joints
from core.world import World
from renderers.cameras import render_intrinsics
from renderers.job import RenderJob
from renderers.pack import render_pack
from tests.tools import require_module

# the shot's resolution and the render's differ in size and in aspect ratio
SHOT_RES = (320, 240)


def backends():
    return [pytest.param("gl", id="gl"), pytest.param("torch", id="torch")]


def need_backend(backend: str) -> None:
    require_module("pyrender" if backend == "gl" else "torch", f"the {backend} render backend")


def world_with(ops) -> World:
    w = World(project="p", shot="s")
    apply(w, [O.ShotConfigure(resolution=SHOT_RES, frame_end=10.0), *ops], "user:t")
    return w


def render(world, out, resolution, passes, backend):
    job = RenderJob(project="p", shot="s", frames=[0.0], resolution=resolution, passes=passes)
    return render_pack(world, 1, "h", job, out, backend=backend)


def pixel_centres(width, height):
    """(H, W) u and v of every pixel centre (pixel (i, j) covers [j, j+1) × [i, i+1))."""
    return np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)


# --- K from focal length and sensor ----------------------------------------------------------------------------

def test_intrinsics_follow_focal_length_over_sensor_width_times_image_width():
    k = intrinsics(50.0, (1920, 1080), (36.0, 24.0))
    assert np.allclose(k, [[50 / 36 * 1920, 0, 960], [0, 50 / 36 * 1920, 540], [0, 0, 1]])
    # a Super 35 sensor (24.89 mm wide) at 35 mm on a 2048 × 858 frame: the sensor height plays no part
    k = intrinsics(35.0, (2048, 858), (24.89, 18.66))
    assert np.allclose(k, [[35 / 24.89 * 2048, 0, 1024], [0, 35 / 24.89 * 2048, 429], [0, 0, 1]])


def test_render_intrinsics_rescale_k_to_the_render_resolution():
    shot = intrinsics(28.0, SHOT_RES, (24.0, 16.0))
    for w, h in ((200, 100), (640, 480), (160, 120)):
        k = render_intrinsics(shot, SHOT_RES, (w, h))
        f = 28.0 / 24.0 * w
        assert np.allclose(k, [[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]]), (w, h, k)


# --- a pitched camera over a floor and a wall ------------------------------------------------------------------

CAM_POS = np.array([0.4, 1.5, 0.0])
PITCH = math.radians(-15.0)                # looking 15° down
FOCAL, SENSOR = 28.0, (24.0, 16.0)
FLOOR_HALF = 20.0                          # a 40 × 40 m plane on y = 0
WALL_X, WALL_Y, WALL_Z = (-3.0, 3.0), (0.0, 3.0), -7.9   # the front face of a 6 × 3 × 0.2 box centred on z = -8


def set_world():
    return world_with([
        O.EntityCreate(id="cam", kind="camera", props={
            "camera.focal_length_mm": FOCAL, "camera.sensor_mm": list(SENSOR),
            "transform.position": CAM_POS.tolist(),
            "transform.rotation": [math.sin(PITCH / 2), 0.0, 0.0, math.cos(PITCH / 2)]}),
        O.EntityCreate(id="floor", kind="prop", props={
            "geometry": {"primitive": "plane", "size": [2 * FLOOR_HALF, 2 * FLOOR_HALF]}}),
        O.EntityCreate(id="wall", kind="prop", props={
            "geometry": {"primitive": "box", "size": [6.0, 3.0, 0.2]}, "transform.position": [0.0, 0.0, -8.0]}),
    ])


def analytic_set(width, height):
    """(label (H, W): 0 background, 1 floor, 2 wall; depth (H, W) along the view axis) of each pixel centre."""
    f = FOCAL / SENSOR[0] * width
    u, v = pixel_centres(width, height)
    # the ray through a pixel centre in camera axes (x right, y up, looking down -z), scaled to unit view depth
    d_cam = np.stack([(u - width / 2) / f, -(v - height / 2) / f, -np.ones_like(u)], axis=-1)
    c, s = math.cos(PITCH), math.sin(PITCH)
    rot_x = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    d = d_cam @ rot_x.T                               # world direction; t along it is the depth
    o = CAM_POS
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = -o[1] / d[..., 1]
        t_wall = (WALL_Z - o[2]) / d[..., 2]
    p_floor = o + t_floor[..., None] * d
    p_wall = o + t_wall[..., None] * d
    hit_floor = (t_floor > 0) & (np.abs(p_floor[..., 0]) <= FLOOR_HALF) & (np.abs(p_floor[..., 2]) <= FLOOR_HALF)
    hit_wall = ((t_wall > 0) & (p_wall[..., 0] >= WALL_X[0]) & (p_wall[..., 0] <= WALL_X[1])
                & (p_wall[..., 1] >= WALL_Y[0]) & (p_wall[..., 1] <= WALL_Y[1]))
    t_floor = np.where(hit_floor, t_floor, np.inf)
    t_wall = np.where(hit_wall, t_wall, np.inf)
    label = np.where(np.isfinite(np.minimum(t_floor, t_wall)), np.where(t_wall < t_floor, 2, 1), 0)
    depth = np.where(label == 0, 0.0, np.minimum(t_floor, t_wall))
    return label, depth


def interior(label):
    """Pixels whose 8 neighbours carry the same analytic label (away from any silhouette edge)."""
    p = np.pad(label, 1, mode="edge")
    same = np.ones(label.shape, bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            same &= p[1 + di:1 + di + label.shape[0], 1 + dj:1 + dj + label.shape[1]] == label
    return same


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("resolution", [(200, 100), (96, 72)], ids=["200x100", "96x72"])
def test_every_pixel_sees_the_surface_and_depth_its_ray_hits(tmp_path, backend, resolution):
    need_backend(backend)
    width, height = resolution
    m = render(set_world(), tmp_path, resolution, ["instance", "depth_f32", "depth"], backend)
    cams = json.loads((tmp_path / "cameras.json").read_text())
    f = FOCAL / SENSOR[0] * width
    assert np.allclose(cams["frames"][0]["K"], [[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], atol=1e-9)
    assert (cams["width"], cams["height"]) == (width, height)

    label, depth = analytic_set(width, height)
    assert {0, 1, 2} <= set(np.unique(label).tolist())   # the scene shows sky, floor and wall
    palette = m["instance"]["palette"]
    inst = np.asarray(Image.open(tmp_path / "instance/000000.png")).astype(np.int64)
    ids = inst[..., 0] + 256 * inst[..., 1] + 65536 * inst[..., 2]
    want_ids = np.select([label == 1, label == 2], [palette["floor"]["id"], palette["wall"]["id"]], 0)
    inner = interior(label)
    wrong = inner & (ids != want_ids)
    assert not wrong.any(), f"{wrong.sum()} interior pixels show another surface, first at {np.argwhere(wrong)[:3]}"
    # at the edges a pixel may go either way, but never to a third surface
    edge = ~inner
    assert np.all((ids[edge] == want_ids[edge]) | np.isin(ids[edge], [0, palette["floor"]["id"],
                                                                       palette["wall"]["id"]]))

    d32 = np.load(tmp_path / "depth_f32/000000.npy").astype(np.float64)
    seen = inner & (label > 0)
    err = np.abs(d32 - depth)[seen]
    # floor depths here run from 3.6 m to 20 m: within 2 mm + 0.02 %, at every interior pixel
    assert np.all(err <= 2e-3 + 2e-4 * depth[seen]), f"depth off by up to {err.max():.4f} m"
    assert np.all(d32[inner & (label == 0)] == 0)
    d16 = np.asarray(Image.open(tmp_path / "depth/000000.png")).astype(np.float64) * m["depth"]["scale_m"]
    assert np.all(np.abs(d16 - depth)[seen] <= 2e-3 + 2e-4 * depth[seen])


# --- a biped in its rest pose ----------------------------------------------------------------------------------

BODY_AT = np.array([0.2, 0.0, -2.6])
EYE = np.array([0.0, 1.0, 0.0])            # the camera looks straight down -Z from 1 m up
BODY_FOCAL = 35.0                          # default 36 × 24 mm sensor


def biped_world():
    return world_with([
        O.EntityCreate(id="cam", kind="camera", props={"camera.focal_length_mm": BODY_FOCAL,
                                                       "transform.position": EYE.tolist()}),
        O.EntityCreate(id="alice", kind="character", props={"transform.position": BODY_AT.tolist()}),
        O.SkeletonSet(id="alice", template="biped"),
    ])


def rest_positions():
    """World position of every biped joint at rest: the sum of the offsets along its chain (identity rotations)."""
    joints = template_joints("biped")
    pos = {}
    for j in joints:                       # parents first
        base = BODY_AT if j["parent"] is None else pos[j["parent"]]
        pos[j["name"]] = base + np.asarray(j["offset"])
    return joints, pos


def by_hand(point, width, height):
    """Pixel (u, v) of a world point for the straight camera at EYE: u = cx + f·x/d, v = cy − f·y/d, d = −z."""
    f = BODY_FOCAL / 36.0 * width
    x, y, z = np.asarray(point) - EYE
    return np.array([width / 2 + f * x / -z, height / 2 - f * y / -z])


WH = (256, 176)                              # the biped's render: 0.8 × the shot's width, another aspect


def quat_matrix(q):
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def volume_surface(v, joint_position):
    """Dense world points on one body volume's surface (SPEC §7.2's data: centre and rotation in its joint's frame,
    which at rest is the world's axes at the joint; half extents; a capsule's caps are min(hx, hz) high)."""
    hx, hy, hz = v.half
    if v.shape == "box":
        local = np.array([[a * hx, b * hy, c * hz] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)])
    else:
        th, ph = np.meshgrid(np.linspace(0, 2 * np.pi, 721), np.linspace(-np.pi / 2, np.pi / 2, 361))
        unit = np.stack([np.cos(ph) * np.cos(th), np.sin(ph), np.cos(ph) * np.sin(th)], -1).reshape(-1, 3)
        if v.shape == "ellipsoid":
            local = unit * [hx, hy, hz]
        else:
            cap = min(hx, hz)
            local = unit * [hx, cap, hz] + np.where(unit[:, 1:2] >= 0, 1, -1) * [0, hy - cap, 0]
    return joint_position + np.asarray(v.center) + local @ quat_matrix(v.rotation).T


@pytest.mark.parametrize("backend", backends())
def test_the_biped_silhouette_and_joints_land_where_the_camera_puts_them(tmp_path, backend):
    need_backend(backend)
    width, height = WH
    m = render(biped_world(), tmp_path, WH, ["instance", "pose", "keypoints"], backend)
    joints, pos = rest_positions()
    inst = np.asarray(Image.open(tmp_path / "instance/000000.png")).astype(np.int64)
    ids = inst[..., 0] + 256 * inst[..., 1] + 65536 * inst[..., 2]
    mask = ids == m["instance"]["palette"]["alice"]["id"]
    assert mask.sum() > 200

    # silhouette: the mask's bounding box is that of the body's volumes (their surfaces sampled densely here)
    pts = np.concatenate([volume_surface(v, pos[v.joint]) for v in template_volumes("biped")]) - EYE
    f = BODY_FOCAL / 36.0 * width
    uv = np.stack([width / 2 + f * pts[:, 0] / -pts[:, 2], height / 2 - f * pts[:, 1] / -pts[:, 2]], axis=1)
    u0, u1, v0, v1 = uv[:, 0].min(), uv[:, 0].max(), uv[:, 1].min(), uv[:, 1].max()
    vs, us = np.nonzero(mask)
    # the first and last pixel whose centre lies inside [u0, u1] (and [v0, v1], clipped to the image)
    want = [math.ceil(u0 - 0.5), math.floor(u1 - 0.5), max(math.ceil(v0 - 0.5), 0), min(math.floor(v1 - 0.5),
                                                                                       height - 1)]
    got = [us.min(), us.max(), vs.min(), vs.max()]
    assert np.all(np.abs(np.array(got) - want) <= 1), (got, want)

    # joints: the keypoints are the hand-projected points, and each visible joint's pixel is the character's
    kp = json.loads((tmp_path / "keypoints/000000.json").read_text())["characters"]["alice"]
    assert kp["family"] == "coco18"
    inside = 0
    for name, p in pos.items():
        u, v = by_hand(p, width, height)
        got_u, got_v, depth, vis = kp["joints"][name]
        assert abs(got_u - u) < 1e-6 and abs(got_v - v) < 1e-6 and abs(depth - (EYE[2] - p[2])) < 1e-9, name
        if 0 <= u < width and 0 <= v < height:
            assert vis == 1 and mask[int(v), int(u)], f"{name} at ({u:.1f}, {v:.1f}) is outside the mask"
            inside += 1
    assert inside >= 20

    # the pose pass: each COCO-18 dot is drawn centred on its joint's hand-projected pixel (within a pixel)
    from renderers.pose import COCO18_COLORS, COCO18_NAMES, DOT_RADIUS

    from core.templates import COCO18_BIPED

    pose = np.asarray(Image.open(tmp_path / "pose/000000.png")).astype(np.int64)
    names = list(COCO18_BIPED.values()) if isinstance(COCO18_BIPED, dict) else list(COCO18_BIPED)
    pts = np.array([by_hand(pos[n if isinstance(n, str) else n[0]], width, height) for n in names])
    checked = 0
    for k, (u, v) in enumerate(pts):
        others = np.delete(pts, k, axis=0)
        if np.min(np.linalg.norm(others - [u, v], axis=1)) < 2 * DOT_RADIUS + 3:
            continue                       # another dot overlaps this one (the face at this size)
        if not (DOT_RADIUS <= u < width - DOT_RADIUS and DOT_RADIUS <= v < height - DOT_RADIUS):
            continue
        hit = np.all(pose == COCO18_COLORS[k], axis=-1)
        near = np.zeros_like(hit)
        r = 2 * DOT_RADIUS
        near[max(int(v) - r, 0):int(v) + r, max(int(u) - r, 0):int(u) + r] = True
        ys, xs = np.nonzero(hit & near)
        assert len(xs) >= 20, f"no {COCO18_NAMES[k]} dot near ({u:.1f}, {v:.1f})"
        cu, cv = xs.mean() + 0.5, ys.mean() + 0.5
        assert math.hypot(cu - u, cv - v) <= 1.0, (COCO18_NAMES[k], (cu, cv), (u, v))
        checked += 1
    assert checked >= 8
