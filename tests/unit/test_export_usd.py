"""USD exports: every validator of usd-core's registry passes, and what a USD reader computes at every frame —
world transforms, joint transforms and rotations, camera lens, lights — matches core's sampling within 1e-5."""

from __future__ import annotations

import json

import numpy as np
import pytest

pxr = pytest.importorskip("pxr")
from pxr import Usd, UsdGeom, UsdLux, UsdSkel  # noqa: E402

from core import quat  # noqa: E402
from core import tracks  # noqa: E402
from core.sampling import sample  # noqa: E402
from renderers.export import ExportError, export  # noqa: E402
from renderers.export.scene import shot_frames  # noqa: E402
from renderers.export.usd import prim_names, validate_stage  # noqa: E402
from tests.unit.test_export_world import rich_world  # noqa: E402

TOL = 1e-5


@pytest.fixture(scope="module")
def world():
    return rich_world()


@pytest.fixture(scope="module")
def core_sample(world):
    return sample(world, shot_frames(world.frame_start, world.frame_end))


@pytest.fixture(scope="module", params=["usda", "usdc", "usdz"])
def stage_file(request, world, tmp_path_factory):
    data = export(world, request.param, seq=42, state_hash="abc123")
    path = tmp_path_factory.mktemp("usd") / f"shot.{request.param}"
    path.write_bytes(data)
    return path


def _mat(m) -> np.ndarray:
    return np.array(m, dtype=np.float64).T        # USD's row-vector matrix → core's column-vector one


def _prims(stage):
    return {p.GetCustomDataByKey("wnm:id"): p for p in stage.GetPrimAtPath("/World").GetChildren()}


def test_every_usd_validator_passes(stage_file):
    assert validate_stage(stage_file) == []


def test_the_validators_do_catch_a_bad_stage(tmp_path):
    """The check above can fail: an empty stage misses up axis, metersPerUnit and default prim."""
    p = tmp_path / "empty.usda"
    Usd.Stage.CreateNew(str(p)).Save()
    errors = validate_stage(p)
    assert len(errors) >= 3 and any("metersPerUnit" in e or "MetersPerUnit" in e for e in errors)


def test_stage_metadata_names_the_world(stage_file, world):
    stage = Usd.Stage.Open(str(stage_file))
    assert UsdGeom.GetStageUpAxis(stage) == "Y" and UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert stage.GetTimeCodesPerSecond() == 25.0 and stage.GetFramesPerSecond() == 25.0
    assert (stage.GetStartTimeCode(), stage.GetEndTimeCode()) == (10.0, 34.0)
    assert stage.GetDefaultPrim().GetPath() == "/World"
    meta = stage.GetRootLayer().customLayerData["wnm"]
    assert (meta["project"], meta["shot"], meta["seq"], meta["state_hash"]) == ("p", "take-1", 42, "abc123")
    assert json.loads(meta["directives"])["framing"]["params"]["subject"] == "alice"


def test_world_transforms_match_core_at_every_frame(stage_file, core_sample):
    stage = Usd.Stage.Open(str(stage_file))
    prims = _prims(stage)
    assert set(prims) == set(core_sample.ids)
    for k, f in enumerate(core_sample.frames):
        cache = UsdGeom.XformCache(Usd.TimeCode(f))
        for i, eid in enumerate(core_sample.ids):
            got = _mat(cache.GetLocalToWorldTransform(prims[eid]))
            np.testing.assert_allclose(got, core_sample.matrices[k, i], atol=TOL, err_msg=f"{eid} @ {f}")
            vis = UsdGeom.Imageable(prims[eid]).ComputeVisibility(Usd.TimeCode(f))
            assert (vis != UsdGeom.Tokens.invisible) == bool(core_sample.visible[k, i]), (eid, f)


def test_joint_transforms_and_rotations_match_core(stage_file, core_sample, world):
    stage = Usd.Stage.Open(str(stage_file))
    prims = _prims(stage)
    cache = UsdSkel.Cache()
    for eid, js in core_sample.joints.items():
        root = UsdSkel.Root(prims[eid])
        cache.Populate(root, Usd.PrimDefaultPredicate)
        skel = UsdSkel.Skeleton(prims[eid].GetChild("Skel"))
        query = cache.GetSkelQuery(skel)
        assert list(skel.GetJointNamesAttr().Get()) == js.names
        anim = UsdSkel.Animation(prims[eid].GetChild("Anim"))
        e = world.entities[eid]
        rest = np.array([j.get("rotation", [0, 0, 0, 1]) for j in e.props["skeleton"]], dtype=float)
        for k, f in enumerate(core_sample.frames):
            xf = UsdGeom.XformCache(Usd.TimeCode(f))
            got = np.array([_mat(m) for m in query.ComputeJointWorldTransforms(xf)])
            np.testing.assert_allclose(got, js.matrices[k], atol=TOL, err_msg=f"{eid} joints @ {f}")
            q = np.array([[r.imaginary[0], r.imaginary[1], r.imaginary[2], r.real]
                          for r in anim.GetRotationsAttr().Get(Usd.TimeCode(f))])
            want = np.stack([tracks.value_at(e, f"joints.{n}.rotation", [f])[0] for n in js.names])
            want = quat.normalize(quat.multiply(quat.normalize(rest), want))
            dots = np.abs(np.sum(q * want, axis=-1))
            np.testing.assert_allclose(dots, 1.0, atol=TOL, err_msg=f"{eid} rotations @ {f}")


