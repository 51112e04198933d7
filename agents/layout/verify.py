"""Verifying a layout on the real world model: apply the ops to a copy of the world with :func:`core.edit.apply`,
sample it (:mod:`agents.geometry` uses :func:`core.sampling.sample`) and run the seed's checks on the result.

This is the same geometry the repair agents use, so a layout that passes here gives them nothing to repair:
no interpenetration deeper than :data:`agents.geometry.CONTACT_TOL_M` (except between an entity and what carries
it), every prop resting on its ``supports`` object (or held through ``attached_to``), every footprint inside a
walkable area, every visible mesh coloured, every world matrix finite and every geometry valid.
"""

from __future__ import annotations

import copy

import numpy as np

from agents import geometry as G
from core import edit, values
from core.sampling import sample
from core.world import World

__all__ = ["verify"]

SUPPORT_TOL_M = 2e-3


def verify(world: World, ops: list, actor: str, ids: list[str], asset_size=None) -> tuple[World, list[dict]]:
    """Apply ``ops`` to a copy of ``world`` and check the entities ``ids``; returns (new world, failures).

    Raises :class:`core.edit.OpError` when the ops do not apply at all.
    """
    w = copy.deepcopy(world)
    edit.apply(w, ops, actor)
    frame = float(w.frame_start)
    shapes = G.shapes_at(w, [frame], asset_size=asset_size)[frame]
    mine = {i: shapes[i] for i in ids if i in shapes}
    fails: list[dict] = []
    rels = list(w.relations.values())
    pairs = {frozenset((r.subject, r.object)) for r in rels if r.kind in ("supports", "attached_to")}
    pairs |= {frozenset((e.id, e.parent)) for e in w.entities.values() if e.parent}
    for c in G.intersections(mine, shapes, ignore=pairs):
        if c.a in mine and c.b in mine and c.a > c.b:
            continue  # each pair of our own once
        fails.append({"check": "collision", "subject": c.a, "object": c.b,
                      "detail": f"{c.a} intersects {c.b} by {c.depth:.3f} m"})
    areas = G.walkable_areas(shapes)
    held = {r.subject for r in rels if r.kind == "attached_to"}
    supported = {r.subject: r.object for r in sorted(rels, key=lambda r: r.id) if r.kind == "supports"}
    s = sample(w, [frame])
    index = {eid: i for i, eid in enumerate(s.ids)}
    for eid in ids:
        e = w.entities.get(eid)
        if e is None:
            fails.append({"check": "exportable", "subject": eid, "detail": f"{eid} was not created"})
            continue
        m = s.matrices[0, index[eid]]
        if not np.isfinite(m).all():
            fails.append({"check": "exportable", "subject": eid, "detail": f"{eid} has a non-finite matrix"})
        geo = e.props.get("geometry")
        if e.kind in ("prop", "environment"):
            try:
                values.geometry(geo)
            except ValueError as ex:
                fails.append({"check": "exportable", "subject": eid, "detail": f"{eid}: {ex}"})
            if "color" not in e.props:
                fails.append({"check": "colour", "subject": eid, "detail": f"{eid} has no colour"})
        sh = mine.get(eid)
        if sh is None or e.kind == "environment":
            continue
        if areas and not any(all(G.contains_point(a, p, tol=1e-3 * max(1.0, float(np.abs(a).max())))
                                  for p in sh.footprint) for a in areas.values()):
            fails.append({"check": "bounds", "subject": eid, "detail": f"{eid} stands outside every floor"})
        if eid in held:
            continue
        surface = G.support_surface_below(sh, shapes, only=supported.get(eid))
        if abs(surface.top - sh.base_y) > SUPPORT_TOL_M:
            what = surface.id or "the ground"
            fails.append({"check": "supports", "subject": eid, "object": surface.id,
                          "detail": f"{eid} is {sh.base_y - surface.top:+.3f} m off {what}"})
    return w, fails
