"""The volumes of a white-box body (SPEC §7.2) — what each skeleton gets; :mod:`core.bodies` places and
measures them.

A body is a tuple of :class:`Volume` records, each carried by one joint:

- ``shape`` ``"ellipsoid"`` — semi-axes ``half`` along the volume's local X, Y, Z;
- ``shape`` ``"box"`` — half extents ``half``;
- ``shape`` ``"capsule"`` — long axis local +Y, spanning ±``half[1]``; its cross-section is the ellipse of semi-axes
  ``half[0]`` (X) and ``half[2]`` (Z); its ends are half-ellipsoids of height ``cap = min(half[0], half[2])``, so
  the straight part spans ±(``half[1]`` − cap) (cap centres on the two joints of a limb).

``center`` (metres) and ``rotation`` (unit quaternion ``[x, y, z, w]``) place the volume's frame in its joint's
frame; at a sampled frame the volume's world frame is ``joint_global · T(center) · R(rotation)``, and its surface
is the unit shape scaled by :func:`unit_scale`. Entity scale is in the joint matrices, so a scaled character's
body scales with it (an ellipsoid under any affine map stays one).

Which volumes a skeleton gets (:func:`body_volumes`):

- a skeleton with a template's joints (names and parents; SPEC §4 ``skeleton.set`` with ``template``) gets that
  template's body (:mod:`core.body_specs`), laid out on its actual rest joints and its radii multiplied by its
  scale (total bone length over the template's);
- any other skeleton — or a template's joints where a joint gives ``radius_m`` — gets a capsule per bone (group
  ``trunk``), from the parent joint to the child, of radius the child's ``radius_m`` when given, else
  :func:`default_radius` of the bone length; a joint with no bone to it and none from it (a lone root) gets a
  sphere;
- a character with no skeleton is a 1.8 m capsule of radius 0.25 standing on its origin, carried by the entity.
"""

from __future__ import annotations

import msgspec
import numpy as np

from . import kinematics, quat
from .body_specs import TEMPLATE_VOLUMES
from .templates import TEMPLATES, template_joints

__all__ = ["Volume", "SHAPES", "NO_SKELETON", "default_radius", "body_volumes", "template_volumes", "unit_scale",
           "capsule_segment", "rest_matrices", "volume_json"]

SHAPES = ("capsule", "ellipsoid", "box")
NO_SKELETON = (0.25, 1.8)
"""(radius, height) of the capsule body of a character without a skeleton."""


class Volume(msgspec.Struct, frozen=True, kw_only=True):
    """One volume of a body, in its joint's frame (see the module docstring). ``joint`` None: the entity's frame."""

    name: str
    group: str
    joint: str | None
    shape: str
    center: tuple[float, float, float]
    rotation: tuple[float, float, float, float]
    half: tuple[float, float, float]


def default_radius(length: float) -> float:
    """Radius of a custom skeleton's bone of ``length`` metres without ``radius_m``: 15 % of it, 2–15 cm."""
    return float(np.clip(0.15 * float(length), 0.02, 0.15))


