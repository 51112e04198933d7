"""Applying ops to a world: the one place edits are validated and carried out.

``apply(world, ops, actor)`` checks every op against the world as the previous ops of the same event left it and
carries them out; if any op fails, the world is restored exactly and ``OpError`` names the op index, the field and
the reason. On success it returns the list of :class:`Change` records the reducer writes into the CRDT document.
The same function serves command-time validation (on a throwaway copy of the projection) and apply-time
validation in the reducer, so both give the same verdict.

Every input is bounded here, where it enters (:mod:`core.limits`): string fields, the depth, size, strings and
numbers of every JSON value an op carries, frames, shifts and magnitudes. ``OpError`` is the only exception that
leaves ``check`` or ``apply``: anything else a handler raises (a bug) becomes an ``OpError`` whose reason starts
with :data:`INTERNAL`, with the world restored.
"""

from __future__ import annotations

import bisect
from typing import Any, Callable, NamedTuple

from . import attributes, limits, values
from . import ops as O
from .limits import MAX_ABS_FRAME, MAX_ABS_NUMBER, MAX_ABS_PARAM, MAX_ABS_SHIFT, MAX_FIELD, show
from .tolerances import EPS_FRAME
from .world import Directive, Entity, Key, Relation, World

__all__ = ["OpError", "Change", "apply", "apply_undoable", "check", "INTERNAL", "MAX_NAME", "MAX_KEYS_PER_TRACK"]

MAX_NAME = MAX_FIELD
INTERNAL = "internal error"
"""The start of the reason of an ``OpError`` that stands for an unexpected exception (a defect, never input)."""
MAX_KEYS_PER_TRACK = 1_000_000


class OpError(ValueError):
    """An op that cannot apply. ``index`` is the op's position in its event, ``field`` the offending field."""

    def __init__(self, index: int, field: str, reason: str):
        super().__init__(f"op {index}: {field}: {reason}")
        self.index, self.field, self.reason = index, field, reason


class Change(NamedTuple):
    """A low-level mutation for the document: ``target`` names the root type, ``args`` its arguments.

    ``meta`` (key, value) · ``entity.add`` (id, kind, name, parent) · ``entity.del`` (id) ·
    ``entity.field`` (id, field, value) · ``prop.set`` (id, path, value) · ``prop.del`` (id, path) ·
    ``key.put`` (id, path, index, Key, replace) · ``key.del`` (id, path, index) ·
    ``track.put`` (id, path, [Key]) · ``track.del`` (id, path) · ``relation.put`` (id, dict) ·
    ``relation.del`` (id) · ``directive.put`` (id, dict) · ``directive.del`` (id)
    """

    target: str
    args: tuple


class _Tx:
    """Undo journal: every mutation records its inverse; ``rollback`` replays them backwards."""

    __slots__ = ("undo", "changes")

    def __init__(self):
        self.undo: list[Callable[[], None]] = []
        self.changes: list[Change] = []

    def set(self, d: dict, k, v):
        if k in d:
            old = d[k]
            self.undo.append(lambda: d.__setitem__(k, old))
        else:
            self.undo.append(lambda: d.pop(k, None))
        d[k] = v

    def delete(self, d: dict, k):
        old = d.pop(k)
        self.undo.append(lambda: d.__setitem__(k, old))

    def setattr(self, obj, name, v):
        old = getattr(obj, name)
        self.undo.append(lambda: setattr(obj, name, old))
        setattr(obj, name, v)

    def emit(self, target: str, *args):
        self.changes.append(Change(target, args))

    def rollback(self):
        for f in reversed(self.undo):
            f()
        self.undo.clear()


def apply(world: World, ops: list, actor: str) -> list[Change]:
    """Apply ``ops`` (one event) to ``world`` in place, atomically. ``actor`` is recorded as each key's ``by``."""
    return _run(world, ops, actor).changes


def apply_undoable(world: World, ops: list, actor: str) -> tuple[list[Change], Callable[[], None]]:
    """``apply``, and a function that restores ``world`` exactly as it was before (for a caller whose own
    follow-up fails: the reducer when its document write does)."""
    tx = _run(world, ops, actor)
    return tx.changes, tx.rollback


