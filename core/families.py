"""Which template family a skeleton belongs to, by its joint names (SPEC §3 templates: biped, quadruped, bird,
fish); a skeleton that matches none is ``custom``."""

from __future__ import annotations

from typing import Iterable

__all__ = ["family_of", "FAMILIES"]

FAMILIES = ("biped", "quadruped", "bird", "fish")

_MARKS = (("fish", "tail_fin"), ("bird", "l_wing_tip"), ("quadruped", "l_front_paw"), ("biped", "l_knee"))


def family_of(names: Iterable[str] | None) -> str:
    """The family whose distinctive joint ``names`` holds (``tail_fin`` fish, ``l_wing_tip`` bird, ``l_front_paw``
    quadruped, ``l_knee`` biped, checked in that order), else ``custom``."""
    have = set(names or ())
    for family, mark in _MARKS:
        if mark in have:
            return family
    return "custom"
