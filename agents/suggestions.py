"""Suggest mode (SPEC §7): proposals an agent would have published, kept for a person to accept or dismiss.

A :class:`Suggestion` holds exactly the ops the agent proposed, its reason and the triggering seq; its ``id`` is
the command id the agent would have used (``agent.<name>.<seq>.<i>``), so a restarted agent re-proposing it is a
no-op. Accepting publishes exactly those ops as the accepting person (command id ``accept.<id>``, causation = the
triggering seq, the agent's reason), through the command service like any edit; dismissing only marks it.

Stores: :class:`MemorySuggestions` (tests) and :class:`PgSuggestions` (table ``agent_suggestions``,
migrations/003_agents.sql).
"""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from core.ops import Op, decode_ops, encode_ops
from events.envelope import Actor, Command
from events.verdicts import Result

__all__ = ["Suggestion", "SuggestionError", "SuggestionStore", "MemorySuggestions", "PgSuggestions",
           "list_suggestions", "accept", "dismiss"]

Status = Literal["pending", "accepted", "dismissed"]


class Suggestion(msgspec.Struct, kw_only=True):
    id: str
    project: str
    shot: str
    agent: str
    trigger_seq: int
    ops: list[Op]
    reason: str
    status: Status = "pending"
    decided_by: str | None = None
    result_seq: int | None = None

    def to_json(self) -> dict:
        return msgspec.to_builtins(self)


class SuggestionError(Exception):
    """``kind``: ``not_found`` (no such suggestion) or ``conflict`` (already decided otherwise)."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


class SuggestionStore(Protocol):
    async def propose(self, s: Suggestion) -> None: ...

    async def get(self, project: str, shot: str, sid: str) -> Suggestion | None: ...

    async def list(self, project: str, shot: str, status: str | None = "pending",
                   limit: int = 100) -> list[Suggestion]: ...

    async def decide(self, project: str, shot: str, sid: str, status: Status, by: str,
                     result_seq: int | None = None) -> bool: ...


class MemorySuggestions:
    def __init__(self):
        self.items: dict[tuple[str, str, str], Suggestion] = {}

    async def propose(self, s):
        self.items.setdefault((s.project, s.shot, s.id), msgspec.structs.replace(s))

    async def get(self, project, shot, sid):
        s = self.items.get((project, shot, sid))
        return None if s is None else msgspec.structs.replace(s)

    async def list(self, project, shot, status="pending", limit=100):
        found = [s for (p, sh, _), s in self.items.items()
                 if p == project and sh == shot and (status is None or s.status == status)]
        return [msgspec.structs.replace(s) for s in sorted(found, key=lambda s: (s.trigger_seq, s.id))[:limit]]

    async def decide(self, project, shot, sid, status, by, result_seq=None):
        s = self.items.get((project, shot, sid))
        if s is None or s.status != "pending":
            return False
        s.status, s.decided_by, s.result_seq = status, by, result_seq
        return True


_COLUMNS = "id, project, shot, agent, trigger_seq, ops, reason, status, decided_by, result_seq"


def _row(r) -> Suggestion:
    return Suggestion(id=r["id"], project=r["project"], shot=r["shot"], agent=r["agent"],
                      trigger_seq=r["trigger_seq"], ops=decode_ops(r["ops"]), reason=r["reason"],
                      status=r["status"], decided_by=r["decided_by"], result_seq=r["result_seq"])


class PgSuggestions:
    def __init__(self, pool):
        self.pool = pool

    async def propose(self, s):
        await self.pool.execute(
            "INSERT INTO agent_suggestions (id, project, shot, agent, trigger_seq, ops, reason) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) ON CONFLICT (project, shot, id) DO NOTHING",
            s.id, s.project, s.shot, s.agent, s.trigger_seq, encode_ops(s.ops).decode(), s.reason)

    async def get(self, project, shot, sid):
        r = await self.pool.fetchrow(f"SELECT {_COLUMNS} FROM agent_suggestions "
                                     "WHERE project = $1 AND shot = $2 AND id = $3", project, shot, sid)
        return None if r is None else _row(r)

    async def list(self, project, shot, status="pending", limit=100):
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM agent_suggestions WHERE project = $1 AND shot = $2 "
            "AND ($3::text IS NULL OR status = $3) ORDER BY trigger_seq, id LIMIT $4", project, shot, status, limit)
        return [_row(r) for r in rows]

    async def decide(self, project, shot, sid, status, by, result_seq=None):
        done = await self.pool.fetchval(
            "UPDATE agent_suggestions SET status = $4, decided_by = $5, result_seq = $6, decided_at = now() "
            "WHERE project = $1 AND shot = $2 AND id = $3 AND status = 'pending' RETURNING 1",
            project, shot, sid, status, by, result_seq)
        return bool(done)


async def list_suggestions(store: SuggestionStore, project: str, shot: str, status: str | None = "pending",
                           limit: int = 100) -> list[Suggestion]:
    return await store.list(project, shot, status, limit)


async def _pending(store, project, shot, sid) -> Suggestion:
    s = await store.get(project, shot, sid)
    if s is None:
        raise SuggestionError("not_found", f"no suggestion {sid!r} in {project}/{shot}")
    return s


async def accept(store: SuggestionStore, commands, project: str, shot: str, sid: str, actor: Actor):
    """Publish exactly the suggestion's ops as ``actor``; returns the command service's ``Result``.

    Accepting twice returns the first result (the command id is derived from the suggestion). Raises
    SuggestionError (unknown, or dismissed) or ``events.verdicts.CommandError`` when the world moved on so
    far that the ops no longer apply (the suggestion stays pending).
    """
    s = await _pending(store, project, shot, sid)
    if s.status == "dismissed":
        raise SuggestionError("conflict", f"suggestion {sid!r} was dismissed by {s.decided_by}")
    if s.status == "accepted":
        return Result(s.result_seq or 0, "applied", None, True)
    res = await commands.submit(project, shot, actor, Command(command_id=f"accept.{s.id}", ops=s.ops),
                                causation=s.trigger_seq, reason=s.reason)
    if res.status == "applied":
        await store.decide(project, shot, sid, "accepted", actor.label, res.seq)
    return res


async def dismiss(store: SuggestionStore, project: str, shot: str, sid: str, actor: Actor) -> Suggestion:
    s = await _pending(store, project, shot, sid)
    if s.status == "accepted":
        raise SuggestionError("conflict", f"suggestion {sid!r} was already accepted by {s.decided_by}")
    await store.decide(project, shot, sid, "dismissed", actor.label)
    return await _pending(store, project, shot, sid)
