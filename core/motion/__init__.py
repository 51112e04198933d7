"""Procedural, parametric, deterministic motion for the four families (SPEC §7.1 ``motion``): gaits from
biomechanics (:mod:`.figures`), legged locomotion with planted feet (:mod:`.locomotion`), actions
(:mod:`.biped`, :mod:`.creatures`), sequencing and blending (:mod:`.synth`), legs and arms by IK
(:mod:`core.ik`). Pure numpy, float64."""

from .clipspec import CLIPS, check_clips  # noqa: F401
from .locomotion import State, rest_state  # noqa: F401
from .follow import locomote  # noqa: F401
from .synth import synthesize  # noqa: F401

__all__ = ["CLIPS", "check_clips", "State", "rest_state", "synthesize", "locomote"]
