"""Tests written against mutants that survived ``bench/mutation.sh`` (see the notes on mutation testing): each
pins a behaviour that no other test held.

Rotations given as Euler angles are folded into the replayed world (``core.values.rotation`` →
``core.quat.from_euler_deg``), so a mutant there changes every replica's world; the track evaluation ones change
sampled worlds and renders.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from core import quat, tracks, values
from core.world import Key


def q_axis(axis, deg):
    h = math.radians(deg) / 2
    return np.array([*(np.asarray(axis, float) * math.sin(h)), math.cos(h)])


# --- Euler angles → the stored rotation ------------------------------------------------------------------------

def test_euler_order_must_be_three_of_x_y_z_everywhere():
    for order in ("XY", "XYZW", "XYW", "", "ABC"):
        with pytest.raises(ValueError, match="euler order must be three of X, Y, Z"):
            quat.from_euler_deg([10.0, 20.0, 30.0], order)
        with pytest.raises(ValueError):
            values.rotation({"euler_deg": [10.0, 20.0, 30.0], "order": order})


def test_default_euler_order_is_xyz_and_lower_case_orders_read_the_same():
    angles = [30.0, 40.0, 50.0]
    want = quat.multiply(quat.multiply(q_axis([1, 0, 0], 30), q_axis([0, 1, 0], 40)), q_axis([0, 0, 1], 50))
    assert np.allclose(quat.from_euler_deg(angles), want)
    assert np.allclose(quat.from_euler_deg(angles, "xyz"), want)
    assert np.allclose(quat.from_euler_deg(angles, "ZYX"),
                       quat.multiply(quat.multiply(q_axis([0, 0, 1], 30), q_axis([0, 1, 0], 40)),
                                     q_axis([1, 0, 0], 50)))
    assert np.allclose(values.rotation({"euler_deg": angles}), want * np.sign(want[3]))


def test_euler_angles_batch_and_bad_shapes_are_refused():
    angles = np.array([[90.0, 0.0, 0.0], [0.0, 0.0, 90.0]])
    q = quat.from_euler_deg(angles)
    assert q.shape == (2, 4)
    assert np.allclose(q, [q_axis([1, 0, 0], 90), q_axis([0, 0, 1], 90)])
    with pytest.raises(ValueError, match=r"euler angles must have shape \(\.\.\., 3\)"):
        quat.from_euler_deg([1.0, 2.0])


def test_normalising_a_non_finite_quaternion_says_why():
    with pytest.raises(ValueError, match="non-finite"):
        quat.normalize([np.nan, 0.0, 0.0, 1.0])


# --- track evaluation -----------------------------------------------------------------------------------------

def test_a_rotation_track_holds_its_first_and_last_keys_outside_them():
    a, b, c = q_axis([0, 1, 0], 0), q_axis([0, 1, 0], 60), q_axis([0, 1, 0], 120)
    keys = [Key(10.0, a.tolist(), "linear"), Key(20.0, b.tolist(), "linear"), Key(30.0, c.tolist(), "linear")]
    out = tracks.evaluate(keys, [0.0, 5.0, 10.0, 15.0, 30.0, 45.0], "quat")
    assert np.allclose(out[[0, 1, 2]], a) and np.allclose(out[[4, 5]], c)
    assert np.allclose(out[3], q_axis([0, 1, 0], 30))


def test_static_tracks_step_and_unknown_kinds_are_refused():
    keys = [Key(0.0, {"primitive": "box", "size": [1, 1, 1]}, "step"),
            Key(10.0, {"primitive": "sphere", "radius": 0.5}, "step")]
    out = tracks.evaluate(keys, [0.0, 9.9, 10.0, 20.0], "static")
    assert [o["primitive"] for o in out] == ["box", "box", "sphere", "sphere"]
    with pytest.raises(ValueError, match="unknown track kind 'spline'"):
        tracks.evaluate(keys, [0.0], "spline")
    with pytest.raises(ValueError, match="cannot evaluate an empty track"):
        tracks.evaluate([], [0.0], "numeric")


def test_an_unkeyed_joint_rotation_is_the_identity():
    class Bare:
        tracks: dict = {}
        props: dict = {}

    out = tracks.value_at(Bare(), "joints.l_knee.rotation", [0.0, 5.0])
    assert np.allclose(out, [[0, 0, 0, 1], [0, 0, 0, 1]])
    with pytest.raises(ValueError, match="unknown attribute path 'transform.wobble'"):
        tracks.value_at(Bare(), "transform.wobble", [0.0])
