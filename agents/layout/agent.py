"""The ``layout`` agent (SPEC §7): turns a layout directive's recipe into one event that builds the scene.

Trigger: a ``directive.add`` / ``directive.update`` of a directive whose agent is ``layout`` and whose params hold a
``recipe`` (:mod:`agents.layout.recipe`) that has no report for this exact recipe yet (``report.recipe_hash``), so
the agent's own report update, replays and retries never solve twice.

Decision (pure): parse → resolve assets (:mod:`agents.assets.retrieval`) → place (:mod:`agents.layout.place`) →
supervise (check and repair, :mod:`agents.layout.supervisor`) → build the ops → verify them on a copy of the world
(:mod:`agents.layout.verify`). The result is ONE proposal:

- done: ``entity.create`` (white-box geometry, colour, position, quarter-turn rotation) and ``relation.add``
  (``supports`` for what rests on something, ``attached_to`` for wall hangings, ceiling lamps and lintels) for
  every entity, plus a ``directive.update`` keeping the params and adding ``report`` =
  ``{status: "done", recipe_hash, rounds, failures, moved, entities: {id: {asset, position, rotation, color}},
  checks}``;
- failed: only the ``directive.update`` with ``report = {status: "failed", reason, recipe_hash, rounds,
  failures}`` — nothing is half-built, and a previous solution stays as it was.

Entity ids are ``<directive>.<local>`` (``living.sofa-1``; shortened with a hash when over 64 characters). On a
re-solve the agent replaces only what it authored: an entity whose position, rotation or colour no longer equals
what the last report recorded was changed by someone else, so those values are pins — kept, and the entity
becomes a fixed obstacle for the rest of the layout. Entities the new recipe no longer has are removed, unless a
person changed them. Other entities in the shot are obstacles the layout avoids.

Imported assets: construct ``LayoutAgent(index)`` with an :class:`~agents.assets.retrieval.AssetIndex` that holds
them (``agents.assets.imports.load_index``); the registered factory uses the built-in catalogue.
"""

from __future__ import annotations

import hashlib

from agents.assets.catalog import Asset
from agents.assets.retrieval import AssetIndex, builtin_index
from agents.base import Proposal, register
from core import edit
from core import ops as O
from core.world import World
from events.envelope import MAX_OPS, Event

from . import recipe as R
from .model import Item, yaw_quat
from .place import LayoutError, Plan, build
from .supervisor import MAX_ROUNDS, supervise
from .verify import verify

__all__ = ["LayoutAgent", "entity_id", "MIN_TEXT_SCORE", "solve"]

MIN_TEXT_SCORE = 0.45
"""A text query whose best asset scores below this cosine names nothing in the library."""

_MANAGED = ("transform.position", "transform.rotation", "color")


def entity_id(directive: str, local: str) -> str:
    """``<directive>.<local>``, or a shortened, hashed form when that is longer than 64 characters."""
    full = f"{directive}.{local}"
    if len(full) <= 64:
        return full
    h = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{directive[:24]}.{local[:30]}-{h}"


class LayoutAgent:
    name = "layout"
    generative = True

    def __init__(self, index: AssetIndex | None = None, max_rounds: int = MAX_ROUNDS):
        self._index = index
        self.max_rounds = max_rounds

    @property
    def index(self) -> AssetIndex:
        if self._index is None:
            self._index = builtin_index()
        return self._index

    def decide(self, world: World, event: Event, seq: int) -> list[Proposal]:
        if event.actor.kind == "agent" and event.actor.id == self.name:
            return []
        out = []
        seen = set()
        for op in event.ops:
            if not isinstance(op, (O.DirectiveAdd, O.DirectiveUpdate)) or op.id in seen:
                continue
            seen.add(op.id)
            d = world.directives.get(op.id)
            if d is None or d.agent != self.name:
                continue
            raw = d.params.get("recipe")
            report = d.params.get("report") or {}
            if raw is None:
                if "report" not in d.params:
                    out.append(_failed(d.id, d.params, "params.recipe is missing", None))
                continue
            if isinstance(report, dict) and report.get("recipe_hash") == R.recipe_hash(raw):
                continue
            out.append(solve(world, d.id, d.params, self.index, self.max_rounds))
        return out

    # resolving assets -------------------------------------------------------------------------------------


def _resolver(index: AssetIndex):
    def resolve(asset_id: str | None, text: str | None, size) -> Asset:
        if asset_id is not None:
            a = index.get(asset_id)
            if a is None:
                raise LayoutError(f"unknown asset {asset_id!r}")
            return a
        hit = index.best(text, dims=list(size) if size else None)
        if hit is None or hit.text_score < MIN_TEXT_SCORE:
            raise LayoutError(f"no asset matches {text!r}")
        return hit.asset
    return resolve


