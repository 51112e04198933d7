"""The white-box body of each skeleton template, as data (SPEC §7.2): one volume per bone or body part.

Each row is ``(name, group, joint, shape, a, b, across, rx, rz)``:

- ``joint`` carries the volume (its global matrix moves it);
- ``a`` and ``b`` are points of the template at rest, each ``(joint name, dx, dy, dz)`` — that joint's rest position
  plus an offset in metres at ``scale=1`` (templates are world-aligned at rest, see :mod:`core.templates`). The
  volume's long axis (its local +Y) runs from ``a`` to ``b``: an ellipsoid or a box spans exactly ``a`` … ``b``; a
  capsule's end caps are centred on ``a`` and ``b``, so consecutive limb capsules meet in round joints;
- ``across`` (``"x"``, ``"y"`` or ``"z"``, a rest world axis) is the volume's local +X once made perpendicular to the
  long axis, ``rx`` the half extent along it and ``rz`` along the third axis (local +Z).

Only left-side rows (``l_`` joints, +X) are written; :func:`mirrored` adds the right side.

Proportions. ``biped`` (1.75 m): head 23 cm chin to crown, 16.4 cm wide at the ears, 19.6 cm deep; shoulders
49 cm across the deltoids; chest 33 × 22 cm; hips 35 cm; upper arm 10 cm thick, forearm 9, thigh 15, shin 10.4; hands 19 ×
9 cm boxes; feet 26 × 9 cm boxes standing on the floor — human figures from anthropometric tables (head height ≈
H/7.6, hand ≈ 0.108 H, foot ≈ 0.152 H, crotch ≈ 0.47 H). ``quadruped`` (a 0.6 m dog): a barrel of ribcage, loin
and rump ellipsoids 0.36–0.65 m high, a neck, a cranium and a muzzle, legs tapering from 10–14 cm at the top to 6 cm,
paw boxes, a two-capsule tail. ``bird`` (a 0.33 m pigeon, 0.68 m wingspan): an 11 × 12 × 20 cm body, neck, head and
beak; each wing three 1 cm thick planes (arm, forearm, hand) with a 12 cm chord; a tail plane; legs and foot
plates. ``fish`` (0.55 m, ~0.64 m with the tail): a body of ellipsoids tapering from 15 cm deep to a 4 cm peduncle,
a head, and thin planes for the caudal, dorsal, anal and paired pectoral fins.
"""

from __future__ import annotations

__all__ = ["TEMPLATE_VOLUMES", "GROUPS", "mirrored"]

GROUPS = ("head", "trunk", "arm", "leg", "wing", "tail", "fin")
"""What a volume is part of: arms and wings swing about the body (see :data:`core.bodies.FOOTPRINT_GROUPS`)."""


def _p(joint: str, dx: float = 0.0, dy: float = 0.0, dz: float = 0.0) -> tuple:
    return (joint, dx, dy, dz)


_BIPED = [
    ("head", "head", "head", "ellipsoid", _p("head", 0, -0.05, 0.015), _p("head", 0, 0.18, 0.015), "x", 0.082, 0.098),
    ("neck", "trunk", "neck", "capsule", _p("neck", 0, -0.02), _p("head"), "x", 0.055, 0.055),
    ("chest", "trunk", "chest", "capsule", _p("spine", 0, 0.10), _p("chest", 0, 0.12), "x", 0.165, 0.11),
    ("abdomen", "trunk", "spine", "ellipsoid", _p("hips", 0, 0.02), _p("chest"), "x", 0.15, 0.105),
    ("pelvis", "trunk", "hips", "ellipsoid", _p("hips", 0, -0.14), _p("hips", 0, 0.10), "x", 0.175, 0.115),
    ("l_shoulder", "trunk", "l_clavicle", "capsule", _p("l_clavicle"), _p("l_shoulder"), "y", 0.06, 0.055),
    ("l_upper_arm", "arm", "l_shoulder", "capsule", _p("l_shoulder"), _p("l_elbow"), "y", 0.05, 0.05),
    ("l_forearm", "arm", "l_elbow", "capsule", _p("l_elbow"), _p("l_wrist"), "y", 0.045, 0.045),
    ("l_hand", "arm", "l_wrist", "box", _p("l_wrist"), _p("l_hand", 0.09), "z", 0.045, 0.016),
    ("l_thigh", "leg", "l_hip", "capsule", _p("l_hip"), _p("l_knee"), "x", 0.075, 0.075),
    ("l_shin", "leg", "l_knee", "capsule", _p("l_knee"), _p("l_ankle"), "x", 0.052, 0.052),
    ("l_foot", "leg", "l_ankle", "box", _p("l_ankle", 0, -0.04, -0.06), _p("l_ankle", 0, -0.04, 0.14), "x", 0.045,
     0.04),
    ("l_toes", "leg", "l_toe", "box", _p("l_toe"), _p("l_toe", 0, 0, 0.06), "x", 0.045, 0.02),
]

