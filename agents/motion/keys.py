"""From synthesised motion to keys: fewest linear keys that reproduce every frame, people's keys as pins, and the
ops that replace only the agent's own keys.

- Key reduction: a track keeps the keys a greedy pass needs so that linear interpolation (slerp for rotations)
  between kept keys reproduces the motion at every whole frame within a tolerance — tight on the root and legs
  (0.01°, 0.1 mm), looser elsewhere (0.1°).
- Pins: a key on a driven track whose ``by`` is not the agent is a person's (or another agent's). It is never
  overwritten nor removed; the agent's motion is bent to pass through it — the difference at the pin (a rotation,
  or a vector for root motion) is added in full at the pin and faded out over :data:`PIN_FADE_S` either side
  (between two pins closer than that, interpolated from one to the other) — and the agent writes no key at a
  pinned frame.
- Ops: ``key.set`` (interp ``linear``) for the new keys; ``key.remove`` for the agent's old keys on the tracks it
  drove or drives, over the range it solved or solves, that the new keys do not replace.
"""

from __future__ import annotations

import numpy as np

from core import ops as O
from core import quat
from core.tolerances import EPS_FRAME
from core.world import World

__all__ = ["reduce_track", "Pin", "pins_on", "apply_pins", "track_ops", "PIN_FADE_S", "TOL_TIGHT_RAD",
           "TOL_LOOSE_RAD", "TOL_POS_M"]

PIN_FADE_S = 0.5
TOL_TIGHT_RAD = np.radians(0.01)
TOL_LOOSE_RAD = np.radians(0.1)
TOL_POS_M = 1e-4


