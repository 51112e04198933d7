"""The ``shot`` agent: cinematography from shot directives (:mod:`agents.camera.agent`)."""

from .agent import ShotAgent  # noqa: F401  (registers the agent)
