"""Representation levels (SPEC §7.2): each entity's level and what it lacks for the next; the schema per level."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from core import ops as O
from core.edit import apply
from core.sampling import sample_json
from renderers.export import levels as L
from tests.unit.test_export_world import rich_world


def test_levels_of_the_export_world():
    w = rich_world()
    apply(w, [O.EntityCreate(id="bare", kind="prop")], "user:test")
    lv = L.entity_levels(w, is_mesh_asset=lambda a: a == "statue-01")
    got = {eid: v["level"] for eid, v in lv.items()}
    assert got["bare"] == "L0" and lv["bare"]["lacks"] == ["a geometry (a primitive or an asset) to stand in for it"]
    assert got["ghost"] == "L1" and lv["ghost"]["lacks"] == ["a skeleton"]           # a character without one
    assert got["sun"] == "L1" and got["key"] == "L2"                                  # lights: animated or not
    assert got["alice"] == "L2" and lv["alice"]["lacks"] == ["a mesh asset with materials"]
    assert got["floor"] == "L2" and got["cam_a"] == "L2"
    assert lv["cam_a"]["lacks"] == ["a surface (a camera has none)"]
    assert got["statue"] == "L3"                                                      # an imported mesh
    assert lv["statue"]["lacks"] == ["physical properties (mass, friction: not in the attribute registry yet) "
                                     "and a behaviour (a directive driving it)"]
    counts = L.summary(w, lambda a: a == "statue-01")["counts"]
    assert counts == {"L0": 1, "L1": 3, "L2": 10, "L3": 1, "L4": 0} and sum(counts.values()) == len(w.entities)


def test_a_built_in_asset_is_not_a_mesh():
    w = rich_world()
    assert L.entity_levels(w)["statue"]["level"] == "L2"


def test_bounds_stand_on_the_pivot():
    w = rich_world()
    np.testing.assert_allclose(L.bounds(w.entities["table.main"]), [[-0.8, 0.0, -0.45], [0.8, 0.75, 0.45]])
    lo, hi = L.bounds(w.entities["alice"])                 # the white-box body at rest: feet on the pivot
    assert hi[1] == pytest.approx(1.75) and lo[1] == pytest.approx(0.0, abs=1e-9) and hi[0] > 0.9
    assert L.bounds(w.entities["ghost"]) == [[-0.25, 0.0, -0.25], [0.25, 1.8, 0.25]]    # no skeleton: a capsule
    assert L.bounds(w.entities["cam_a"]) == [[0.0] * 3, [0.0] * 3]


def test_the_sampled_world_reports_each_entitys_level():
    w = rich_world()
    mesh = lambda a: a == "statue-01"  # noqa: E731
    d = sample_json(w, 10, mesh)["entities"]
    want = L.entity_levels(w, mesh)
    assert {eid: e["level"] for eid, e in d.items()} == {eid: v["level"] for eid, v in want.items()}
    assert d["statue"]["level"] == "L3" and sample_json(w, 10)["entities"]["statue"]["level"] == "L2"


def test_schema_describes_a_sampled_entity_at_each_level():
    s = L.world_schema()
    assert set(s["levels"]) == set(L.LEVELS)
    l1 = s["$defs"]["EntityL1"]
    assert {"kind", "bounds", "position", "rotation", "scale", "matrix"} <= set(l1["required"])
    assert {"mass_kg", "friction", "behaviours", "asset"} <= set(s["$defs"]["EntityL4"]["required"])
    # a sampled entity of the world, with its bounds, decodes as an L1 entity
    w = rich_world()
    d = dict(sample_json(w, 10)["entities"]["vase"])
    d["bounds"] = L.bounds(w.entities["vase"])
    d["geometry"] = w.entities["vase"].props["geometry"]
    e = msgspec.convert({k: d[k] for k in ("kind", "bounds", "position", "rotation", "scale", "matrix", "geometry")},
                        L.EntityL1)
    assert e.kind == "prop"
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"kind": "prop"}, L.EntityL1)
