"""White-box geometry: the meshes a world renders as, and where each one sits at each frame.

Props and environments render their ``geometry`` primitive with its pivot at the bottom centre of its bounding
box (SPEC §4): trimesh builds primitives centred, so each mesh is shifted up to stand on its origin.
``{asset: id}`` renders as a 1 m placeholder box until assets are loaded. Characters render as their white-box
body (:mod:`core.bodies`: head and torso solids, limb capsules, hand and foot boxes, …, per template; a capsule
per bone for custom skeletons; a 1.8 m capsule without a skeleton). Cameras and lights do not render.

A :class:`Part` is one mesh of one entity; its world pose at frame ``f`` is ``base[f] @ local`` where ``base``
is the entity's world matrix or, for a body volume, its joint's global matrix (both from core's sampling).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

__all__ = ["Part", "RENDERED_KINDS", "primitive_mesh", "primitive_shape", "body_parts", "scene_parts", "part_poses",
           "instance_ids", "id_to_rgb"]

RENDERED_KINDS = ("prop", "environment", "character")
PLACEHOLDER_SIZE_M = 1.0


@dataclass
class Part:
    entity: str
    index: int                  # entity index in the WorldSample (E axis)
    mesh: object                # trimesh.Trimesh, pivot as described above
    local: np.ndarray           # (4, 4) pose relative to the base
    joint: int | None = None    # None: base is the entity matrix; else the joint whose global matrix is the base
    smooth: bool = False
    shape: dict | None = None   # the analytic solid the mesh tessellates, in the mesh's frame (see primitive_shape)


def _stand(mesh):
    """Translate ``mesh`` so its bounding box's bottom centre is at the origin."""
    lo, hi = mesh.bounds
    mesh.apply_translation([-(lo[0] + hi[0]) / 2, -lo[1], -(lo[2] + hi[2]) / 2])
    return mesh


def _z_to_y(mesh):
    """trimesh builds cylinders and capsules along +Z; the world's up is +Y."""
    m = np.eye(4)
    m[:3, :3] = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]  # rotation of −90° about X: +Z → +Y
    mesh.apply_transform(m)
    return mesh


def _capsule(radius: float, height: float):
    import trimesh

    return _z_to_y(trimesh.creation.capsule(height=max(height - 2 * radius, 0.0), radius=radius, count=[16, 16]))


def _plane(w: float, d: float):
    import trimesh

    v = np.array([[-w / 2, 0, -d / 2], [w / 2, 0, -d / 2], [w / 2, 0, d / 2], [-w / 2, 0, d / 2]])
    faces = np.array([[0, 2, 1], [0, 3, 2], [0, 1, 2], [0, 2, 3]])  # up-facing pair, then down-facing pair
    return trimesh.Trimesh(np.concatenate([v, v]), np.concatenate([faces[:2], faces[2:] + 4]), process=False)


def primitive_mesh(geometry: dict | None):
    """The mesh of a ``geometry`` value, standing on its origin. Returns (mesh, smooth)."""
    import trimesh

    if not geometry or "asset" in geometry:
        return _stand(trimesh.creation.box(extents=[PLACEHOLDER_SIZE_M] * 3)), False
    kind = geometry["primitive"]
    if kind == "box":
        return _stand(trimesh.creation.box(extents=geometry["size"])), False
    if kind == "sphere":
        return _stand(trimesh.creation.icosphere(subdivisions=3, radius=geometry["radius"])), True
    if kind == "cylinder":
        return _stand(_z_to_y(trimesh.creation.cylinder(radius=geometry["radius"], height=geometry["height"],
                                                        sections=32))), False
    if kind == "capsule":
        return _stand(_capsule(geometry["radius"], geometry["height"])), True
    if kind == "plane":
        w, d = geometry["size"]
        return _plane(w, d), False
    raise ValueError(f"unknown primitive {kind!r}")


def primitive_shape(geometry: dict | None) -> dict:
    """The analytic solid that :func:`primitive_mesh` tessellates, in the same frame (standing on its origin),
    for ray casting (:mod:`renderers.raycast`). ``{"kind": box|sphere|cylinder|capsule|plane, "center": [x, y, z],
    "half": [hx, hy, hz]}`` for a box; ``"radius"`` for a sphere; ``"radius"`` and ``"half_height"`` (of the flat
    sides, along +Y) for a cylinder; ``"radius"`` and ``"half_length"`` (between the two sphere centres, along +Y)
    for a capsule; ``"half": [hx, hz]`` for a plane (y = 0, seen from both sides)."""
    if not geometry or "asset" in geometry:
        h = PLACEHOLDER_SIZE_M / 2
        return {"kind": "box", "center": [0.0, h, 0.0], "half": [h, h, h]}
    kind = geometry["primitive"]
    if kind == "box":
        half = [float(x) / 2 for x in geometry["size"]]
        return {"kind": "box", "center": [0.0, half[1], 0.0], "half": half}
    if kind == "sphere":
        r = float(geometry["radius"])
        return {"kind": "sphere", "center": [0.0, r, 0.0], "radius": r}
    if kind == "cylinder":
        h = float(geometry["height"]) / 2
        return {"kind": "cylinder", "center": [0.0, h, 0.0], "radius": float(geometry["radius"]), "half_height": h}
    if kind == "capsule":
        return _capsule_shape(float(geometry["radius"]), float(geometry["height"]), 0.0)
    if kind == "plane":
        w, d = geometry["size"]
        return {"kind": "plane", "center": [0.0, 0.0, 0.0], "half": [float(w) / 2, float(d) / 2]}
    raise ValueError(f"unknown primitive {kind!r}")


