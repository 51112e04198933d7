"""A spatial index of one shot's solid entities, so that a repair decision about one entity reads its neighbours
only — its cost grows with what is near the edit, not with the size of the scene.

- **Static** entities — whose collision shape is the same at every frame: no track with more than one key on them
  nor on anything their pose hangs from (parent, ``attached_to`` anchor, ``look_at`` target) — have their shape
  computed once. The bounding rectangle of its footprint (its world-space bounds over every frame, X and Z) is
  entered in a uniform grid over the floor plane (``CELL_M`` cells); one spanning more than ``MAX_CELLS`` cells (a
  ground plane, a large room) is kept in a short list instead.
- **Moving** entities are sampled at the frames a query asks for; the bounds of what was sampled are kept with
  those frames, so a later query at frames among them tests the bounds first, like a static entity's (a moving
  entity not yet sampled at a query's frames is a candidate of it).
- The parent tree and the relations are indexed by entity (who carries what, which pairs may touch, what hangs
  from what), and the animated solids whose keys :func:`agents.repair.check_frames` adds are kept as a set.

The index is a cache: every answer equals the full scan of the world (``tests/unit/test_agents_spatial.py``
checks it on random worlds). It follows one world object and is updated from each applied event — only the
entities the event touched, and what hangs from them, are bounded again (:meth:`SpatialIndex.update`).

The agent runner keeps one per replica (:class:`Tracker`) and makes it current around each decision
(:func:`using`); :func:`index_for` gives it to the agent when it is current for the world the agent was handed, and
builds a fresh one otherwise (a decision called on its own), so decisions stay pure functions of (world, event).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
from typing import Iterable, Iterator

import numpy as np

from core import ops as O
from core.world import World
from events.envelope import Event

from . import geometry as G

__all__ = ["SpatialIndex", "Tracker", "index_for", "using", "rect_of", "union_rect", "overlaps", "CELL_M", "MAX_CELLS"]

CELL_M = 2.0
"""Side of a grid cell on the floor plane, metres: about one piece of furniture."""
MAX_CELLS = 64
"""An entity spanning more cells than this is not entered in the grid; it is a candidate of every query."""
_EPS = 1e-6
"""Rectangles are widened by this before overlap tests (a superset is always right; a miss never is)."""

_HOLDING_INTERPS = ("constant", "linear", "auto")
"""Interpolations whose curve never leaves the range of the two keys around it (``auto`` is monotone)."""
_POSE_RELATIONS = ("attached_to", "look_at")
"""Relations whose subject's pose depends on the object (core.sampling)."""
_TOUCH_RELATIONS = ("attached_to", "supports")
"""Relations whose two entities may touch (agents.repair.touching_pairs)."""

Rect = tuple[float, float, float, float]  # x0, z0, x1, z1


def rect_of(shape: G.Shape) -> Rect:
    fp = shape.footprint
    if len(fp) == 0:
        p = shape.origin
        return (float(p[0]), float(p[2]), float(p[0]), float(p[2]))
    (x0, z0), (x1, z1) = fp.min(axis=0), fp.max(axis=0)
    return (float(x0), float(z0), float(x1), float(z1))


def union_rect(rects: Iterable[Rect]) -> Rect | None:
    rects = list(rects)
    if not rects:
        return None
    return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))


def overlaps(a: Rect, b: Rect) -> bool:
    """Whether two rectangles overlap or touch (within a micrometre)."""
    return a[0] <= b[2] + _EPS and b[0] <= a[2] + _EPS and a[1] <= b[3] + _EPS and b[1] <= a[3] + _EPS


def own_motion(world: World, eid: str) -> bool:
    """Whether the entity has a track with more than one key (its own values change over frames)."""
    return any(len(keys) > 1 for keys in world.entities[eid].tracks.values())


