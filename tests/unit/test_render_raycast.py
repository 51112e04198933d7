"""The torch ray caster: known answers without GL, and the same frames as the GL rasteriser on small scenes."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from core import ops as O  # noqa: E402
from core.camera import intrinsics, project  # noqa: E402
from core.edit import apply  # noqa: E402
from core.sampling import sample  # noqa: E402
from core.world import World  # noqa: E402
from renderers.geometry import (Part, instance_ids, part_poses, primitive_mesh, primitive_shape,  # noqa: E402
                                scene_parts)
from renderers.raycast import Raycaster  # noqa: E402

HAS_GL = importlib.util.find_spec("pyrender") is not None
W, H = 160, 120
K = intrinsics(35.0, (W, H))


def look_at(eye, target=(0.0, 0.0, 0.0)):
    """world_to_camera (4, 4), OpenGL axes, +Y up."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    fwd = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, np.cross(right, fwd), -fwd, eye
    return np.linalg.inv(c2w)


def part(shape_geometry, pose=None, entity="a"):
    mesh, smooth = primitive_mesh(shape_geometry)
    return Part(entity, 0, mesh, np.eye(4), None, smooth, primitive_shape(shape_geometry)), (
        np.eye(4) if pose is None else np.asarray(pose, float))


def cast(items, w2c, near=0.1, far=100.0, visible=None, normals=True, **kw):
    parts = [p for p, _ in items]
    poses = np.stack([m for _, m in items])
    rc = Raycaster(W, H, **kw)
    rc.load(parts, instance_ids({p.entity for p in parts}))
    vis = np.ones(len(parts), bool) if visible is None else np.asarray(visible)
    return rc.render(poses, vis, K, w2c, near, far, normals=normals), instance_ids({p.entity for p in parts})


def at(x, y, z, scale=(1.0, 1.0, 1.0)):
    m = np.diag([*scale, 1.0])
    m[:3, 3] = x, y, z
    return m


# --- known answers, no GL ------------------------------------------------------------------------------------

def test_box_face_at_a_known_distance_reads_within_a_millimetre_and_faces_the_camera():
    # a 2 × 2 × 0.2 box standing on y = -1, centred on z = -5: its front face is at depth 4.9
    fr, ids = cast([part({"primitive": "box", "size": [2.0, 2.0, 0.2]}, at(0, -1, -5), "wall")], np.eye(4))
    assert fr.ids.dtype == np.uint32 and fr.depth.dtype == np.float32 and fr.normal.dtype == np.uint8
    assert abs(fr.depth[60, 80] - 4.9) <= 0.001
    assert fr.ids[60, 80] == ids["wall"]
    assert np.all(np.abs(fr.normal[60, 80].astype(int) - [128, 128, 255]) <= 1)
    assert fr.ids[2, 2] == 0 and fr.depth[2, 2] == 0 and fr.normal[2, 2].tolist() == [0, 0, 0]


def test_silhouette_of_a_box_lands_where_core_projects_its_corners():
    w2c = look_at([1, 1, 2], [0, 0, -6])
    fr, _ = cast([part({"primitive": "box", "size": [1.0, 1.0, 1.0]}, at(0.3, -0.4, -6))], w2c)
    corners = np.array([[x, y, z] for x in (-0.2, 0.8) for y in (-0.4, 0.6) for z in (-6.5, -5.5)])
    uv = project(K, w2c, corners)
    vs, us = np.nonzero(fr.ids)
    # pixel centres inside the mask lie within the projected corners' box, and fill it to within a pixel
    assert us.min() + 0.5 >= uv[:, 0].min() - 1e-6 and us.max() + 0.5 <= uv[:, 0].max() + 1e-6
    assert vs.min() + 0.5 >= uv[:, 1].min() - 1e-6 and vs.max() + 0.5 <= uv[:, 1].max() + 1e-6
    assert us.min() - 0.5 <= uv[:, 0].min() and us.max() + 1.5 >= uv[:, 0].max()


