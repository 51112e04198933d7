"""Colour temperature to linear RGB (Planck spectrum × CIE 1931 CMFs → linear sRGB)."""

import numpy as np
import pytest

from core.light import blackbody_xyz, cie1931_cmf, temperature_to_rgb


def test_max_channel_is_one_and_all_channels_in_range():
    t = np.geomspace(1000, 40000, 500)
    c = temperature_to_rgb(t)
    assert c.shape == (500, 3)
    np.testing.assert_allclose(c.max(axis=-1), 1.0)
    assert c.min() >= 0.0


def test_blue_over_red_increases_with_temperature():
    t = np.geomspace(1000, 40000, 2000)
    c = temperature_to_rgb(t)
    ratio = c[:, 2] / c[:, 0]
    assert np.all(np.diff(ratio) >= 0)
    # strictly once blue is inside the sRGB gamut (below ~1950 K it is clipped to 0)
    inside = c[:-1, 2] > 0
    assert inside.sum() > 1500 and np.all(np.diff(ratio)[inside] > 0)
    assert ratio[0] < 0.01 and ratio[-1] > 2.5


def test_6504K_is_close_to_white_and_candles_are_orange():
    c = temperature_to_rgb(6504.0)
    assert c.min() > 0.93
    r, g, b = temperature_to_rgb(1900.0)
    assert r == 1.0 and g < 0.3 and b < 0.01
    r, g, b = temperature_to_rgb(20000.0)
    assert b == 1.0 and r < 0.5


def test_cmf_fit_peaks_where_cie_1931_does():
    lam = np.arange(380.0, 781.0)
    cmf = cie1931_cmf(lam)
    assert lam[np.argmax(cmf[:, 1])] == pytest.approx(555, abs=5)
    assert lam[np.argmax(cmf[:, 2])] == pytest.approx(446, abs=5)
    assert lam[np.argmax(cmf[:, 0])] == pytest.approx(599, abs=5)


def test_blackbody_chromaticity_matches_the_planckian_locus():
    # CIE 1931 xy of the Planckian locus at 2856 K (illuminant A): (0.4476, 0.4074)
    x, y, z = blackbody_xyz(2856.0)
    s = x + y + z
    assert x / s == pytest.approx(0.4476, abs=0.003)
    assert y / s == pytest.approx(0.4074, abs=0.003)


def test_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="1000"):
        temperature_to_rgb(500.0)
