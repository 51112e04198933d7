"""Importing GLB/OBJ assets: normalised to metres with a ground pivot, stored in PostgreSQL, found by text and
usable in a layout recipe."""

from __future__ import annotations

import asyncpg
import numpy as np
import pytest
import trimesh

from agents.assets.imports import (AssetImportError, MemoryAssetStore, PgAssetStore, import_asset, load_index,
                                   normalise)
from agents.assets.retrieval import default_embedder
from agents.layout.agent import LayoutAgent
from core import ops as O
from events.envelope import Actor, Event
from projections.migrate import migrate
from projections.reducer import ShotReducer


def _obj_in_centimetres() -> bytes:
    """A 50 × 120 × 30 cm box written as a unit-less OBJ, standing off-centre and below the origin."""
    m = trimesh.creation.box(extents=[50.0, 120.0, 30.0])
    m.apply_translation([200.0, -40.0, 15.0])
    return m.export(file_type="obj").encode()


def _glb_z_up() -> bytes:
    """A 0.4 × 0.6 × 2.0 m (x, y, z) box in a Z-up GLB: 2 m tall once turned Y up."""
    m = trimesh.creation.box(extents=[0.4, 0.6, 2.0])
    return m.export(file_type="glb")


def test_obj_in_centimetres_is_normalised_to_metres_with_a_ground_pivot():
    mesh, scale = normalise(_obj_in_centimetres(), "obj")
    assert scale == 0.01
    np.testing.assert_allclose(mesh.extents, [0.5, 1.2, 0.3], atol=1e-9)
    lo, hi = mesh.bounds
    np.testing.assert_allclose([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2], [0, 0, 0], atol=1e-9)


def test_explicit_unit_and_z_up():
    mesh, scale = normalise(_glb_z_up(), "glb", unit="m", up="z")
    np.testing.assert_allclose(mesh.extents, [0.4, 2.0, 0.6], atol=1e-9)
    assert mesh.bounds[0][1] == pytest.approx(0.0)


@pytest.mark.parametrize("data,kind", [(b"not a mesh at all", "glb"), (b"# empty obj\n", "obj"), (b"x", "fbx")])
def test_bad_files_are_refused(data, kind):
    with pytest.raises(AssetImportError):
        normalise(data, kind)


async def test_imports_survive_in_postgresql_and_are_found_by_text(database_url):
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await migrate(pool)
        store = PgAssetStore(pool)
        await import_asset(store, _obj_in_centimetres(), "obj", "u.hall-cabinet", "shoe cabinet",
                           synonyms=["shoe rack", "hallway cupboard"], description="narrow cabinet for shoes",
                           created_by="user:ann")
        await import_asset(store, _glb_z_up(), "glb", "u.totem", "carved totem pole", up="z",
                           category="props", description="tall carved wooden pole")
        with pytest.raises(AssetImportError):
            await import_asset(store, _glb_z_up(), "glb", "sofa", "my sofa")  # a built-in id
    finally:
        await pool.close()
    # a new connection (a restarted process) finds them again
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        store = PgAssetStore(pool)
        got = await store.get("u.hall-cabinet")
        assert got is not None and got.asset.dims == pytest.approx((0.5, 1.2, 0.3))
        assert got.created_by == "user:ann"
        back = trimesh.load(__import__("io").BytesIO(got.mesh_glb), file_type="glb", force="mesh")
        np.testing.assert_allclose(back.extents, [0.5, 1.2, 0.3], atol=1e-6)
        index = await load_index(store, default_embedder())
        assert index.best("a rack for shoes").asset.id == "u.hall-cabinet"
        assert index.best("totem pole").asset.id == "u.totem"
        assert index.best("couch").asset.id == "sofa"  # the built-ins are still there
        # and a layout can use the import by id or by text
        agent = LayoutAgent(index)
        red = ShotReducer("p", "s")
        recipe = {"kind": "indoor", "room": {"size": [4.0, 3.0]},
                  "objects": [{"id": "cab", "asset": "u.hall-cabinet", "against": "north"},
                              {"id": "pole", "text": "totem pole"}]}
        ev = Event(event_id="e1", command_id="c1", project="p", shot="s", actor=Actor(kind="user", id="ann"),
                   ops=[O.DirectiveAdd(id="hall", agent="layout", params={"recipe": recipe})])
        assert red.apply(1, ev).applied
        (p,) = agent.decide(red.world, ev, 1)
        assert red.apply(2, Event(event_id="e2", command_id="c2", project="p", shot="s",
                                  actor=Actor(kind="agent", id="layout"), ops=p.ops)).applied
        report = red.world.directives["hall"].params["report"]
        assert report["status"] == "done", report
        assert report["entities"]["hall.cab-1"]["asset"] == "u.hall-cabinet"
        assert red.world.entities["hall.pole-1"].props["geometry"]["size"] == pytest.approx([0.4, 2.0, 0.6])
        assert await store.delete("u.totem") and await store.get("u.totem") is None
    finally:
        await pool.close()


async def test_memory_twin_behaves_like_the_store():
    store = MemoryAssetStore()
    item = await import_asset(store, _obj_in_centimetres(), "obj", "u.cab", "cabinet")
    assert (await store.get("u.cab")) == item
    assert [i.asset.id for i in await store.list()] == ["u.cab"]
