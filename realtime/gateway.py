"""The authorised way in: who may do what to which shot, and the writes built on the command service.

HTTP handlers and the WebSocket both call these functions; they raise :mod:`realtime.errors` /
:class:`realtime.commands.CommandError` and never choose a status themselves.

* :func:`authenticate` — token → user. :func:`require_member` — 404 for non-members (a project's existence never
  leaks), 403 for a viewer asked to write.
* :func:`authorize` — per op, from the role (table in :mod:`realtime.access`): the entity's kind decides (for
  ``entity.create`` the op's kind, otherwise the kind in the current world or earlier in the same command);
  relations need rights on their subject; directives need director / owner, an agent scoped for "directive", or
  the role matching the directive's agent (``camera``/``shot`` → camera, ``lighting``/``light`` → lighting,
  ``layout`` → layout, ``motion``/``path`` → motion); ``shot.configure`` needs director / owner (or an agent
  scoped for "shot"). An empty ``shot.configure`` — the marker a no-op undo or rollback records — needs only write.
  ``entity.remove`` also needs rights on every entity the removal changes — the subjects of relations to it (they
  go with it) and its children (their parent is cleared) —, and the refusal names them.
* :func:`submit_as`, :func:`create_shot_as`, :func:`rollback_as`, :func:`undo_as`, :func:`redo_as`,
  :func:`fork_as` — writes. Rollback, undo, redo and fork compute ordinary ops (core/restore.py), are authorised
  op by op like any command, and append ONE event (a fork of a large world: several, the first recording its
  origin), with ``reason`` "rollback to N", "undo S", "redo U", "fork of P/S at N". Undo / redo state is derived
  from the log: a user's applied events in order, where "undo S" pops S and "redo U" re-pushes; any other edit
  clears the redo stack. Clients may not send these reasons themselves.

Authorisation is decided when the command arrives, against the projection as it then stands; the reducer does
not re-check it.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

from core import ops as O
from core.restore import describe, diff, revert
from core.values import check_id
from core.world import World
from events.envelope import MAX_COMMAND_ID, MAX_EVENT_BYTES, MAX_OPS, Actor, Command, check_command_id
from projections.store import HISTORY_MAX

from .access import SCOPES, Membership
from .auth import bearer_token
from .commands import CommandError, Result
from .errors import Conflict, Forbidden, Invalid, NotFound, TooLarge

__all__ = [
    "authenticate",
    "require_member",
    "authorize",
    "actor_for",
    "submit_as",
    "create_shot_as",
    "current_reducer",
    "world_at_as",
    "rollback_as",
    "undo_as",
    "redo_as",
    "fork_as",
    "undo_stacks",
    "ROLE_KINDS",
    "DIRECTIVE_ROLES",
]

ROLE_KINDS = {"layout": {"prop", "environment"}, "camera": {"camera"}, "lighting": {"light"},
              "motion": {"character"}}
DIRECTIVE_ROLES = {"camera": "camera", "shot": "camera", "lighting": "lighting", "light": "lighting",
                   "layout": "layout", "motion": "motion", "path": "motion", "hold": "motion"}
_FULL = ("owner", "director")
_RESERVED = re.compile(r"^(undo|redo|rollback|fork)\b")
_UNDO = re.compile(r"^undo (\d+)$")
_REDO = re.compile(r"^redo (\d+)$")
_RETRIES = 3


# ---------------------------------------------------------------- who


def authenticate(system, authorization: str | None, query_token: str | None = None) -> str:
    """The user named by a request's bearer token (or ``?token=``); raises Unauthorized."""
    return system.tokens.verify(bearer_token(authorization, query_token))


async def require_member(system, user: str, project: str, write: bool = False) -> Membership:
    m = await system.access.membership(project, user)
    if m is None:
        raise NotFound(f"no project {project!r}")
    if write and not m.can_write:
        raise Forbidden(f"role {m.role} is read-only in project {project!r}")
    return m