def test_sphere_capsule_and_cylinder_fronts_are_at_their_analytic_depths():
    items = [part({"primitive": "sphere", "radius": 0.5}, at(-1.5, -0.5, -6), "s"),
             part({"primitive": "capsule", "radius": 0.3, "height": 1.6}, at(0, -0.8, -6), "c"),
             part({"primitive": "cylinder", "radius": 0.4, "height": 1.0}, at(1.5, -0.5, -6), "y")]
    fr, ids = cast(items, np.eye(4))
    uv = project(K, np.eye(4), np.array([[-1.5, 0, -5.5], [0, 0, -5.7], [1.5, 0, -5.6]]))
    for (u, v), name, depth in zip(uv, "scy", (5.5, 5.7, 5.6)):
        i, j = int(v), int(u)
        assert fr.ids[i, j] == ids[name]
        # the pixel centre is off the exact axis point by < 1 px: depth varies by < 1 mm over that on these radii
        assert abs(fr.depth[i, j] - depth) < 2e-3, (name, fr.depth[i, j])


def test_non_uniform_scale_moves_the_face_and_normals_use_the_inverse_transpose():
    # a unit box scaled 3× along z: its front face moves from z = -5.5 to z = -3.5
    fr, _ = cast([part({"primitive": "box", "size": [1.0, 1.0, 1.0]}, at(0, -0.5, -5, (1, 1, 3)))], np.eye(4))
    assert abs(fr.depth[60, 80] - 3.5) <= 0.001
    # a sphere squashed 1/4 in y, seen from the side at 45° up: the normal there tilts towards +y more than 45°
    m = at(0, 0, -5, (1, 0.25, 1))
    m[1, 3] = -0.25   # the sphere stands on its origin: centre back at y = 0
    w2c = look_at([0, 5 * np.sin(np.pi / 4), -5 + 5 * np.cos(np.pi / 4)], [0, 0, -5])
    fr, _ = cast([part({"primitive": "sphere", "radius": 1.0}, m)], w2c)
    n_cam = fr.normal[60, 80].astype(float) / 255 * 2 - 1
    n_world = np.linalg.inv(w2c)[:3, :3] @ n_cam
    assert n_world[1] > 0.95  # the flattened top: close to straight up, where a unit sphere's would be 0.71


def test_plane_is_seen_from_both_sides_with_the_normal_towards_the_viewer():
    plane = part({"primitive": "plane", "size": [4.0, 4.0]})
    above, _ = cast([plane], look_at([0, 3, 0.01]))
    below, _ = cast([plane], look_at([0, -3, 0.01]))
    for fr, sign in ((above, 1), (below, -1)):
        assert abs(fr.depth[60, 80] - 3.0) < 1e-3
        n_world = np.linalg.inv(look_at([0, 3 * sign, 0.01]))[:3, :3] @ (fr.normal[60, 80] / 255 * 2 - 1)
        assert n_world[1] * sign > 0.99


def test_near_and_far_clip_like_gl_and_a_camera_inside_a_solid_sees_nothing_of_it():
    box = part({"primitive": "box", "size": [1.0, 1.0, 1.0]}, at(0, -0.5, -5))  # front face at depth 4.5
    assert cast([box], np.eye(4), near=4.6)[0].ids[60, 80] == 0      # front face clipped, back faces culled
    assert cast([box], np.eye(4), far=4.4)[0].ids[60, 80] == 0
    assert cast([box], np.eye(4), near=4.4, far=4.6)[0].ids[60, 80] != 0
    inside = part({"primitive": "sphere", "radius": 2.0}, at(0, -2, 0))
    assert not cast([inside], np.eye(4))[0].ids.any()


def test_invisible_parts_neither_show_nor_occlude():
    front = part({"primitive": "box", "size": [1.0, 1.0, 1.0]}, at(0, -0.5, -3), "front")
    back = part({"primitive": "box", "size": [4.0, 4.0, 1.0]}, at(0, -2, -8), "back")
    fr, ids = cast([front, back], np.eye(4))
    assert fr.ids[60, 80] == ids["front"]
    fr, ids = cast([front, back], np.eye(4), visible=[False, True])
    assert fr.ids[60, 80] == ids["back"] and abs(fr.depth[60, 80] - 7.5) < 1e-3