def _failed(did: str, params: dict, reason: str, rhash: str | None, rounds: int = 0, failures=()) -> Proposal:
    report = {"status": "failed", "reason": reason, "rounds": rounds, "failures": list(failures)}
    if rhash is not None:
        report["recipe_hash"] = rhash
    new = dict(params)
    new["report"] = report
    return Proposal([O.DirectiveUpdate(id=did, params=new)], f"layout {did} failed: {reason}")


def _close(a, b, tol=1e-6) -> bool:
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return all(isinstance(x, (int, float)) and isinstance(y, (int, float)) and abs(x - y) <= tol
                   for x, y in zip(a, b))
    return a == b


def _yaw_of(q) -> int | None:
    """The quarter turn about +Y a quaternion is, or None."""
    from .model import YAWS
    for y in YAWS:
        if _close(list(q), yaw_quat(y), 1e-6) or _close([-c for c in q], yaw_quat(y), 1e-6):
            return y
    return None


def solve(world: World, did: str, params: dict, index: AssetIndex, max_rounds: int = MAX_ROUNDS) -> Proposal:
    """The layout of directive ``did`` (pure; see the module docstring)."""
    raw = params.get("recipe")
    rhash = R.recipe_hash(raw) if isinstance(raw, dict) else None
    unknown = sorted(set(params) - {"recipe", "report"})
    if unknown:
        return _failed(did, params, f"unknown params keys {unknown}", rhash)
    try:
        recipe = R.parse(raw)
        plan = build(recipe, _resolver(index))
    except (R.RecipeError, LayoutError) as e:
        return _failed(did, params, str(e), rhash)
    for it in plan.items:
        it.eid = entity_id(did, it.local)
    old = (params.get("report") or {}).get("entities") or {}
    pinned = _apply_pins(world, plan, old)
    _add_obstacles(world, plan)
    outcome = supervise(plan, max_rounds)
    failures = [dict(f.to_json(), round=r) for r, f in outcome.failures]
    if not outcome.clean:
        reason = "; ".join(f.detail for f in outcome.remaining[:5]) or "could not repair the layout"
        return _failed(did, params, f"unresolved after {outcome.rounds} rounds: {reason}", rhash, outcome.rounds,
                       failures)
    ops, entities = _ops(world, did, plan, old, pinned)
    if len(ops) + 1 > MAX_OPS:
        return _failed(did, params, f"the layout needs {len(ops) + 1} ops; one event holds at most {MAX_OPS}",
                       rhash, outcome.rounds, failures)
    mine = [it.eid for it in plan.items if it.cls != "obstacle"]
    try:
        _, problems = verify(world, ops, "agent:layout", mine)
    except edit.OpError as e:
        return _failed(did, params, f"the layout's ops do not apply: {e}", rhash, outcome.rounds, failures)
    if problems:
        reason = "; ".join(p["detail"] for p in problems[:5])
        return _failed(did, params, f"verification failed: {reason}", rhash, outcome.rounds, failures + problems)
    report = {
        "status": "done",
        "recipe_hash": rhash,
        "rounds": outcome.rounds,
        "failures": failures,
        "moved": [m.to_json() for m in outcome.moves],
        "pinned": sorted(pinned),
        "entities": entities,
        "checks": {"bounds": 0, "collisions": 0, "colour": 0, "supports": 0, "exportable": 0},
    }
    new = dict(params)
    new["report"] = report
    ops.append(O.DirectiveUpdate(id=did, params=new))
    n = len(entities)
    moved = len(outcome.moves)
    return Proposal(ops, f"layout {did}: placed {n} entities in {outcome.rounds} round(s), moved {moved} to repair")


def _apply_pins(world: World, plan: Plan, old: dict) -> dict[str, set]:
    """Entities a person changed since the last solve keep those values; moved ones become fixed obstacles."""
    pinned: dict[str, set] = {}
    for it in plan.items:
        e = world.entities.get(it.eid)
        rec = old.get(it.eid)
        if e is None or rec is None:
            continue
        paths = set()
        for path, key in zip(_MANAGED, ("position", "rotation", "color")):
            if key in rec and path in e.props and not _close(e.props[path], rec[key]):
                paths.add(path)
        if not paths:
            continue
        pinned[it.eid] = paths
        if "color" in paths:
            it.color = list(e.props["color"])
        if paths & {"transform.position", "transform.rotation"}:
            pos = e.props.get("transform.position", [0.0, 0.0, 0.0])
            yaw = _yaw_of(e.props.get("transform.rotation", [0.0, 0.0, 0.0, 1.0]))
            if it.attach is None:
                it.x, it.y, it.z = (float(c) for c in pos)
            if yaw is not None:
                it.yaw = yaw
            it.slot, it.pinned = None, True
    return pinned


