"""USD import: export → import → export gives the same world within 1e-6; a foreign USD scene becomes props, a
camera and lights; a file that cannot be imported is refused before anything is planned."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pxr")

from core.edit import OpError, apply  # noqa: E402
from core.sampling import sample  # noqa: E402
from core.world import World  # noqa: E402
from renderers.export import ExportError, export  # noqa: E402
from renderers.export.importing import import_plan, parts as _parts  # noqa: E402
from renderers.export.scene import shot_frames  # noqa: E402
from tests.unit.test_export_world import rich_world  # noqa: E402


def _imported(path, shot="copy") -> World:
    w = World(project="p", shot=shot, resolution=(832, 480))
    apply(w, import_plan(path, w, new_shot=True), "user:import")
    return w


def _close(a, b, what, atol=1e-6, rtol=1e-6):
    assert a.ids == b.ids, what
    np.testing.assert_allclose(b.matrices, a.matrices, atol=atol, err_msg=what)
    assert (a.visible == b.visible).all(), what
    np.testing.assert_allclose(b.color, a.color, atol=atol, err_msg=what)
    for e in a.joints:
        np.testing.assert_allclose(b.joints[e].matrices, a.joints[e].matrices, atol=atol, err_msg=f"{what} {e}")
    for e in a.cameras:
        for f in ("focal_length_mm", "sensor_mm", "fov_deg", "focus_distance_m", "f_stop", "near_m", "far_m"):
            np.testing.assert_allclose(getattr(b.cameras[e], f), getattr(a.cameras[e], f), rtol=rtol, atol=atol,
                                       err_msg=f"{what} {e} {f}")
    for e in a.lights:
        assert a.lights[e].type == b.lights[e].type
        for f in ("intensity", "color", "cone_deg", "blend", "size_m", "shadow"):
            np.testing.assert_allclose(getattr(b.lights[e], f), getattr(a.lights[e], f), rtol=rtol, atol=atol,
                                       err_msg=f"{what} {e} {f}")


@pytest.mark.parametrize("fmt", ["usdc", "usda", "usdz"])
def test_export_import_export_round_trip(tmp_path, fmt):
    w = rich_world()
    frames = shot_frames(w.frame_start, w.frame_end)
    first = tmp_path / f"first.{fmt}"
    first.write_bytes(export(w, fmt, seq=5, state_hash="h"))
    w2 = _imported(first)
    assert (w2.fps, w2.frame_start, w2.frame_end) == (25.0, 10.0, 34.0)
    assert w2.entities["alice"].name == "Alice" and w2.entities["table.main"].props["geometry"]["size"] == [1.6, 0.75,
                                                                                                            0.9]
    # the import is the world as the file stores it: USD keeps lens, light and joint values in 32-bit floats
    _close(sample(w, frames), sample(w2, frames), "original vs imported", atol=1e-5, rtol=1e-6)
    second = tmp_path / f"second.{fmt}"
    second.write_bytes(export(w2, fmt, seq=6, state_hash="h2"))
    w3 = _imported(second)
    _close(sample(w2, frames), sample(w3, frames), "import of the re-export")


def test_a_foreign_usd_scene_becomes_entities(tmp_path):
    from pxr import Gf, Usd, UsdGeom, UsdLux

    p = tmp_path / "layout.usda"
    stage = Usd.Stage.CreateNew(str(p))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 0.01)          # centimetres, as Maya writes
    stage.SetStartTimeCode(1)
    stage.SetEndTimeCode(3)
    stage.SetTimeCodesPerSecond(24)
    root = UsdGeom.Xform.Define(stage, "/Set")
    stage.SetDefaultPrim(root.GetPrim())
    chair = UsdGeom.Xform.Define(stage, "/Set/chair")
    op = chair.AddTranslateOp()
    op.Set(Gf.Vec3d(100, 0, 0), 1)
    op.Set(Gf.Vec3d(300, 0, 0), 3)
    UsdGeom.Mesh.Define(stage, "/Set/chair/geo")
    cam = UsdGeom.Camera.Define(stage, "/Set/shotCam")
    cam.AddTranslateOp().Set(Gf.Vec3d(0, 150, 500))
    cam.CreateFocalLengthAttr(50.0)                      # mm, in a centimetre stage
    cam.CreateHorizontalApertureAttr(36.0)
    cam.CreateVerticalApertureAttr(24.0)
    UsdLux.DistantLight.Define(stage, "/Set/sun").CreateIntensityAttr(2.0)
    stage.Save()
    w = _imported(p, shot="layout")
    assert set(w.entities) == {"chair", "shotCam", "sun"}
    assert w.entities["chair"].props["geometry"] == {"asset": "chair"}
    pos = [k.value for k in w.entities["chair"].tracks["transform.position"]]
    np.testing.assert_allclose(pos, [[1, 0, 0], [2, 0, 0], [3, 0, 0]], atol=1e-9)
    assert w.entities["shotCam"].props["camera.focal_length_mm"] == pytest.approx(50.0)
    assert w.entities["shotCam"].props["camera.sensor_mm"] == pytest.approx([36.0, 24.0])
    np.testing.assert_allclose(w.entities["shotCam"].props["transform.position"], [0, 1.5, 5])
    assert w.entities["sun"].props["light.type"] == "sun" and w.fps == 24.0


def test_bad_files_and_collisions_plan_nothing(tmp_path):
    corrupt = tmp_path / "corrupt.usda"
    corrupt.write_text("#usda 1.0\n(\n  this is not usd\n")
    w = World(project="p", shot="s")
    with pytest.raises(ExportError, match="cannot read"):
        import_plan(corrupt, w, new_shot=True)
    with pytest.raises(ExportError, match="no such file"):
        import_plan(tmp_path / "missing.usdc", w, new_shot=True)
    good = tmp_path / "good.usdc"
    good.write_bytes(export(rich_world(), "usdc", seq=1, state_hash="h"))
    existing = rich_world()
    with pytest.raises(ExportError, match="already has entities"):
        import_plan(good, existing, new_shot=False)
    assert "alice" in existing.entities and len(existing.entities) == len(rich_world().entities)


def test_an_op_that_would_not_apply_stops_the_plan(tmp_path):
    """The whole plan is checked against the shot before anything is sent: a file whose values are out of range
    (a 0.5 mm lens) is refused with the op that failed."""
    from pxr import Usd, UsdGeom

    p = tmp_path / "bad_lens.usda"
    stage = Usd.Stage.CreateNew(str(p))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 0.01)
    root = UsdGeom.Xform.Define(stage, "/S")
    stage.SetDefaultPrim(root.GetPrim())
    UsdGeom.Camera.Define(stage, "/S/cam").CreateFocalLengthAttr(0.5)
    stage.Save()
    with pytest.raises(OpError, match="focal_length_mm"):
        import_plan(p, World(project="p", shot="s"), new_shot=True)


def test_plans_split_into_events_within_the_limits():
    from core import ops as O

    plan = [O.KeySet(id="a", path="transform.position", frame=float(i), value=[0.0, 0.0, 0.0]) for i in range(1234)]
    parts = _parts(plan)
    assert [len(p) for p in parts] == [500, 500, 234] and sum(parts, []) == plan


def _glb_values(data: bytes) -> dict:
    """Everything a glTF reader evaluates from one of our files, per frame: node and joint world matrices,
    camera yfov and planes, light intensity, colour and cone angles."""
    from tests.unit.test_export_gltf import Reader

    r = Reader(data)
    doc = r.doc
    n_f = len(r.times)
    out = {}
    for i, n in enumerate(doc.nodes):
        key = (n.extras or {}).get("wnm_id") or (n.extras or {}).get("wnm_joint") and n.name
        if key:
            out[f"node {key}"] = np.stack([r.world(i, k) for k in range(n_f)])
        if n.camera is not None:
            c = doc.cameras[n.camera].perspective
            out[f"yfov {key}"] = [r.pointer(f"/cameras/{n.camera}/perspective/yfov", k, c.yfov) for k in range(n_f)]
            out[f"planes {key}"] = [c.znear, c.zfar]
        li = ((n.extensions or {}).get("KHR_lights_punctual") or {}).get("light")
        if li is not None:
            d = doc.extensions["KHR_lights_punctual"]["lights"][li]
            base = f"/extensions/KHR_lights_punctual/lights/{li}"
            out[f"intensity {key}"] = [r.pointer(base + "/intensity", k, d["intensity"]) for k in range(n_f)]
            col = r.anim.get(base + "/color")
            out[f"color {key}"] = np.asarray(d["color"] if col is None else col, dtype=float)
            if "spot" in d:
                out[f"cone {key}"] = [[r.pointer(base + f"/spot/{a}", k, d["spot"][a]) for a in
                                       ("innerConeAngle", "outerConeAngle")] for k in range(n_f)]
    return out


def test_glb_export_import_export_round_trip(tmp_path):
    w = rich_world()
    first = export(w, "glb", seq=5, state_hash="h")
    p = tmp_path / "first.glb"
    p.write_bytes(first)
    w2 = _imported(p)
    assert (w2.fps, w2.frame_start, w2.frame_end) == (25.0, 10.0, 34.0)
    assert set(w2.entities) == set(w.entities) and w2.entities["alice"].props["skeleton"]
    assert w2.entities["vase"].props["geometry"] == w.entities["vase"].props["geometry"]
    second = export(w2, "glb", seq=6, state_hash="h2")
    a, b = _glb_values(first), _glb_values(second)
    assert set(a) == set(b) and len(a) > 40
    for k in a:
        np.testing.assert_allclose(np.asarray(b[k], dtype=float), np.asarray(a[k], dtype=float), atol=1e-6,
                                   rtol=1e-6, err_msg=k)


def test_a_corrupt_glb_is_refused(tmp_path):
    data = export(rich_world(), "glb", seq=5, state_hash="h")
    p = tmp_path / "cut.glb"
    p.write_bytes(data[:200])
    with pytest.raises(ExportError, match="glTF"):
        import_plan(p, World(project="p", shot="s"), new_shot=True)
