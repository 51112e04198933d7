"""2D joints per character and the pose pass.

Bipeds (characters whose skeleton has every joint that :data:`core.templates.COCO18_BIPED` names) are drawn
as OpenPose COCO-18 (the ControlNet annotator's colours and limb pairs: 17 limbs at stick width 4 blended at
0.6 over the canvas, then the 18 joints as radius-4 dots). Other skeletons — any topology — are drawn the same
way with one limb per bone (parent → child) in skeleton order, the limb's colour at hue ``i / bones`` (full
saturation and value) and each joint's dot in its bone's colour (roots red).

Points are projected with :func:`core.camera.project` (pixel centres at +0.5, v down).
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

__all__ = ["COCO18_NAMES", "COCO18_LIMBS", "COCO18_COLORS", "project", "coco18_joints", "character_keypoints",
           "draw_pose"]

COCO18_NAMES = ["nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip",
                "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear"]
# pairs of COCO-18 indices (0-based); the first 17 are drawn
COCO18_LIMBS = [(1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
                (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17)]
COCO18_COLORS = [(255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
                 (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255),
                 (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85)]
STICK_WIDTH = 4
DOT_RADIUS = 4
LIMB_ALPHA = 0.6


def project(K, world_to_camera_gl, points) -> tuple[np.ndarray, np.ndarray]:
    """points (N, 3) world → (pixels (N, 2), depth (N,)) through core's pinhole projection; depth is along the
    view axis, positive in front of the camera."""
    from core.camera import project as core_project

    uv, z = core_project(K, world_to_camera_gl, np.asarray(points, dtype=np.float64), return_depth=True)
    return uv, z


def coco18_joints(joint_names: list[str]) -> list[int | None] | None:
    """Indices into ``joint_names`` of the 18 COCO points, or None when the skeleton is not a biped."""
    try:
        from core.templates import COCO18_BIPED
    except ImportError:
        return None
    entries = list(COCO18_BIPED.values()) if isinstance(COCO18_BIPED, dict) else list(COCO18_BIPED)
    index = {n: i for i, n in enumerate(joint_names)}
    out = []
    for e in entries:
        name = e if isinstance(e, str) or e is None else e[0]
        if name is None:
            out.append(None)
        elif name in index:
            out.append(index[name])
        else:
            return None
    return out if len(out) == 18 else None


def character_keypoints(names, parents, positions, K, world_to_camera_gl, width, height, near):
    """Keypoints of one character at one frame. ``positions`` (J, 3) world joint positions.

    Returns the JSON record ``{family, joints: {name: [u, v, depth, visible]}, bones: [[parent, child]…],
    coco18?: [[u, v, visible] × 18]}``; ``visible`` is 1 when the point is in front of the near plane and inside
    the image, else 0 (occlusion is not tested, as in OpenPose annotations)."""
    uv, z = project(K, world_to_camera_gl, positions)
    vis = (z > near) & (uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & (uv[:, 1] < height)
    uv = np.where(np.isfinite(uv), uv, 0.0)
    rec = {
        "family": "skeleton",
        "joints": {n: [float(uv[i, 0]), float(uv[i, 1]), float(z[i]), int(vis[i])] for i, n in enumerate(names)},
        "bones": [[names[p], names[i]] for i, p in enumerate(parents) if p >= 0],
    }
    coco = coco18_joints(list(names))
    if coco is not None:
        rec["family"] = "coco18"
        rec["coco18"] = [[float(uv[i, 0]), float(uv[i, 1]), int(vis[i])] if i is not None else [0.0, 0.0, 0]
                         for i in coco]
    return rec


def _limb_polygon(a, b, width: float) -> list[tuple[float, float]]:
    """An ellipse from ``a`` to ``b`` (the limb's length × ``width``) as a polygon."""
    (x0, y0), (x1, y1) = a, b
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    length = math.hypot(x1 - x0, y1 - y0) / 2
    ang = math.atan2(y1 - y0, x1 - x0)
    ca, sa = math.cos(ang), math.sin(ang)
    pts = []
    for k in range(36):
        t = 2 * math.pi * k / 36
        ex, ey = length * math.cos(t), width * math.sin(t)
        pts.append((cx + ex * ca - ey * sa, cy + ex * sa + ey * ca))
    return pts


def _hue(i: int, n: int) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(i / max(n, 1), 1.0, 1.0)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def _limbs_and_dots(rec: dict):
    """(limbs [(a, b, colour)], dots [(p, colour)]) to draw for one character record."""
    limbs, dots = [], []
    if rec.get("family") == "coco18":
        pts = rec["coco18"]
        for k, (i, j) in enumerate(COCO18_LIMBS[:17]):
            if pts[i][2] and pts[j][2]:
                limbs.append((pts[i][:2], pts[j][:2], COCO18_COLORS[k]))
        for k, p in enumerate(pts):
            if p[2]:
                dots.append((p[:2], COCO18_COLORS[k]))
        return limbs, dots
    joints = rec["joints"]
    bones = rec["bones"]
    colour_of = {}
    for k, (a, b) in enumerate(bones):
        c = _hue(k, len(bones))
        colour_of[b] = c
        if joints[a][3] and joints[b][3]:
            limbs.append((joints[a][:2], joints[b][:2], c))
    for name, p in joints.items():
        if p[3]:
            dots.append((p[:2], colour_of.get(name, (255, 0, 0))))
    return limbs, dots


def draw_pose(records: list[dict], width: int, height: int) -> np.ndarray:
    """The pose image (H, W, 3) uint8 on black for the character records of one frame."""
    from PIL import Image, ImageDraw

    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    for rec in records:
        limbs, dots = _limbs_and_dots(rec)
        for a, b, colour in limbs:
            layer = Image.fromarray(canvas)
            ImageDraw.Draw(layer).polygon(_limb_polygon(a, b, STICK_WIDTH), fill=colour)
            drawn = np.asarray(layer)
            canvas = np.round(canvas * (1 - LIMB_ALPHA) + drawn * LIMB_ALPHA).astype(np.uint8)
        img = Image.fromarray(canvas)
        draw = ImageDraw.Draw(img)
        for (x, y), colour in dots:
            draw.ellipse([x - DOT_RADIUS, y - DOT_RADIUS, x + DOT_RADIUS, y + DOT_RADIUS], fill=colour)
        canvas = np.asarray(img).copy()
    return canvas
