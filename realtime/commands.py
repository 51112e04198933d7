"""Turning a command into an event: validate against the current world, append once, report the verdict.

This is the one write path for HTTP, WebSocket, CLI and agents. Validation happens here (schema, ranges, references
against the current projection; 422 / 409 at once) and again, deterministically, when the reducer applies the event.
"""

from __future__ import annotations

import asyncio
import re
from typing import Awaitable, Protocol

import msgspec

from core import edit
from core.ops import error_location
from events.envelope import (MAX_EVENT_BYTES, MAX_OPS, Actor, Command, Event, check_command_id, decode_event,
                             encode_event, event_id_for, msg_id_for, now)
from events.log import Appended, ConflictError, EventLog
from events.verdicts import CommandError, Result
from projections.reducer import Outcome, ShotReducer

__all__ = ["CommandError", "Result", "Replica", "CommandService", "LocalReplica"]


class Replica(Protocol):
    """Where the command service reads the current world and learns each event's verdict."""

    async def reducer(self, project: str, shot: str) -> ShotReducer: ...

    async def outcome(self, project: str, shot: str, seq: int, timeout: float,
                      event_id: str | None = None) -> Outcome: ...


class CommandService:
    """``find_command(project, shot, command_id)`` (optional) returns the audit entry of a command already in the
    log. A command id is unique per shot, for ever:

    * a retry (same actor, same ops — for the server's own restores: same actor and reason) is answered with the
      first verdict and ``duplicate: true``, also when its ops no longer validate against the moved-on world (a
      second ``entity.create``) or its ``expected_seq`` no longer matches;
    * the same id with another command is refused with 409 and appends nothing.

    Within the log's duplicate window the log itself recognises the id (``Nats-Msg-Id`` = :func:`msg_id_for`) and
    the stored event is compared; past it (a shot older than the window) the audit is asked before appending."""

    def __init__(self, log: EventLog, replica: Replica, outcome_timeout: float = 10.0, find_command=None):
        self.log, self.replica, self.outcome_timeout = log, replica, outcome_timeout
        self.find_command = find_command
        self._born: dict[tuple[str, str], float] = {}  # the ts of each shot's first event (it never changes)

    async def _earlier(self, project: str, shot: str, actor: Actor, command: Command, reason: str | None,
                       by_reason: bool) -> Result | None:
        """The first verdict of ``command`` when the audit holds its id on ``shot`` (409 if that was another
        command); None when the id is new to the audit."""
        if self.find_command is None:
            return None
        entry = await self.find_command(project, shot, command.command_id)
        if entry is None:
            return None
        try:
            first = msgspec.convert(entry.payload, Event) if entry.payload is not None else None
        except (msgspec.ValidationError, TypeError):
            first = None
        _same_or_409(first, actor, command, reason, by_reason)
        return Result(entry.seq, entry.status, entry.reason, duplicate=True)

    async def _past_window(self, project: str, shot: str) -> bool:
        """Whether events of ``shot`` may be older than the log's duplicate window (so the log may have forgotten
        a command id the shot already holds). Asks the log for the shot's first event once per shot."""
        window = getattr(self.log, "duplicate_window_s", None)
        if window is None or self.find_command is None:
            return False
        key = (project, shot)
        born = self._born.get(key)
        if born is None:
            first = await self.log.get(project, 1, shot=shot)
            born = now()
            if first is not None:
                try:
                    born = decode_event(first.data).ts or 0.0
                except (msgspec.DecodeError, msgspec.ValidationError):
                    born = 0.0
            if len(self._born) > 100_000:
                self._born.clear()
            self._born[key] = born
        return now() - born > window - _CLOCK_SKEW_S

    async def submit(self, project: str, shot: str, actor: Actor, command: Command,
                     causation: int | None = None, reason: str | None = None,
                     must_exist: bool = True, by_reason: bool = False, check: bool = True) -> Result:
        """Check, append, and answer once the event's verdict is known. ``check=False`` appends a command whose
        ops do not validate all the same, for the fold to reject with its reason in the history (an agent's
        refused proposal, recorded where people look)."""
        started = await self.start(project, shot, actor, command, causation, reason, must_exist, by_reason,
                                   check=check)
        return started if isinstance(started, Result) else await started.verdict()

    async def start(self, project: str, shot: str, actor: Actor, command: Command,
                    causation: int | None = None, reason: str | None = None,
                    must_exist: bool = True, by_reason: bool = False,
                    reducer: ShotReducer | None = None, check: bool = True) -> "Pending | Result":
        """Check the command and send its event, without waiting for the log's ack: a :class:`Pending` (its ack,
        then its verdict), or — for a retry of a command already in the log that no longer validates — that
        command's first verdict. Raises CommandError. Events started one after another are stored in that order,
        so a socket pipelines its commands with this. ``by_reason``: a retry is recognised by its actor and reason
        rather than its ops (the server's restores, whose ops depend on the world). ``reducer``: the shot's live
        reducer when the caller already holds it (it was authorised against it), so it is fetched once.
        ``check=False``: see :meth:`submit`."""
        try:
            check_command_id(command.command_id)
        except ValueError as e:
            raise CommandError("invalid", str(e), field="command_id") from None
        if not command.ops:
            raise CommandError("invalid", "a command needs at least one op", field="ops")
        if len(command.ops) > MAX_OPS:
            raise CommandError("too_large", f"a command may carry at most {MAX_OPS} ops, got {len(command.ops)}")
        reason = reason if reason is not None else command.reason
        if reducer is None:
            reducer = await self.replica.reducer(project, shot)
        if must_exist and reducer.last_seq == 0:
            raise CommandError("not_found", f"no shot {project}/{shot}")
        if reducer.last_seq and await self._past_window(project, shot):
            earlier = await self._earlier(project, shot, actor, command, reason, by_reason)
            if earlier is not None:
                return earlier
        if command.expected_seq is not None and command.expected_seq != await self.log.last_seq(project, shot):
            earlier = await self._earlier(project, shot, actor, command, reason, by_reason)
            if earlier is not None:
                return earlier
            raise CommandError("conflict", f"shot moved on: expected last seq {command.expected_seq}")
        try:
            if check:
                edit.check(reducer.world, command.ops, actor.label)
        except edit.OpError as e:
            earlier = await self._earlier(project, shot, actor, command, reason, by_reason)
            if earlier is not None:
                return earlier
            raise CommandError("invalid", str(e), e.index, e.field) from None
        event = Event(
            event_id=event_id_for(project, shot, command.command_id),
            command_id=command.command_id,
            project=project,
            shot=shot,
            actor=actor,
            ops=command.ops,
            causation=causation,
            reason=reason,
            ts=now(),
        )
        data = encode_event(event)
        if len(data) > MAX_EVENT_BYTES:
            raise CommandError("too_large", f"event is {len(data)} bytes; at most {MAX_EVENT_BYTES}")
        ack = await self.log.start_append(project, shot, data, msg_id_for(shot, command.command_id),
                                          command.expected_seq)
        return Pending(self, project, shot, event.event_id,
                       self._acked(ack, project, shot, actor, command, reason, by_reason))

    async def verdict(self, project: str, shot: str, accepted: Appended, event_id: str | None = None) -> Result:
        """The verdict of an appended event, once the replica has folded it. ``event_id``: the id of the event
        that was appended, so that a projection holding another event at that seq (a stream that lost its tail
        and gave the seq out again) is caught rather than answered with the other event's verdict."""
        try:
            out = await self.replica.outcome(project, shot, accepted.seq, self.outcome_timeout, event_id)
        except asyncio.TimeoutError:
            raise CommandError("timeout", f"event {accepted.seq} appended but not yet applied; "
                                          "its verdict will be in the history") from None
        return Result(accepted.seq, "applied" if out.applied else "rejected", out.reason, accepted.duplicate)

    async def _acked(self, ack: Awaitable[Appended], project: str, shot: str, actor: Actor, command: Command,
                     reason: str | None, by_reason: bool) -> Appended:
        try:
            appended = await ack
        except ConflictError as e:
            raise CommandError("conflict", str(e)) from None
        if appended.duplicate:  # the log knew the id: the same command again, or another one reusing it
            stored = await self.log.get(project, appended.seq)
            try:
                first = decode_event(stored.data) if stored is not None and stored.shot == shot else None
            except (msgspec.DecodeError, msgspec.ValidationError):
                first = None
            _same_or_409(first, actor, command, reason, by_reason)
        return appended