def _frame(a: np.ndarray, b: np.ndarray, across: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Rotation (3, 3) (columns: local X, Y, Z) with Y along a→b and X towards ``across``; centre; half length."""
    d = b - a
    length = float(np.linalg.norm(d))
    y = d / length if length > 1e-9 else np.array([0.0, 1.0, 0.0])
    for hint in (across, np.array([1.0, 0, 0]), np.array([0, 0, 1.0])):
        x = hint - (hint @ y) * y
        if np.linalg.norm(x) > 1e-6:
            break
    x = x / np.linalg.norm(x)
    return np.stack([x, y, np.cross(x, y)], axis=1), (a + b) / 2, length / 2


_AXIS = {"x": np.array([1.0, 0, 0]), "y": np.array([0, 1.0, 0]), "z": np.array([0, 0, 1.0])}


def _volume(name, group, joint, shape, a, b, across, rx, rz, rest: np.ndarray) -> Volume:
    """A volume from rest-space points a, b (3,), carried by the joint whose rest global matrix is ``rest``."""
    r_w, c_w, half_len = _frame(a, b, across)
    if shape == "capsule":
        half_len += min(rx, rz)
    inv = np.linalg.inv(rest)
    r_j = inv[:3, :3] @ r_w
    c_j = inv[:3, :3] @ c_w + inv[:3, 3]
    q = quat.from_matrix(r_j)
    return Volume(name=name, group=group, joint=joint, shape=shape, center=tuple(float(v) + 0.0 for v in c_j),
                  rotation=tuple(float(v) + 0.0 for v in q), half=(float(rx), float(half_len), float(rz)))


def _template_of(joints: list[dict]) -> tuple[str, float] | None:
    """(template name, scale) when ``joints`` have exactly a template's names and parents and give no radius."""
    if any("radius_m" in j for j in joints):
        return None
    mine = {(j["name"], j["parent"]) for j in joints}
    for name in TEMPLATES:
        ref = template_joints(name)
        if mine == {(j["name"], j["parent"]) for j in ref} and len(joints) == len(ref):
            total = sum(float(np.linalg.norm(j["offset"])) for j in joints)
            base = sum(float(np.linalg.norm(j["offset"])) for j in ref)
            return (name, total / base) if total > 0 else None
    return None


def rest_matrices(joints: list[dict]) -> tuple[kinematics.Rig, np.ndarray]:
    """(rig, rest global joint matrices (J, 4, 4) in the entity frame) of a normalised skeleton."""
    rig = kinematics.rig(joints)
    return rig, kinematics.forward_kinematics(rig.parents, rig.offsets, rig.rest)


def body_volumes(joints: list[dict] | None) -> tuple[Volume, ...]:
    """The volumes of a normalised skeleton (:func:`core.skeleton.normalize_joints`), or of a character without
    one (``None`` or ``[]``). See the module docstring for which volumes a skeleton gets."""
    if not joints:
        r, h = NO_SKELETON
        return (Volume(name="body", group="trunk", joint=None, shape="capsule", center=(0.0, h / 2, 0.0),
                       rotation=(0.0, 0.0, 0.0, 1.0), half=(r, h / 2, r)),)
    rig, rest = rest_matrices(joints)
    where = {n: i for i, n in enumerate(rig.names)}
    pos = rest[:, :3, 3]
    found = _template_of(joints)
    out = []
    if found is not None:
        name, scale = found
        for vname, group, joint, shape, a, b, across, rx, rz in TEMPLATE_VOLUMES[name]:
            pa, pb = (pos[where[p[0]]] + scale * np.array(p[1:]) for p in (a, b))
            out.append(_volume(vname, group, joint, shape, pa, pb, _AXIS[across], rx * scale, rz * scale,
                               rest[where[joint]]))
        return tuple(out)
    has_child = {j["parent"] for j in joints}
    for k, j in enumerate(joints):
        p = j["parent"]
        if p is None:
            if j["name"] not in has_child:
                r = float(j.get("radius_m", 0.05))
                out.append(Volume(name=j["name"], group="trunk", joint=j["name"], shape="ellipsoid",
                                  center=(0.0, 0.0, 0.0), rotation=(0.0, 0.0, 0.0, 1.0), half=(r, r, r)))
            continue
        a, b = pos[where[p]], pos[k]
        length = float(np.linalg.norm(b - a))
        if length < 1e-6:
            continue
        r = float(j["radius_m"]) if "radius_m" in j else default_radius(length)
        d = np.abs(b - a)
        across = _AXIS["xyz"[int(np.argmin(d))]]
        out.append(_volume(j["name"], "trunk", p, "capsule", a, b, across, r, r, rest[where[p]]))
    return tuple(out)


def template_volumes(name: str, scale: float = 1.0) -> tuple[Volume, ...]:
    """The volumes of template ``name`` at ``scale`` (ValueError for an unknown template or a bad scale)."""
    return body_volumes(template_joints(name, scale))


def unit_scale(v: Volume) -> tuple[float, float, float]:
    """The scale that maps the volume's unit shape onto it: the unit sphere (ellipsoid), the cube [−1, 1]³ (box),
    or the radius-1 capsule of half length ``half[1] / cap − 1`` between its sphere centres (capsule)."""
    hx, hy, hz = v.half
    if v.shape == "capsule":
        return (hx, min(hx, hz), hz)
    return (hx, hy, hz)


def capsule_segment(v: Volume) -> float:
    """A capsule's half length between its sphere centres in its unit shape (0 for the other shapes)."""
    return v.half[1] / min(v.half[0], v.half[2]) - 1.0 if v.shape == "capsule" else 0.0


def volume_json(v: Volume) -> dict:
    """A volume as JSON-ready data: ``{name, group, joint, shape, center, rotation, half}`` (lists, not tuples)."""
    return msgspec.json.decode(msgspec.json.encode(v))
