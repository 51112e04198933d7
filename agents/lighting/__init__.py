"""The ``lighting`` agent: mood presets → lights placed around the subject (:mod:`agents.lighting.agent`)."""

from .agent import LightingAgent  # noqa: F401  (registers the agent)
