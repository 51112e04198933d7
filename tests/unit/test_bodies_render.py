"""Issue 14's acceptance for white-box bodies: the rendered instance mask of a character has a recognisable
silhouette — head, torso and limbs each wider than 8 cm — for every family.

Each family is scaled to 1.8 m (the biped's height; the other families' longest side) and rendered through the
pack (instance and metric depth passes) by a straight camera 6 m away: front view for the biped, side views for
the quadruped and the fish, a view from above for the bird (whose limbs are wing planes). A part's width is the
length of the mask's run through it along one image row or column, turned into metres by the depth pass
(``pixels × depth / fx``). Both backends draw every family: OpenGL on OSMesa (what CI renders on the CPU) and
the torch ray caster.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core import ops as O
from core.bodies import body_bounds, body_of
from core.edit import apply
from core.templates import template_joints
from core.world import World
from renderers.job import RenderJob
from renderers.pack import render_pack
from tests.tools import require_module

SIZE = 400
FOCAL, SENSOR = 60.0, 36.0
FX = FOCAL / SENSOR * SIZE
D = 6.0
MIN_WIDTH_M = 0.08
VIEWS = {   # camera position (the character's centre is added) and rotation
    "front": ([0.0, 0.0, D], [0.0, 0.0, 0.0]),
    "side": ([D, 0.0, 0.0], [0.0, 90.0, 0.0]),
    "top": ([0.0, D, 0.0], [-90.0, 0.0, 0.0]),
}


def scale_for(family: str) -> float:
    lo, hi = body_bounds(body_of(template_joints(family)))
    size = hi[1] - lo[1] if family == "biped" else (hi - lo).max()
    return 1.8 / size


def render(family, view, tmp_path, backend="torch"):
    """(mask (H, W) bool, depth (H, W) metres, centre (3,) world, scale) of one family seen from one side."""
    require_module("pyrender" if backend == "gl" else "torch", f"the {backend} render backend")
    scale = scale_for(family)
    lo, hi = body_bounds(body_of(template_joints(family, scale)))
    centre = (lo + hi) / 2
    pos, euler = VIEWS[view]
    w = World(project="p", shot="s")
    apply(w, [O.ShotConfigure(resolution=(SIZE, SIZE), frame_end=1.0),
              O.EntityCreate(id="cam", kind="camera", props={
                  "camera.focal_length_mm": FOCAL, "camera.sensor_mm": [SENSOR, SENSOR],
                  "transform.position": (centre + pos).tolist(), "transform.rotation": {"euler_deg": euler}}),
              O.EntityCreate(id="it", kind="character"),
              O.SkeletonSet(id="it", template=family, scale=scale)], "user:t")
    job = RenderJob(project="p", shot="s", frames=[0.0], resolution=(SIZE, SIZE),
                    passes=["instance", "depth_f32"])
    m = render_pack(w, 1, "h", job, tmp_path, backend=backend)
    inst = np.asarray(Image.open(tmp_path / "instance/000000.png")).astype(np.int64)
    ids = inst[..., 0] + 256 * inst[..., 1] + 65536 * inst[..., 2]
    mask = ids == m["instance"]["palette"]["it"]["id"]
    depth = np.load(tmp_path / "depth_f32/000000.npy").astype(np.float64)
    return mask, depth, centre, scale


def pixel(view, point, centre):
    """(u, v) of a world point for the straight camera of ``view`` aimed at ``centre`` (pinhole, 6 m away)."""
    p = np.asarray(point, dtype=np.float64) - centre
    if view == "front":
        right, up, depth = p[0], p[1], D - p[2]
    elif view == "side":
        right, up, depth = -p[2], p[1], D - p[0]
    else:
        right, up, depth = p[0], -p[2], D - p[1]
    return SIZE / 2 + FX * right / depth, SIZE / 2 - FX * up / depth


def runs(line: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a 1-D boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], line.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def width_at(mask, depth, view, point, centre, along: str) -> float:
    """Width in metres of the mask's run through the pixel of ``point``, along an image ``row`` or ``column``."""
    u, v = pixel(view, point, centre)
    i, j = int(v), int(u)
    line = mask[i] if along == "row" else mask[:, j]
    at = j if along == "row" else i
    hit = [(a, b) for a, b in runs(line) if a <= at < b]
    assert hit, f"no mask at {point} ({along} through pixel {j}, {i})"
    a, b = hit[0]
    d = depth[i, a:b] if along == "row" else depth[a:b, j]
    return (b - a) * float(np.median(d)) / FX