def check(world: World, ops: list, actor: str) -> list[Change]:
    """Validate ``ops`` against ``world`` exactly as ``apply`` would, leaving ``world`` unchanged."""
    tx = _run(world, ops, actor)
    tx.rollback()
    return tx.changes


def _run(world: World, ops: list, actor: str) -> _Tx:
    tx = _Tx()
    try:
        for i, op in enumerate(ops):
            handler = _HANDLERS.get(type(op))
            if handler is None:
                raise OpError(i, "type", f"unknown op {type(op).__name__}")
            try:
                _bounded(op)
                handler(world, op, actor, tx)
            except OpError:
                raise
            except ValueError as e:  # a value of the wrong type or size (TypeError etc. are defects: INTERNAL)
                field = getattr(e, "field", None) or _field_of(op)
                raise OpError(i, field, str(e)) from None
            except Exception as e:  # a defect: refused alike on every replica, named, never raised as is
                raise OpError(i, _field_of(op), f"{INTERNAL}: {limits.describe(e)}") from e
    except BaseException:
        tx.rollback()
        raise
    return tx


class _FieldError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


def _field_of(op) -> str:
    return "path" if hasattr(op, "path") else "id"


_JSON_FIELDS = {
    O.EntityCreate: ("props",),
    O.EntitySet: ("value",),
    O.KeySet: ("value", "in_tangent", "out_tangent"),
    O.SkeletonSet: ("joints",),
    O.RelationAdd: ("offset",),
    O.DirectiveAdd: ("params",),
    O.DirectiveUpdate: ("params",),
    O.ShotConfigure: ("agents",),
}
"""The fields of each op that carry free JSON (bounded by :func:`core.limits.check_json` before anything else)."""


_TEXT_FIELDS = {cls: tuple(f for f in cls.__struct_fields__ if f not in _JSON_FIELDS.get(cls, ()))
                for cls in O.OP_TYPES.values()}


def _bounded(op) -> None:
    """The bounds every op meets before its handler looks at it: its own string fields at most
    :data:`~core.limits.MAX_FIELD` characters, its JSON values within :func:`~core.limits.check_json`."""
    for name in _TEXT_FIELDS[type(op)]:
        v = getattr(op, name)
        if type(v) is str and len(v) > MAX_FIELD:
            raise _FieldError(name, f"{name} must be at most {MAX_FIELD} characters, got {len(v)}")
    for name in _JSON_FIELDS.get(type(op), ()):
        v = getattr(op, name)
        if v is not None:
            try:
                limits.check_json(v, name)
            except ValueError as e:
                raise _FieldError(name, str(e)) from None


# ---------------------------------------------------------------- helpers


def _entity(world: World, eid: str, field: str = "id") -> Entity:
    e = world.entities.get(eid) if isinstance(eid, str) else None
    if e is None:
        raise _FieldError(field, f"unknown entity {show(eid)}")
    return e


def _new_id(existing: dict, value: str, what: str) -> str:
    try:
        values.check_id(value, f"{what} id")
    except ValueError as e:
        raise _FieldError("id", str(e)) from None
    if value in existing:
        raise _FieldError("id", f"{what} {value!r} already exists")
    return value


def _name(value: Any, field: str = "name") -> str:
    if value is None:
        return ""
    try:
        return limits.check_text(value, "name", MAX_NAME)
    except ValueError as e:
        raise _FieldError(field, str(e)) from None


def _frame(value: Any, field: str = "frame", bound: float = MAX_ABS_FRAME) -> float:
    try:
        x = values.finite(value, field)
    except ValueError as e:
        raise _FieldError(field, str(e)) from None
    if abs(x) > bound:
        raise _FieldError(field, f"{field} must be within ±{bound:g}, got {x:g}")
    return x


def _chain_reaches(world: World, start: str, target: str) -> bool:
    """Does following parents and attachments from ``start`` reach ``target``?"""
    attached: dict[str, list[str]] = {}
    for r in world.relations.values():
        if r.kind == "attached_to":
            attached.setdefault(r.subject, []).append(r.object)
    seen: set[str] = set()
    stack = [start]
    while stack:
        n = stack.pop()
        if n == target:
            return True
        if n in seen:
            continue
        seen.add(n)
        e = world.entities.get(n)
        if e is not None and e.parent is not None:
            stack.append(e.parent)
        stack.extend(attached.get(n, ()))
    return False