def test_a_batch_equals_frame_by_frame_rendering_and_chunking_does_not_change_pixels():
    world = _demo()
    s = sample(world, np.array([0.0, 24.0, 48.0]))
    parts = scene_parts(world, s.ids)
    poses = np.stack([part_poses(p, s) for p in parts], axis=1)                  # (F, P, 4, 4)
    vis = np.ones(poses.shape[:2], bool)
    w2c = np.stack([look_at([x, 1.6, 7.0], [0, 0.8, 0]) for x in (-1.0, 0.0, 1.0)])
    ids = instance_ids(world.entities)
    whole = Raycaster(W, H)
    whole.load(parts, ids)
    batch = whole.render_batch(poses, vis, np.stack([K] * 3), w2c, 0.1, 100.0)
    small = Raycaster(W, H, chunk=1000, tile=8)
    small.load(parts, ids)
    for f in range(3):
        one = small.render(poses[f], vis[f], K, w2c[f], 0.1, 100.0)
        assert np.array_equal(one.ids, batch.ids[f]) and np.array_equal(one.normal, batch.normal[f])
        assert np.allclose(one.depth, batch.depth[f], atol=1e-6)
    assert batch.ids.shape == (3, H, W) and (batch.ids > 0).mean() > 0.2


def test_shapes_describe_the_meshes_they_stand_for():
    for g in ({"primitive": "box", "size": [0.5, 1.0, 2.0]}, {"primitive": "sphere", "radius": 0.3},
              {"primitive": "cylinder", "radius": 0.2, "height": 1.5}, {"primitive": "capsule", "radius": 0.25,
                                                                        "height": 1.8},
              {"primitive": "capsule", "radius": 0.4, "height": 0.5}, {"primitive": "plane", "size": [3.0, 2.0]},
              {"asset": "chair"}):
        mesh, _ = primitive_mesh(g)
        sh = primitive_shape(g)
        c = np.array(sh["center"])
        half = {"box": lambda: sh["half"], "sphere": lambda: [sh["radius"]] * 3,
                "cylinder": lambda: [sh["radius"], sh["half_height"], sh["radius"]],
                "capsule": lambda: [sh["radius"], sh["half_length"] + sh["radius"], sh["radius"]],
                "plane": lambda: [sh["half"][0], 0.0, sh["half"][1]]}[sh["kind"]]()
        assert np.allclose(mesh.bounds, [c - half, c + half], atol=1e-6), g
    world = _demo()
    for p in scene_parts(world, sample(world, np.zeros(1)).ids):
        assert p.shape is not None
        if p.joint is not None and p.shape["kind"] == "capsule":   # bones: sphere centres on the two joints
            lo, hi = p.mesh.bounds
            assert np.isclose(hi[1] - lo[1], 2 * p.shape["half_length"] + 2 * p.shape["radius"], atol=1e-6)


def test_a_part_without_a_shape_is_refused():
    mesh, _ = primitive_mesh(None)
    with pytest.raises(ValueError, match="no analytic shape"):
        Raycaster(W, H).load([Part("x", 0, mesh, np.eye(4))], {"x": 1})


def test_float64_agrees_with_float32_to_a_tenth_of_a_millimetre():
    items = [part({"primitive": "sphere", "radius": 0.5}, at(0, -0.5, -6), "s")]
    a, _ = cast(items, np.eye(4))
    b, _ = cast(items, np.eye(4), dtype=torch.float64)
    assert np.array_equal(a.ids, b.ids)
    assert np.max(np.abs(a.depth - b.depth)) < 1e-4


# --- against the GL rasteriser -------------------------------------------------------------------------------

def _demo():
    from renderers.demo import demo_world

    return demo_world(boxes=6, character=True)


def _primitives_world():
    w = World(project="p", shot="s")
    apply(w, [
        O.ShotConfigure(resolution=(W, H), frame_end=10.0),
        O.EntityCreate(id="floor", kind="environment", props={"geometry": {"primitive": "plane", "size": [8.0, 8.0]}}),
        O.EntityCreate(id="box", kind="prop", props={
            "geometry": {"primitive": "box", "size": [0.8, 0.6, 0.5]}, "transform.position": [-1.6, 0.0, -0.5],
            "transform.rotation": {"euler_deg": [0.0, 30.0, 0.0]}}),
        O.EntityCreate(id="slab", kind="prop", props={
            "geometry": {"primitive": "box", "size": [1.0, 1.0, 1.0]}, "transform.position": [1.6, 0.0, -1.0],
            "transform.scale": [1.5, 0.3, 0.7], "transform.rotation": {"euler_deg": [10.0, -20.0, 5.0]}}),
        O.EntityCreate(id="ball", kind="prop", props={
            "geometry": {"primitive": "sphere", "radius": 0.45}, "transform.position": [0.0, 0.0, 0.8]}),
        O.EntityCreate(id="can", kind="prop", props={
            "geometry": {"primitive": "cylinder", "radius": 0.3, "height": 0.9}, "transform.position": [-0.4, 0, -1.4],
            "transform.rotation": {"euler_deg": [0.0, 0.0, 25.0]}}),
        O.EntityCreate(id="pill", kind="prop", props={
            "geometry": {"primitive": "capsule", "radius": 0.25, "height": 1.2}, "transform.position": [0.7, 0, 0.4],
            "transform.rotation": {"euler_deg": [70.0, 0.0, 0.0]}}),
        O.EntityCreate(id="crate", kind="prop", props={"geometry": {"asset": "crate-01"},
                                                       "transform.position": [0.9, 0.0, -2.4]}),
        O.EntityCreate(id="ghost", kind="character", props={"transform.position": [-1.0, 0.0, 1.2]}),
    ], "user:t")
    return w


