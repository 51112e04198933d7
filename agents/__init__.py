"""Agents (SPEC §7): pure decision functions ``(world, event) -> proposals`` and the runtime that feeds them
the log and publishes their proposals through the command service it is given. Repair agents (collision, support,
bounds, over a spatial index) and generative ones (layout, motion, path, hold, shot, lighting); suggestions; the
asset library. Nothing here imports the server (``realtime``); it wires them (``realtime.cli_agents``).

Public API: :class:`Agent`, :class:`Proposal`, :func:`register`, :func:`create`, :func:`available`;
:class:`AgentRunner` and its checkpoint stores; :class:`AgentProcess` (``wnm up``'s supervised child)."""

from core.public import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "agents.base": ["Agent", "Proposal", "register", "create", "available", "REPAIR_AGENTS"],
    "agents.runtime": ["AgentRunner", "FollowingReplica", "MemoryCheckpoints", "PgCheckpoints", "command_id_for"],
    "agents.process": ["AgentProcess"],
    "agents.suggestions": ["Suggestion", "MemorySuggestions", "PgSuggestions"],
})
