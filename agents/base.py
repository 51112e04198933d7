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

from typing import Callable, NamedTuple, Protocol, runtime_checkable

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