def joint_pos(family, scale):
    pos = {}
    for j in template_joints(family, scale):
        pos[j["name"]] = np.asarray(j["offset"]) + (pos[j["parent"]] if j["parent"] else 0.0)
    return pos


def mid(pos, a, b):
    return (pos[a] + pos[b]) / 2


@pytest.mark.parametrize("backend", ["gl", "torch"])
def test_a_biped_at_1_8_m_has_a_human_silhouette(tmp_path, backend):
    mask, depth, centre, scale = render("biped", "front", tmp_path, backend)
    p = joint_pos("biped", scale)
    w = {
        "head": width_at(mask, depth, "front", p["head"] + [0, 0.07 * scale, 0], centre, "row"),
        "neck": width_at(mask, depth, "front", mid(p, "neck", "head"), centre, "row"),
        "chest": width_at(mask, depth, "front", p["chest"], centre, "row"),
        "pelvis": width_at(mask, depth, "front", p["hips"], centre, "row"),
    }
    for side in ("l", "r"):
        w[f"{side}_upper_arm"] = width_at(mask, depth, "front", mid(p, f"{side}_shoulder", f"{side}_elbow"), centre,
                                          "column")
        w[f"{side}_forearm"] = width_at(mask, depth, "front", mid(p, f"{side}_elbow", f"{side}_wrist"), centre,
                                        "column")
        w[f"{side}_thigh"] = width_at(mask, depth, "front", mid(p, f"{side}_hip", f"{side}_knee"), centre, "row")
        w[f"{side}_shin"] = width_at(mask, depth, "front", mid(p, f"{side}_knee", f"{side}_ankle"), centre, "row")
    thin = {k: round(v, 3) for k, v in w.items() if v <= MIN_WIDTH_M}
    assert not thin, f"parts narrower than 8 cm: {thin}"
    # a person's proportions: the torso is wider than the head, the head wider than the neck, and the legs are
    # two separate limbs below the pelvis
    assert w["chest"] > 1.6 * w["head"] and w["head"] > 1.2 * w["neck"]
    assert 0.25 <= w["chest"] <= 0.45 and 0.13 <= w["head"] <= 0.2
    u, v = pixel("front", mid(p, "l_knee", "l_ankle"), centre)
    assert len(runs(mask[int(v)])) == 2
    # the silhouette's height is the character's: 1.8 m
    rows = np.flatnonzero(mask.any(axis=1))
    top = pixel("front", [0, 1.8, 0.015 * scale], centre)[1]            # the crown
    bottom = pixel("front", [0, 0, 0.2 * scale], centre)[1]             # the toes' front edge, on the floor
    assert abs(rows[0] - top) <= 2 and abs(rows[-1] + 1 - bottom) <= 2