def _value(spec, value, path: str, field: str = "value"):
    try:
        return attributes.normalize(spec, value, path)
    except ValueError as e:
        raise _FieldError(field, str(e)) from None


def _spec(e: Entity, path: str):
    try:
        return attributes.spec_for(path, e.kind, e.joints)
    except ValueError as ex:
        raise _FieldError("path", str(ex)) from None


def _tangent(value: Any, like: Any, field: str):
    if value is None:
        return None
    try:
        if isinstance(like, list):
            return values.vec(value, len(like), field)
        return values.number(value, field, lo=-MAX_ABS_NUMBER, hi=MAX_ABS_NUMBER)
    except ValueError as e:
        raise _FieldError(field, str(e)) from None


def _find_key(keys: list[Key], frame: float) -> tuple[int, bool]:
    i = bisect.bisect_left(keys, frame - EPS_FRAME, key=_frame_of)
    return i, i < len(keys) and abs(keys[i].frame - frame) <= EPS_FRAME


def _frame_of(k: Key) -> float:
    return k.frame


def _set_prop(e: Entity, path: str, value: Any, tx: _Tx):
    if path == "skeleton":
        _check_skeleton_change(e, value)
    tx.set(e.props, path, value)
    tx.emit("prop.set", e.id, path, value)


def _check_skeleton_change(e: Entity, joints: list[dict]):
    names = {j["name"] for j in joints}
    roots = {j["name"] for j in joints if j["parent"] is None}
    orphans = []
    for path in list(e.props) + list(e.tracks):
        jp = attributes.joint_path(path)
        if jp is None:
            continue
        name, leaf = jp
        if name not in names or (leaf == "position" and name not in roots):
            orphans.append(path)
    if orphans:
        raise _FieldError("joints", f"values exist for joints the new skeleton lacks: {sorted(set(orphans))}; "
                                    "clear them first")


def _set_track(e: Entity, path: str, keys: list[Key], tx: _Tx):
    if keys:
        tx.set(e.tracks, path, keys)
        tx.emit("track.put", e.id, path, list(keys))
    elif path in e.tracks:
        tx.delete(e.tracks, path)
        tx.emit("track.del", e.id, path)


# ---------------------------------------------------------------- op handlers


def _shot_configure(world: World, op: O.ShotConfigure, actor: str, tx: _Tx):
    if op.fps is not None:
        try:
            fps = values.number(op.fps, "fps", lo=0, hi=1000, lo_open=True)
        except ValueError as e:
            raise _FieldError("fps", str(e)) from None
        tx.setattr(world, "fps", fps)
        tx.emit("meta", "fps", fps)
    start = world.frame_start if op.frame_start is None else _frame(op.frame_start, "frame_start")
    end = world.frame_end if op.frame_end is None else _frame(op.frame_end, "frame_end")
    if end <= start:
        raise _FieldError("frame_end", f"frame_end ({end:g}) must be greater than frame_start ({start:g})")
    if op.frame_start is not None:
        tx.setattr(world, "frame_start", start)
        tx.emit("meta", "frame_start", start)
    if op.frame_end is not None:
        tx.setattr(world, "frame_end", end)
        tx.emit("meta", "frame_end", end)
    if op.resolution is not None:
        w, h = op.resolution
        if not (16 <= w <= 8192 and 16 <= h <= 8192):
            raise _FieldError("resolution",
                              f"resolution must be within 16–8192 pixels per side, got {show(w)}×{show(h)}")
        tx.setattr(world, "resolution", (int(w), int(h)))
        tx.emit("meta", "resolution", [float(w), float(h)])
    if op.name is not None:
        name = _name(op.name)
        tx.setattr(world, "name", name)
        tx.emit("meta", "name", name)
    if op.agents is not None:
        agents = dict(world.agents)
        for agent, mode in op.agents.items():
            try:
                values.check_id(agent, "agent name")
            except ValueError as e:
                raise _FieldError("agents", str(e)) from None
            agents[agent] = mode
        tx.setattr(world, "agents", dict(sorted(agents.items())))
        tx.emit("meta", "agents", dict(sorted(agents.items())))