def _capsule_shape(radius: float, height: float, bottom: float) -> dict:
    """The solid of ``_capsule(radius, height)`` with its lowest point at y = ``bottom``."""
    half = max(height - 2 * radius, 0.0) / 2
    return {"kind": "capsule", "center": [0.0, bottom + radius + half, 0.0], "radius": radius, "half_length": half}


def _unit_mesh(shape: int, seg: float):
    """The unit shape of a body volume (:func:`core.bodies.unit_scale`): sphere, cube [−1, 1]³, or the radius-1
    capsule along +Y with half length ``seg`` between its sphere centres; and its analytic solid. The mesh is
    built once per shape and shared by every part that has it: treat it as read-only."""
    mesh, smooth, solid = _unit_mesh_built(shape, round(seg, 9))
    return mesh, smooth, dict(solid)


@functools.lru_cache(maxsize=1024)
def _unit_mesh_built(shape: int, seg: float):
    import trimesh

    if shape == 2:
        return (trimesh.creation.box(extents=[2.0, 2.0, 2.0]), False,
                {"kind": "box", "center": [0.0, 0.0, 0.0], "half": [1.0, 1.0, 1.0]})
    if shape == 1:
        return (trimesh.creation.icosphere(subdivisions=3, radius=1.0), True,
                {"kind": "sphere", "center": [0.0, 0.0, 0.0], "radius": 1.0})
    mesh = _z_to_y(trimesh.creation.capsule(height=2 * seg, radius=1.0, count=[16, 16]))
    return mesh, True, {"kind": "capsule", "center": [0.0, 0.0, 0.0], "radius": 1.0, "half_length": float(seg)}


def body_parts(world, eid: str, index: int) -> list[Part]:
    """The parts of one character: its white-box body's volumes (:mod:`core.bodies`), each a unit shape posed
    by ``local = T(center) · R(rotation) · S(unit scale)`` on its joint (or on the entity, without a skeleton)."""
    from core.bodies import body_of

    body = body_of(world.entities[eid].props.get("skeleton"))
    parts = []
    for k in range(len(body.volumes)):
        mesh, smooth, shape = _unit_mesh(int(body.shape[k]), float(body.seg[k]))
        local = body.local[k] @ np.diag([*body.scale[k], 1.0])
        joint = int(body.joint_index[k])
        parts.append(Part(eid, index, mesh, local, None if joint < 0 else joint, smooth, shape))
    return parts


def scene_parts(world, ids: list[str]) -> list[Part]:
    """Every mesh of the world's rendered entities; ``ids`` is the WorldSample's entity order."""
    parts: list[Part] = []
    for i, eid in enumerate(ids):
        e = world.entities[eid]
        if e.kind in ("prop", "environment"):
            mesh, smooth = primitive_mesh(e.props.get("geometry"))
            parts.append(Part(eid, i, mesh, np.eye(4), None, smooth, primitive_shape(e.props.get("geometry"))))
        elif e.kind == "character":
            parts.extend(body_parts(world, eid, i))
    return parts


def part_poses(part: Part, sample) -> np.ndarray:
    """(F, 4, 4) world pose of ``part`` at each sampled frame."""
    if part.joint is None:
        base = sample.matrices[:, part.index]
    else:
        base = sample.joints[part.entity].matrices[:, part.joint]
    return base @ part.local


def instance_ids(entity_ids) -> dict[str, int]:
    """Stable instance ids, 1 … 2²⁴−1 (0 is the background): the first three bytes of sha256(entity id).

    An id depends only on the entity's own id, so it is the same in every frame, pass and offset of a shot — an
    entity created or removed elsewhere never recolours the others. The (rare) collisions are resolved by
    rehashing, in sorted id order. The id written as RGB (r = id & 255, g = id >> 8 & 255, b = id >> 16) is the
    entity's colour in the instance pass."""
    out: dict[str, int] = {}
    taken = {0}
    for eid in sorted(entity_ids):
        salt = 0
        while True:
            digest = hashlib.sha256(f"{eid}#{salt}".encode() if salt else eid.encode()).digest()
            k = int.from_bytes(digest[:3], "little")
            if k not in taken:
                break
            salt += 1
        taken.add(k)
        out[eid] = k
    return out


def id_to_rgb(k: int) -> list[int]:
    return [k & 255, (k >> 8) & 255, (k >> 16) & 255]
