"""Skeleton templates: ``biped``, ``quadruped``, ``bird``, ``fish`` (SPEC §3, ``skeleton.set``).

Every template stands on the entity's origin (the floor), Y up, facing +Z, so its left side is +X. Offsets are rest
translations in the parent's frame, in metres at ``scale=1``; every rest rotation is the identity, so a joint's
rest global position is the sum of the offsets along its chain and a joint rotation acts about the parent-aligned
world axes at rest.

- ``biped``: a 1.75 m human in a T-pose (arms along ±X). Joint names: hips (root), spine, chest, neck, head,
  head_top, nose, l_eye / r_eye, l_ear / r_ear, l_clavicle, l_shoulder, l_elbow, l_wrist, l_hand (and r_…),
  l_hip, l_knee, l_ankle, l_toe (and r_…). Hinges at rest: knee flexion is +X rotation; left elbow flexion (forearm
  forward) is −Y rotation, right elbow +Y.
- ``quadruped``: a dog, 0.6 m at the withers, about 1 m from nose to tail root. hips (root), spine, chest, neck,
  head, nose, eyes and ears, front legs l_shoulder, l_elbow, l_wrist, l_front_paw, hind legs l_hip, l_knee,
  l_hock, l_hind_paw (and r_…), tail_1…tail_3.
- ``bird``: a 0.33 m standing bird (pigeon-like) with wings spread along ±X at rest.
- ``fish``: a 0.55 m fish swimming along +Z, centred 0.25 m above the origin, its spine a chain towards −Z.

``COCO18_BIPED`` maps the OpenPose COCO-18 keypoint order to biped joints. All 18 are real joints; OpenPose's
"neck" (the midpoint of the shoulders) maps to the ``neck`` joint, 4 cm above the shoulder line at rest.
``COCO18_LIMBS`` are the 17 limb pairs (indices into that order) that OpenPose / ControlNet draw.
``SKELETON_EDGES[template]`` are the (parent, child) bones of each template, for drawing any family.
"""

from __future__ import annotations

from . import skeleton

__all__ = [
    "TEMPLATES",
    "template_joints",
    "COCO18_NAMES",
    "COCO18_BIPED",
    "COCO18_LIMBS",
    "SKELETON_EDGES",
    "skeleton_edges",
]

_Joint = tuple  # (name, parent, offset, limits_deg or None)


def _mirror(joints: list[_Joint]) -> list[_Joint]:
    """Left-side joints (``l_`` prefix, +X) → the same joints on the right (``r_``, −X, mirrored limits)."""
    out = []
    for name, parent, off, lim in joints:
        rname = "r_" + name[2:]
        rparent = "r_" + parent[2:] if parent.startswith("l_") else parent
        rlim = None
        if lim is not None:
            # mirroring across the YZ plane keeps X rotations and negates Y and Z rotations
            (xa, xb), (ya, yb), (za, zb) = lim
            rlim = [[xa, xb], [-yb + 0.0, -ya + 0.0], [-zb + 0.0, -za + 0.0]]
        out.append((rname, rparent, (-off[0], off[1], off[2]), rlim))
    return out


_FREE = [[-180.0, 180.0], [-180.0, 180.0], [-180.0, 180.0]]