def actor_for(m: Membership) -> Actor:
    return Actor(kind="agent" if m.role == "agent" else "user", id=m.user)


def _tag(op) -> str:
    return type(op).__struct_config__.tag


def authorize(m: Membership, world: World | None, ops: list) -> None:
    """Raise Forbidden naming the first op ``m``'s role may not carry out on ``world``."""
    if m.role in _FULL:
        return
    if not m.can_write:
        raise Forbidden(f"role {m.role} is read-only")
    scopes = set(m.scopes if m.scopes is not None else SCOPES) if m.role == "agent" else None
    # What the ops see: the world's entities, directives and relations, overlaid with those the command adds
    # (looked up per op, so a command costs the same in a shot of ten entities or ten thousand).
    kinds = _Overlay(world.entities if world else {}, lambda e: e.kind)
    agents = _Overlay(world.directives if world else {}, lambda d: d.agent)
    subjects = _Overlay(world.relations if world else {}, lambda r: r.subject)

    def kind_ok(kind: str | None) -> bool:
        if kind is None:  # an unknown entity: the op cannot apply, validation says why
            return True
        return kind in scopes if scopes is not None else kind in ROLE_KINDS.get(m.role, ())

    for i, op in enumerate(ops):
        what: str | None = None
        if isinstance(op, O.ShotConfigure):
            if op != O.ShotConfigure() and not (scopes is not None and "shot" in scopes):
                what = "configure the shot"
        elif isinstance(op, (O.DirectiveAdd, O.DirectiveUpdate, O.DirectiveRemove)):
            agent = op.agent if isinstance(op, O.DirectiveAdd) else agents.get(op.id)
            if agent is not None:
                ok = ("directive" in scopes) if scopes is not None else DIRECTIVE_ROLES.get(agent) == m.role
                if not ok:
                    what = f"direct the {agent} agent"
            if isinstance(op, O.DirectiveAdd):
                agents[op.id] = op.agent
        elif isinstance(op, (O.RelationAdd, O.RelationRemove)):
            subject = op.subject if isinstance(op, O.RelationAdd) else subjects.get(op.id)
            if subject is not None and not kind_ok(kinds.get(subject)):
                what = f"relate {kinds.get(subject)} {subject!r}"
            if isinstance(op, O.RelationAdd):
                subjects[op.id] = op.subject
        else:
            kind = op.kind if isinstance(op, O.EntityCreate) else kinds.get(op.id)
            if not kind_ok(kind):
                what = f"edit {kind} {op.id!r}"
            elif isinstance(op, O.EntityRemove):
                hit = [(eid, k, why) for eid, why in _removal_touches(world, op.id)
                       if not kind_ok(k := kinds.get(eid))]
                if hit:
                    names = ", ".join(f"{k} {eid!r} ({why})" for eid, k, why in hit)
                    raise Forbidden(f"op {i} ({_tag(op)}): role {m.role} may not remove {op.id!r}: removing it "
                                    f"would also change {names}", index=i, entities=[eid for eid, _, _ in hit])
            if isinstance(op, O.EntityCreate):
                kinds.setdefault(op.id, op.kind)
        if what is not None:
            raise Forbidden(f"op {i} ({_tag(op)}): role {m.role} may not {what}", index=i)


def _removal_touches(world: World | None, eid: str) -> list[tuple[str, str]]:
    """The other entities removing ``eid`` changes, with why (what ``core.edit``'s ``entity.remove`` does): the
    subjects of relations it is the object of (the relation goes) and its children (their parent is cleared).
    Over the world as it stands: relations and parents the same command adds are on entities whose kind the
    role edits (they were authorised as such), so they never change the answer. (entity id, why), sorted."""
    if world is None:
        return []
    out: dict[str, str] = {}
    for rid, r in world.relations.items():
        if r.object == eid and r.subject != eid:
            out.setdefault(r.subject, f"its {r.kind} relation {rid!r} goes")
    for cid, c in world.entities.items():
        if c.parent == eid and cid != eid:
            out.setdefault(cid, "its parent is cleared")
    return sorted(out.items())