@pytest.mark.parametrize("backend", ["gl", "torch"])
def test_a_quadruped_has_a_barrel_head_and_four_legs(tmp_path, backend):
    mask, depth, centre, scale = render("quadruped", "side", tmp_path, backend)
    p = joint_pos("quadruped", scale)
    w = {
        "head": width_at(mask, depth, "side", p["head"], centre, "column"),
        "neck": width_at(mask, depth, "side", mid(p, "neck", "head") - [0, 0.03 * scale, 0], centre, "column"),
        "barrel": width_at(mask, depth, "side", p["spine"] - [0, 0.1 * scale, 0], centre, "column"),
        "foreleg": width_at(mask, depth, "side", mid(p, "l_elbow", "l_wrist"), centre, "row"),
        "upper foreleg": width_at(mask, depth, "side", mid(p, "l_shoulder", "l_elbow") - [0, 0.05 * scale, 0],
                                  centre, "row"),
        "shank": width_at(mask, depth, "side", mid(p, "l_knee", "l_hock"), centre, "row"),
        "tail": width_at(mask, depth, "side", mid(p, "tail_1", "tail_2"), centre, "column"),
    }
    thin = {k: round(v, 3) for k, v in w.items() if v <= MIN_WIDTH_M}
    assert not thin, f"parts narrower than 8 cm: {thin}"
    assert w["barrel"] > 2 * w["foreleg"]
    u, v = pixel("side", mid(p, "l_elbow", "l_wrist"), centre)
    assert len(runs(mask[int(v)])) == 2                        # fore and hind legs (left and right overlap)


@pytest.mark.parametrize("backend", ["gl", "torch"])
def test_a_bird_has_a_body_head_and_spread_wings(tmp_path, backend):
    mask, depth, centre, scale = render("bird", "top", tmp_path, backend)
    p = joint_pos("bird", scale)
    wing = [0, 0, -0.045 * scale]                              # the wing planes' chord lies behind the bones
    w = {
        "head": width_at(mask, depth, "top", p["head"], centre, "row"),
        "body": width_at(mask, depth, "top", p["spine"], centre, "row"),
    }
    for side in ("l", "r"):
        w[f"{side}_arm_wing"] = width_at(mask, depth, "top", mid(p, f"{side}_shoulder", f"{side}_elbow") + wing,
                                         centre, "column")
        w[f"{side}_forewing"] = width_at(mask, depth, "top", mid(p, f"{side}_elbow", f"{side}_wrist") + wing,
                                         centre, "column")
        w[f"{side}_hand_wing"] = width_at(mask, depth, "top", mid(p, f"{side}_wrist", f"{side}_wing_tip") + wing,
                                          centre, "column")
    w["tail"] = width_at(mask, depth, "top", mid(p, "tail_1", "tail_2"), centre, "row")
    thin = {k: round(v, 3) for k, v in w.items() if v <= MIN_WIDTH_M}
    assert not thin, f"parts narrower than 8 cm: {thin}"
    cols = np.flatnonzero(mask.any(axis=0))
    assert (cols[-1] - cols[0]) * D / FX > 1.7                 # the span is the bird's longest side


@pytest.mark.parametrize("backend", ["gl", "torch"])
def test_a_fish_has_a_tapered_body_and_fins(tmp_path, backend):
    mask, depth, centre, scale = render("fish", "side", tmp_path, backend)
    p = joint_pos("fish", scale)
    w = {
        "head": width_at(mask, depth, "side", p["head"], centre, "column"),
        "front": width_at(mask, depth, "side", p["spine_1"], centre, "column"),
        "rear": width_at(mask, depth, "side", p["spine_3"], centre, "column"),
        "tail_fin": width_at(mask, depth, "side", p["tail_fin"] - [0, 0, 0.05 * scale], centre, "column"),
    }
    thin = {k: round(v, 3) for k, v in w.items() if v <= MIN_WIDTH_M}
    assert not thin, f"parts narrower than 8 cm: {thin}"
    # tapered: deepest at the front of the body, shallower towards the tail, then the fin spreads again
    peduncle = width_at(mask, depth, "side", mid(p, "spine_4", "tail_fin"), centre, "column")
    assert w["front"] > w["rear"] > peduncle and w["tail_fin"] > 2 * peduncle
    # the dorsal fin rises above the back
    u, v = pixel("side", p["dorsal_fin"], centre)
    assert mask[int(v), int(u)]