_BIPED_CENTRE: list[_Joint] = [
    ("hips", None, (0.0, 0.95, 0.0), None),
    ("spine", "hips", (0.0, 0.10, 0.0), [[-45, 90], [-45, 45], [-45, 45]]),
    ("chest", "spine", (0.0, 0.20, 0.0), [[-30, 45], [-30, 30], [-30, 30]]),
    ("neck", "chest", (0.0, 0.22, 0.0), [[-45, 60], [-70, 70], [-40, 40]]),
    ("head", "neck", (0.0, 0.10, 0.0), [[-40, 40], [-80, 80], [-40, 40]]),
    ("head_top", "head", (0.0, 0.18, 0.0), None),
    ("nose", "head", (0.0, 0.03, 0.11), None),
]
_BIPED_LEFT: list[_Joint] = [
    ("l_eye", "head", (0.032, 0.07, 0.085), None),
    ("l_ear", "head", (0.075, 0.05, 0.0), None),
    ("l_clavicle", "chest", (0.03, 0.16, 0.0), [[-20, 20], [-30, 30], [-10, 40]]),
    ("l_shoulder", "l_clavicle", (0.16, 0.02, 0.0), [[-90, 90], [-120, 60], [-90, 100]]),
    ("l_elbow", "l_shoulder", (0.30, 0.0, 0.0), [[-90, 90], [-150, 0], [0, 0]]),
    ("l_wrist", "l_elbow", (0.26, 0.0, 0.0), [[-80, 80], [-30, 30], [-70, 70]]),
    ("l_hand", "l_wrist", (0.10, 0.0, 0.0), None),
    ("l_hip", "hips", (0.09, -0.05, 0.0), [[-120, 45], [-45, 45], [-30, 60]]),
    ("l_knee", "l_hip", (0.0, -0.42, 0.0), [[0, 150], [0, 0], [0, 0]]),
    ("l_ankle", "l_knee", (0.0, -0.40, 0.0), [[-45, 30], [-20, 20], [-30, 30]]),
    ("l_toe", "l_ankle", (0.0, -0.06, 0.14), [[-30, 60], [0, 0], [0, 0]]),
]

_QUAD_CENTRE: list[_Joint] = [
    ("hips", None, (0.0, 0.58, -0.30), None),
    ("spine", "hips", (0.0, 0.01, 0.25), None),
    ("chest", "spine", (0.0, 0.01, 0.25), None),
    ("neck", "chest", (0.0, 0.10, 0.12), None),
    ("head", "neck", (0.0, 0.12, 0.08), None),
    ("nose", "head", (0.0, -0.05, 0.20), None),
    ("tail_1", "hips", (0.0, 0.02, -0.06), None),
    ("tail_2", "tail_1", (0.0, 0.04, -0.12), None),
    ("tail_3", "tail_2", (0.0, 0.03, -0.12), None),
]
_QUAD_LEFT: list[_Joint] = [
    ("l_eye", "head", (0.035, 0.04, 0.09), None),
    ("l_ear", "head", (0.06, 0.08, -0.02), None),
    ("l_shoulder", "chest", (0.09, -0.06, 0.02), None),
    ("l_elbow", "l_shoulder", (0.0, -0.20, -0.02), [[-150, 10], [0, 0], [0, 0]]),
    ("l_wrist", "l_elbow", (0.0, -0.22, 0.01), None),
    ("l_front_paw", "l_wrist", (0.0, -0.08, 0.04), None),
    ("l_hip", "hips", (0.08, -0.05, -0.02), None),
    ("l_knee", "l_hip", (0.0, -0.20, 0.06), [[-10, 150], [0, 0], [0, 0]]),
    ("l_hock", "l_knee", (0.0, -0.17, -0.08), None),
    ("l_hind_paw", "l_hock", (0.0, -0.14, 0.03), None),
]

_BIRD_CENTRE: list[_Joint] = [
    ("hips", None, (0.0, 0.17, 0.0), None),
    ("spine", "hips", (0.0, 0.03, 0.04), None),
    ("chest", "spine", (0.0, 0.02, 0.04), None),
    ("neck", "chest", (0.0, 0.05, 0.03), None),
    ("head", "neck", (0.0, 0.05, 0.02), None),
    ("beak", "head", (0.0, 0.0, 0.05), None),
    ("tail_1", "hips", (0.0, 0.0, -0.05), None),
    ("tail_2", "tail_1", (0.0, -0.01, -0.08), None),
]
_BIRD_LEFT: list[_Joint] = [
    ("l_eye", "head", (0.015, 0.01, 0.02), None),
    ("l_shoulder", "chest", (0.04, 0.02, 0.0), None),
    ("l_elbow", "l_shoulder", (0.09, 0.0, 0.0), None),
    ("l_wrist", "l_elbow", (0.09, 0.0, 0.0), None),
    ("l_wing_tip", "l_wrist", (0.12, 0.0, -0.02), None),
    ("l_hip", "hips", (0.03, -0.02, 0.0), None),
    ("l_knee", "l_hip", (0.0, -0.05, 0.01), None),
    ("l_ankle", "l_knee", (0.0, -0.06, -0.01), None),
    ("l_toe", "l_ankle", (0.0, -0.04, 0.03), None),
]