class _Overlay:
    """A read view of ``base`` (values mapped through ``field``) with local additions on top."""

    def __init__(self, base: dict, field):
        self.base, self.field, self.added = base, field, {}

    def get(self, key):
        if key in self.added:
            return self.added[key]
        found = self.base.get(key)
        return None if found is None else self.field(found)

    def __setitem__(self, key, value) -> None:
        self.added[key] = value

    def setdefault(self, key, value) -> None:
        if self.get(key) is None:
            self.added[key] = value


# ---------------------------------------------------------------- reading


async def current_reducer(system, project: str, shot: str):
    """The shot's live reducer (the projector's in ``wnm up``); NotFound when the shot has no events."""
    reducer = await system.commands.replica.reducer(project, shot)
    if reducer.last_seq == 0:
        raise NotFound(f"no shot {project}/{shot}")
    return reducer


async def world_at_as(system, user: str, project: str, shot: str, at: int | None = None):
    """(reducer at ``at`` or the head) for a member; the live reducer at the head, a replay otherwise."""
    await require_member(system, user, project)
    live = await current_reducer(system, project, shot)
    if at is None or at >= live.last_seq:
        return live
    if at < 0:
        raise Invalid("at must be ≥ 0", field="at")
    return await system.world_at(project, shot, at)


# ---------------------------------------------------------------- writing


async def submit_as(system, user: str, project: str, shot: str, command: Command, *,
                    reason: str | None = None, causation: int | None = None) -> Result:
    """Authorise every op of ``command`` for ``user`` and submit it; answers once its verdict is known."""
    started = await start_as(system, user, project, shot, command, reason=reason, causation=causation)
    return started if isinstance(started, Result) else await started.verdict()


async def start_as(system, user: str, project: str, shot: str, command: Command, *,
                   reason: str | None = None, causation: int | None = None):
    """The one write ladder for people: check membership and role, authorise each op against the shot's live
    world, then check and send (``CommandService.start``, handed the same reducer): a ``Pending`` (ack, then
    verdict) — the socket pipelines its commands with it — or the first verdict of a retried command."""
    m = await require_member(system, user, project, write=True)
    if command.reason and _RESERVED.match(command.reason):
        raise Invalid(f"reason {command.reason!r} is reserved for the server's own rollback, undo, redo and fork",
                      field="reason")
    reducer = await current_reducer(system, project, shot)
    authorize(m, reducer.world, command.ops)
    return await system.commands.start(project, shot, actor_for(m), command, reason=reason, causation=causation,
                                       reducer=reducer)


async def create_shot_as(system, user: str, project: str, shot: str, *, command_id: str | None = None,
                         **meta: Any) -> Result:
    """A new shot: its first event is one ``shot.configure`` with ``meta`` (fps, frame_start, frame_end, name,
    resolution, agents)."""
    m = await require_member(system, user, project, write=True)
    try:
        check_id(shot, "shot id")
    except ValueError as e:
        raise Invalid(str(e), field="id") from None
    if command_id is not None:
        _check_command_id(command_id)
    op = O.ShotConfigure(**{k: v for k, v in meta.items() if v is not None})
    if not (m.role in _FULL or (m.role == "agent" and "shot" in (m.scopes or SCOPES))):
        raise Forbidden(f"role {m.role} may not create shots")
    authorize(m, None, [op])
    await system.log.ensure_project(project)
    if system.projector is not None:
        system.projector.watch_project(project)
    if await system.log.last_seq(project, shot):
        raise Conflict(f"shot {project}/{shot} already exists")
    cmd = Command(command_id=command_id or f"create-shot-{shot}", ops=[op], expected_seq=0)
    return await system.commands.submit(project, shot, actor_for(m), cmd, must_exist=False)


def _check_command_id(command_id: str) -> None:
    try:
        check_command_id(command_id)
    except ValueError as e:
        raise Invalid(str(e), field="command_id") from None