_CLOCK_SKEW_S = 300.0
"""Margin for the clocks of the instances that stamped events (``ts``) against this one's."""


def _plain(ops: list) -> list:
    """Ops as plain data, compared by value (the audit's JSON may hold object keys in another order)."""
    return msgspec.to_builtins(ops)


def _same_or_409(first: Event | None, actor: Actor, command: Command, reason: str | None, by_reason: bool) -> None:
    """Raise CommandError 409 unless ``first`` (the event already holding the command's id) is this command."""
    same = (first is not None and first.command_id == command.command_id and first.actor == actor
            and (first.reason == reason if by_reason else _plain(first.ops) == _plain(command.ops)))
    if not same:
        raise CommandError("conflict", f"command_id {command.command_id!r} already used for a different command on this "
                                "shot; give each command its own id", field="command_id")


class Pending:
    """A command whose event was sent: :meth:`ack` waits for the log to store it (raising CommandError on a
    conflict or a reused id), :meth:`verdict` for the reducer's answer. Either may be awaited first; the ack is
    awaited once."""

    def __init__(self, service: CommandService, project: str, shot: str, event_id: str, ack: Awaitable[Appended]):
        self.service, self.project, self.shot, self.event_id = service, project, shot, event_id
        self._ack, self._appended = ack, None

    async def ack(self) -> Appended:
        if self._appended is None:
            self._appended = await self._ack
        return self._appended

    async def verdict(self) -> Result:
        appended = await self.ack()
        # a duplicate's event is the first one sent with the id, whose event id is the same (it depends on the id)
        return await self.service.verdict(self.project, self.shot, appended, self.event_id)


