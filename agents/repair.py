"""What the repair agents share: which entities an event edited, which of them an agent may move, the frames to
check, how a move becomes ops (a static value or one key), simulating ops on a copy, and reason wording.

All functions are pure and deterministic (sorted ids, fixed frame order). Those given a
:class:`~agents.spatial.SpatialIndex` of the world read it instead of scanning every entity and relation (the same
answers); ``dirty`` names entities moved since the index was made (in a simulated copy).
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
import math

import numpy as np

from core import edit, tracks
from core import ops as O
from core.tolerances import EPS_FRAME
from core.world import World
from events.envelope import Event

__all__ = ["edited_entities", "changed_span", "movable", "keyed_frames", "first_keyed_frame", "check_frames",
           "touching_pairs", "move_ops", "simulate", "merge_ops", "describe_move", "fmt_frame", "POSITION", "Mover",
           "repair_each"]

POSITION = "transform.position"
_SHAPE_PATHS = ("transform.", "geometry", "joints.", "skeleton")
MAX_SAMPLED_FRAMES = 33


def edited_entities(world: World, event: Event) -> list[str]:
    """Ids of the entities whose shape or placement ``event`` changed and that still exist, sorted."""
    ids: set[str] = set()
    for op in event.ops:
        if isinstance(op, O.EntityCreate):
            ids.add(op.id)
        elif isinstance(op, (O.EntitySet, O.KeySet, O.KeyRemove, O.TrackClear, O.TrackShift)):
            if op.path.startswith(_SHAPE_PATHS):
                ids.add(op.id)
        elif isinstance(op, O.SkeletonSet):
            ids.add(op.id)
        elif isinstance(op, O.RelationAdd) and op.kind == "supports":
            ids.add(op.subject)
    return sorted(i for i in ids if i in world.entities)


def changed_span(world: World, event: Event, eid: str) -> tuple[float, float] | None:
    """The frames over which ``event`` may have moved ``eid`` (``world`` is after it), when the event only set or
    removed keys of its transform or joint tracks: from two keys before the first such key to two keys after the
    last (an ``auto`` key's slope follows its neighbours, so a key bends the curve up to its neighbours'
    neighbours), open-ended where that runs past a track's first or last key (the curve holds beyond them).
    None when the event may have moved it at every frame: a creation, a static value, a track cleared or
    shifted, a skeleton, a new support. So a key set on a long animation is checked near that key only."""
    lo, hi = math.inf, -math.inf
    for op in event.ops:
        if isinstance(op, O.RelationAdd):
            if op.kind == "supports" and op.subject == eid:
                return None
        elif isinstance(op, (O.EntityCreate, O.SkeletonSet)):
            if op.id == eid:
                return None
        elif isinstance(op, (O.EntitySet, O.TrackClear, O.TrackShift)):
            if op.id == eid and op.path.startswith(_SHAPE_PATHS):
                return None
        elif isinstance(op, (O.KeySet, O.KeyRemove)) and op.id == eid and op.path.startswith(_SHAPE_PATHS):
            keys = world.entities[eid].tracks.get(op.path) or ()
            at = bisect.bisect_left(keys, op.frame - EPS_FRAME, key=_frame)  # the key set, or the one after it
            lo = min(lo, keys[at - 2].frame if at >= 2 else -math.inf)
            hi = max(hi, keys[at + 2].frame if at + 2 < len(keys) else math.inf)
    return (lo, hi) if lo <= hi else None


def movable(world: World, eid: str, index=None) -> bool:
    """A prop or character placed in world space: no parent and not attached to anything (moving one of those
    would need its parent's frame; they move with what carries them)."""
    e = world.entities.get(eid)
    if e is None or e.kind not in ("prop", "character") or e.parent is not None:
        return False
    if index is not None:
        return not index.attached(eid)
    return not any(r.kind == "attached_to" and r.subject == eid for r in world.relations.values())


def _is_animated(world: World, eid: str) -> bool:
    e = world.entities[eid]
    return any(p.startswith(("transform.", "joints.")) and len(keys) > 1 for p, keys in e.tracks.items())


def keyed_frames(world: World, eid: str, paths: tuple[str, ...] = ("transform.", "joints."),
                 span: tuple[float, float] | None = None) -> list[float]:
    """Frames of the entity's keys on ``paths`` (prefixes), sorted; ``[frame_start]`` when it has none. With
    ``span`` (lo, hi) only those within ``EPS_FRAME`` of it, found by bisection: a long track costs the keys in the
    span, not all of them."""
    e = world.entities[eid]
    keyed = [keys for p, keys in e.tracks.items() if keys and p.startswith(paths)]
    if not keyed:
        return _in_span([float(world.frame_start)], span)
    if span is None:
        return sorted({k.frame for keys in keyed for k in keys})
    lo, hi = span[0] - EPS_FRAME, span[1] + EPS_FRAME
    frames = set()
    for keys in keyed:
        frames.update(k.frame for k in keys[bisect.bisect_left(keys, lo, key=_frame):
                                              bisect.bisect_right(keys, hi, key=_frame)])
    return sorted(frames)


def first_keyed_frame(world: World, eid: str, paths: tuple[str, ...] = ("transform.", "joints.")) -> float:
    """``keyed_frames(world, eid, paths)[0]`` from each track's first key (tracks are sorted), not all of them."""
    firsts = [keys[0].frame for p, keys in world.entities[eid].tracks.items() if keys and p.startswith(paths)]
    return min(firsts) if firsts else float(world.frame_start)


def _frame(key) -> float:
    return key.frame


def check_frames(world: World, eid: str, index=None, dirty: set[str] = frozenset(),
                 span: tuple[float, float] | None = None) -> list[float]:
    """Frames at which to look for collisions of ``eid``: every keyed frame of it and of every animated solid,
    plus evenly sampled frames over the shot when anything involved is animated (at most MAX_SAMPLED_FRAMES);
    with ``span`` (:func:`changed_span`) only those within it."""
    frames = set(keyed_frames(world, eid, span=span))
    if index is None:
        animated = [i for i in sorted(world.entities)
                    if world.entities[i].kind in ("prop", "character") and _is_animated(world, i)]
    else:
        now = {i for i in dirty if i in world.entities and world.entities[i].kind in ("prop", "character")
               and _is_animated(world, i)}
        animated = sorted((set(index.animated()) - set(dirty)) | now)
    for i in animated:
        frames.update(keyed_frames(world, i, span=span))
    if animated:
        start, end = float(world.frame_start), float(world.frame_end)
        n = min(MAX_SAMPLED_FRAMES, int(math.floor(end - start)) + 1)
        grid = np.linspace(start, end, max(n, 2))
        if span is not None:  # widened past the rounding below, which the last filter then settles
            grid = grid[(grid >= span[0] - EPS_FRAME - 1e-6) & (grid <= span[1] + EPS_FRAME + 1e-6)]
        frames.update(float(round(f, 6)) for f in grid)
    return _in_span(sorted(frames), span)


def _in_span(frames: list[float], span: tuple[float, float] | None) -> list[float]:
    """Those of ``frames`` within ``EPS_FRAME`` of ``span`` (lo, hi); all when it is None."""
    if span is None:
        return frames
    lo, hi = span
    return [f for f in frames if lo - EPS_FRAME <= f <= hi + EPS_FRAME]


def touching_pairs(world: World) -> set[frozenset]:
    """Pairs of entities that may touch: parent and child, attached_to and supports relations."""
    pairs = {frozenset((eid, e.parent)) for eid, e in world.entities.items() if e.parent is not None}
    pairs |= {frozenset((r.subject, r.object)) for r in world.relations.values()
              if r.kind in ("attached_to", "supports")}
    return pairs


def _clean(v) -> list[float]:
    return [float(round(float(x), 6)) + 0.0 for x in v]


def move_ops(world: World, eid: str, frame: float, delta) -> list:
    """Ops that move ``eid`` by ``delta`` (3,) metres at ``frame``: the static position when it has no position
    track (so the move holds at every frame), otherwise that frame's key (kept interpolation and tangents) or a
    new key there (interpolated like the key before it)."""
    e = world.entities[eid]
    delta = np.asarray(delta, dtype=np.float64)
    keys = e.tracks.get(POSITION) or []
    if not keys:
        current = tracks.value_at(e, POSITION, [frame])[0]
        return [O.EntitySet(id=eid, path=POSITION, value=_clean(current + delta))]
    for k in keys:
        if abs(k.frame - frame) <= EPS_FRAME:
            return [O.KeySet(id=eid, path=POSITION, frame=k.frame, value=_clean(np.asarray(k.value) + delta),
                             interp=k.interp, in_tangent=k.in_tangent, out_tangent=k.out_tangent)]
    before = [k for k in keys if k.frame < frame]
    interp = before[-1].interp if before else keys[0].interp
    current = tracks.value_at(e, POSITION, [frame])[0]
    return [O.KeySet(id=eid, path=POSITION, frame=float(frame), value=_clean(current + delta), interp=interp)]


def simulate(world: World, ops: list, actor: str) -> World:
    """A copy of ``world`` with ``ops`` applied (the original is never touched). Entity writes (a move) copy only
    the entities they write; the copy shares everything else with ``world``."""
    if not all(isinstance(op, (O.EntitySet, O.KeySet)) for op in ops):
        w = copy.deepcopy(world)
    else:
        entities = dict(world.entities)
        for i in {op.id for op in ops if op.id in entities}:
            entities[i] = copy.deepcopy(entities[i])
        w = dataclasses.replace(world, entities=entities)
    edit.apply(w, ops, actor)
    return w


class Mover:
    """Moves of one entity, each applied to a simulated copy of the world so the next decision sees it.
    ``index`` is the spatial index of the world the decision started from; ``dirty`` the entities moved since
    (those whose pose hangs from a moved one included)."""

    def __init__(self, world: World, actor: str, index=None, dirty: set[str] | None = None,
                 span: tuple[float, float] | None = None):
        self.world, self.actor, self.index = world, actor, index
        self.dirty: set[str] = set() if dirty is None else dirty
        self.span = span
        self.ops: list = []

    def move(self, eid: str, frame: float, delta) -> None:
        step = move_ops(self.world, eid, frame, delta)
        self.world = simulate(self.world, step, self.actor)
        self.ops += step
        self.dirty |= self.index.dependents(eid) if self.index is not None else {eid}


def repair_each(world: World, event: Event, agent: str, repair_one, index=None) -> list:
    """The decision every repair agent shares: for each entity ``event`` edited that may be moved,
    ``repair_one(mover, eid)`` makes its moves through ``mover`` (looking at the frames in ``mover.span``)
    and returns the reason; each entity that moved becomes one proposal. Entities are visited in order, each
    seeing the moves made for the ones before."""
    from .base import Proposal

    out = []
    w = world
    dirty: set[str] = set()
    for eid in edited_entities(world, event):
        if not movable(w, eid, index):
            continue
        mover = Mover(w, f"agent:{agent}", index, dirty, changed_span(world, event, eid))
        reason = repair_one(mover, eid)
        w = mover.world
        if mover.ops:
            out.append(Proposal(merge_ops(mover.ops), reason))
    return out


def merge_ops(ops: list) -> list:
    """Collapse successive absolute writes to the same value (same op type, entity, path, frame) to the last one,
    keeping first-seen order."""
    order: list = []
    last: dict = {}
    for op in ops:
        key = (type(op).__name__, op.id, getattr(op, "path", None), getattr(op, "frame", None))
        if key not in last:
            order.append(key)
        last[key] = op
    return [last[k] for k in order]


def _signed(x: float) -> str:
    return ("+" if x >= 0 else "\u2212") + f"{abs(x):.2f}"


def describe_move(delta) -> str:
    """``0.20 m −x``; ``0.28 m (−0.20 x, +0.20 z)`` when the move has several components."""
    d = np.asarray(delta, dtype=np.float64)
    norm = float(np.linalg.norm(d))
    parts = [(axis, float(v)) for axis, v in zip("xyz", d) if abs(v) > 0.05 * norm and abs(v) >= 5e-4]
    if len(parts) <= 1:
        axis, v = parts[0] if parts else ("x", 0.0)
        return f"{norm:.2f} m {'+' if v >= 0 else chr(0x2212)}{axis}"
    return f"{norm:.2f} m (" + ", ".join(f"{_signed(v)} {axis}" for axis, v in parts) + ")"


def fmt_frame(frame: float) -> str:
    return f"{frame:g}"