async def _restore(system, m: Membership, project: str, shot: str, command_id: str, reason: str, plan):
    """Append the ops ``plan(current_world)`` returns as one event, retrying when the shot moved on between
    reading the world and appending (``expected_seq`` guards that). Returns (Result, plan's extra)."""
    for attempt in range(_RETRIES):
        reducer = await current_reducer(system, project, shot)
        last = reducer.last_seq
        current = copy.deepcopy(reducer.world)
        ops, extra = await plan(current)
        ops = ops or [O.ShotConfigure()]  # nothing to change: still recorded, so the history says it was asked
        if len(ops) > MAX_OPS:
            raise TooLarge(f"{reason} needs {len(ops)} ops; one event carries at most {MAX_OPS} "
                           "(go back in smaller steps, or fork the shot at that offset)")
        authorize(m, current, ops)
        try:
            result = await system.commands.submit(project, shot, actor_for(m),
                                                  Command(command_id=command_id, ops=ops, expected_seq=last),
                                                  reason=reason, by_reason=True)
            return result, extra
        except CommandError as e:  # 409: the shot moved on since it was read (a reused id is final)
            if e.kind != "conflict" or e.field == "command_id" or attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


async def rollback_as(system, user: str, project: str, shot: str, command_id: str, to_seq: int) -> dict:
    """One event that makes the shot equal to its world at ``to_seq``; the history stays as it was."""
    _check_command_id(command_id)
    m = await require_member(system, user, project, write=True)
    head = await current_reducer(system, project, shot)
    if to_seq < 0 or to_seq > head.last_seq:
        raise Invalid(f"to_seq must be within 0–{head.last_seq}, got {to_seq}", field="to_seq")
    target = (await system.world_at(project, shot, to_seq)).world

    async def plan(current):
        return diff(current, target), None

    result, _ = await _restore(system, m, project, shot, command_id, f"rollback to {to_seq}", plan)
    return {**result.to_json(), "to_seq": to_seq}


def undo_stacks(entries) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """From one user's audit entries (seq order): the undo stack of (event to revert, the edit it stands for) and
    the redo stack of (undo event to revert, the edit it undid)."""
    undo: list[tuple[int, int]] = []
    redo: list[tuple[int, int]] = []
    for e in entries:
        if not e.applied:
            continue
        reason = (e.payload.get("reason") if isinstance(e.payload, dict) else None) or ""
        # An undo moves its target from the undo stack to the redo stack, a redo moves it back; any other edit
        # goes on the undo stack and clears the redo stack.
        for mark, source, dest in ((_UNDO, undo, redo), (_REDO, redo, undo)):
            m = mark.match(reason)
            if m:
                target = int(m.group(1))
                hit = next((x for x in source if x[0] == target), None)
                if hit is not None:
                    source.remove(hit)
                    dest.append((e.seq, hit[1]))
                break
        else:
            undo.append((e.seq, e.seq))
            redo.clear()
    return undo, redo


async def _own_history(system, m: Membership, project: str, shot: str, command_id: str):
    entries = await system.store.history(project, shot, actor=actor_for(m).label, limit=HISTORY_MAX)
    for e in entries:
        if e.command_id == command_id:  # a retried request: answer what the first one did
            return entries, Result(e.seq, e.status, e.reason, duplicate=True)
    return entries, None


async def _revert_event(system, m, project, shot, command_id, seq: int, reason: str):
    before = (await system.world_at(project, shot, seq - 1)).world
    after = (await system.world_at(project, shot, seq)).world

    async def plan(current):
        r = revert(before, after, current)
        return r.ops, r

    result, r = await _restore(system, m, project, shot, command_id, reason, plan)
    return {**result.to_json(), "restored": [describe(i) for i in r.restored],
            "skipped": [describe(i) for i in r.skipped]}


async def undo_as(system, user: str, project: str, shot: str, command_id: str) -> dict:
    """Undo the caller's last edit not yet undone, leaving whatever others changed since (listed as skipped)."""
    return await _step(system, user, project, shot, command_id, redo=False)