def _entity_create(world: World, op: O.EntityCreate, actor: str, tx: _Tx):
    eid = _new_id(world.entities, op.id, "entity")
    name = _name(op.name)
    if op.parent is not None:
        _entity(world, op.parent, "parent")
    e = Entity(id=eid, kind=op.kind, name=name, parent=op.parent)
    tx.set(world.entities, eid, e)
    tx.emit("entity.add", eid, op.kind, name, op.parent)
    props = dict(op.props or {})
    # the skeleton first, so joint paths given beside it can be checked against it
    for path in sorted(props, key=lambda p: (p != "skeleton", p)):
        spec = _spec(e, path)
        value = _value(spec, props[path], path, f"props.{path}")
        _set_prop(e, path, value, tx)


def _entity_remove(world: World, op: O.EntityRemove, actor: str, tx: _Tx):
    _entity(world, op.id)
    for rid, r in sorted(world.relations.items()):
        if op.id in (r.subject, r.object):
            tx.delete(world.relations, rid)
            tx.emit("relation.del", rid)
    for cid, c in sorted(world.entities.items()):
        if c.parent == op.id:
            tx.setattr(c, "parent", None)
            tx.emit("entity.field", cid, "parent", None)
    tx.delete(world.entities, op.id)
    tx.emit("entity.del", op.id)


def _entity_set(world: World, op: O.EntitySet, actor: str, tx: _Tx):
    e = _entity(world, op.id)
    if op.path == "name":
        name = _name(op.value, "value")
        tx.setattr(e, "name", name)
        tx.emit("entity.field", e.id, "name", name)
        return
    if op.path == "parent":
        if op.value is not None:
            if not isinstance(op.value, str):
                raise _FieldError("value", f"parent must be an entity id or null, got {show(op.value)}")
            _entity(world, op.value, "value")
            if _chain_reaches(world, op.value, e.id):
                raise _FieldError("value", f"parenting {e.id!r} to {op.value!r} would make a cycle")
        tx.setattr(e, "parent", op.value)
        tx.emit("entity.field", e.id, "parent", op.value)
        return
    spec = _spec(e, op.path)
    if op.value is None:
        if op.path in e.props:
            tx.delete(e.props, op.path)
            tx.emit("prop.del", e.id, op.path)
        return
    _set_prop(e, op.path, _value(spec, op.value, op.path), tx)


def _key_set(world: World, op: O.KeySet, actor: str, tx: _Tx):
    e = _entity(world, op.id)
    spec = _spec(e, op.path)
    if not spec.animatable:
        raise _FieldError("path", f"{op.path!r} is static and cannot be keyed")
    frame = _frame(op.frame)
    value = _value(spec, op.value, op.path)
    key = Key(frame, value, op.interp, actor,
              _tangent(op.in_tangent, value, "in_tangent"), _tangent(op.out_tangent, value, "out_tangent"))
    keys = e.tracks.get(op.path)
    if keys is None:
        tx.set(e.tracks, op.path, [key])
        tx.emit("track.put", e.id, op.path, [key])
        return
    i, exists = _find_key(keys, frame)
    if exists:
        old = keys[i]
        keys[i] = key
        tx.undo.append(lambda: keys.__setitem__(i, old))
    else:
        if len(keys) >= MAX_KEYS_PER_TRACK:
            raise _FieldError("frame", f"track {op.path!r} already has {MAX_KEYS_PER_TRACK} keys")
        keys.insert(i, key)
        tx.undo.append(lambda: keys.pop(i))
    tx.emit("key.put", e.id, op.path, i, key, exists)


def _key_remove(world: World, op: O.KeyRemove, actor: str, tx: _Tx):
    e = _entity(world, op.id)
    _spec(e, op.path)
    keys = e.tracks.get(op.path)
    frame = _frame(op.frame)
    i, exists = _find_key(keys or [], frame)
    if not exists:
        raise _FieldError("frame", f"no key at frame {frame:g} on {op.id}.{op.path}")
    if len(keys) == 1:
        tx.delete(e.tracks, op.path)
        tx.emit("track.del", e.id, op.path)
        return
    old = keys.pop(i)
    tx.undo.append(lambda: keys.insert(i, old))
    tx.emit("key.del", e.id, op.path, i)


