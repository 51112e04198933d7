"""Tests written against mutants of ``core/camera.py`` and ``core/kinematics.py`` that survived
``bench/mutation.sh 'core.camera.*' 'core.kinematics.*'``: projection with a skewed K, the lens checks at their
bounds, and forward kinematics past one work block and in float32 (see ``bench/MUTATION.md``)."""

from __future__ import annotations

import numpy as np
import pytest

from core import camera, kinematics, quat
from core.templates import template_joints


def test_projection_with_a_skewed_k_is_k_times_the_normalised_point():
    K = np.array([[800.0, 25.0, 320.0], [0.0, 700.0, 240.0], [0.0, 0.0, 1.0]])
    points = np.array([[0.5, -0.25, -4.0], [-1.0, 2.0, -10.0]])  # OpenGL: in front is −Z, +Y up
    uv, depth = camera.project(K, np.eye(4), points, return_depth=True)
    for (x, y, z), got, d in zip(points, uv, depth):
        cv = np.array([x, -y, -z])  # OpenCV axes: +Z forward, +Y down
        want = (K @ (cv / cv[2]))[:2]
        assert np.allclose(got, want) and d == -z


@pytest.mark.parametrize("focal, sensor, ok", [(0.5, (0.5, 0.5), True), (0.0, (36, 24), False),
                                               (50, (0.0, 24), False), (-1, (36, 24), False)])
def test_a_lens_needs_a_positive_focal_length_and_sensor_however_small(focal, sensor, ok):
    if ok:
        assert camera.intrinsics(focal, (640, 480), sensor)[0, 0] == pytest.approx(focal / sensor[0] * 640)
    else:
        with pytest.raises(ValueError, match="^focal length and sensor size must be > 0$"):
            camera.intrinsics(focal, (640, 480), sensor)


def test_a_one_pixel_wide_image_is_a_resolution():
    assert camera.intrinsics(50, (1, 1)).shape == (3, 3)
    with pytest.raises(ValueError, match=r"^resolution must be \[width, height\] > 0, got \(0, 5\)$"):
        camera.intrinsics(50, (0, 5))


def _biped_pose(frames: int, seed: int = 3):
    rig = kinematics.rig(template_joints("biped"))
    rng = np.random.default_rng(seed)
    rot = quat.normalize(rng.normal(size=(frames, len(rig.names), 4)))
    trans = rng.normal(size=(frames, len(rig.names), 3))
    return rig, rot, trans


def test_forward_kinematics_over_many_blocks_equals_it_frame_slice_by_slice():
    rig, rot, trans = _biped_pose(10_000)  # > 2 work blocks of a 29-joint skeleton
    whole = kinematics.forward_kinematics(rig.parents, rig.offsets, rig.rest, rot, trans)
    assert whole.shape == (10_000, 29, 4, 4) and whole.dtype == np.float64
    parts = [kinematics.forward_kinematics(rig.parents, rig.offsets, rig.rest, rot[i:i + 97], trans[i:i + 97])
             for i in range(0, 10_000, 97)]
    assert np.array_equal(whole, np.concatenate(parts))
    assert np.array_equal(whole[:, :, 3], np.broadcast_to([0.0, 0.0, 0.0, 1.0], whole[:, :, 3].shape))


def test_forward_kinematics_in_float32_stays_float32_and_close_to_float64():
    rig, rot, trans = _biped_pose(64)
    f64 = kinematics.forward_kinematics(rig.parents, rig.offsets, rig.rest, rot, trans, np.eye(4))
    f32 = kinematics.forward_kinematics(rig.parents, rig.offsets, rig.rest, rot, trans, np.eye(4),
                                        dtype=np.float32)
    assert f32.dtype == np.float32 and np.allclose(f32, f64, atol=1e-4)
    assert not np.array_equal(f32.astype(np.float64), f64)  # really computed in float32


def test_parents_must_come_before_their_children():
    rig = kinematics.rig(template_joints("fish"))
    bad = rig.parents.copy()
    bad[1] = 1
    with pytest.raises(ValueError, match=r"^parents must list each joint after its parent \(parents\[j\] < j, "
                                         r"−1 for roots\)$"):
        kinematics.forward_kinematics(bad, rig.offsets, rig.rest)
    bad[1] = -2
    with pytest.raises(ValueError):
        kinematics.forward_kinematics(bad, rig.offsets, rig.rest)


# --- core/transform.py ------------------------------------------------------------------------------------------

def test_looking_straight_down_or_up_keeps_the_image_top_along_minus_or_plus_z():
    from core import transform

    r, ok = transform.aim_rotation(np.array([[0.0, -3.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, -1.0]]))
    assert ok.all()
    for m in r:
        assert np.allclose(m.T @ m, np.eye(3)) and np.isclose(np.linalg.det(m), 1.0)
    down, up, ahead = r
    assert np.allclose(-down[:, 2], [0, -1, 0]) and np.allclose(down[:, 1], [0, 0, -1])  # image top along −Z
    assert np.allclose(-up[:, 2], [0, 1, 0]) and np.allclose(up[:, 1], [0, 0, 1])        # image top along +Z
    assert np.allclose(ahead, np.eye(3))
    r, ok = transform.aim_rotation([0.0, 0.0, 0.0])
    assert not ok and np.array_equal(r, np.eye(3))
    r, ok = transform.aim_rotation([0.0, -2.0, 0.0])  # one direction, not a batch
    assert ok and np.allclose(r, down)
    dirs = np.array([[0.0, -3.0, 0.0], [1.0, 1.0, 0.0], [0.0, 2.0, 0.0], [-2.0, 0.5, 3.0]])
    r, ok = transform.aim_rotation(dirs)
    for m, d in zip(r, dirs):
        assert np.allclose(m.T @ m, np.eye(3)) and np.allclose(-m[:, 2], d / np.linalg.norm(d))