_QUADRUPED = [
    ("ribcage", "trunk", "chest", "ellipsoid", _p("chest", 0, -0.10, -0.30), _p("chest", 0, -0.10, 0.12), "y", 0.15,
     0.12),
    ("loin", "trunk", "spine", "ellipsoid", _p("hips", 0, -0.06, -0.04), _p("spine", 0, -0.07, 0.12), "y", 0.12,
     0.11),
    ("rump", "trunk", "hips", "ellipsoid", _p("hips", 0, -0.04, -0.12), _p("hips", 0, -0.04, 0.10), "y", 0.11, 0.11),
    ("neck", "trunk", "neck", "capsule", _p("chest", 0, -0.04, 0.10), _p("head", 0, -0.03, -0.01), "x", 0.075, 0.08),
    ("head", "head", "head", "ellipsoid", _p("head", 0, 0.01, -0.07), _p("head", 0, 0.01, 0.13), "y", 0.08, 0.075),
    ("muzzle", "head", "head", "capsule", _p("head", 0, -0.03, 0.08), _p("nose", 0, 0, -0.02), "y", 0.05, 0.045),
    ("l_upper_foreleg", "leg", "l_shoulder", "capsule", _p("l_shoulder", 0, 0.02), _p("l_elbow"), "z", 0.055,
     0.045),
    ("l_foreleg", "leg", "l_elbow", "capsule", _p("l_elbow"), _p("l_wrist"), "z", 0.034, 0.032),
    ("l_front_paw", "leg", "l_front_paw", "box", _p("l_front_paw", 0, -0.005, -0.08), _p("l_front_paw", 0, -0.005,
                                                                                         0.04), "x", 0.035, 0.035),
    ("l_thigh", "leg", "l_hip", "capsule", _p("l_hip", 0, 0.02), _p("l_knee"), "z", 0.07, 0.05),
    ("l_shank", "leg", "l_knee", "capsule", _p("l_knee"), _p("l_hock"), "z", 0.036, 0.032),
    ("l_hind_foot", "leg", "l_hock", "capsule", _p("l_hock"), _p("l_hind_paw", 0, 0.02), "z", 0.031, 0.03),
    ("l_hind_paw", "leg", "l_hind_paw", "box", _p("l_hind_paw", 0, 0.015, -0.04), _p("l_hind_paw", 0, 0.015, 0.08),
     "x", 0.035, 0.035),
    ("tail_base", "tail", "tail_1", "capsule", _p("tail_1"), _p("tail_2"), "x", 0.03, 0.03),
    ("tail_tip", "tail", "tail_2", "capsule", _p("tail_2"), _p("tail_3"), "x", 0.022, 0.022),
]

