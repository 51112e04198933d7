"""Rollback, undo, redo and fork (SPEC §6): each computes ordinary ops (core/restore.py), authorised op by op like
any command, and appends ONE event (a fork of a large world: several, the first recording its origin), with
``reason`` "rollback to N", "undo S", "redo U", "fork of P/S at N". Undo / redo state is derived from the log: a
user's applied events in order, where "undo S" pops S and "redo U" re-pushes; any other edit clears the redo stack.
Clients may not send these reasons themselves (:data:`realtime.gateway.RESERVED_REASON`).
"""

from __future__ import annotations

import copy
import hashlib
import re

from core import ops as O
from core.restore import describe, diff, revert
from core.values import check_id
from core.world import World
from events.envelope import MAX_COMMAND_ID, MAX_EVENT_BYTES, MAX_OPS, Command
from projections.store import HISTORY_MAX

from .access import Membership
from .commands import CommandError, Result
from .errors import Conflict, Invalid, TooLarge
from .gateway import command_id_field, current_reducer
from .policy import actor_for, authorize, require_member

__all__ = ["rollback_as", "undo_as", "redo_as", "fork_as", "undo_stacks"]

_UNDO = re.compile(r"^undo (\d+)$")
_REDO = re.compile(r"^redo (\d+)$")
_RETRIES = 3


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
    command_id_field(command_id)
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


async def _history_reaches(system, project: str, shot: str, seq: int) -> None:
    """Wait until the history holds every event folded so far (up to ``seq``). The undo and redo stacks are read
    from the history, which is committed after the live world is folded (sockets see an edit first): an undo sent
    right after seeing an edit, before its own answer, must find that edit."""
    try:
        await system.commands.replica.outcome(project, shot, seq, system.commands.outcome_timeout)
    except TimeoutError:
        raise CommandError("timeout", f"the history of {project}/{shot} has not reached seq {seq} yet; "
                                      "try again") from None


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
    command_id_field(command_id)
    m = await require_member(system, user, project, write=True)
    head = await current_reducer(system, project, shot)
    await _history_reaches(system, project, shot, head.last_seq)
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
    command_id_field(command_id)
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
