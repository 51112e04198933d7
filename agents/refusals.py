"""What people see when an agent's proposal is refused or its decision fails — never only a log line.

- A proposal that updates a directive of the agent's (a generative agent's answer, e.g. the layout's room) and is
  refused: the directive gets ``params.report = {status: "failed", reason: "proposal refused: …"}`` (keeping the
  people's params and the proposal's ``recipe_hash``, so the same recipe is not solved again until someone changes
  it), as the agent, caused by the triggering seq, command id ``<proposal's id>.report``.
- Any other refused proposal (a repair), or one whose report cannot be written either (the directive is gone): the
  proposal itself is appended unchecked, under its own command id, and the fold rejects it — the history holds it,
  rejected, with the agent's reason, its causation and the rejection's reason.
- A decision that raised, on an event adding or updating directives of the agent: those directives get a failed
  report naming the error.

Every command id derives from the proposal's (agent, triggering seq, index), so an agent that decides again after a
restart records nothing twice.
"""

from __future__ import annotations

import logging

from core import ops as O
from events.envelope import Actor, Command, Event
from events.verdicts import CommandError

from .base import Proposal

__all__ = ["Refusals"]

log = logging.getLogger(__name__)


class Refusals:
    """Records refusals through ``commands`` (the runner's command service: ``submit`` and ``replica``)."""

    def __init__(self, commands):
        self.commands = commands

    async def refused(self, agent: str, project: str, shot: str, seq: int, command_id: str, proposal: Proposal,
                      why: str) -> None:
        update = next((op for op in proposal.ops if isinstance(op, O.DirectiveUpdate)), None)
        if update is not None:
            proposed = update.params.get("report") if isinstance(update.params, dict) else None
            rhash = proposed.get("recipe_hash") if isinstance(proposed, dict) else None
            if await self._report(agent, project, shot, seq, update.id, f"{command_id}.report",
                                  f"proposal refused: {why}", rhash):
                return
        await self._submit(project, shot, agent, Command(command_id=command_id, ops=list(proposal.ops),
                                                         reason=proposal.reason), seq, check=False)

    async def failed(self, agent: str, project: str, shot: str, event: Event, seq: int, why: str) -> None:
        ids = sorted({op.id for op in event.ops if isinstance(op, (O.DirectiveAdd, O.DirectiveUpdate))})
        for i, did in enumerate(ids):
            await self._report(agent, project, shot, seq, did, f"agent.{agent}.{seq}.failed.{i}",
                               f"the agent failed: {why}", None)

    async def _report(self, agent: str, project: str, shot: str, seq: int, did: str, command_id: str, reason: str,
                      rhash) -> bool:
        """A failed report on directive ``did`` when it is the agent's; whether one was recorded."""
        replica = getattr(self.commands, "replica", None)
        if replica is None:
            return False
        try:
            head = await replica.reducer(project, shot)
        except Exception as e:  # noqa: BLE001 - the fallback records the refusal in the history instead
            log.warning("agent %s: reading %s/%s for a report failed (%s: %s)", agent, project, shot,
                        type(e).__name__, e)
            return False
        d = head.world.directives.get(did)
        if d is None or d.agent != agent:
            return False
        report = {"status": "failed", "reason": reason[:1000]}
        if rhash is not None:
            report["recipe_hash"] = rhash
        params = {**d.params, "report": report}
        return await self._submit(project, shot, agent, Command(
            command_id=command_id, ops=[O.DirectiveUpdate(id=did, params=params)],
            reason=f"{agent}: {did} failed: {reason[:200]}"), seq)

    async def _submit(self, project: str, shot: str, agent: str, command: Command, seq: int,
                      check: bool = True) -> bool:
        try:
            await self.commands.submit(project, shot, Actor(kind="agent", id=agent), command, causation=seq,
                                       reason=command.reason, check=check)
        except CommandError as e:
            log.warning("agent %s: recording a refusal on %s/%s seq %d failed: %s", agent, project, shot, seq,
                        e.reason)
            return False
        return True
