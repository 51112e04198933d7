"""Agents (SPEC §7): pure decision functions ``(world, event) -> proposals`` and the runtime that feeds them
the log and publishes their proposals through the command service it is given. Repair agents (collision, support,
bounds, over a spatial index) and generative ones (layout, motion, path, hold, shot, lighting); suggestions; the
asset library. Nothing here imports the server (``realtime``); it wires them (``realtime.cli_agents``).

Public API: :class:`Agent`, :class:`Proposal`, :func:`register`, :func:`create`, :func:`available`;
:class:`AgentRunner` and its checkpoint stores; :class:`AgentProcess` (``wnm up``'s supervised child)."""

from __future__ import annotations

import importlib

_PUBLIC = {
    "Agent": "agents.base",
    "Proposal": "agents.base",
    "register": "agents.base",
    "create": "agents.base",
    "available": "agents.base",
    "REPAIR_AGENTS": "agents.base",
    "AgentRunner": "agents.runtime",
    "FollowingReplica": "agents.runtime",
    "MemoryCheckpoints": "agents.runtime",
    "PgCheckpoints": "agents.runtime",
    "command_id_for": "agents.runtime",
    "AgentProcess": "agents.process",
    "Suggestion": "agents.suggestions",
    "MemorySuggestions": "agents.suggestions",
    "PgSuggestions": "agents.suggestions",
}
"""Each public name and the module that defines it, imported on first use (importing the package stays cheap)."""

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
