"""The layout agent: recipes → white-box scenes, checked and repaired by a supervisor loop."""

from .agent import LayoutAgent, solve  # noqa: F401  (importing registers the "layout" agent)

__all__ = ["LayoutAgent", "solve"]