def _add_obstacles(world: World, plan: Plan) -> None:
    """Solid entities of the shot that this layout does not author: obstacles it must leave room for."""
    from agents import geometry as G

    ours = {it.eid for it in plan.items}
    others = [eid for eid, e in sorted(world.entities.items())
              if eid not in ours and e.kind in ("prop", "character")]
    if not others:
        return
    frame = float(world.frame_start)
    shapes = G.shapes_at(world, [frame], ids=others)[frame]
    for eid, sh in sorted(shapes.items()):
        (x0, z0), (x1, z1) = sh.footprint.min(axis=0), sh.footprint.max(axis=0)
        it = Item(f"~{eid}", eid, "obstacle", (x1 - x0, sh.y_max - sh.y_min, z1 - z0), (x0 + x1) / 2, sh.y_min,
                  (z0 + z1) / 2, kind="obstacle", pinned=True, eid=eid)
        it.support = "~"  # no support or colour checks: it is not ours
        it.color = [0.0, 0.0, 0.0]
        it.geometry = {"primitive": "box", "size": [max(it.dims[0], 1e-3), max(it.dims[1], 1e-3),
                                                    max(it.dims[2], 1e-3)]}
        plan.items.append(it)


def _wall_anchor(plan: Plan, it: Item) -> Item | None:
    """The full-height wall piece a wall hanging's centre lies against."""
    wall = it.extra.get("wall")
    for p in plan.items:
        info = p.extra.get("wall")
        if p.cls != "arch" or not isinstance(info, tuple) or info[0] != wall:
            continue
        b = p.box()
        if b[0] - 1e-6 <= it.x <= b[1] + 1e-6 and b[4] - 1e-6 <= it.z <= b[5] + 1e-6 \
                or _touches_along(p, it):
            if b[2] <= it.y + 1e-6 and it.y + it.dims[1] <= b[3] + 1e-6:
                return p
    return None


def _touches_along(piece: Item, it: Item) -> bool:
    b, c = piece.box(), it.box()
    along_x = (b[1] - b[0]) >= (b[5] - b[4])
    if along_x:
        return b[0] - 1e-6 <= it.x <= b[1] + 1e-6
    return b[4] - 1e-6 <= it.z <= b[5] + 1e-6


def _ops(world: World, did: str, plan: Plan, old: dict, pinned: dict[str, set]) -> tuple[list, dict]:
    by = plan.by_local()
    for it in plan.items:
        if it.cls == "wall" and it.attach is None:
            anchor = _wall_anchor(plan, it)
            if anchor is not None:
                it.attach = anchor.local
    ops: list = []
    entities: dict[str, dict] = {}
    ours = [it for it in plan.items if it.cls != "obstacle"]
    new_ids = {it.eid for it in ours}
    # what the last solve authored and this one no longer has: removed unless someone changed it
    prefix_rel = [rid for rid in sorted(world.relations) if rid.startswith(f"{did}.")]
    for rid in prefix_rel:
        ops.append(O.RelationRemove(id=rid))
    for eid in sorted(old):
        if eid not in new_ids and eid in world.entities and eid not in pinned:
            ops.append(O.EntityRemove(id=eid))
    for it in ours:
        anchor = by.get(it.attach) if it.attach else None
        pos = [it.x, it.y, it.z]
        local_pos = [it.x - anchor.x, it.y - anchor.y, it.z - anchor.z] if anchor is not None else pos
        rot = yaw_quat(it.yaw)
        props = {"geometry": it.geometry, "color": [float(c) for c in it.color],
                 "transform.position": [float(c) + 0.0 for c in local_pos], "transform.rotation": rot}
        e = world.entities.get(it.eid)
        if e is None:
            ops.append(O.EntityCreate(id=it.eid, kind=it.kind, name=it.name, props=props))
        else:
            keep = pinned.get(it.eid, set())
            for path, value in props.items():
                if path in keep or _close(e.props.get(path), value):
                    continue
                ops.append(O.EntitySet(id=it.eid, path=path, value=value))
        entities[it.eid] = {"asset": it.asset or it.name, "position": props["transform.position"],
                            "rotation": rot, "color": props["color"]}
        if it.eid in pinned:
            for path, key in zip(_MANAGED, ("position", "rotation", "color")):
                if path in pinned[it.eid] and e is not None and path in e.props:
                    entities[it.eid][key] = e.props[path]
    for it in ours:
        if it.attach is not None and it.attach in by:
            ops.append(O.RelationAdd(id=entity_id(did, f"{it.local}.held"), kind="attached_to", subject=it.eid,
                                     object=by[it.attach].eid))
        elif it.support is not None and it.support in by:
            ops.append(O.RelationAdd(id=entity_id(did, f"{it.local}.on"), kind="supports", subject=it.eid,
                                     object=by[it.support].eid))
    return ops, entities


@register("layout")
def _make() -> LayoutAgent:
    return LayoutAgent()