class SpatialIndex:
    """The index of ``world`` (see the module docstring); ``asset_size`` as for :func:`agents.geometry.shapes_at`.

    Build it with ``SpatialIndex(world)``; keep it current with :meth:`update` after each applied event."""

    def __init__(self, world: World, asset_size: G.AssetSize | None = None, cell: float = CELL_M):
        self.world, self.asset_size, self.cell = world, asset_size, float(cell)
        self.seq = world.head_seq
        self._rel: dict[str, tuple[str, str, str]] = {}          # rid -> (kind, subject, object)
        self._rels_of: dict[str, set[str]] = {}                   # eid -> rids naming it
        self._parent: dict[str, str | None] = {}
        self._children: dict[str, set[str]] = {}
        self._moving: set[str] = set()                            # pose or shape depends on the frame
        self._motion: dict[str, tuple[frozenset, Rect | None]] = {}  # moving: frames sampled, bounds over them
        self._reaches: dict[str, Rect] = {}                       # moving: bounds at every frame, where known
        self._animated: set[str] = set()                          # props/characters animated themselves
        self._envs: set[str] = set()
        self._shapes: dict[str, G.Shape] = {}                     # static solids: the shape at every frame
        self._sampled: dict[tuple[str, float], G.Shape | None] = {}  # others sampled in this world, this seq
        self._rects: dict[str, Rect] = {}
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._big: set[str] = set()
        for rid, r in world.relations.items():
            self._add_relation(rid, r.kind, r.subject, r.object)
        for eid, e in world.entities.items():
            self._set_parent(eid, e.parent)
        self._refresh(world, set(world.entities))

    # ------------------------------------------------------------------ upkeep

    def update(self, world: World, event: Event) -> None:
        """Bring the index to ``world`` after ``event`` was applied to the world it indexed (the same object, or
        its successor): the entities the event touched, and everything whose pose hangs from them, are bounded
        again."""
        touched: set[str] = set()
        rids: set[str] = set()
        for op in event.ops:
            if isinstance(op, (O.RelationAdd, O.RelationRemove)):
                rids.add(op.id)
            touched.update(O.op_entity_ids(op))
            if isinstance(op, O.EntityRemove):
                touched |= self._children.get(op.id, set())
                rids |= self._rels_of.get(op.id, set())
        for rid in sorted(rids):
            old = self._rel.get(rid)
            if old is not None:
                touched.update(old[1:])
            self._drop_relation(rid)
            r = world.relations.get(rid)
            if r is not None:
                self._add_relation(rid, r.kind, r.subject, r.object)
                touched.update((r.subject, r.object))
        for eid in sorted(touched):
            e = world.entities.get(eid)
            self._set_parent(eid, None if e is None else e.parent)
        self.world, self.seq = world, world.head_seq
        self._sampled.clear()
        self._refresh(world, touched)

    def _add_relation(self, rid: str, kind: str, subject: str, obj: str) -> None:
        self._rel[rid] = (kind, subject, obj)
        self._rels_of.setdefault(subject, set()).add(rid)
        self._rels_of.setdefault(obj, set()).add(rid)

    def _drop_relation(self, rid: str) -> None:
        old = self._rel.pop(rid, None)
        if old is None:
            return
        for eid in old[1:]:
            s = self._rels_of.get(eid)
            if s is not None:
                s.discard(rid)
                if not s:
                    del self._rels_of[eid]

    def _set_parent(self, eid: str, parent: str | None) -> None:
        old = self._parent.pop(eid, None)
        if old is not None:
            kids = self._children.get(old)
            if kids is not None:
                kids.discard(eid)
                if not kids:
                    del self._children[old]
        if parent is not None:
            self._parent[eid] = parent
            self._children.setdefault(parent, set()).add(eid)

    def _unplace(self, eid: str) -> None:
        self._motion.pop(eid, None)
        self._reaches.pop(eid, None)
        self._shapes.pop(eid, None)
        self._big.discard(eid)
        rect = self._rects.pop(eid, None)
        if rect is not None:
            for c in self._cells_of(rect):
                s = self._cells.get(c)
                if s is not None:
                    s.discard(eid)
                    if not s:
                        del self._cells[c]

    def _cells_of(self, rect: Rect) -> list[tuple[int, int]]:
        i0, j0 = math.floor((rect[0] - _EPS) / self.cell), math.floor((rect[1] - _EPS) / self.cell)
        i1, j1 = math.floor((rect[2] + _EPS) / self.cell), math.floor((rect[3] + _EPS) / self.cell)
        return [(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]

    def _place(self, eid: str, shape: G.Shape) -> None:
        rect = rect_of(shape)
        self._shapes[eid] = shape
        self._rects[eid] = rect
        cells = self._cells_of(rect) if self._span(rect) <= MAX_CELLS else None
        if cells is None:
            self._big.add(eid)
            return
        for c in cells:
            self._cells.setdefault(c, set()).add(eid)

    def _span(self, rect: Rect) -> float:
        return (math.floor((rect[2] + _EPS) / self.cell) - math.floor((rect[0] - _EPS) / self.cell) + 1) * \
            (math.floor((rect[3] + _EPS) / self.cell) - math.floor((rect[1] - _EPS) / self.cell) + 1)

    def _refresh(self, world: World, touched: set[str]) -> None:
        affected = self._dependents_of(touched)
        for eid in affected:
            self._unplace(eid)
            self._moving.discard(eid)
            self._animated.discard(eid)
            self._envs.discard(eid)
        live = sorted(eid for eid in affected if eid in world.entities)
        memo: dict[str, bool] = {}
        for eid in live:
            if self._moves(world, eid, affected, memo, set()):
                self._moving.add(eid)
                reach = self._reach(world, eid)
                if reach is not None:
                    self._reaches[eid] = reach
            e = world.entities[eid]
            if e.kind in ("prop", "character") and _is_animated(e):
                self._animated.add(eid)
            if e.kind == "environment":
                self._envs.add(eid)
        static = [eid for eid in live if eid not in self._moving and world.entities[eid].kind in G.SOLID_KINDS]
        if static:
            frame = float(world.frame_start)
            for eid, shape in self.sample(world, [frame], static)[frame].items():
                self._place(eid, shape)

    def _reach(self, world: World, eid: str) -> Rect | None:
        """A rectangle the entity's footprint stays inside at every frame, from its keys alone (no sampling): its
        position's range over its keys, widened by the farthest of its support points from its origin at its
        largest scale (whatever way it turns). None when that cannot be told so simply: its pose hangs from
        another entity, a character's joints, a keyed shape, a tangent or a ``bezier`` key (which may overshoot
        its keys)."""
        e = world.entities[eid]
        if e.kind != "prop" or self._dependencies(eid):
            return None
        local = G.local_points(e.props.get("geometry"), self.asset_size)
        if local is None:
            return None
        for path, keys in e.tracks.items():
            if len(keys) > 1 and path.startswith(("geometry", "joints.", "skeleton")):
                return None
        values = {}
        for path, default in (("transform.position", [0.0, 0.0, 0.0]), ("transform.scale", [1.0, 1.0, 1.0])):
            keys = e.tracks.get(path)
            if not keys:
                values[path] = [e.props.get(path) or default]
            elif all(k.interp in _HOLDING_INTERPS and k.in_tangent is None and k.out_tangent is None for k in keys):
                values[path] = [k.value for k in keys]
            else:
                return None
        scale = max(abs(float(c)) for v in values["transform.scale"] for c in v)
        radius = float(np.sqrt((local * local).sum(axis=1)).max()) * scale
        xs = [float(v[0]) for v in values["transform.position"]]
        zs = [float(v[2]) for v in values["transform.position"]]
        return (min(xs) - radius, min(zs) - radius, max(xs) + radius, max(zs) + radius)

    def _moves(self, world: World, eid: str, affected: set[str], memo: dict[str, bool], visiting: set[str]) -> bool:
        if eid not in affected:
            return eid in self._moving
        if eid in memo:
            return memo[eid]
        if eid in visiting:  # a look_at cycle: sampled at every query, which is always right
            return True
        visiting.add(eid)
        out = own_motion(world, eid) or any(self._moves(world, d, affected, memo, visiting)
                                            for d in self._dependencies(eid) if d in world.entities)
        visiting.discard(eid)
        memo[eid] = out
        return out

    # ------------------------------------------------------------------ the pose graph

    def _dependencies(self, eid: str) -> list[str]:
        """What the entity's pose is computed from: its parent, attachment anchors and look_at targets."""
        out = [self._parent[eid]] if eid in self._parent else []
        for rid in sorted(self._rels_of.get(eid, ())):
            kind, s, o = self._rel[rid]
            if s == eid and kind in _POSE_RELATIONS:
                out.append(o)
        return out

    def _dependents_of(self, ids: Iterable[str]) -> set[str]:
        """``ids`` and everything whose pose hangs from them, transitively."""
        out, todo = set(), list(ids)
        while todo:
            eid = todo.pop()
            if eid in out:
                continue
            out.add(eid)
            todo.extend(self._children.get(eid, ()))
            for rid in self._rels_of.get(eid, ()):
                kind, s, o = self._rel[rid]
                if o == eid and kind in _POSE_RELATIONS:
                    todo.append(s)
        return out

    def dependents(self, eid: str) -> set[str]:
        """The entities whose pose hangs from ``eid`` (transitively), ``eid`` included."""
        return self._dependents_of([eid])

    def _closure(self, world: World, ids: Iterable[str]) -> set[str]:
        out, todo = set(), list(ids)
        while todo:
            eid = todo.pop()
            if eid in out or eid not in world.entities:
                continue
            out.add(eid)
            todo.extend(self._dependencies(eid))
        return out

    # ------------------------------------------------------------------ queries

    def sample(self, world: World, frames: list[float], ids: Iterable[str]) -> dict[float, dict[str, G.Shape]]:
        """:func:`agents.geometry.shapes_at` of ``ids`` in ``world``, sampling only them and what their poses
        hang from (the same shapes: sampling an entity reads nothing else)."""
        ids = set(ids)
        closure = self._closure(world, ids)
        rids = {rid for eid in closure for rid in self._rels_of.get(eid, ())
                if self._rel[rid][1] in closure and self._rel[rid][0] in _POSE_RELATIONS}
        sub = dataclasses.replace(world, entities={eid: world.entities[eid] for eid in sorted(closure)},
                                  relations={rid: world.relations[rid] for rid in sorted(rids)}, directives={})
        return G.shapes_at(sub, frames, ids=ids & closure, asset_size=self.asset_size)

    def shapes(self, world: World, frames: Iterable[float], ids: Iterable[str], fresh: set[str] = frozenset()
               ) -> dict[float, dict[str, G.Shape]]:
        """Shapes of ``ids`` at ``frames`` in ``world`` — the indexed world, except for the entities in ``fresh``
        (moved since, e.g. in a simulated copy): static ones from the index, the others sampled."""
        frames = [float(f) for f in frames]
        ids = set(ids)
        out: dict[float, dict[str, G.Shape]] = {f: {} for f in frames}
        cached = sorted(eid for eid in ids if eid in self._shapes and eid not in fresh)
        for f in frames:
            for eid in cached:
                s = self._shapes[eid]
                out[f][eid] = s if s.frame == f else dataclasses.replace(s, frame=f)
        rest = ids.difference(cached)
        rest = {eid for eid in rest if eid in world.entities and (eid in self._moving or eid in fresh)}
        if rest and frames:
            self._sample_into(out, world, frames, rest)
            for eid in sorted(rest - fresh):  # as indexed: keep their bounds over these frames
                seen, rect = self._motion.get(eid, (frozenset(), None))
                rect = union_rect([r for r in [rect] if r is not None]
                                  + [rect_of(out[f][eid]) for f in frames if eid in out[f]])
                self._motion[eid] = (seen | frozenset(frames), rect)
        return out

    def _sample_into(self, out: dict, world: World, frames: list[float], ids: set[str]) -> None:
        """Sample ``ids`` at ``frames`` into ``out``. In the indexed world itself (not a simulated copy) a shape
        sampled once is kept until the next event: the repair agents deciding on one event look at the edited
        entity at the same frames, and sample it once between them."""
        if not self.current_for(world, self.asset_size):
            for f, shapes in self.sample(world, frames, ids).items():
                out[f].update(shapes)
            return
        known = self._sampled
        missing = [f for f in frames if any((eid, f) not in known for eid in ids)]
        if missing:
            sampled = self.sample(world, missing, ids)
            for f in missing:
                for eid in ids:
                    known[(eid, f)] = sampled[f].get(eid)
        for f in frames:
            for eid in ids:
                shape = known[(eid, f)]
                if shape is not None:
                    out[f][eid] = shape

    def near(self, rect: Rect | None, frames: Iterable[float] | None = None) -> set[str]:
        """The entities whose shape may overlap ``rect`` (x0, z0, x1, z1) on the floor plane at some frame (of
        ``frames``, when given): static ones whose bounds do, moving ones whose bounds over those frames do (or
        that were not yet sampled at all of them), and every one too large for the grid."""
        out = set(self._big)
        wanted = None if frames is None else frozenset(float(f) for f in frames)
        reaches = self._reaches
        for eid in self._moving:
            if rect is not None and eid in reaches and not overlaps(reaches[eid], rect):
                continue  # wherever it moves, it stays clear of ``rect``
            seen, bounds = self._motion.get(eid, (frozenset(), None))
            if wanted is None or rect is None or not wanted <= seen or \
                    (bounds is not None and overlaps(bounds, rect)):
                out.add(eid)
        if rect is None:
            return out
        for c in self._cells_of(rect):
            for eid in self._cells.get(c, ()):
                if eid not in out and overlaps(self._rects[eid], rect):
                    out.add(eid)
        return out

    def near_point(self, x: float, z: float, frames: Iterable[float] | None = None) -> set[str]:
        return self.near((x, z, x, z), frames)

    def animated(self) -> list[str]:
        """Props and characters animated themselves (a transform or joint track of more than one key), sorted."""
        return sorted(self._animated)

    def environments(self) -> list[str]:
        return sorted(self._envs)

    def relations_of(self, eid: str) -> list[tuple[str, str, str, str]]:
        """``(rid, kind, subject, object)`` of the relations naming ``eid``, by id."""
        return [(rid, *self._rel[rid]) for rid in sorted(self._rels_of.get(eid, ()))]

    def children(self, eid: str) -> set[str]:
        return set(self._children.get(eid, ()))

    def touching(self, eid: str) -> set[frozenset]:
        """The pairs of :func:`agents.repair.touching_pairs` that hold ``eid``."""
        pairs = {frozenset((eid, c)) for c in self._children.get(eid, ())}
        if eid in self._parent:
            pairs.add(frozenset((eid, self._parent[eid])))
        pairs |= {frozenset((s, o)) for _, kind, s, o in self.relations_of(eid) if kind in _TOUCH_RELATIONS}
        return pairs

    def carried(self, eid: str) -> set[str]:
        """Children of ``eid`` and subjects of ``attached_to`` / ``supports`` relations on it."""
        return self.children(eid) | {s for _, kind, s, o in self.relations_of(eid)
                                     if o == eid and kind in _TOUCH_RELATIONS}

    def attached(self, eid: str) -> bool:
        """Whether ``eid`` is the subject of an ``attached_to`` relation."""
        return any(kind == "attached_to" and s == eid for _, kind, s, _ in self.relations_of(eid))

    def current_for(self, world: World, asset_size: G.AssetSize | None) -> bool:
        return self.world is world and self.seq == world.head_seq and self.asset_size is asset_size


def _is_animated(e) -> bool:
    return any(p.startswith(("transform.", "joints.")) and len(keys) > 1 for p, keys in e.tracks.items())


class Tracker:
    """The index of one replica's world, built on first use and kept current event by event."""

    def __init__(self):
        self.index: SpatialIndex | None = None

    def applied(self, world: World, event: Event, head_before: int) -> None:
        """``event`` was applied to ``world``, whose ``head_seq`` was ``head_before``."""
        ix = self.index
        if ix is None:
            return
        if ix.world is world and ix.seq == head_before:
            ix.update(world, event)
        else:
            self.index = None

    def get(self, world: World, asset_size: G.AssetSize | None) -> SpatialIndex:
        ix = self.index
        if ix is not None and ix.current_for(world, asset_size):
            return ix
        ix = SpatialIndex(world, asset_size)
        if asset_size is None:
            self.index = ix
        return ix


_CURRENT: contextvars.ContextVar[Tracker | None] = contextvars.ContextVar("agents_spatial", default=None)


@contextlib.contextmanager
def using(tracker: Tracker) -> Iterator[None]:
    """Decisions made inside get ``tracker``'s index (when it is current for the world they were handed)."""
    token = _CURRENT.set(tracker)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def index_for(world: World, asset_size: G.AssetSize | None = None) -> SpatialIndex:
    """The index of ``world``: the runner's when it is current for that world, else a fresh one."""
    tracker = _CURRENT.get()
    if tracker is not None:
        return tracker.get(world, asset_size)
    return SpatialIndex(world, asset_size)
