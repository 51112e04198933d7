"""Representation levels L0–L4 of a world's entities (SPEC §7.2), computed from the world, never stored; and the
JSON Schema of what an entity carries at each level.

An entity is at the highest level whose requirements it meets together with every level below:

- **L0** category + bounding volume — every entity: its kind, and a local bounding box (the geometry's, the
  body's, or a point for cameras and lights).
- **L1** a primitive or asset proxy with a 6-DoF pose — props and environments with a ``geometry``; characters
  (their white-box body); cameras and lights (their pose and lens or emitter are their proxy).
- **L2** articulated or animated — a character with a skeleton, a camera or light with an animated track.
  Props and environments are rigid: a 6-DoF pose is all the motion they have, so L1 meets L2 for them (else a
  static statue with a detailed mesh could never be L3, which is what L3 is for).
- **L3** a mesh asset with materials — ``geometry: {asset: id}`` naming a mesh asset (an imported one; the
  built-in catalogue's assets are parametric white boxes). Cameras and lights stop at L2: they have no surface.
- **L4** L3 plus physical properties (mass, friction) and behaviours (a directive driving it). The attribute
  registry has no mass or friction yet, so no entity reaches L4; ``lacks`` says so.

:func:`entity_levels` gives ``{id: {"level": "L2", "lacks": [what the next level needs]}}``; :func:`summary` the
counts per level; :func:`world_schema` the JSON Schema per level (msgspec structs, each level extending the one
below).
"""

from __future__ import annotations

from typing import Any, Callable

import msgspec
import numpy as np

__all__ = ["LEVELS", "entity_levels", "summary", "world_schema", "bounds"]

LEVELS = ("L0", "L1", "L2", "L3", "L4")


def bounds(e) -> list[list[float]]:
    """The entity's local bounding box ``[[min x, y, z], [max x, y, z]]`` (pivot at the bottom centre)."""
    from .. import geometry

    if e.kind in ("camera", "light"):
        return [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    if e.kind == "character":
        joints = e.props.get("skeleton")
        if not joints:
            r, h = geometry.BODY_RADIUS_M, geometry.BODY_HEIGHT_M
            return [[-r, 0.0, -r], [r, h, r]]
        from core import kinematics

        rig = kinematics.rig(joints)
        p = kinematics.forward_kinematics(rig.parents, rig.offsets, rig.rest)[:, :3, 3]
        pad = 0.06
        return [[float(x) - pad for x in p.min(axis=0)], [float(x) + pad for x in p.max(axis=0)]]
    shape = geometry.primitive_shape(e.props.get("geometry"))
    c = np.asarray(shape["center"], dtype=float)
    if shape["kind"] == "box":
        h = np.asarray(shape["half"], dtype=float)
    elif shape["kind"] == "sphere":
        h = np.full(3, shape["radius"])
    elif shape["kind"] == "cylinder":
        h = np.array([shape["radius"], shape["half_height"], shape["radius"]])
    elif shape["kind"] == "capsule":
        h = np.array([shape["radius"], shape["half_length"] + shape["radius"], shape["radius"]])
    else:  # plane
        h = np.array([shape["half"][0], 0.0, shape["half"][1]])
    return [[float(x) for x in c - h], [float(x) for x in c + h]]


def _driven(world) -> set[str]:
    """Entity ids a directive names in its params (its subject, camera, entity …)."""
    out: set[str] = set()

    def walk(v):
        if isinstance(v, str) and v in world.entities:
            out.add(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for d in world.directives.values():
        walk(d.params)
    return out


def entity_levels(world, is_mesh_asset: Callable[[str], bool] = lambda _id: False) -> dict[str, dict]:
    """``{id: {"kind", "level", "lacks"}}``; ``is_mesh_asset(asset_id)`` says whether an asset is a mesh (L3)."""
    driven = _driven(world)
    out: dict[str, dict] = {}
    for eid in sorted(world.entities):
        e = world.entities[eid]
        geometry = e.props.get("geometry")
        surface = e.kind in ("prop", "environment", "character")
        needs = [
            ("L1", e.kind in ("character", "camera", "light") or bool(geometry),
             "a geometry (a primitive or an asset) to stand in for it"),
            ("L2", e.kind in ("prop", "environment") or any(e.tracks.values())
             or (e.kind == "character" and bool(e.props.get("skeleton"))),
             "a skeleton" if e.kind == "character" else "an animated track"),
            ("L3", surface and isinstance(geometry, dict) and "asset" in geometry
             and is_mesh_asset(str(geometry["asset"])),
             "a mesh asset with materials" if surface else f"a surface (a {e.kind} has none)"),
            ("L4", False, "physical properties (mass, friction: not in the attribute registry yet)"
             + ("" if eid in driven else " and a behaviour (a directive driving it)")),
        ]
        level, lacks = "L0", []
        for name, ok, why in needs:
            if not ok:
                lacks.append(why)
                break
            level = name
        out[eid] = {"kind": e.kind, "level": level, "lacks": lacks}
    return out


def summary(world, is_mesh_asset: Callable[[str], bool] = lambda _id: False) -> dict[str, Any]:
    """``{"counts": {"L0": n, …}, "entities": entity_levels(…)}``."""
    levels = entity_levels(world, is_mesh_asset)
    counts = {name: 0 for name in LEVELS}
    for v in levels.values():
        counts[v["level"]] += 1
    return {"counts": counts, "entities": levels}


# ------------------------------------------------------------------ schema

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
Matrix = tuple[tuple[float, float, float, float], tuple[float, float, float, float],
               tuple[float, float, float, float], tuple[float, float, float, float]]


class EntityL0(msgspec.Struct, kw_only=True):
    """L0: category and bounding volume."""

    kind: str
    bounds: tuple[Vec3, Vec3]


class EntityL1(EntityL0, kw_only=True):
    """L1: a primitive or asset proxy with a 6-DoF pose (world, sampled at a frame)."""

    position: Vec3
    rotation: Quat
    scale: Vec3
    matrix: Matrix
    geometry: dict | None = None


class EntityL2(EntityL1, kw_only=True):
    """L2: articulated (joint world matrices) or animated (the paths that have tracks)."""

    joints: dict[str, Matrix] | None = None
    animated: list[str] = []


class EntityL3(EntityL2, kw_only=True):
    """L3: a mesh asset with materials."""

    asset: str
    materials: list[str] = []


class EntityL4(EntityL3, kw_only=True):
    """L4: physical properties and behaviours."""

    mass_kg: float
    friction: float
    behaviours: list[str]


_BY_LEVEL = {"L0": EntityL0, "L1": EntityL1, "L2": EntityL2, "L3": EntityL3, "L4": EntityL4}


def world_schema() -> dict:
    """JSON Schema (draft 2020-12) of an entity at each level and of a sampled world of entities at any level."""
    (defs_list, components) = msgspec.json.schema_components(list(_BY_LEVEL.values()),
                                                             ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "World Narrative sampled world, by representation level (SPEC §7.2)",
        "type": "object",
        "properties": {
            "seq": {"type": "integer"},
            "frame": {"type": "number"},
            "entities": {"type": "object", "additionalProperties": {"anyOf": defs_list}},
        },
        "levels": {name: {"$ref": f"#/$defs/{cls.__name__}"} for name, cls in _BY_LEVEL.items()},
        "$defs": components,
    }