def _slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Unit quaternions a, b (4,) → slerp at t (K,), the short way (no input checks: values are ours)."""
    d = float(np.dot(a, b))
    if d < 0:
        b, d = -b, -d
    if d > 1.0 - 1e-12:
        out = a[None] + (b - a)[None] * t[:, None]
        return out / np.linalg.norm(out, axis=-1, keepdims=True)
    th = np.arccos(min(d, 1.0))
    s = np.sin(th)
    return (np.sin((1 - t) * th)[:, None] * a + np.sin(t * th)[:, None] * b) / s


def _fits(values: np.ndarray, i: int, j: int, is_quat: bool, tol: float) -> bool:
    """Whether interpolating between keys i and j reproduces every sample between them within ``tol``."""
    if j - i < 2:
        return True
    ks = np.arange(i + 1, j)
    t = (ks - i) / (j - i)
    if is_quat:
        interp = _slerp(values[i], values[j], t)
        d = np.abs(np.sum(interp * values[ks], axis=-1))
        return bool(2.0 * np.arccos(np.clip(d.min(), 0.0, 1.0)) <= tol)
    interp = values[i] + (values[j] - values[i]) * t[:, None]
    return bool(np.linalg.norm(interp - values[ks], axis=-1).max() <= tol)


def reduce_track(values: np.ndarray, is_quat: bool, tol: float) -> np.ndarray:
    """Indices of the keys to keep (first and last always) so that linear / slerp interpolation between them stays
    within ``tol`` (radians or metres) of ``values`` (F, D) at every index. Greedy: from each kept key the
    furthest next key that fits, found by doubling then bisection (deterministic)."""
    n = values.shape[0]
    if n <= 2:
        return np.arange(n)
    keep = [0]
    i = 0
    while i < n - 1:
        step = 2
        good = i + 1
        while i + step < n and _fits(values, i, i + step, is_quat, tol):
            good = i + step
            step *= 2
        lo, hi = good, min(i + step, n)            # good fits; hi does not (or is past the end)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _fits(values, i, mid, is_quat, tol):
                lo = mid
            else:
                hi = mid
        keep.append(lo)
        i = lo
    return np.array(keep)


class Pin:
    """A key on a driven track the agent does not own."""

    def __init__(self, path: str, frame: float, value, by: str):
        self.path, self.frame, self.value, self.by = path, float(frame), value, by

    def to_json(self) -> dict:
        return {"path": self.path, "frame": self.frame, "by": self.by}


def pins_on(world: World, eid: str, paths: list[str], lo: float, hi: float, me: str) -> list[Pin]:
    e = world.entities[eid]
    out = []
    for p in sorted(paths):
        for k in e.tracks.get(p, []):
            if k.by != me and lo - EPS_FRAME <= k.frame <= hi + EPS_FRAME:
                out.append(Pin(p, k.frame, k.value, k.by))
    return out


def _sample(values: np.ndarray, frames: np.ndarray, f: float, is_quat: bool) -> np.ndarray:
    k = int(np.clip(np.searchsorted(frames, f) - 1, 0, len(frames) - 2)) if len(frames) > 1 else 0
    if len(frames) == 1:
        return values[0]
    t = float(np.clip((f - frames[k]) / (frames[k + 1] - frames[k]), 0.0, 1.0))
    if is_quat:
        return quat.slerp(values[k], values[k + 1], t)
    return values[k] + (values[k + 1] - values[k]) * t


def apply_pins(values: np.ndarray, frames: np.ndarray, pins: list[Pin], is_quat: bool, fps: float) -> np.ndarray:
    """``values`` (F, D) bent through the pins (sorted by frame) of one track; see the module docstring."""
    if not pins:
        return values
    fade = max(PIN_FADE_S * fps, 1.0)
    deltas = []
    for p in pins:
        own = _sample(values, frames, p.frame, is_quat)
        v = np.asarray(p.value, dtype=np.float64)
        if is_quat:
            v = quat.normalize(v)
            d = quat.multiply(v, quat.conjugate(own))
            d = d if d[3] >= 0 else -d
        else:
            d = v - own
        deltas.append(d)
    pf = np.array([p.frame for p in pins])
    out = values.copy()
    ident = quat.identity() if is_quat else np.zeros(values.shape[1])
    for n, f in enumerate(frames):
        k = int(np.searchsorted(pf, f))
        # the pins either side of this frame, their deltas faded by distance; between close pins interpolate
        if k > 0 and k < len(pf) and pf[k] - pf[k - 1] <= 2 * fade:
            t = (f - pf[k - 1]) / (pf[k] - pf[k - 1])
            t = t * t * (3 - 2 * t)
            d = quat.slerp(deltas[k - 1], deltas[k], t) if is_quat else deltas[k - 1] + (deltas[k] - deltas[k - 1]) * t
        else:
            j = k - 1 if k == len(pf) or (k > 0 and f - pf[k - 1] <= pf[k] - f) else k
            x = max(0.0, 1.0 - abs(f - pf[j]) / fade)
            w = x * x * (3 - 2 * x)
            d = quat.slerp(ident, deltas[j], w) if is_quat else deltas[j] * w
        out[n] = quat.multiply(d, values[n]) if is_quat else values[n] + d
    return out


def track_ops(world: World, eid: str, path: str, frames: np.ndarray, values: np.ndarray, keep: np.ndarray,
              pins: list[Pin], old_range: tuple[float, float] | None, new_range: tuple[float, float], me: str) -> list:
    """Ops for one track: remove the agent's keys in the old and new ranges that no new key replaces, then set the
    new keys (none at a pinned frame)."""
    e = world.entities[eid]
    pinned = {round(p.frame / EPS_FRAME) for p in pins}
    new = {}
    for k in keep:
        f = float(frames[k])
        if round(f / EPS_FRAME) in pinned:
            continue
        new[round(f / EPS_FRAME)] = (f, values[k])
    ops: list = []
    for key in e.tracks.get(path, []):
        if key.by != me:
            continue
        inside = new_range[0] - EPS_FRAME <= key.frame <= new_range[1] + EPS_FRAME or (
            old_range is not None and old_range[0] - EPS_FRAME <= key.frame <= old_range[1] + EPS_FRAME)
        if inside and round(key.frame / EPS_FRAME) not in new:
            ops.append(O.KeyRemove(id=eid, path=path, frame=key.frame))
    for _, (f, v) in sorted(new.items()):
        ops.append(O.KeySet(id=eid, path=path, frame=f, value=[float(x) + 0.0 for x in v], interp="linear"))
    return ops