def test_skinned_body_follows_the_joints(stage_file, core_sample):
    """Every body vertex is bound to one joint with weight 1 and sits on that joint's capsule."""
    stage = Usd.Stage.Open(str(stage_file))
    body = _prims(stage)["alice"].GetChild("Body")
    binding = UsdSkel.BindingAPI(body)
    idx = np.array(binding.GetJointIndicesPrimvar().Get())
    w = np.array(binding.GetJointWeightsPrimvar().Get())
    points = np.array(UsdGeom.Mesh(body).GetPointsAttr().Get())
    assert len(idx) == len(points) == len(w) and np.all(w == 1.0) and idx.min() >= 0
    assert idx.max() < len(core_sample.joints["alice"].names)


def test_camera_lens_matches_core(stage_file, core_sample):
    stage = Usd.Stage.Open(str(stage_file))
    cam = UsdGeom.Camera(_prims(stage)["cam_a"])
    c = core_sample.cameras["cam_a"]
    for k, f in enumerate(core_sample.frames):
        t = Usd.TimeCode(f)
        focal = cam.GetFocalLengthAttr().Get(t)
        assert focal * 100 == pytest.approx(c.focal_length_mm[k], abs=TOL)   # tenths of a metre → mm
        h_ap, v_ap = cam.GetHorizontalApertureAttr().Get(t), cam.GetVerticalApertureAttr().Get(t)
        fov = np.degrees(2 * np.arctan(np.array([h_ap, v_ap]) / (2 * focal)))
        np.testing.assert_allclose(fov, c.fov_deg[k], atol=TOL)
        gf = cam.GetCamera(t)
        assert gf.GetFieldOfView(gf.FOVHorizontal) == pytest.approx(c.fov_deg[k, 0], abs=TOL)
        assert cam.GetFocusDistanceAttr().Get(t) == pytest.approx(c.focus_distance_m[k], abs=TOL)
        assert cam.GetFStopAttr().Get(t) == pytest.approx(c.f_stop[k], abs=TOL)
        np.testing.assert_allclose(cam.GetClippingRangeAttr().Get(t), [c.near_m[k], c.far_m[k]], rtol=1e-6)


def test_lights_match_core(stage_file, core_sample, world):
    stage = Usd.Stage.Open(str(stage_file))
    prims = _prims(stage)
    assert prims["key"].IsA(UsdLux.SphereLight) and prims["sun"].IsA(UsdLux.DistantLight)
    assert prims["softbox"].IsA(UsdLux.RectLight) and prims["fill"].IsA(UsdLux.SphereLight)
    for eid, lt in core_sample.lights.items():
        light = UsdLux.LightAPI(prims[eid])
        temp = tracks.value_at(world.entities[eid], "light.color_temperature_k", core_sample.frames)
        for k, f in enumerate(core_sample.frames):
            t = Usd.TimeCode(f)
            assert light.GetIntensityAttr().Get(t) == pytest.approx(lt.intensity[k], rel=1e-6)
            if temp is None:
                assert not light.GetEnableColorTemperatureAttr().Get(t)
                np.testing.assert_allclose(light.GetColorAttr().Get(t), lt.color[k], atol=TOL)
            else:
                assert light.GetEnableColorTemperatureAttr().Get(t)
                assert light.GetColorTemperatureAttr().Get(t) == pytest.approx(temp[k], rel=1e-6)
            assert UsdLux.ShadowAPI(prims[eid]).GetShadowEnableAttr().Get(t) == bool(lt.shadow[k])
            if lt.type == "spot":
                shaping = UsdLux.ShapingAPI(prims[eid])
                assert shaping.GetShapingConeAngleAttr().Get(t) * 2 == pytest.approx(lt.cone_deg[k], abs=TOL)
                assert shaping.GetShapingConeSoftnessAttr().Get(t) == pytest.approx(lt.blend[k], abs=TOL)


def test_one_entity_and_bad_requests(world, tmp_path):
    data = export(world, "usda", seq=1, state_hash="h", entity="vase")
    p = tmp_path / "vase.usda"
    p.write_bytes(data)
    stage = Usd.Stage.Open(str(p))
    assert list(_prims(stage)) == ["vase"] and validate_stage(p) == []
    with pytest.raises(ExportError, match="no entity 'nobody'"):
        export(world, "usdc", seq=1, state_hash="h", entity="nobody")
    with pytest.raises(ExportError, match="unknown export format 'obj'"):
        export(world, "obj", seq=1, state_hash="h")


def test_prim_names_are_valid_and_unique():
    names = prim_names(["a.b", "a_b", "9lives", "x-y"])
    assert names == {"9lives": "_9lives", "a.b": "a_b", "a_b": "a_b_2", "x-y": "x_y"}