CURVED = ("sphere", "cylinder", "capsule")


def chord_gap(p: Part) -> float:
    """How far inside its exact solid the part's GL mesh lies at most (metres, in the mesh's frame): the signed
    distance of the solid sampled over every triangle (vertices, edge midpoints, centroid)."""
    v = np.asarray(p.mesh.vertices)[np.asarray(p.mesh.faces)]                       # (T, 3, 3)
    bary = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [.5, .5, 0], [0, .5, .5], [.5, 0, .5], [1 / 3] * 3])
    q = np.einsum("bk,tkj->tbj", bary, v).reshape(-1, 3) - p.shape["center"]
    r = p.shape["radius"]
    if p.shape["kind"] == "sphere":
        sdf = np.linalg.norm(q, axis=1) - r
    elif p.shape["kind"] == "capsule":
        hh = p.shape["half_length"]
        sdf = np.linalg.norm(q - np.stack([0 * q[:, 0], np.clip(q[:, 1], -hh, hh), 0 * q[:, 0]], 1), axis=1) - r
    else:
        sdf = np.maximum(np.hypot(q[:, 0], q[:, 2]) - r, np.abs(q[:, 1]) - p.shape["half_height"])
    return float(-sdf.min())


@pytest.mark.skipif(not HAS_GL, reason="pyrender is not installed")
@pytest.mark.parametrize("scene,eye,size", [
    ("primitives", [2.5, 2.2, 5.0], (W, H)),
    ("primitives", [-3.0, 0.4, 3.5], (W, H)),
    ("demo", [0.5, 1.6, 8.0], (256, 256)),
])
def test_ids_depth_and_normals_agree_with_the_gl_rasteriser(scene, eye, size):
    from renderers.pack import _rasterizer

    world = _primitives_world() if scene == "primitives" else _demo()
    s = sample(world, np.array([12.0]))
    parts = scene_parts(world, s.ids)
    poses = np.stack([part_poses(p, s)[0] for p in parts])
    vis = np.ones(len(parts), bool)
    ids = instance_ids(world.entities)
    k = intrinsics(30.0, size)
    w2c = look_at(eye, [0.0, 0.5, -0.5])
    gl = _rasterizer(size[0], size[1], False)   # the pack's cached rasteriser: one GL context per size
    gl.load(parts, ids)
    a = gl.render(poses, vis, k, w2c, 0.1, 100.0)
    rc = Raycaster(*size)
    rc.load(parts, ids)
    b = rc.render(poses, vis, k, w2c, 0.1, 100.0)

    assert (a.ids > 0).mean() > 0.3 and len(np.unique(a.ids)) >= 7
    assert (a.ids == b.ids).mean() >= 0.99
    # an entity with any curved part (a character's body: capsules and ellipsoids beside its hand and foot boxes)
    # is held to the curved solids' bounds
    curved_ids = {ids[p.entity] for p in parts if p.shape["kind"] in CURVED}
    same = (a.ids == b.ids) & (a.ids > 0)
    curved = same & np.isin(a.ids, sorted(curved_ids))
    flat = same & ~curved
    assert flat.sum() > 1000 and curved.sum() > 100
    assert np.max(np.abs(a.depth - b.depth)[flat]) <= 1e-3
    # curved solids: the GL meshes are inscribed, so GL depth is never nearer than the exact solid's, and the
    # chord error is small where the surface faces the camera
    diff = a.depth - b.depth
    assert diff[curved].min() >= -1e-3
    na = a.normal.astype(float) / 255 * 2 - 1
    nb = b.normal.astype(float) / 255 * 2 - 1
    assert np.max(np.abs(a.normal.astype(int) - b.normal.astype(int))[flat]) <= 1
    cos = np.sum(na * nb, axis=-1) / np.linalg.norm(na, axis=-1) / np.linalg.norm(nb, axis=-1)
    assert np.percentile(np.degrees(np.arccos(np.clip(cos[curved], -1, 1))), 95) < 8.0
    # ... and not much farther than the mesh's chord gap along the ray where the surface does not graze it (the
    # ray meets the facet up to gap / cos behind the solid; curvature adds a little: 1.5×)
    gap = np.zeros(int(a.ids.max()) + 1)
    for p in parts:
        if p.shape["kind"] in CURVED:
            stretch = np.linalg.norm(p.local[:3, :3], axis=0).max()      # a body volume's unit shape is scaled
            gap[ids[p.entity]] = max(gap[ids[p.entity]], chord_gap(p) * stretch)
    v, u = np.mgrid[0:size[1], 0:size[0]] + 0.5
    ray = np.stack([(u - k[0, 2]) / k[0, 0], -(v - k[1, 2]) / k[1, 1], -np.ones_like(u)], axis=-1)
    facing = -np.sum(nb * ray, axis=-1) / np.linalg.norm(nb, axis=-1) / np.linalg.norm(ray, axis=-1)
    front = curved & (facing > 0.25)
    assert front.sum() > 100
    assert np.all(diff[front] <= 1.5 * gap[a.ids[front]] / facing[front] + 1e-3)


