"""The hold agent: ``hold`` directives → a character picks an object up and puts it down (frame-ranged
``attached_to``, arm reach by two-bone IK)."""

from .agent import HoldAgent, solve  # noqa: F401  (importing registers the "hold" agent)

__all__ = ["HoldAgent", "solve"]