def _track_clear(world: World, op: O.TrackClear, actor: str, tx: _Tx):
    e = _entity(world, op.id)
    _spec(e, op.path)
    _set_track(e, op.path, [], tx)


def _track_shift(world: World, op: O.TrackShift, actor: str, tx: _Tx):
    e = _entity(world, op.id)
    _spec(e, op.path)
    by = _frame(op.by, "by", MAX_ABS_SHIFT)
    lo = float("-inf") if op.start is None else _frame(op.start, "start")
    hi = float("inf") if op.end is None else _frame(op.end, "end")
    if lo > hi:
        raise _FieldError("end", f"end ({hi:g}) is before start ({lo:g})")
    keys = e.tracks.get(op.path, [])
    moved = [k for k in keys if lo - EPS_FRAME <= k.frame <= hi + EPS_FRAME]
    if not moved or by == 0:
        return
    stay = [k for k in keys if not (lo - EPS_FRAME <= k.frame <= hi + EPS_FRAME)]
    shifted = [Key(k.frame + by, k.value, k.interp, k.by, k.in_tangent, k.out_tangent) for k in moved]
    out = [k.frame for k in shifted if abs(k.frame) > MAX_ABS_FRAME]
    if out:
        raise _FieldError("by", f"shifted keys would land beyond ±{MAX_ABS_FRAME:g} (at frames {out[:5]})")
    taken = {round(k.frame / EPS_FRAME) for k in stay}
    clash = [k.frame for k in shifted if round(k.frame / EPS_FRAME) in taken]
    if clash:
        raise _FieldError("by", f"shifted keys would land on existing keys at frames {clash[:5]}")
    _set_track(e, op.path, sorted(stay + shifted, key=lambda k: k.frame), tx)


def _skeleton_set(world: World, op: O.SkeletonSet, actor: str, tx: _Tx):
    e = _entity(world, op.id)
    if e.kind != "character":
        raise _FieldError("id", f"{op.id!r} is a {e.kind}; only characters have skeletons")
    if (op.template is None) == (op.joints is None):
        raise _FieldError("template", "give exactly one of template or joints")
    if op.template is not None:
        from .templates import template_joints

        try:
            scale = 1.0 if op.scale is None else values.number(op.scale, "scale", lo=0, lo_open=True, hi=100)
        except ValueError as ex:
            raise _FieldError("scale", str(ex)) from None
        raw = template_joints(op.template, scale)
    else:
        if op.scale is not None:
            raise _FieldError("scale", "scale applies only to a template")
        raw = op.joints
    try:
        joints = attributes.normalize(attributes.ATTRIBUTES["skeleton"], raw, "joints")
    except ValueError as ex:
        raise _FieldError("joints", str(ex)) from None
    names = {j["name"] for j in joints}
    held = sorted(r.id for r in world.relations.values()
                  if r.object == op.id and r.joint is not None and r.joint not in names)
    if held:  # the world would hold a relation to a joint that no longer exists, which no relation.add may make
        raise _FieldError("template" if op.template is not None else "joints",
                          f"relations {held} attach to joints of {op.id!r} that this skeleton lacks; remove them first")
    _set_prop(e, "skeleton", joints, tx)


def _offset(value: Any):
    if value is None:
        return None
    try:
        return values.vec(value, 3, "offset")
    except ValueError as e:
        raise _FieldError("offset", str(e)) from None


