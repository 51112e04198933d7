"""Representation levels L0–L4 of a world's entities (SPEC §7.2), computed from the world, never stored.

An entity is at the highest level whose requirements it meets together with every level below:

- **L0** category + bounding volume — every entity: its kind, and a local bounding box (:func:`bounds`: the
  geometry's, the white-box body's at rest, or a point for cameras and lights).
- **L1** a primitive or asset proxy with a 6-DoF pose — props and environments with a ``geometry``; characters
  (their white-box body); cameras and lights (their pose and lens or emitter are their proxy).
- **L2** articulated or animated — a character with a skeleton, a camera or light with an animated track.
  Props and environments are rigid: a 6-DoF pose is all the motion they have, so L1 meets L2 for them (else a
  static statue with a detailed mesh could never be L3, which is what L3 is for).
- **L3** a mesh asset with materials — ``geometry: {asset: id}`` naming a mesh asset (an imported one; the
  built-in catalogue's assets are parametric white boxes: the caller says which are meshes, ``is_mesh_asset``).
  Cameras and lights stop at L2: they have no surface.
- **L4** L3 plus physical properties (mass, friction) and behaviours (a directive driving it). The attribute
  registry has no mass or friction yet, so no entity reaches L4; ``lacks`` says so.

:func:`entity_levels` gives ``{id: {"kind", "level": "L2", "lacks": [what the next level needs]}}`` (the sampled
world's ``level`` per entity, :func:`core.sampling.sample_json`); :func:`summary` the counts per level. The JSON
Schema per level is :func:`renderers.export.levels.world_schema`.
"""

from __future__ import annotations

from typing import Any, Callable

from . import bodies

__all__ = ["LEVELS", "entity_levels", "summary", "bounds", "PLACEHOLDER_SIZE_M"]

LEVELS = ("L0", "L1", "L2", "L3", "L4")
PLACEHOLDER_SIZE_M = 1.0
"""An ``{asset: id}`` without a known size, or no geometry, stands in as a cube of this side."""


def bounds(e) -> list[list[float]]:
    """The entity's local bounding box ``[[min x, y, z], [max x, y, z]]`` (pivot at the bottom centre; a character's
    white-box body at rest, :mod:`core.bodies`)."""
    if e.kind in ("camera", "light"):
        return [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    if e.kind == "character":
        b = bodies.body_bounds(bodies.body_of(e.props.get("skeleton")))
        return [[float(x) + 0.0 for x in row] for row in b]
    g = e.props.get("geometry")
    kind = g.get("primitive") if isinstance(g, dict) else None
    if kind == "box":
        w, h, d = (float(x) for x in g["size"])
    elif kind == "sphere":
        w = h = d = 2 * float(g["radius"])
    elif kind in ("cylinder", "capsule"):
        w = d = 2 * float(g["radius"])
        h = float(g["height"]) if kind == "cylinder" else max(float(g["height"]), w)
    elif kind == "plane":
        (w, d), h = (float(x) for x in g["size"]), 0.0
    else:  # an asset, or no geometry: the placeholder cube
        w = h = d = PLACEHOLDER_SIZE_M
    return [[-w / 2, 0.0, -d / 2], [w / 2, h, d / 2]]


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