@pytest.mark.skipif(not HAS_GL, reason="pyrender is not installed")
def test_a_pack_rendered_with_the_torch_backend_matches_the_gl_pack(tmp_path):
    from PIL import Image

    from renderers.job import RenderJob
    from renderers.pack import render_pack

    world = _primitives_world()
    apply(world, [O.EntityCreate(id="cam", kind="camera", props={
        "transform.position": [0.0, 1.5, 6.0], "transform.rotation": {"euler_deg": [-12.0, 0.0, 0.0]}})], "user:t")
    job = RenderJob(project="p", shot="s", frames=[0.0, 6.0], resolution=(W, H),
                    passes=["depth_f32", "instance", "normal"])
    manifests = {}
    for backend in ("gl", "torch"):
        manifests[backend] = render_pack(world, 3, "h", job, tmp_path / backend, backend=backend)
    assert manifests["gl"]["instance"] == manifests["torch"]["instance"]
    for i in range(2):
        a = np.asarray(Image.open(tmp_path / f"gl/instance/{i:06d}.png"))
        b = np.asarray(Image.open(tmp_path / f"torch/instance/{i:06d}.png"))
        assert np.all(a == b, axis=-1).mean() >= 0.99 and (a.sum(-1) > 0).mean() > 0.3
        da = np.load(tmp_path / f"gl/depth_f32/{i:06d}.npy")
        db = np.load(tmp_path / f"torch/depth_f32/{i:06d}.npy")
        assert np.median(np.abs(da - db)[np.all(a == b, axis=-1) & (da > 0)]) < 1e-3
    with pytest.raises(ValueError, match="unknown render backend"):
        render_pack(world, 3, "h", job, tmp_path / "x", backend="vulkan")


@pytest.mark.slow
def test_compiled_tile_kernels_give_the_same_frames():
    world = _demo()
    s = sample(world, np.array([24.0]))
    parts = scene_parts(world, s.ids)
    poses = np.stack([part_poses(p, s)[0] for p in parts])
    vis = np.ones(len(parts), bool)
    ids = instance_ids(world.entities)
    w2c = look_at([0.5, 1.6, 7.0], [0, 0.8, 0])
    frames = []
    for compiled in (False, True):
        rc = Raycaster(W, H, compile=compiled)
        rc.load(parts, ids)
        frames.append(rc.render(poses, vis, K, w2c, 0.1, 100.0))
    a, b = frames
    assert (a.ids == b.ids).mean() >= 0.999 and np.max(np.abs(a.depth - b.depth)[a.ids == b.ids]) < 1e-3
