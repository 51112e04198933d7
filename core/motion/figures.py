"""Biomechanics figures and the formulas that turn them into gait parameters (SPEC §7.1; NOTES.md "Motion").

- Dynamic similarity (Alexander): animals of any size move alike at equal Froude numbers ``Fr = v² / (g h)``
  (``h`` the leg length, hip height); the stride (one full cycle, two steps of a biped) is ``λ ≈ 2.3 h Fr^0.3``.
- Gait choice by Froude number: a biped walks below ``Fr ≈ 0.5`` and runs above; a quadruped walks below 0.5,
  trots (or paces) up to about 2.5 and gallops above.
- Gaits are per-leg phase offsets and duty factors (the fraction of a cycle a foot is on the ground): > 0.5 walking,
  < 0.5 running. Offsets are given for the legs in the order of :mod:`core.motion.rigs` (biped and bird ``[L, R]``;
  quadruped ``[LF, RF, LH, RH]``).
- Birds (Pennycuick): wingbeat ``f = m^(3/8) g^(1/2) b^(−23/24) S^(−1/3) ρ^(−3/8)``.
- Fish: a travelling wave ``y = A(x) sin(2π(x/λ − f t))``; swimming speed from the Strouhal number
  ``St = f A_pp / U ≈ 0.3``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["G", "RHO_AIR", "STROUHAL", "Gait", "GAITS", "froude", "stride_length", "speed_for_froude",
           "gait_for", "flap_frequency_hz", "bird_mass_area", "fish_frequency_hz", "WALK_RUN_FROUDE",
           "TROT_GALLOP_FROUDE"]

G = 9.81
RHO_AIR = 1.225
STROUHAL = 0.3
WALK_RUN_FROUDE = 0.5
TROT_GALLOP_FROUDE = 2.5


@dataclass(frozen=True)
class Gait:
    """One gait at one speed: ``offsets`` per leg (cycles), ``duty`` factor, ``stride_m`` (one cycle),
    ``speed_mps``, ``froude`` and the pelvis/body figures that go with it."""

    name: str
    offsets: tuple[float, ...]
    duty: float
    speed_mps: float
    stride_m: float
    froude: float
    bob_m: float          # vertical body oscillation, half peak-to-peak
    sway_m: float         # lateral pelvis shift, half peak-to-peak (bipeds)
    lift_m: float         # swing foot clearance
    flight: bool          # True when the body is lowest at mid-stance (running gaits)

    @property
    def cadence_hz(self) -> float:
        """Cycles per second (a biped's steps per minute is 120 × this)."""
        return self.speed_mps / self.stride_m if self.stride_m > 0 else 0.0


# name: (offsets, duty, Froude at the default speed, flight)
_BIPED = {
    "walk": ((0.0, 0.5), 0.60, 0.20, False),
    "run": ((0.0, 0.5), 0.35, 1.30, True),
}
_QUADRUPED = {
    # [LF, RF, LH, RH]
    "walk": ((0.25, 0.75, 0.0, 0.5), 0.70, 0.25, False),
    "trot": ((0.5, 0.0, 0.0, 0.5), 0.45, 1.00, True),
    "pace": ((0.0, 0.5, 0.0, 0.5), 0.45, 1.00, True),
    "canter": ((0.7, 0.0, 0.0, 0.3), 0.40, 2.00, True),
    "gallop": ((0.5, 0.6, 0.0, 0.1), 0.30, 4.00, True),
    "bound": ((0.5, 0.5, 0.0, 0.0), 0.30, 3.00, True),
}
GAITS = {"biped": _BIPED, "quadruped": _QUADRUPED,
         "bird": {"walk": _BIPED["walk"], "hop": ((0.0, 0.0), 0.5, 0.6, True)}}
"""Gait tables per family (bird legs walk like a biped's and hop together)."""


def froude(speed_mps: float, leg_m: float) -> float:
    """``v² / (g h)``."""
    return speed_mps * speed_mps / (G * leg_m)


def speed_for_froude(fr: float, leg_m: float) -> float:
    return math.sqrt(max(fr, 0.0) * G * leg_m)


def stride_length(speed_mps: float, leg_m: float) -> float:
    """One full cycle's length (m) at ``speed_mps`` for leg length ``leg_m``: ``2.3 h Fr^0.3`` (Alexander)."""
    if speed_mps <= 0:
        return 0.0
    return 2.3 * leg_m * froude(speed_mps, leg_m) ** 0.3


def _choose(family: str, clip: str, fr: float) -> str:
    """The gait the animal actually uses for ``clip`` at Froude ``fr`` (walk ↔ run, walk → trot → gallop)."""
    if family in ("biped", "bird") and clip == "walk" and fr > WALK_RUN_FROUDE:
        return "run" if family == "biped" else "hop"
    if family == "quadruped" and clip == "walk" and fr > WALK_RUN_FROUDE:
        return "gallop" if fr > TROT_GALLOP_FROUDE else "trot"
    if family == "quadruped" and clip == "trot" and fr > TROT_GALLOP_FROUDE:
        return "gallop"
    return clip


def gait_for(family: str, clip: str, leg_m: float, speed_mps: float | None = None,
             stride_m: float | None = None) -> Gait:
    """The gait for ``clip`` of ``family`` at ``speed_mps`` (default: the clip's typical Froude number).

    The walk of a biped becomes a run above Fr 0.5 (a quadruped's walk a trot, then a gallop above 2.5), as
    animals do. ``stride_m`` overrides the stride from dynamic similarity. Raises ValueError for an unknown
    family or clip.
    """
    table = GAITS.get(family)
    if table is None:
        raise ValueError(f"no legged gaits for family {family!r}")
    if clip not in table:
        raise ValueError(f"unknown gait {clip!r} for {family}; expected one of {sorted(table)}")
    if speed_mps is None:
        speed_mps = speed_for_froude(table[clip][2], leg_m)
    fr = froude(speed_mps, leg_m)
    name = _choose(family, clip, fr)
    offsets, duty, _, flight = table[name]
    stride = stride_m if stride_m is not None else stride_length(speed_mps, leg_m)
    if family == "biped":
        bob = (0.04 if flight else 0.022) * leg_m / 0.9
        sway = (0.01 if flight else 0.022) * leg_m / 0.9
    elif family == "bird" and name == "hop":
        bob, sway = 0.25 * leg_m, 0.0             # both feet leave the ground together: the body rises
    else:
        bob = (0.03 if flight else 0.012) * leg_m / 0.55
        sway = 0.0
    lift = (0.14 if flight else 0.10) * leg_m
    lift = max(0.07, lift) if family != "bird" else 0.4 * leg_m
    return Gait(name, offsets, duty, float(speed_mps), float(stride), fr, bob, sway, lift, flight)


def flap_frequency_hz(mass_kg: float, span_m: float, area_m2: float, g: float = G, rho: float = RHO_AIR) -> float:
    """Pennycuick's wingbeat frequency ``m^(3/8) g^(1/2) b^(−23/24) S^(−1/3) ρ^(−3/8)``: a pigeon (0.4 kg,
    0.67 m, 0.065 m²) ≈ 7.5 Hz."""
    return mass_kg ** 0.375 * g ** 0.5 * span_m ** (-23.0 / 24.0) * area_m2 ** (-1.0 / 3.0) * rho ** -0.375


def bird_mass_area(span_m: float) -> tuple[float, float]:
    """Mass (kg) and wing area (m²) of a bird of wingspan ``span_m``, scaled isometrically from a pigeon."""
    s = span_m / 0.67
    return 0.4 * s ** 3, 0.065 * s ** 2


def fish_frequency_hz(speed_mps: float, length_m: float, amplitude_frac: float = 0.1,
                      strouhal: float = STROUHAL) -> float:
    """Tail-beat frequency for swimming at ``speed_mps``: ``St U / A_pp`` with the tail's peak-to-peak amplitude
    ``A_pp = 2 × amplitude_frac × L``."""
    return strouhal * speed_mps / (2.0 * amplitude_frac * length_m)
