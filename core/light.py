"""Light colour from colour temperature (SPEC §3: ``light.color_temperature_k`` wins over ``light.color``).

Method: the Planck black-body spectrum at T kelvin, sampled every nanometre over 360–830 nm, is integrated against
the CIE 1931 2° colour-matching functions — in the analytic multi-lobe Gaussian fit of Wyman, Sloan & Shirley,
"Simple Analytic Approximations to the CIE XYZ Color Matching Functions", JCGT 2(2), 2013 — giving XYZ, which
the IEC 61966-2-1 matrix turns into linear sRGB (Rec. 709 primaries, D65 white). Channels below zero (deep red
temperatures lie outside the sRGB gamut) are clipped, and the result is scaled so its largest channel is 1.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TEMPERATURE_RANGE_K", "cie1931_cmf", "blackbody_xyz", "temperature_to_rgb", "XYZ_TO_LINEAR_SRGB"]

TEMPERATURE_RANGE_K = (1000.0, 40000.0)

XYZ_TO_LINEAR_SRGB = np.array(
    [
        [3.2404542, -1.5371385, -0.4985314],
        [-0.9692660, 1.8760108, 0.0415560],
        [0.0556434, -0.2040259, 1.0572252],
    ]
)

_H = 6.62607015e-34   # Planck constant, J·s
_C = 2.99792458e8     # speed of light, m/s
_KB = 1.380649e-23    # Boltzmann constant, J/K

_WAVELENGTHS_NM = np.arange(360.0, 831.0, 1.0)


def _lobe(x: np.ndarray, mu: float, s1: float, s2: float) -> np.ndarray:
    s = np.where(x < mu, s1, s2)
    return np.exp(-0.5 * ((x - mu) / s) ** 2)


def cie1931_cmf(wavelength_nm) -> np.ndarray:
    """CIE 1931 2° colour-matching functions (Wyman–Sloan–Shirley multi-lobe fit). (...) nm → (..., 3) x̄ ȳ z̄."""
    x = np.asarray(wavelength_nm, dtype=np.float64)
    xb = 1.056 * _lobe(x, 599.8, 37.9, 31.0) + 0.362 * _lobe(x, 442.0, 16.0, 26.7) - 0.065 * _lobe(x, 501.1, 20.4, 26.2)
    yb = 0.821 * _lobe(x, 568.8, 46.9, 40.5) + 0.286 * _lobe(x, 530.9, 16.3, 31.1)
    zb = 1.217 * _lobe(x, 437.0, 11.8, 36.0) + 0.681 * _lobe(x, 459.0, 26.0, 13.8)
    return np.stack([xb, yb, zb], axis=-1)


_CMF = cie1931_cmf(_WAVELENGTHS_NM)  # (L, 3)


def blackbody_xyz(kelvin) -> np.ndarray:
    """kelvin : (...) → (..., 3) XYZ of the black-body spectrum, normalised to Y = 1."""
    t = np.asarray(kelvin, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("colour temperature must be finite and > 0 K")
    lam = _WAVELENGTHS_NM * 1e-9
    # Planck's law up to a constant factor (it cancels in the normalisation)
    with np.errstate(over="ignore"):
        spectrum = 1.0 / (lam ** 5 * np.expm1(_H * _C / (lam * _KB * t[..., None])))  # (..., L)
    xyz = spectrum @ _CMF
    return xyz / xyz[..., 1:2]


def temperature_to_rgb(kelvin) -> np.ndarray:
    """Colour temperature (...) K, within 1000–40000 → (..., 3) linear sRGB with max channel 1.

    6504 K comes out close to white (the black body at 6504 K is near, not exactly at, D65).
    """
    t = np.asarray(kelvin, dtype=np.float64)
    lo, hi = TEMPERATURE_RANGE_K
    if np.any(t < lo) or np.any(t > hi):
        raise ValueError(f"colour temperature must be within {lo:g}–{hi:g} K")
    rgb = blackbody_xyz(t) @ XYZ_TO_LINEAR_SRGB.T
    rgb = np.clip(rgb, 0.0, None)
    return rgb / rgb.max(axis=-1, keepdims=True)