_BIRD = [
    ("body", "trunk", "spine", "ellipsoid", _p("hips", 0, 0, -0.06), _p("chest", 0, 0, 0.05), "x", 0.055, 0.06),
    ("neck", "trunk", "neck", "capsule", _p("chest", 0, 0.01, 0.02), _p("head"), "x", 0.022, 0.022),
    ("head", "head", "head", "ellipsoid", _p("head", 0, 0, -0.025), _p("head", 0, 0, 0.035), "x", 0.021, 0.024),
    ("beak", "head", "head", "ellipsoid", _p("head", 0, -0.005, 0.025), _p("beak"), "x", 0.007, 0.007),
    ("l_arm_wing", "wing", "l_shoulder", "box", _p("l_shoulder", 0, 0, -0.045), _p("l_elbow", 0, 0, -0.045), "z",
     0.06, 0.006),
    ("l_forewing", "wing", "l_elbow", "box", _p("l_elbow", 0, 0, -0.045), _p("l_wrist", 0, 0, -0.045), "z", 0.06,
     0.006),
    ("l_hand_wing", "wing", "l_wrist", "box", _p("l_wrist", 0, 0, -0.035), _p("l_wing_tip", 0, 0, -0.015), "z", 0.05,
     0.005),
    ("l_thigh", "leg", "l_hip", "capsule", _p("l_hip"), _p("l_knee"), "x", 0.014, 0.014),
    ("l_shank", "leg", "l_knee", "capsule", _p("l_knee"), _p("l_ankle"), "x", 0.008, 0.008),
    ("l_foot", "leg", "l_ankle", "box", _p("l_ankle", 0, -0.035, -0.02), _p("l_ankle", 0, -0.035, 0.05), "x", 0.015,
     0.005),
    ("tail", "tail", "tail_1", "box", _p("tail_1", 0, 0, 0.02), _p("tail_2", 0, 0, -0.03), "x", 0.04, 0.005),
]

_FISH = [
    ("head", "head", "head", "ellipsoid", _p("head", 0, 0, -0.07), _p("jaw", 0, 0.01), "y", 0.06, 0.036),
    ("body_front", "trunk", "spine_1", "ellipsoid", _p("spine_1", 0, 0, -0.13), _p("spine_1", 0, 0, 0.11), "y", 0.075,
     0.042),
    ("body_middle", "trunk", "spine_2", "ellipsoid", _p("spine_2", 0, 0, -0.13), _p("spine_2", 0, 0, 0.08), "y",
     0.063, 0.035),
    ("body_rear", "trunk", "spine_3", "ellipsoid", _p("spine_3", 0, 0, -0.12), _p("spine_3", 0, 0, 0.07), "y", 0.042,
     0.024),
    ("peduncle", "trunk", "spine_4", "capsule", _p("spine_4"), _p("tail_fin"), "y", 0.022, 0.012),
    ("tail_fin", "fin", "tail_fin", "box", _p("tail_fin", 0, 0, 0.01), _p("tail_fin", 0, 0, -0.09), "y", 0.075, 0.004),
    ("dorsal_fin", "fin", "dorsal_fin", "box", _p("dorsal_fin", 0, -0.01, 0.04), _p("dorsal_fin", 0, -0.01, -0.10),
     "y", 0.035, 0.003),
    ("anal_fin", "fin", "anal_fin", "box", _p("anal_fin", 0, 0.005, 0.03), _p("anal_fin", 0, 0.005, -0.07), "y",
     0.025, 0.003),
    ("l_pectoral_fin", "fin", "l_pectoral_fin", "box", _p("l_pectoral_fin", 0.025, 0, 0.01),
     _p("l_pectoral_fin", 0.025, 0, -0.07), "x", 0.03, 0.004),
]


def _r(name: str) -> str:
    return "r_" + name[2:] if name.startswith("l_") else name


def mirrored(rows: list[tuple]) -> list[tuple]:
    """``rows`` followed by the right-side copy of every row carried by an ``l_`` joint (names ``r_…``, −X)."""
    out = list(rows)
    for name, group, joint, shape, a, b, across, rx, rz in rows:
        if not joint.startswith("l_"):
            continue
        flip = [(_r(p[0]), -p[1], p[2], p[3]) for p in (a, b)]
        out.append((_r(name), group, _r(joint), shape, flip[0], flip[1], across, rx, rz))
    return out


TEMPLATE_VOLUMES: dict[str, list[tuple]] = {
    "biped": mirrored(_BIPED),
    "quadruped": mirrored(_QUADRUPED),
    "bird": mirrored(_BIRD),
    "fish": mirrored(_FISH),
}
