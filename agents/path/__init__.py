"""The path agent: ``path`` directives → collision-free, smoothed, timed routes driving position and heading."""

from .agent import PathAgent, solve  # noqa: F401  (importing registers the "path" agent)

__all__ = ["PathAgent", "solve"]
