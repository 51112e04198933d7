"""Camera intrinsics, field of view, extrinsics and projection to pixels."""

import numpy as np
import pytest

from core import quat
from core.camera import fov_deg, intrinsics, project, world_to_camera
from core.transform import aim_rotation, compose


def test_35mm_on_a_36mm_sensor_is_54_43_degrees_horizontal():
    h, v = fov_deg(35.0, [36.0, 24.0])
    assert h == pytest.approx(54.4322, abs=1e-4)
    assert v == pytest.approx(37.8493, abs=1e-4)
    # with a 16:9 image the vertical FOV follows the image, not the 3:2 sensor
    assert fov_deg(35.0, [36.0, 24.0], (1920, 1080))[1] == pytest.approx(
        np.degrees(2 * np.arctan(36 * 1080 / 1920 / 70)))


def test_intrinsics_square_pixels_horizontal_fit():
    K = intrinsics(35.0, (1280, 720))
    np.testing.assert_allclose(K, [[35 * 1280 / 36, 0, 640], [0, 35 * 1280 / 36, 360], [0, 0, 1]])
    Ks = intrinsics(np.array([24.0, 50.0]), (832, 480), np.array([[36.0, 24.0], [24.0, 24.0]]))
    assert Ks.shape == (2, 3, 3)
    assert Ks[1, 0, 0] == pytest.approx(50 * 832 / 24)
    # K agrees with the FOV: the image edge is at half the horizontal FOV
    assert np.degrees(np.arctan(416 / Ks[0, 0, 0])) * 2 == pytest.approx(fov_deg(24.0)[0])


def test_camera_at_origin_looking_down_minus_z():
    K = intrinsics(50.0, (1000, 500))
    w2c = world_to_camera(np.eye(4))
    uv, depth = project(K, w2c, [[0.0, 0.0, -5.0], [1.0, 1.0, -5.0]], return_depth=True)
    f = 50 * 1000 / 36
    np.testing.assert_allclose(uv[0], [500, 250])
    # +X world is right in the image, +Y world is up (smaller v)
    np.testing.assert_allclose(uv[1], [500 + f / 5, 250 - f / 5])
    np.testing.assert_allclose(depth, [5, 5])


def test_world_to_camera_removes_scale_and_inverts():
    q = quat.from_axis_angle([0, 1, 0], np.radians(30))
    m = compose([1.0, 2.0, 3.0], q, [2.0, 3.0, 4.0])
    w2c = world_to_camera(m)
    rigid = compose([1.0, 2.0, 3.0], q)
    np.testing.assert_allclose(w2c @ rigid, np.eye(4), atol=1e-12)


def test_projection_of_an_aimed_camera():
    eye = np.array([3.0, 1.5, 4.0])
    target = np.array([0.0, 1.0, 0.0])
    r, ok = aim_rotation(target - eye)
    assert ok
    cam = np.eye(4)
    cam[:3, :3] = r
    cam[:3, 3] = eye
    K = intrinsics(35.0, (832, 480))
    w2c = world_to_camera(cam)
    uv = project(K, w2c, target[None])[0]
    np.testing.assert_allclose(uv, [416, 240], atol=1e-9)  # the target is at the image centre
    # +Y of the camera is as close to world up as possible: no roll, a point above the target is straight up
    above = project(K, w2c, (target + [0, 0.5, 0])[None])[0]
    assert above[0] == pytest.approx(416, abs=1e-9) and above[1] < 240


def test_batched_projection_shapes_and_errors():
    K = intrinsics(np.full(4, 35.0), (640, 480))
    w2c = np.broadcast_to(np.eye(4), (4, 4, 4))
    pts = np.zeros((4, 7, 3)) + [0, 0, -2]
    assert project(K, w2c, pts).shape == (4, 7, 2)
    with pytest.raises(ValueError, match=r"points must have shape \(\.\.\., N, 3\), got \(3,\)"):
        project(K[0], w2c[0], [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="resolution"):
        intrinsics(35.0, (0, 480))
