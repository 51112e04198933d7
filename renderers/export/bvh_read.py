"""Reading BVH motion-capture files (pure text → arrays).

HIERARCHY with ROOT / JOINT / End Site, OFFSET, CHANNELS; MOTION with Frames and Frame Time — the conventions
:mod:`renderers.export.bvh` writes: rotation channels compose in their listed order (``Zrotation Xrotation
Yrotation`` is R = Rz · Rx · Ry, intrinsic), position channels replace the OFFSET on their axes, degrees and the
file's length unit (read as metres). Errors name the line of the first problem.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from core import quat
from core.skeleton import MAX_JOINTS

from .importer import ImportError_

__all__ = ["Bvh", "BvhError", "parse", "MAX_FRAMES"]

MAX_FRAMES = 100_000
_AXES = {"X": (1.0, 0.0, 0.0), "Y": (0.0, 1.0, 0.0), "Z": (0.0, 0.0, 1.0)}
_CHANNELS = {f"{a}{k}" for a in "XYZ" for k in ("position", "rotation")}


class BvhError(ImportError_):
    """A BVH file that cannot be read, or cannot be put on the character."""


@dataclass(frozen=True)
class Bvh:
    names: tuple[str, ...]
    parents: np.ndarray                 # (J,) −1 for the root, parents first
    offsets: np.ndarray                 # (J, 3)
    channels: tuple[tuple[str, ...], ...]
    frame_time: float                   # seconds
    motion: np.ndarray                  # (F, C) channel values in file order

    def locals(self) -> tuple[np.ndarray, np.ndarray]:
        """Local rotations (F, J, 4) and translations (F, J, 3) (the OFFSET, with position channels replacing
        their axes)."""
        n_f, n_j = self.motion.shape[0], len(self.names)
        rot = quat.identity((n_f, n_j))
        pos = np.broadcast_to(self.offsets, (n_f, n_j, 3)).copy()
        col = 0
        for j, chans in enumerate(self.channels):
            for c in chans:
                v = self.motion[:, col]
                col += 1
                if c.endswith("position"):
                    pos[:, j, "XYZ".index(c[0])] = v
                else:
                    q = quat.from_axis_angle(np.broadcast_to(_AXES[c[0]], (n_f, 3)), np.radians(v))
                    rot[:, j] = quat.multiply(rot[:, j], q)
        return rot, pos


def _tokens(text: str):
    for i, line in enumerate(text.splitlines(), 1):
        for tok in re.findall(r"[{}]|[^\s{}]+", line):
            yield i, tok


def parse(text: str) -> Bvh:
    """Read a BVH file; raises BvhError naming the line of the first problem."""
    toks = list(_tokens(text))
    pos = 0

    def take(what: str) -> tuple[int, str]:
        nonlocal pos
        if pos >= len(toks):
            raise BvhError(f"BVH ends early: expected {what}", "file")
        pos += 1
        return toks[pos - 1]

    def number(what: str) -> float:
        line, tok = take(what)
        try:
            v = float(tok)
        except ValueError:
            raise BvhError(f"line {line}: expected {what}, got {tok!r}", "file") from None
        if not math.isfinite(v):
            raise BvhError(f"line {line}: {what} is not finite", "file")
        return v

    line, tok = take("HIERARCHY")
    if tok != "HIERARCHY":
        raise BvhError(f"line {line}: a BVH file starts with HIERARCHY, got {tok!r}", "file")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []

    def joint(parent: int) -> None:
        line, name = take("a joint name")
        idx = len(names)
        if idx >= MAX_JOINTS:
            raise BvhError(f"line {line}: more than {MAX_JOINTS} joints", "file")
        names.append(name)
        parents.append(parent)
        offsets.append(None)
        channels.append(())
        if take("{")[1] != "{":
            raise BvhError(f"line {line}: expected {{ after {name}", "file")
        while True:
            line, tok = take("}")
            if tok == "OFFSET":
                offsets[idx] = [number("an OFFSET value") for _ in range(3)]
            elif tok == "CHANNELS":
                n = number("a channel count")
                if n != int(n) or not 0 <= n <= 6:
                    raise BvhError(f"line {line}: bad channel count {n:g}", "file")
                chans = tuple(take("a channel")[1] for _ in range(int(n)))
                bad = [c for c in chans if c not in _CHANNELS]
                if bad:
                    raise BvhError(f"line {line}: unknown channel {bad[0]!r}", "file")
                channels[idx] = chans
            elif tok == "JOINT":
                joint(idx)
            elif tok == "End":
                take("Site")
                depth = 0
                while True:                       # End Site { OFFSET x y z }: nothing we need
                    _, t = take("}")
                    depth += t == "{"
                    depth -= t == "}"
                    if depth == 0:
                        break
            elif tok == "}":
                if offsets[idx] is None:
                    raise BvhError(f"line {line}: joint {name} has no OFFSET", "file")
                return
            else:
                raise BvhError(f"line {line}: unexpected {tok!r} in joint {name}", "file")

    line, tok = take("ROOT")
    if tok != "ROOT":
        raise BvhError(f"line {line}: expected ROOT, got {tok!r}", "file")
    joint(-1)
    line, tok = take("MOTION")
    if tok != "MOTION":
        raise BvhError(f"line {line}: expected MOTION (one ROOT per file), got {tok!r}", "file")
    if take("Frames:")[1] != "Frames:":
        raise BvhError("MOTION must give 'Frames:'", "file")
    n_frames = number("the frame count")
    if n_frames != int(n_frames) or not 1 <= n_frames <= MAX_FRAMES:
        raise BvhError(f"the frame count must be 1–{MAX_FRAMES}, got {n_frames:g}", "file")
    if (take("Frame")[1], take("Time:")[1]) != ("Frame", "Time:"):
        raise BvhError("MOTION must give 'Frame Time:'", "file")
    frame_time = number("the frame time")
    if not frame_time > 0:
        raise BvhError(f"the frame time must be > 0, got {frame_time:g}", "file")
    n_c = sum(len(c) for c in channels)
    values = [t for _, t in toks[pos:]]
    if len(values) != int(n_frames) * n_c:
        raise BvhError(f"MOTION has {len(values)} values; {int(n_frames)} frames × {n_c} channels need "
                       f"{int(n_frames) * n_c}", "file")
    try:
        motion = np.array(values, dtype=np.float64).reshape(int(n_frames), n_c)
    except ValueError:
        raise BvhError("MOTION holds something that is not a number", "file") from None
    if not np.all(np.isfinite(motion)):
        raise BvhError("MOTION holds a non-finite value", "file")
    return Bvh(tuple(names), np.array(parents, dtype=np.int64), np.array(offsets, dtype=np.float64),
               tuple(channels), float(frame_time), motion)