async def redo_as(system, user: str, project: str, shot: str, command_id: str) -> dict:
    """Redo the caller's last undone edit (undo its undo), as long as no new edit of theirs came since."""
    return await _step(system, user, project, shot, command_id, redo=True)


async def _step(system, user: str, project: str, shot: str, command_id: str, redo: bool) -> dict:
    _check_command_id(command_id)
    m = await require_member(system, user, project, write=True)
    await current_reducer(system, project, shot)
    entries, dup = await _own_history(system, m, project, shot, command_id)
    if dup is not None:
        return dup.to_json()
    undo, redone = undo_stacks(entries)
    stack = redone if redo else undo
    if not stack:
        raise Conflict(f"nothing to redo: {m.user} has no undone edit of {project}/{shot}" if redo else
                       f"nothing to undo: {m.user} has no edit of {project}/{shot} left to undo")
    seq, original = stack[-1]
    word = "redo" if redo else "undo"
    out = await _revert_event(system, m, project, shot, command_id, seq, f"{word} {seq}")
    return {**out, ("redone" if redo else "undone"): original}


def _part_id(command_id: str, k: int) -> str:
    """The command id of part ``k`` of a fork: ``<id>/<k>``, or a digest of the id where that would be too long."""
    part = f"{command_id}/{k}"
    if len(part) <= MAX_COMMAND_ID:
        return part
    return f"{hashlib.sha256(command_id.encode()).hexdigest()[:40]}/{k}"


def _chunks(ops: list, max_ops: int = MAX_OPS, max_bytes: int = MAX_EVENT_BYTES - 64_000) -> list[list]:
    out: list[list] = [[]]
    size = 0
    for op in ops:
        n = len(O.encode_ops([op]))
        if out[-1] and (len(out[-1]) >= max_ops or size + n > max_bytes):
            out.append([])
            size = 0
        out[-1].append(op)
        size += n
    return out


async def fork_as(system, user: str, project: str, shot: str, new_shot: str, command_id: str,
                  at_seq: int | None = None) -> dict:
    """A new shot whose world equals ``shot``'s at ``at_seq`` (default: the head). Its first event records the
    origin ("fork of P/S at N"); a world too big for one event continues in parts."""
    _check_command_id(command_id)
    m = await require_member(system, user, project, write=True)
    try:
        check_id(new_shot, "shot id")
    except ValueError as e:
        raise Invalid(str(e), field="shot") from None
    head = await current_reducer(system, project, shot)
    at = head.last_seq if at_seq is None else at_seq
    if at < 0 or at > head.last_seq:
        raise Invalid(f"at_seq must be within 0–{head.last_seq}, got {at}", field="at_seq")
    reason = f"fork of {project}/{shot} at {at}"
    if await system.log.last_seq(project, new_shot):
        first = await system.store.history(project, new_shot, after=0, limit=1)
        if first and first[0].command_id == command_id:
            return {**Result(first[0].seq, first[0].status, first[0].reason, True).to_json(), "shot": new_shot}
        raise Conflict(f"shot {project}/{new_shot} already exists")
    source = (await system.world_at(project, shot, at)).world
    ops = diff(World(project=project, shot=new_shot), source, full_meta=True)
    authorize(m, World(project=project, shot=new_shot), ops)
    parts = _chunks(ops)
    actor = actor_for(m)
    result = await system.commands.submit(
        project, new_shot, actor, Command(command_id=command_id, ops=parts[0], expected_seq=0),
        reason=reason, must_exist=False, by_reason=True)
    first_seq = result.seq
    for k, part in enumerate(parts[1:], start=2):
        if result.status != "applied":
            break
        result = await system.commands.submit(
            project, new_shot, actor, Command(command_id=_part_id(command_id, k), ops=part),
            reason=f"{reason} (part {k}/{len(parts)})", by_reason=True)
    return {**result.to_json(), "shot": new_shot, "at_seq": at, "first_seq": first_seq, "events": len(parts)}
