"""The motion agent: ``motion`` directives → joint and root keys (:mod:`core.motion`), people's keys kept as pins;
and the op-level IK helper (:mod:`agents.motion.ik_ops`)."""

from .agent import MotionAgent, solve  # noqa: F401  (importing registers the "motion" agent)

__all__ = ["MotionAgent", "solve"]