def test_rigid_removes_scale_and_shear_and_keeps_a_right_handed_rotation():
    from core import quat, transform

    q = quat.from_euler_deg([20.0, -35.0, 50.0])
    m = transform.compose([1.0, 2.0, 3.0], q, [2.0, 3.0, 4.0])
    assert np.allclose(transform.rigid(m), transform.compose([1.0, 2.0, 3.0], q))
    sheared = m.copy()
    sheared[:3, 1] += 0.3 * sheared[:3, 0]
    r = transform.rigid(sheared)[:3, :3]
    u, _, vt = np.linalg.svd(sheared[:3, :3])
    assert np.allclose(r, u @ vt)  # the nearest rotation (polar decomposition)
    assert np.allclose(r.T @ r, np.eye(3)) and np.isclose(np.linalg.det(r), 1.0)
    assert np.allclose(transform.rigid(sheared)[3], [0, 0, 0, 1]) and np.allclose(transform.rigid(sheared)[:3, 3],
                                                                                 [1, 2, 3])
    mirrored = np.diag([-1.0, 1.0, 1.0, 1.0]) @ transform.compose([0, 0, 0], q)
    mirrored[:3, 1] += 0.2 * mirrored[:3, 2]  # not orthogonal: the polar path, with a reflection to undo
    r = transform.rigid(mirrored)[:3, :3]
    assert np.isclose(np.linalg.det(r), 1.0) and np.allclose(r.T @ r, np.eye(3))
    with pytest.raises(ValueError, match="^matrix has a zero-length axis; cannot remove its scale$"):
        transform.rigid(np.diag([1.0, 0.0, 1.0, 1.0]))


def test_decompose_inverts_compose_with_rotation_and_non_uniform_scale_in_batches():
    from core import quat, transform

    q = quat.from_euler_deg(np.array([[20.0, -35.0, 50.0], [0.0, 90.0, 10.0]]))
    p = np.array([[1.0, 2.0, 3.0], [-4.0, 0.5, 2.0]])
    s = np.array([[2.0, 3.0, 4.0], [0.5, 1.0, 7.0]])
    pos, rot, scl = transform.decompose(transform.compose(p, q, s))
    assert np.allclose(pos, p) and np.allclose(scl, s) and np.allclose(np.abs(np.sum(rot * q, axis=-1)), 1.0)
    assert transform.compose(p, [0.0, 0.0, 0.0, 1.0]).shape == (2, 4, 4)
    assert transform.compose([0.0, 0.0, 0.0], q).shape == (2, 4, 4)
    t = transform.translation_matrix(p)
    assert t.shape == (2, 4, 4) and np.allclose(t[:, :3, 3], p) and np.allclose(t[:, :3, :3], np.eye(3))


# --- forward kinematics against a chain of 4×4 matrices written out --------------------------------------------

def _reference_fk(parents, offsets, rest, rotations, translations, base):
    from core import transform

    out = np.empty((len(parents), 4, 4))
    for j, p in enumerate(parents):
        local = transform.compose(offsets[j] + translations[j], quat.multiply(rest[j], rotations[j]))
        out[j] = (base if p < 0 else out[p]) @ local
    return out


def test_forward_kinematics_with_rest_rotations_translations_and_a_base_is_the_matrix_chain():
    from core import transform

    rng = np.random.default_rng(7)
    parents = np.array([-1, 0, 1, 1, -1, 4])  # two roots
    offsets = rng.normal(size=(6, 3))
    rest = quat.normalize(rng.normal(size=(6, 4)))
    rot = quat.normalize(rng.normal(size=(5, 6, 4)))
    trans = rng.normal(size=(5, 6, 3))
    base = transform.compose([1.0, -2.0, 0.5], quat.normalize([0.1, 0.7, -0.2, 0.6]))
    got = kinematics.forward_kinematics(parents, offsets, rest, rot, trans, base)
    for f in range(5):
        assert np.allclose(got[f], _reference_fk(parents, offsets, rest, rot[f], trans[f], base))
    assert [list(level) for level in kinematics.depth_levels(parents)] == [[0, 4], [1, 5], [2, 3]]
    assert kinematics.depth_levels(np.array([], dtype=int)) == ()
    batch = kinematics.forward_batch(parents, offsets, rest, rot[None], trans[None], base[None, None])
    assert np.allclose(batch[0], got)


def test_forward_takes_root_motion_per_joint_or_per_frame_and_ignores_non_roots():
    rig = kinematics.rig(template_joints("fish"))
    nj = len(rig.names)
    per_frame = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, -1.0]])
    per_joint = np.zeros((2, nj, 3))
    per_joint[:, 0] = per_frame
    per_joint[:, 1:] = 50.0  # rows of non-root joints are ignored
    still = kinematics.forward(rig)  # (J, 4, 4): no frames
    for rt in (per_frame, per_joint):
        moved = kinematics.forward(rig, None, rt)
        assert moved.shape == (2, nj, 4, 4)
        assert np.allclose(moved[:, :, :3, 3] - still[None, :, :3, 3], per_frame[:, None, :])
    with pytest.raises(ValueError, match=r"^root_translation must have shape \(F, 3\) or \(F, 13, 3\), "
                                         r"got \(2, 2\)$"):
        kinematics.forward(rig, None, np.zeros((2, 2)))