def _relation_add(world: World, op: O.RelationAdd, actor: str, tx: _Tx):
    rid = _new_id(world.relations, op.id, "relation")
    _entity(world, op.subject, "subject")
    obj = _entity(world, op.object, "object")
    if op.subject == op.object:
        raise _FieldError("object", "an entity cannot relate to itself")
    if op.joint is not None:
        names = {j["name"] for j in (obj.joints or [])}
        if op.joint not in names:
            raise _FieldError("joint", f"{op.object!r} has no joint {op.joint!r}")
    start = None if op.start is None else _frame(op.start, "start")
    end = None if op.end is None else _frame(op.end, "end")
    if (start is not None or end is not None) and op.kind != "attached_to":
        raise _FieldError("start" if start is not None else "end", "only attached_to relations have a frame range")
    if start is not None and end is not None and not start < end:
        raise _FieldError("end", f"end {end:g} must be after start {start:g}")
    if op.kind in ("attached_to", "look_at"):
        for r in world.relations.values():
            if r.kind == op.kind and r.subject == op.subject and (op.kind == "look_at" or r.overlaps(start, end)):
                held = "" if op.kind == "look_at" or (r.start is None and r.end is None) else \
                    " over the same frames"
                raise _FieldError("subject", f"{op.subject!r} already has a {op.kind} relation ({r.id!r}){held}")
    if op.kind == "attached_to" and _chain_reaches(world, op.object, op.subject):
        raise _FieldError("object", f"attaching {op.subject!r} to {op.object!r} would make a cycle")
    if op.kind == "supports":
        if any(r.kind == "supports" and r.subject == op.object and r.object == op.subject
               for r in world.relations.values()):
            raise _FieldError("object", f"{op.object!r} already rests on {op.subject!r}")
    rel = Relation(rid, op.kind, op.subject, op.object, op.joint, _offset(op.offset), start, end)
    tx.set(world.relations, rid, rel)
    tx.emit("relation.put", rid, rel.to_dict())


def _relation_remove(world: World, op: O.RelationRemove, actor: str, tx: _Tx):
    if op.id not in world.relations:
        raise _FieldError("id", f"unknown relation {op.id!r}")
    tx.delete(world.relations, op.id)
    tx.emit("relation.del", op.id)


def _directive_add(world: World, op: O.DirectiveAdd, actor: str, tx: _Tx):
    did = _new_id(world.directives, op.id, "directive")
    try:
        values.check_id(op.agent, "agent")
    except ValueError as e:
        raise _FieldError("agent", str(e)) from None
    d = Directive(did, op.agent, _json_params(op.params))
    tx.set(world.directives, did, d)
    tx.emit("directive.put", did, d.to_dict())


def _directive_update(world: World, op: O.DirectiveUpdate, actor: str, tx: _Tx):
    d = world.directives.get(op.id)
    if d is None:
        raise _FieldError("id", f"unknown directive {op.id!r}")
    new = Directive(d.id, d.agent, _json_params(op.params))
    tx.set(world.directives, op.id, new)
    tx.emit("directive.put", op.id, new.to_dict())


def _directive_remove(world: World, op: O.DirectiveRemove, actor: str, tx: _Tx):
    if op.id not in world.directives:
        raise _FieldError("id", f"unknown directive {op.id!r}")
    tx.delete(world.directives, op.id)
    tx.emit("directive.del", op.id)


def _json_params(params: dict) -> dict:
    """Directive params are free JSON; numbers become floats (as the document returns them), non-finite rejected."""

    def walk(v, where):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return values.number(v, where, lo=-MAX_ABS_PARAM, hi=MAX_ABS_PARAM)
        if isinstance(v, list):
            return [walk(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if isinstance(v, dict):
            return {str(k): walk(x, f"{where}.{k}") for k, x in v.items()}
        raise ValueError(f"{where}: unsupported value {type(v).__name__}")

    try:
        return walk(params, "params")
    except ValueError as e:
        raise _FieldError("params", str(e)) from None


_HANDLERS = {
    O.ShotConfigure: _shot_configure,
    O.EntityCreate: _entity_create,
    O.EntityRemove: _entity_remove,
    O.EntitySet: _entity_set,
    O.KeySet: _key_set,
    O.KeyRemove: _key_remove,
    O.TrackClear: _track_clear,
    O.TrackShift: _track_shift,
    O.SkeletonSet: _skeleton_set,
    O.RelationAdd: _relation_add,
    O.RelationRemove: _relation_remove,
    O.DirectiveAdd: _directive_add,
    O.DirectiveUpdate: _directive_update,
    O.DirectiveRemove: _directive_remove,
}
