"""Small signal helpers for camera paths: Gaussian smoothing, running minimum, frame ranges as text."""

from __future__ import annotations

import numpy as np

__all__ = ["smooth", "running_min", "ranges"]


def smooth(x: np.ndarray, sigma: float, hold: bool = False) -> np.ndarray:
    """Gaussian smoothing along axis 0 (sigma in samples; the kernel is cut at min(3σ, n − 1)); the ends are
    extended by odd reflection, or held with ``hold``."""
    if sigma <= 1e-6 or len(x) < 3:
        return x.copy()
    r = min(int(np.ceil(3 * sigma)), len(x) - 1)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    # odd reflection at the ends keeps a steady motion steady (a held edge would drag the start towards the
    # future and the end towards the past)
    if hold:
        pad = np.concatenate([np.repeat(x[:1], r, axis=0), x, np.repeat(x[-1:], r, axis=0)])
    else:
        pad = np.concatenate([2 * x[:1] - x[r:0:-1], x, 2 * x[-1:] - x[-2:-r - 2:-1]])
    out = np.zeros_like(x, dtype=np.float64)
    for j, w in enumerate(k):
        out += w * pad[j:j + len(x)]
    return out


def running_min(x: np.ndarray, r: int) -> np.ndarray:
    pad = np.concatenate([np.full(r, x[0]), x, np.full(r, x[-1])])
    return np.min(np.stack([pad[j:j + len(x)] for j in range(2 * r + 1)]), axis=0)


def ranges(frames) -> str:
    """Frames as compact ranges: ``3–7, 12``."""
    fs = [float(f) for f in frames]
    if not fs:
        return ""
    out, a, b = [], fs[0], fs[0]
    for f in fs[1:]:
        if f - b <= 1.0 + 1e-9:
            b = f
        else:
            out.append((a, b))
            a = b = f
    out.append((a, b))
    return ", ".join(f"{a:g}" if a == b else f"{a:g}–{b:g}" for a, b in out)