class LocalReplica:
    """A replica for one-off tools (the CLI): each shot is rebuilt once (snapshot + tail) and then caught up by
    reading the log, so verdicts are computed locally by the same deterministic reducer the projector runs."""

    def __init__(self, log: EventLog, load):
        self.log = log
        self._load = load  # async (project, shot) -> ShotReducer
        self._reducers: dict[tuple[str, str], ShotReducer] = {}
        self._outcomes: dict[tuple[str, int], Outcome] = {}

    async def reducer(self, project, shot) -> ShotReducer:
        key = (project, shot)
        if key not in self._reducers:
            self._reducers[key] = await self._load(project, shot)
        return self._reducers[key]

    async def outcome(self, project, shot, seq, timeout, event_id=None) -> Outcome:
        r = await self.reducer(project, shot)
        if (project, seq) not in self._outcomes and r.last_seq < seq:
            async with asyncio.timeout(timeout):
                async for stored in self.log.read(project, shot, after=r.last_seq, until=seq):
                    self._outcomes[(project, stored.seq)] = r.apply_raw(stored.seq, stored.data)
        out = self._outcomes.get((project, seq))
        if out is None:  # a retried command: the event was folded before this replica was asked about it
            return Outcome(seq, True, f"duplicate command: first appended as seq {seq}; its verdict is in the history")
        return out




def decode_command(data: bytes | str) -> Command:
    """Decode a command, mapping msgspec's errors to a 422 that names the field (and the op, for an op's)."""
    from events.envelope import decode_command as _decode

    try:
        return _decode(data)
    except msgspec.ValidationError as e:
        index, field = error_location(str(e))
        raise CommandError("invalid", f"invalid command: {e}", index, field) from None
    except msgspec.DecodeError as e:
        raise CommandError("invalid", f"invalid command: {e}") from None
    except RecursionError:
        raise CommandError("invalid", "invalid command: JSON nested too deeply") from None
