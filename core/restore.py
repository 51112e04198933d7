"""Ops that turn one world into another: the pure core of rollback, undo, redo and fork (SPEC §4).

``diff(current, target)`` gives the ops that, applied to ``current`` in one event, leave a world equal to
``target`` in meta, entities (kind, name, parent, static props, tracks), relations and directives. Two things
cannot be carried by ops and are documented rather than hidden:

* a key's ``by`` is the actor of the event that set it, so a key this event has to rewrite gets the restoring
  actor as ``by`` (keys that already match are left alone and keep theirs);
* agent modes can be set but not unset, so an agent mode the target lacks is set to the default (``auto``).

Stored values are canonical and checking them again is the identity (``core.values`` keeps an already-unit
quaternion bit for bit), so a restored value reads back exactly.

``changed_items(a, b)`` lists what differs between two worlds as *items* — the unit of undo:

``("meta", field)`` · ``("entity", id)`` (presence or kind) · ``("name", id)`` · ``("parent", id)`` ·
``("prop", id, path)`` · ``("key", id, path, frame)`` · ``("relation", id)`` · ``("directive", id)``

and ``revert(before, after, current)`` restores, of the items an event changed (``before`` → ``after``), those
nobody changed since (their value in ``current`` still equals ``after``), skipping the others.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

from . import ops as O
from .world import DEFAULT_AGENT_MODE, Entity, Key, World

__all__ = ["diff", "changed_items", "item_value", "set_item", "revert", "Reverted", "describe", "same_world"]

Item = tuple

_META = ("name", "fps", "frame_start", "frame_end", "resolution", "agents")


# ---------------------------------------------------------------- items


def changed_items(a: World, b: World) -> list[Item]:
    """What differs between ``a`` and ``b``, as items, in a stable order."""
    items: list[Item] = [("meta", f) for f in _META if getattr(a, f) != getattr(b, f)]
    for eid in sorted(set(a.entities) | set(b.entities)):
        ea, eb = a.entities.get(eid), b.entities.get(eid)
        if ea is None or eb is None or ea.kind != eb.kind:
            items.append(("entity", eid))
            continue
        if ea.name != eb.name:
            items.append(("name", eid))
        if ea.parent != eb.parent:
            items.append(("parent", eid))
        for path in sorted(set(ea.props) | set(eb.props)):
            if ea.props.get(path) != eb.props.get(path):
                items.append(("prop", eid, path))
        for path in sorted(set(ea.tracks) | set(eb.tracks)):
            ka, kb = _keys_by_frame(ea, path), _keys_by_frame(eb, path)
            for frame in sorted(set(ka) | set(kb)):
                if ka.get(frame) != kb.get(frame):
                    items.append(("key", eid, path, frame))
    for rid in sorted(set(a.relations) | set(b.relations)):
        if a.relations.get(rid) != b.relations.get(rid):
            items.append(("relation", rid))
    for did in sorted(set(a.directives) | set(b.directives)):
        if a.directives.get(did) != b.directives.get(did):
            items.append(("directive", did))
    return items


def _keys_by_frame(e: Entity | None, path: str) -> dict[float, Key]:
    if e is None:
        return {}
    return {k.frame: k for k in e.tracks.get(path, ())}


def item_value(world: World, item: Item) -> Any:
    """The value of ``item`` in ``world`` (None when absent)."""
    kind = item[0]
    if kind == "meta":
        return getattr(world, item[1])
    if kind == "relation":
        return world.relations.get(item[1])
    if kind == "directive":
        return world.directives.get(item[1])
    e = world.entities.get(item[1])
    if kind == "entity" or e is None:
        return e
    if kind == "name":
        return e.name
    if kind == "parent":
        return e.parent
    if kind == "prop":
        return e.props.get(item[2])
    if kind == "key":
        return _keys_by_frame(e, item[2]).get(item[3])
    raise ValueError(f"unknown item {item!r}")


def set_item(world: World, item: Item, value: Any) -> None:
    """Set ``item`` of ``world`` (in place) to ``value`` (None removes it); a no-op when its entity is gone."""
    kind = item[0]
    value = copy.deepcopy(value)
    if kind == "meta":
        setattr(world, item[1], value)
        return
    table = {"relation": world.relations, "directive": world.directives, "entity": world.entities}.get(kind)
    if table is not None:
        if value is None:
            table.pop(item[1], None)
        else:
            table[item[1]] = value
        return
    e = world.entities.get(item[1])
    if e is None:
        return
    if kind == "name":
        e.name = value or ""
    elif kind == "parent":
        e.parent = value
    elif kind == "prop":
        if value is None:
            e.props.pop(item[2], None)
        else:
            e.props[item[2]] = value
    elif kind == "key":
        path, frame = item[2], item[3]
        keys = [k for k in e.tracks.get(path, ()) if k.frame != frame]
        if value is not None:
            keys = sorted(keys + [value], key=lambda k: k.frame)
        if keys:
            e.tracks[path] = keys
        else:
            e.tracks.pop(path, None)
    else:
        raise ValueError(f"unknown item {item!r}")


def describe(item: Item) -> str:
    """A short name for an item, for results and logs: ``cube.transform.position@12``, ``relation r1``."""
    kind = item[0]
    if kind == "meta":
        return f"shot {item[1]}"
    if kind in ("relation", "directive", "entity"):
        return f"{kind} {item[1]}"
    if kind in ("name", "parent"):
        return f"{item[1]}.{kind}"
    if kind == "prop":
        return f"{item[1]}.{item[2]}"
    return f"{item[1]}.{item[2]}@{item[3]:g}"


class Reverted(NamedTuple):
    ops: list
    restored: list[Item]
    skipped: list[Item]


def revert(before: World, after: World, current: World) -> Reverted:
    """Ops that put back, for every item changed between ``before`` and ``after``, its ``before`` value — unless
    ``current`` no longer holds its ``after`` value (someone changed it since), in which case it is skipped.
    Relations and parents left dangling by a skipped entity are dropped from the target, so the ops apply."""
    target = copy.deepcopy(current)
    restored, skipped = [], []
    for item in changed_items(before, after):
        if item_value(current, item) == item_value(after, item):
            set_item(target, item, item_value(before, item))
            restored.append(item)
        else:
            skipped.append(item)
    _drop_dangling(target)
    return Reverted(diff(current, target), restored, skipped)


def _drop_dangling(w: World) -> None:
    for rid, r in list(w.relations.items()):
        obj = w.entities.get(r.object)
        if r.subject not in w.entities or obj is None or (
                r.joint is not None and r.joint not in {j["name"] for j in (obj.joints or [])}):
            del w.relations[rid]
    for e in w.entities.values():
        if e.parent is not None and e.parent not in w.entities:
            e.parent = None


# ---------------------------------------------------------------- diff


def diff(current: World, target: World, *, full_meta: bool = False) -> list:
    """Ops turning ``current`` into ``target`` (see the module docstring). ``full_meta`` always emits a
    ``shot.configure`` carrying every meta field (a fork's first event)."""
    ops: list = []
    meta = _meta_op(current, target, full_meta)
    if meta is not None:
        ops.append(meta)

    kept = {eid for eid, e in current.entities.items()
            if eid in target.entities and target.entities[eid].kind == e.kind}
    gone = set(current.entities) - kept

    def survives(rid, r) -> bool:  # removing an entity removes its relations
        return target.relations.get(rid) == r and r.subject not in gone and r.object not in gone

    # 1. relations and directives that go or change
    for rid, r in sorted(current.relations.items()):
        if not survives(rid, r):
            ops.append(O.RelationRemove(id=rid))
    for did, d in sorted(current.directives.items()):
        t = target.directives.get(did)
        if t is None or t.agent != d.agent:
            ops.append(O.DirectiveRemove(id=did))

    # 2. entities that go (absent, or of another kind); parents that change are cleared first (no cycles)
    for eid in sorted(gone):
        ops.append(O.EntityRemove(id=eid))
    for eid in sorted(kept):
        if current.entities[eid].parent is not None and current.entities[eid].parent != target.entities[eid].parent:
            ops.append(O.EntitySet(id=eid, path="parent", value=None))

    # 3. kept entities: first remove what the target lacks, then the skeleton, then set values
    removals, skeletons, sets = [], [], []
    for eid in sorted(kept):
        cur, tgt = current.entities[eid], target.entities[eid]
        if cur.name != tgt.name:
            sets.append(O.EntitySet(id=eid, path="name", value=tgt.name))
        for path in sorted(cur.props):
            if path not in tgt.props:  # a skeleton goes after its joints' values and tracks (below) are gone
                (skeletons if path == "skeleton" else removals).append(O.EntitySet(id=eid, path=path, value=None))
        for path in sorted(tgt.props):
            if cur.props.get(path) != tgt.props[path]:
                op = O.EntitySet(id=eid, path=path, value=tgt.props[path])
                (skeletons if path == "skeleton" else sets).append(op)
        for path in sorted(set(cur.tracks) | set(tgt.tracks)):
            r, s = _track_ops(eid, path, cur.tracks.get(path, []), tgt.tracks.get(path, []))
            removals += r
            sets += s
    ops += removals + skeletons + sets

    # 4. entities that come, then their tracks, then parents
    for eid in sorted(set(target.entities) - kept):
        e = target.entities[eid]
        props = dict(sorted(e.props.items()))
        ops.append(O.EntityCreate(id=eid, kind=e.kind, name=e.name or None, props=props or None))
        for path in sorted(e.tracks):
            ops += _track_ops(eid, path, [], e.tracks[path])[1]
    for eid in sorted(target.entities):
        parent = target.entities[eid].parent
        if parent is not None and (eid not in kept or current.entities[eid].parent != parent
                                   or parent in gone):
            ops.append(O.EntitySet(id=eid, path="parent", value=parent))

    # 5. relations and directives that come or change
    for rid, r in sorted(target.relations.items()):
        c = current.relations.get(rid)
        if c is None or not survives(rid, c):
            ops.append(O.RelationAdd(id=rid, kind=r.kind, subject=r.subject, object=r.object, joint=r.joint,
                                     offset=r.offset, start=r.start, end=r.end))
    for did, d in sorted(target.directives.items()):
        c = current.directives.get(did)
        if c is None or c.agent != d.agent:
            ops.append(O.DirectiveAdd(id=did, agent=d.agent, params=d.params))
        elif c.params != d.params:
            ops.append(O.DirectiveUpdate(id=did, params=d.params))
    return ops


def _meta_op(current: World, target: World, full: bool):
    fields: dict[str, Any] = {}
    for f in ("name", "fps", "frame_start", "frame_end"):
        if full or getattr(current, f) != getattr(target, f):
            fields[f] = getattr(target, f)
    if full or tuple(current.resolution) != tuple(target.resolution):
        fields["resolution"] = tuple(int(x) for x in target.resolution)
    agents = dict(target.agents)
    for a in current.agents:
        agents.setdefault(a, DEFAULT_AGENT_MODE)
    if agents and (full or agents != current.agents):
        fields["agents"] = agents
    return O.ShotConfigure(**fields) if fields else None


def _same_key(a: Key, b: Key) -> bool:
    """Keys equal in everything a restore can set (``by`` aside)."""
    return (a.frame, a.value, a.interp, a.in_tangent, a.out_tangent) == (
        b.frame, b.value, b.interp, b.in_tangent, b.out_tangent)


def _track_ops(eid: str, path: str, cur: list[Key], tgt: list[Key]) -> tuple[list, list]:
    """(removals, sets) turning track ``cur`` into ``tgt``; a whole-track clear when that is shorter."""
    if not tgt:
        return ([O.TrackClear(id=eid, path=path)] if cur else []), []
    by_frame = {k.frame: k for k in cur}
    tgt_frames = {k.frame for k in tgt}
    gone = [k.frame for k in cur if k.frame not in tgt_frames]
    changed = [k for k in tgt if k.frame not in by_frame or not _same_key(by_frame[k.frame], k)]
    if gone and len(gone) + len(changed) > len(tgt) + 1:
        return [O.TrackClear(id=eid, path=path)], [_key_op(eid, path, k) for k in tgt]
    return [O.KeyRemove(id=eid, path=path, frame=f) for f in gone], [_key_op(eid, path, k) for k in changed]


def _key_op(eid: str, path: str, k: Key):
    return O.KeySet(id=eid, path=path, frame=k.frame, value=k.value, interp=k.interp,
                    in_tangent=k.in_tangent, out_tangent=k.out_tangent)


# ---------------------------------------------------------------- comparison


def same_world(a: World, b: World, *, ignore_by: bool = True) -> list[str]:
    """Where ``a`` and ``b`` differ in meta (all but project / shot / head_seq), entities, relations and directives;
    empty when they match. ``ignore_by`` ignores keys' authors. Agent modes set to the default count as unset."""
    out = []
    for item in changed_items(a, b):
        va, vb = item_value(a, item), item_value(b, item)
        if item == ("meta", "agents"):  # an explicit default mode is the same as none
            va, vb = ({k: m for k, m in v.items() if m != DEFAULT_AGENT_MODE} for v in (va, vb))
        if _plain(va, ignore_by) == _plain(vb, ignore_by):
            continue
        out.append(describe(item))
    return out


def _plain(v: Any, ignore_by: bool) -> Any:
    if isinstance(v, Key):
        return [v.frame, v.value, v.interp, "" if ignore_by else v.by, v.in_tangent, v.out_tangent]
    if isinstance(v, Entity):
        tracks = {p: [_plain(k, ignore_by) for k in ks] for p, ks in v.tracks.items()}
        return [v.kind, v.name, v.parent, v.props, tracks]
    return v
