"""What an agent is (SPEC §7): a named, pure decision function ``(world, event, seq) -> [Proposal]``.

The runtime (:mod:`agents.runtime`) feeds every applied event of a shot to every registered agent, with the shot's
world *after* that event; each :class:`Proposal` an agent returns becomes one event, published with actor
``agent:<name>``, ``causation`` = the triggering seq, a ``command_id`` derived from (agent, seq, proposal index) and
the proposal's ``reason``. Decisions must be deterministic (sorted ids, fixed iteration order), so that a replica
replaying the same log decides the same and a restarted agent never repeats itself.

Agents register a factory by name::

    @register("collision")
    def _make() -> Agent:
        return CollisionAgent()
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable, NamedTuple, Protocol, runtime_checkable

from core import ops as O
from core.world import World
from events.envelope import Event

__all__ = ["Proposal", "Agent", "REGISTRY", "register", "create", "available", "REPAIR_AGENTS"]


class Proposal(NamedTuple):
    ops: list            # core.ops ops
    reason: str          # human-readable, e.g. "moved table-1 0.20 m −x: intersected sofa-1 at frame 0"


@runtime_checkable
class Agent(Protocol):
    name: str            # e.g. "collision", "support", "bounds", "layout"
    generative: bool     # True for agents that act on directives (layout…), False for repair agents

    def decide(self, world: World, event: Event, seq: int) -> list[Proposal]:
        """Pure: ``world`` is the shot's world AFTER the event at ``seq`` was applied; each Proposal becomes one
        event."""
        ...


REGISTRY: dict[str, Callable[[], Agent]] = {}
"""Agent name -> factory. Filled by :func:`register` when an agent's module is imported."""

REPAIR_AGENTS = ("collision", "support", "bounds")

# Modules that register agents; imported lazily by :func:`available` so importing base stays cheap.
_KNOWN_MODULES = ("agents.collision", "agents.support", "agents.bounds", "agents.layout", "agents.path",
                  "agents.hold", "agents.camera", "agents.lighting", "agents.motion")


def register(name: str) -> Callable[[Callable[[], Agent]], Callable[[], Agent]]:
    """Decorator: ``@register("collision")`` on a zero-argument factory returning an :class:`Agent`."""

    def deco(factory: Callable[[], Agent]) -> Callable[[], Agent]:
        REGISTRY[name] = factory
        return factory

    return deco


def available() -> dict[str, Callable[[], Agent]]:
    """The registry after importing every known agent module (a module that fails to import is skipped)."""
    import importlib

    for mod in _KNOWN_MODULES:
        try:
            importlib.import_module(mod)
        except ImportError:
            pass
    return dict(sorted(REGISTRY.items()))


def create(names: list[str] | None = None) -> list[Agent]:
    """Instantiate agents by name (all available ones when ``names`` is empty/None), in name order.

    Raises KeyError naming an unknown agent.
    """
    reg = available()
    chosen = sorted(reg) if not names else sorted(set(names))
    unknown = [n for n in chosen if n not in reg]
    if unknown:
        raise KeyError(f"unknown agent(s) {unknown}; known: {sorted(reg)}")
    return [reg[n]() for n in chosen]


def params_hash(params: dict) -> str:
    """A digest of the params a person wrote (``report`` and ``pins`` left out): what a generative agent's solution
    answers to, kept in its report so that it does not solve the same params twice."""
    body = {k: v for k, v in params.items() if k not in ("report", "pins")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def failed(agent: str, did: str, params: dict, reason: str) -> Proposal:
    """The proposal that says directive ``did`` could not be solved: its params with ``report = {status: failed,
    reason, params_hash}``, and nothing else (an earlier solution stays)."""
    new = {k: v for k, v in params.items() if k != "report"}
    new["report"] = {"status": "failed", "reason": reason, "params_hash": params_hash(params)}
    return Proposal([O.DirectiveUpdate(id=did, params=new)], f"{agent} {did} failed: {reason}")


def to_solve(world: World, event: Event, agent: str) -> list:
    """The directives of ``agent`` that ``event`` added or updated and whose params its report does not answer yet
    (no report, or one for other params), in the order the event names them; each once."""
    out, seen = [], set()
    for op in event.ops:
        if not isinstance(op, (O.DirectiveAdd, O.DirectiveUpdate)) or op.id in seen:
            continue
        seen.add(op.id)
        d = world.directives.get(op.id)
        if d is None or d.agent != agent:
            continue
        report = d.params.get("report")
        if isinstance(report, dict) and report.get("params_hash") == params_hash(d.params):
            continue
        out.append(d)
    return out
