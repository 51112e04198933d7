"""Keyframe interpolation: each interp mode, holds outside the keyed range, stepped booleans, slerped rotations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import quat
from core.tracks import auto_slopes, evaluate, track_kind, value_at
from core.world import Entity, Key

from .strategies import examples


def keys(*specs):
    return [Key(float(f), v, interp, "u", *tan) for f, v, interp, *tan in specs]


def test_constant_holds_until_the_next_key():
    k = keys((0, 1.0, "constant"), (10, 5.0, "linear"))
    out = evaluate(k, [0, 5, 9.999, 10, 20])
    assert out.tolist() == [1.0, 1.0, 1.0, 5.0, 5.0]


def test_linear_lerps_vectors_and_holds_outside():
    k = keys((10, [0.0, 0.0, 0.0], "linear"), (20, [10.0, -2.0, 4.0], "linear"))
    out = evaluate(k, [0, 10, 12.5, 20, 30])
    np.testing.assert_allclose(out, [[0, 0, 0], [0, 0, 0], [2.5, -0.5, 1.0], [10, -2, 4], [10, -2, 4]])


def test_interp_of_the_earlier_key_governs_the_segment():
    k = keys((0, 0.0, "linear"), (10, 10.0, "constant"), (20, 0.0, "linear"))
    out = evaluate(k, [5, 15])
    assert out.tolist() == [5.0, 10.0]


def test_bezier_uses_out_and_in_tangents_as_slopes_per_frame():
    # Hermite with v0=0, v1=0 and slopes 1 (out of key 0) and 1 (into key 1) over 10 frames:
    # h(s) = (s³ − 2s² + s)·10·1 + (s³ − s²)·10·1, at s = 0.5: (0.125 − 0.5 + 0.5 + 0.125 − 0.25)·10 = 0
    # at s = 0.25: (0.015625 − 0.125 + 0.25 + 0.015625 − 0.0625)·10 = 0.9375
    k = keys((0, 0.0, "bezier", None, 1.0), (10, 0.0, "auto", 1.0, None))
    out = evaluate(k, [0, 2.5, 5, 10])
    np.testing.assert_allclose(out, [0.0, 0.9375, 0.0, 0.0], atol=1e-12)
    # the slope at the start is the out tangent (value units per frame)
    eps = 1e-4
    assert (evaluate(k, [eps])[0] - 0.0) / eps == pytest.approx(1.0, rel=1e-3)


def test_bezier_missing_tangent_takes_the_auto_slope():
    k_missing = keys((0, 0.0, "bezier"), (10, 10.0, "bezier"), (20, 30.0, "auto"))
    k_auto = keys((0, 0.0, "auto"), (10, 10.0, "auto"), (20, 30.0, "auto"))
    f = np.linspace(0, 20, 41)
    np.testing.assert_allclose(evaluate(k_missing, f), evaluate(k_auto, f))


def test_auto_passes_through_keys_and_never_overshoots():
    k = keys((0, 0.0, "auto"), (10, 10.0, "auto"), (12, 10.5, "auto"), (30, -4.0, "auto"), (31, 8.0, "auto"))
    f = np.linspace(-5, 35, 2001)
    out = evaluate(k, f)
    np.testing.assert_allclose(evaluate(k, [0, 10, 12, 30, 31]), [0, 10, 10.5, -4, 8])
    vals = [0.0, 10.0, 10.5, -4.0, 8.0]
    frames = [0, 10, 12, 30, 31]
    for a in range(4):
        seg = (f >= frames[a]) & (f <= frames[a + 1])
        lo, hi = sorted(vals[a:a + 2])
        assert out[seg].min() >= lo - 1e-12 and out[seg].max() <= hi + 1e-12


def test_auto_is_smooth_at_interior_keys_and_flat_at_the_ends():
    k = keys((0, 0.0, "auto"), (10, 4.0, "auto"), (20, 10.0, "auto"))
    e = 1e-5
    left = (evaluate(k, [10])[0] - evaluate(k, [10 - e])[0]) / e
    right = (evaluate(k, [10 + e])[0] - evaluate(k, [10])[0]) / e
    assert left == pytest.approx(right, rel=1e-3)
    assert left == pytest.approx(auto_slopes(np.array([0.0, 10, 20]), np.array([[0.0], [4], [10]]))[1, 0])
    assert (evaluate(k, [e])[0]) / e == pytest.approx(0.0, abs=1e-3)


def test_auto_slopes_zero_at_extrema():
    m = auto_slopes(np.array([0.0, 1, 2, 3]), np.array([[0.0], [1.0], [0.5], [2.0]]))
    assert m[:, 0].tolist() == [0.0, 0.0, 0.0, 0.0]


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=2, max_size=8),
       st.lists(st.floats(0.5, 10), min_size=7, max_size=7))
def test_auto_stays_within_neighbouring_keys(vals, gaps):
    frames = np.concatenate([[0.0], np.cumsum(gaps[: len(vals) - 1])])
    k = [Key(float(fr), v, "auto") for fr, v in zip(frames, vals, strict=True)]
    f = np.linspace(frames[0], frames[-1], 400)
    out = evaluate(k, f)
    seg = np.clip(np.searchsorted(frames, f, side="right") - 1, 0, len(vals) - 2)
    lo = np.minimum(np.array(vals)[seg], np.array(vals)[seg + 1])
    hi = np.maximum(np.array(vals)[seg], np.array(vals)[seg + 1])
    assert np.all(out >= lo - 1e-9) and np.all(out <= hi + 1e-9)


def test_bool_tracks_are_stepped_even_when_marked_linear():
    k = keys((0, True, "linear"), (10, False, "linear"), (20, True, "auto"))
    out = evaluate(k, [-1, 0, 9.9, 10, 15, 20, 99], kind="bool")
    assert out.dtype == bool
    assert out.tolist() == [True, True, True, False, False, True, True]


def test_quaternion_linear_is_slerp_along_the_short_path():
    a = quat.from_axis_angle([0, 1, 0], 0.0)
    b = -quat.from_axis_angle([0, 1, 0], np.radians(90))  # same rotation, far hemisphere
    k = keys((0, a.tolist(), "linear"), (10, b.tolist(), "linear"))
    out = evaluate(k, [5], kind="quat")[0]
    expect = quat.from_axis_angle([0, 1, 0], np.radians(45))
    assert abs(np.dot(out, expect)) == pytest.approx(1.0, abs=1e-12)


def test_quaternion_constant_holds_and_auto_eases():
    a = quat.identity().tolist()
    b = quat.from_axis_angle([1, 0, 0], np.radians(80)).tolist()
    held = evaluate(keys((0, a, "constant"), (10, b, "auto")), [0, 5, 9.9, 10, 11], kind="quat")
    np.testing.assert_allclose(held[:3], [a] * 3)
    np.testing.assert_allclose(held[3:], [b] * 2)
    eased = evaluate(keys((0, a, "auto"), (10, b, "auto")), [1, 5, 9], kind="quat")
    angles = 2 * np.degrees(np.arccos(np.clip(np.abs(eased[:, 3]), 0, 1)))
    # ease in/out: symmetric about the middle, slower than linear near the ends
    assert angles[1] == pytest.approx(40.0, abs=1e-9)
    assert angles[0] < 8.0 and angles[2] > 72.0
    assert angles[0] == pytest.approx(80 - angles[2], abs=1e-9)


def test_quaternion_auto_keeps_angular_speed_continuous_through_a_key():
    ax = [0, 0, 1]
    k = [Key(float(f), quat.from_axis_angle(ax, np.radians(a)).tolist(), "auto")
         for f, a in [(0, 0), (10, 30), (20, 60), (30, 90)]]
    e = 1e-4
    q = evaluate(k, [10 - e, 10, 10 + e], kind="quat")
    ang = 2 * np.degrees(np.arctan2(q[:, 2], q[:, 3]))
    assert ang[1] - ang[0] == pytest.approx(ang[2] - ang[1], rel=1e-3)
    assert (ang[2] - ang[1]) / e == pytest.approx(3.0, rel=1e-3)  # 30° per 10 frames, steady


def test_quaternion_bezier_tangent_sets_the_angular_speed():
    a = quat.identity()
    b = quat.from_axis_angle([0, 1, 0], np.radians(90))
    # out tangent dq/df for 0 → rotating about Y at w rad/frame: dq = (0, w/2, 0, 0)
    w = np.radians(90) / 10 * 1.5
    k = [Key(0.0, a.tolist(), "bezier", "u", None, [0.0, w / 2, 0.0, 0.0]), Key(10.0, b.tolist(), "linear")]
    e = 1e-5
    q = evaluate(k, [e], kind="quat")[0]
    assert 2 * np.arctan2(q[1], q[3]) / e == pytest.approx(w, rel=1e-3)


def test_single_key_is_constant_everywhere():
    assert evaluate(keys((5, [1.0, 2.0], "auto")), [-10, 5, 100]).tolist() == [[1, 2]] * 3


def test_unsorted_or_duplicate_keys_are_rejected():
    with pytest.raises(ValueError, match="sorted"):
        evaluate(keys((5, 1.0, "linear"), (2, 0.0, "linear")), [0])
    with pytest.raises(ValueError, match="shape"):
        evaluate(keys((5, 1.0, "linear")), [[0.0]])


def test_value_at_prefers_track_then_prop_then_default():
    e = Entity("a", "prop", props={"transform.position": [1.0, 2.0, 3.0]})
    np.testing.assert_allclose(value_at(e, "transform.position", [0, 1]), [[1, 2, 3]] * 2)
    e.tracks["transform.position"] = keys((0, [0.0, 0.0, 0.0], "linear"), (10, [10.0, 0.0, 0.0], "linear"))
    np.testing.assert_allclose(value_at(e, "transform.position", [5]), [[5, 0, 0]])
    np.testing.assert_allclose(value_at(e, "transform.scale", [0, 1, 2]), np.ones((3, 3)))
    np.testing.assert_allclose(value_at(e, "transform.rotation", [0]), [[0, 0, 0, 1]])
    assert value_at(e, "visible", [0, 1]).tolist() == [True, True]
    assert value_at(e, "light.color_temperature_k", [0]) is None
    np.testing.assert_allclose(value_at(e, "joints.l_elbow.rotation", [0]), [[0, 0, 0, 1]])
    np.testing.assert_allclose(value_at(e, "camera.focal_length_mm", [0], default=50.0), [50.0])


def test_track_kinds():
    assert track_kind("transform.rotation") == "quat"
    assert track_kind("joints.hips.rotation") == "quat"
    assert track_kind("joints.hips.position") == "numeric"
    assert track_kind("visible") == "bool"
    assert track_kind("light.shadow") == "bool"
    assert track_kind("camera.focal_length_mm") == "numeric"
    assert track_kind("light.type") == "static"


# ---------------------------------------------------------------- long tracks read around the frames asked for


def _long_track(rng, n: int, kind: str) -> list[Key]:
    frames = np.sort(rng.choice(np.arange(0, 10 * n), size=n, replace=False)).astype(float)
    out = []
    for i, f in enumerate(frames):
        interp = str(rng.choice(["auto", "linear", "bezier", "constant"]))
        if kind == "quat":
            value = rng.normal(size=4)
            value = list(value / np.linalg.norm(value)) if i == 0 or rng.random() > 0.2 else out[-1].value
            tan = list(rng.uniform(-0.1, 0.1, 4)) if interp == "bezier" and rng.random() < 0.5 else None
        else:
            value = list(rng.uniform(-5, 5, 3))
            tan = list(rng.uniform(-1, 1, 3)) if interp == "bezier" and rng.random() < 0.5 else None
        out.append(Key(float(f), value, interp, "u", tan, tan))
    return out


@pytest.mark.parametrize("kind", ["numeric", "quat"])
def test_a_long_track_read_around_the_frames_gives_what_the_whole_track_gives(kind, monkeypatch):
    rng = np.random.default_rng(7 if kind == "numeric" else 8)
    for n in (17, 18, 40, 300):
        track = _long_track(rng, n, kind)
        end = float(track[-1].frame)
        for _ in range(20):
            lo = rng.uniform(-20, end + 20)
            f = np.sort(np.concatenate([rng.uniform(lo, lo + rng.uniform(0, 60), rng.integers(1, 6)),
                                        [track[rng.integers(n)].frame]]))
            windowed = evaluate(track, f, kind)
            with monkeypatch.context() as m:
                m.setattr("core.tracks.WINDOW_MIN_KEYS", 10**9)
                whole = evaluate(track, f, kind)
            if kind == "numeric":
                assert np.array_equal(windowed, whole), (n, f)  # bit for bit
            else:
                np.testing.assert_allclose(windowed, whole, atol=1e-12)


class _Counted:
    """A key that counts how often its value is read."""

    reads = 0

    def __init__(self, frame, value, interp="auto"):
        self.frame, self._value, self.interp, self.in_tangent, self.out_tangent = frame, value, interp, None, None

    @property
    def value(self):
        _Counted.reads += 1
        return self._value


@pytest.mark.parametrize("kind, value", [("numeric", [1.0, 2.0, 3.0]), ("quat", [0.0, 0.0, 0.0, 1.0])])
def test_a_few_frames_of_a_long_track_read_only_the_keys_around_them(kind, value):
    track = [_Counted(float(2 * i), value) for i in range(1000)]
    _Counted.reads = 0
    evaluate(track, [500.0, 501.5, 503.0], kind)
    assert _Counted.reads <= 6  # segments 250-251 and one key either side, not 1,000
    _Counted.reads = 0
    evaluate(track[:10], [5.0], kind)
    assert _Counted.reads == 10  # a short track is read whole


def test_a_long_track_is_still_checked_whole():
    far = [Key(float(i), [0.0, 0.0, 0.0], "auto", "u") for i in range(100)]
    far[90] = Key(89.0, [0.0, 0.0, 0.0], "auto", "u")  # a repeated frame far from the frames asked for
    with pytest.raises(ValueError, match="sorted"):
        evaluate(far, [2.0])
    far = [Key(float(i), [0.0, 0.0, 0.0], "auto", "u") for i in range(100)]
    far[80] = Key(80.0, [0.0, 0.0, 0.0], "spline", "u")
    with pytest.raises(ValueError, match="unknown interp"):
        evaluate(far, [2.0])
