"""How far the agents are behind, for ``/readyz`` and ``/metrics``: each agent's checkpoint (the last seq it
decided on, per project, in ``agent_checkpoints``) against the projector's committed position, and the state of
``wnm up``'s agents process. Agents are off the command path, so their lag is reported, never a reason to be
unready."""

from __future__ import annotations

__all__ = ["agents_report"]


async def agents_report(system) -> dict | None:
    """``{process: {running, pid, restarts} | None, lag: {agent: {project: events}}}``, or None when this process
    neither supervises agents nor has a projector to measure them against. Also kept on ``system.agents_lag`` for
    the metrics collector (which cannot wait on PostgreSQL)."""
    process = system.agents.status() if system.agents is not None else None
    pool = getattr(system.store, "pool", None)
    if system.projector is None or pool is None:
        return None if process is None else {"process": process, "lag": {}}
    positions = {p: h.committed for p, h in system.projector.health().items()}
    rows = await pool.fetch("SELECT agent, project, seq FROM agent_checkpoints")
    lag: dict[str, dict[str, int]] = {}
    for r in rows:
        if r["project"] in positions:
            lag.setdefault(r["agent"], {})[r["project"]] = max(0, positions[r["project"]] - r["seq"])
    for agent in lag.values():  # a project an agent has not reached yet is wholly behind
        for project, position in positions.items():
            agent.setdefault(project, position)
    system.agents_lag = lag
    return {"process": process, "lag": lag}