_FISH_CENTRE: list[_Joint] = [
    ("spine_1", None, (0.0, 0.25, 0.05), None),
    ("head", "spine_1", (0.0, 0.0, 0.10), None),
    ("jaw", "head", (0.0, -0.01, 0.10), None),
    ("spine_2", "spine_1", (0.0, 0.0, -0.10), None),
    ("spine_3", "spine_2", (0.0, 0.0, -0.10), None),
    ("spine_4", "spine_3", (0.0, 0.0, -0.08), None),
    ("tail_fin", "spine_4", (0.0, 0.0, -0.07), None),
    ("dorsal_fin", "spine_2", (0.0, 0.07, 0.0), None),
    ("anal_fin", "spine_3", (0.0, -0.05, 0.0), None),
]
_FISH_LEFT: list[_Joint] = [
    ("l_eye", "head", (0.025, 0.02, 0.04), None),
    ("l_pectoral_fin", "spine_1", (0.04, -0.03, 0.0), None),
]


def _build(centre: list[_Joint], left: list[_Joint]) -> list[_Joint]:
    return centre + left + _mirror(left)


TEMPLATES: dict[str, list[_Joint]] = {
    "biped": _build(_BIPED_CENTRE, _BIPED_LEFT),
    "quadruped": _build(_QUAD_CENTRE, _QUAD_LEFT),
    "bird": _build(_BIRD_CENTRE, _BIRD_LEFT),
    "fish": _build(_FISH_CENTRE, _FISH_LEFT),
}


def template_joints(name: str, scale: float = 1.0) -> list[dict]:
    """The joints of template ``name`` with offsets multiplied by ``scale``, in canonical parents-first order.

    Each joint is ``{name, parent, offset: [x, y, z], rotation: [0, 0, 0, 1], limits_deg?}``; the list is already
    what :func:`core.skeleton.normalize_joints` returns for it. Raises ValueError for an unknown template or a
    scale ≤ 0.
    """
    if name not in TEMPLATES:
        raise ValueError(f"unknown skeleton template {name!r}; expected one of {sorted(TEMPLATES)}")
    scale = float(scale)
    if not scale > 0 or scale != scale or scale == float("inf"):
        raise ValueError(f"template scale must be a finite number > 0, got {scale}")
    out = []
    for jname, parent, off, lim in TEMPLATES[name]:
        j = {
            "name": jname,
            "parent": parent,
            "offset": [float(c) * scale + 0.0 for c in off],
            "rotation": [0.0, 0.0, 0.0, 1.0],
        }
        if lim is not None:
            j["limits_deg"] = [[float(a), float(b)] for a, b in lim]
        out.append(j)
    return skeleton.normalize_joints(out, f"template {name}")


COCO18_NAMES = (
    "nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip", "r_knee",
    "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear",
)
"""The OpenPose COCO-18 keypoint order."""

COCO18_BIPED = (
    "nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "r_hip", "r_knee",
    "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear",
)
"""Biped joint name for each COCO-18 keypoint, in COCO-18 order (``COCO18_BIPED[i]`` is keypoint ``i``)."""

COCO18_LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)
"""The 17 limbs OpenPose draws, as (a, b) indices into the COCO-18 order, in OpenPose's drawing order."""


def skeleton_edges(joints: list[dict]) -> list[tuple[str, str]]:
    """The (parent, child) bones of any joint list, in the list's order."""
    return [(j["parent"], j["name"]) for j in joints if j.get("parent") is not None]


SKELETON_EDGES: dict[str, list[tuple[str, str]]] = {
    name: skeleton_edges(template_joints(name)) for name in TEMPLATES
}
"""(parent, child) bone pairs of each template, for drawing skeletons of any family."""
