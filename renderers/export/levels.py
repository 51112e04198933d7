"""Representation levels of a world's entities (SPEC §7.2): :mod:`core.levels` computes them (re-exported here);
this module adds the JSON Schema of what an entity carries at each level (msgspec structs, each level extending
the one below), served at ``GET /v1/schema/world``.
"""

from __future__ import annotations

import msgspec

from core.levels import LEVELS, bounds, entity_levels, summary

__all__ = ["LEVELS", "entity_levels", "summary", "world_schema", "bounds"]


# ------------------------------------------------------------------ schema

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
Matrix = tuple[tuple[float, float, float, float], tuple[float, float, float, float],
               tuple[float, float, float, float], tuple[float, float, float, float]]


class EntityL0(msgspec.Struct, kw_only=True):
    """L0: category and bounding volume."""

    kind: str
    bounds: tuple[Vec3, Vec3]
    level: str | None = None    # as the sampled world reports it (core.levels)


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
