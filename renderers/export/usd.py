"""USD export of an :class:`~renderers.export.scene.ExportScene` (``.usda``, ``.usdc``, ``.usdz``), with usd-core.

The stage: Y up, ``metersPerUnit`` 1, time codes = shot frames at ``timeCodesPerSecond`` = ``framesPerSecond`` =
the shot's fps, ``startTimeCode`` / ``endTimeCode`` the shot's range; one ``/World`` Xform (the default prim)
holding one prim per entity, flat, in world space (see :mod:`renderers.export.scene`). The layer's
``customLayerData["wnm"]`` names the exact world: project, shot, seq, state_hash, fps, frame range, resolution
and the directives (JSON).

- Every entity prim has ``xformOpOrder = [translate, orient, scale]`` (double precision), time-sampled at every
  frame where the value changes over the shot (a constant value is written once, without time samples), and
  ``visibility`` when it changes. Prim names are entity ids made valid identifiers (``.``/``-`` → ``_``,
  de-duplicated); ``customData["wnm"]`` keeps the id, kind, name and (props, environments) the geometry as JSON.
- Props and environments: an Xform with a child ``Geom`` Mesh (the white-box primitive, pivot at its bottom
  centre) with ``primvars:displayColor``.
- Characters with a skeleton: a ``SkelRoot`` with a ``Skeleton`` (``joints`` as paths, ``bindTransforms`` = rest
  global matrices, ``restTransforms`` = rest locals), a ``SkelAnimation`` (time-sampled local ``translations``,
  ``rotations`` = rest · animated, ``scales`` 1) bound through ``skel:animationSource``, and a ``Body`` Mesh of
  the character's white-box body volumes (:mod:`core.bodies`), each vertex bound rigidly (weight 1) to the joint
  carrying its volume. Joint names are kept in the
  Skeleton's ``customData["wnm"]["joints"]``.
- Cameras: ``UsdGeom.Camera`` in USD lens units — ``focalLength`` and the apertures in tenths of a scene unit
  (mm / 100 with metres), ``horizontalAperture`` = sensor width, ``verticalAperture`` = sensor width · H / W (the
  image our horizontal-fit camera shows), ``focusDistance`` (m), ``fStop``, ``clippingRange`` (near, far).
- Lights: point → ``SphereLight`` (radius = size / 2, ``treatAsPoint`` when the size is 0), spot → the same with
  ``ShapingAPI`` (``shaping:cone:angle`` = cone_deg / 2, the half-angle; ``shaping:cone:softness`` = blend),
  sun → ``DistantLight``, area → ``RectLight`` (size × size). ``intensity`` holds the world's value as is (W, or
  W/m² for sun) with ``normalize`` on, so the power does not change with the light's size; ``enableColorTemperature``
  and ``colorTemperature`` when the world sets a temperature, else ``color``; ``ShadowAPI``'s ``shadow:enable``.

USD stores matrices for row vectors: a matrix written here is the transpose of ``core``'s.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from .scene import EntityTrack, ExportScene

__all__ = ["write_usd", "usd_bytes", "prim_names", "validate_stage", "FORMATS"]

FORMATS = ("usda", "usdc", "usdz")


def prim_names(ids) -> dict[str, str]:
    """Entity or joint ids → unique valid USD identifiers (deterministic, in sorted order)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for i in sorted(ids):
        base = re.sub(r"[^A-Za-z0-9_]", "_", i)
        if not re.match(r"[A-Za-z_]", base):
            base = "_" + base
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        out[i] = name
    return out


def _constant(a: np.ndarray) -> bool:
    return a.shape[0] <= 1 or bool(np.all(a == a[:1]))


class _Writer:
    def __init__(self, stage, scene: ExportScene):
        from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, UsdSkel, Vt

        self.Gf, self.Sdf, self.Usd, self.UsdGeom, self.UsdLux, self.UsdSkel, self.Vt = (
            Gf, Sdf, Usd, UsdGeom, UsdLux, UsdSkel, Vt)
        self.stage, self.scene = stage, scene
        self.times = [Usd.TimeCode(float(f)) for f in scene.frames]
        self.samples: list = []   # (attribute, values per frame or one value) set after every prim exists

    # -------------------------------------------------------------- values

    def _animate(self, attr, values: np.ndarray, conv) -> None:
        """A constant ``values`` (F, ...) becomes the attribute's default; otherwise one sample per frame."""
        self.samples.append((attr, conv(values[0]) if _constant(values) else [conv(v) for v in values]))

    def _flush(self) -> None:
        with self.Sdf.ChangeBlock():
            for attr, v in self.samples:
                if isinstance(v, list):
                    for t, x in zip(self.times, v):
                        attr.Set(x, t)
                else:
                    attr.Set(v)
        self.samples.clear()

    def _vec3d(self, v):
        return self.Gf.Vec3d(float(v[0]), float(v[1]), float(v[2]))

    def _quatd(self, q):
        return self.Gf.Quatd(float(q[3]), float(q[0]), float(q[1]), float(q[2]))

    def _matrix(self, m):
        return self.Gf.Matrix4d(np.asarray(m, dtype=np.float64).T.tolist())

    # -------------------------------------------------------------- prims

    def _xform_ops(self, prim, t: EntityTrack) -> None:
        P = self.UsdGeom.XformOp.PrecisionDouble
        xf = self.UsdGeom.Xformable(prim)
        self._animate(xf.AddTranslateOp(P).GetAttr(), t.position, self._vec3d)
        self._animate(xf.AddOrientOp(P).GetAttr(), t.rotation, self._quatd)
        if t.kind not in ("camera", "light"):
            self._animate(xf.AddScaleOp(P).GetAttr(), t.scale, self._vec3d)
        if not bool(np.all(t.visible)):
            vis = self.UsdGeom.Imageable(prim).CreateVisibilityAttr()
            self._animate(vis, t.visible, lambda v: "inherited" if v else "invisible")
        prim.SetCustomDataByKey("wnm:id", t.id)
        prim.SetCustomDataByKey("wnm:kind", t.kind)
        if t.name:
            prim.SetCustomDataByKey("wnm:name", t.name)
        if t.geometry is not None:
            prim.SetCustomDataByKey("wnm:geometry", json.dumps(t.geometry, sort_keys=True))

    def _mesh(self, path, t: EntityTrack):
        Vt = self.Vt
        b = t.body
        mesh = self.UsdGeom.Mesh.Define(self.stage, path)
        mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(b.vertices.astype(np.float32)))
        mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(b.faces), 3, dtype=np.int32)))
        mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(b.faces.reshape(-1).astype(np.int32)))
        mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(b.normals.astype(np.float32)))
        mesh.SetNormalsInterpolation(self.UsdGeom.Tokens.vertex)
        mesh.CreateSubdivisionSchemeAttr(self.UsdGeom.Tokens.none)
        mesh.CreateOrientationAttr(self.UsdGeom.Tokens.rightHanded)
        lo, hi = b.vertices.min(axis=0), b.vertices.max(axis=0)
        mesh.CreateExtentAttr(Vt.Vec3fArray([self.Gf.Vec3f(*map(float, lo)), self.Gf.Vec3f(*map(float, hi))]))
        color = mesh.CreateDisplayColorPrimvar(self.UsdGeom.Tokens.constant)
        self._animate(color.GetAttr(), t.color, lambda c: Vt.Vec3fArray([self.Gf.Vec3f(*map(float, c))]))
        return mesh

    def entity(self, parent, name: str, t: EntityTrack) -> None:
        path = parent.AppendChild(name)
        if t.kind == "camera":
            self._camera(path, t)
        elif t.kind == "light":
            self._light(path, t)
        elif t.kind == "character" and t.skin is not None:
            self._character(path, t)
        else:
            prim = self.UsdGeom.Xform.Define(self.stage, path).GetPrim()
            self._xform_ops(prim, t)
            if t.body is not None:
                self._mesh(path.AppendChild("Geom" if t.kind != "character" else "Body"), t)

    def _character(self, path, t: EntityTrack) -> None:
        UsdSkel, Vt = self.UsdSkel, self.Vt
        root = UsdSkel.Root.Define(self.stage, path)
        self._xform_ops(root.GetPrim(), t)
        sk = t.skin
        names = prim_names(sk.names)
        joint_paths = []
        for j, n in enumerate(sk.names):
            p = sk.parents[j]
            joint_paths.append(names[n] if p < 0 else joint_paths[p] + "/" + names[n])
        skel_path, anim_path = path.AppendChild("Skel"), path.AppendChild("Anim")
        skel = UsdSkel.Skeleton.Define(self.stage, skel_path)
        skel.CreateJointsAttr(Vt.TokenArray(joint_paths))
        skel.CreateJointNamesAttr(Vt.TokenArray(sk.names))
        skel.CreateBindTransformsAttr(Vt.Matrix4dArray([self._matrix(m) for m in sk.bind]))
        skel.CreateRestTransformsAttr(Vt.Matrix4dArray([self._matrix(m) for m in sk.rest_local]))
        skel.GetPrim().SetCustomDataByKey("wnm:joints", Vt.StringArray(sk.names))
        anim = UsdSkel.Animation.Define(self.stage, anim_path)
        anim.CreateJointsAttr(Vt.TokenArray(joint_paths))
        self._animate(anim.CreateTranslationsAttr(), sk.translation,
                      lambda v: Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(v, dtype=np.float32)))
        # Gf.Quatf's memory is (x, y, z, w): the scalar-last order of the world
        self._animate(anim.CreateRotationsAttr(), sk.rotation,
                      lambda q: Vt.QuatfArray.FromNumpy(np.ascontiguousarray(q, dtype=np.float32)))
        anim.CreateScalesAttr(Vt.Vec3hArray.FromNumpy(np.ones((len(sk.names), 3), dtype=np.float16)))
        UsdSkel.BindingAPI.Apply(skel.GetPrim()).CreateAnimationSourceRel().SetTargets([anim_path])
        mesh = self._mesh(path.AppendChild("Body"), t)
        binding = UsdSkel.BindingAPI.Apply(mesh.GetPrim())
        binding.CreateSkeletonRel().SetTargets([skel_path])
        binding.CreateJointIndicesPrimvar(False, 1).Set(Vt.IntArray.FromNumpy(t.body.joint.astype(np.int32)))
        binding.CreateJointWeightsPrimvar(False, 1).Set(
            Vt.FloatArray.FromNumpy(np.ones(len(t.body.joint), dtype=np.float32)))
        binding.CreateGeomBindTransformAttr(self.Gf.Matrix4d(1.0))

    def _camera(self, path, t: EntityTrack) -> None:
        cam = self.UsdGeom.Camera.Define(self.stage, path)
        self._xform_ops(cam.GetPrim(), t)
        c = t.camera
        w, h = self.scene.resolution
        f = lambda a: float(a)  # noqa: E731
        cam.CreateProjectionAttr(self.UsdGeom.Tokens.perspective)
        self._animate(cam.CreateFocalLengthAttr(), c.focal_length_mm / 100.0, f)
        self._animate(cam.CreateHorizontalApertureAttr(), c.sensor_mm[:, 0] / 100.0, f)
        self._animate(cam.CreateVerticalApertureAttr(), c.sensor_mm[:, 0] * (h / w) / 100.0, f)
        self._animate(cam.CreateFocusDistanceAttr(), c.focus_distance_m, f)
        self._animate(cam.CreateFStopAttr(), c.f_stop, f)
        clip = np.stack([c.near_m, c.far_m], axis=-1)
        self._animate(cam.CreateClippingRangeAttr(), clip, lambda v: self.Gf.Vec2f(float(v[0]), float(v[1])))
        cam.GetPrim().SetCustomDataByKey("wnm:sensor_mm", self.Gf.Vec2d(*map(float, c.sensor_mm[0])))

    def _light(self, path, t: EntityTrack) -> None:
        UsdLux, Gf = self.UsdLux, self.Gf
        lt = t.light
        f = lambda a: float(a)  # noqa: E731
        if lt.type == "sun":
            light = UsdLux.DistantLight.Define(self.stage, path)
        elif lt.type == "area":
            light = UsdLux.RectLight.Define(self.stage, path)
            self._animate(light.CreateWidthAttr(), lt.size_m, f)
            self._animate(light.CreateHeightAttr(), lt.size_m, f)
        else:
            light = UsdLux.SphereLight.Define(self.stage, path)
            self._animate(light.CreateRadiusAttr(), lt.size_m / 2.0, f)
            self._animate(light.CreateTreatAsPointAttr(), lt.size_m <= 0.0, bool)
        prim = light.GetPrim()
        self._xform_ops(prim, t)
        self._animate(light.CreateIntensityAttr(), lt.intensity, f)
        light.CreateNormalizeAttr(lt.type != "sun")
        if t.color_temperature_k is not None:
            light.CreateEnableColorTemperatureAttr(True)
            self._animate(light.CreateColorTemperatureAttr(), t.color_temperature_k, f)
            light.CreateColorAttr(Gf.Vec3f(1.0, 1.0, 1.0))
        else:
            self._animate(light.CreateColorAttr(), lt.color, lambda c: Gf.Vec3f(*map(float, c)))
        if lt.type == "spot":
            shaping = UsdLux.ShapingAPI.Apply(prim)
            self._animate(shaping.CreateShapingConeAngleAttr(), lt.cone_deg / 2.0, f)
            self._animate(shaping.CreateShapingConeSoftnessAttr(), lt.blend, f)
        shadow = UsdLux.ShadowAPI.Apply(prim)
        self._animate(shadow.CreateShadowEnableAttr(), lt.shadow, bool)
        prim.SetCustomDataByKey("wnm:light_type", lt.type)


def write_usd(scene: ExportScene, path: str | os.PathLike, progress=None) -> None:
    """Write ``scene`` to ``path`` (.usda or .usdc by its extension)."""
    from pxr import Gf, Sdf, Usd, UsdGeom

    layer = Sdf.Layer.CreateAnonymous(".usda")
    stage = Usd.Stage.Open(layer)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    stage.SetTimeCodesPerSecond(scene.fps)
    stage.SetFramesPerSecond(scene.fps)
    stage.SetStartTimeCode(float(scene.frames[0]))
    stage.SetEndTimeCode(float(scene.frames[-1]))
    root = UsdGeom.Xform.Define(stage, "/World")
    stage.SetDefaultPrim(root.GetPrim())
    meta = scene.metadata()
    meta["resolution"] = Gf.Vec2i(*meta["resolution"])   # a plain list has no USD type
    layer.customLayerData = {"wnm": meta}
    w = _Writer(stage, scene)
    names = prim_names([t.id for t in scene.entities])
    for n, t in enumerate(scene.entities):
        w.entity(root.GetPath(), names[t.id], t)
        if (n + 1) % 64 == 0:
            w._flush()
        if progress is not None:
            progress(n + 1, len(scene.entities))
    w._flush()
    layer.Export(str(path))


def usd_bytes(scene: ExportScene, fmt: str, progress=None) -> bytes:
    """The scene as a ``usda``, ``usdc`` or ``usdz`` file's bytes."""
    from pxr import UsdUtils

    if fmt not in FORMATS:
        raise ValueError(f"unknown USD format {fmt!r}")
    with tempfile.TemporaryDirectory(prefix="wnm-usd-") as d:
        name = f"{scene.shot}"
        if fmt == "usdz":
            src = Path(d) / f"{name}.usdc"
            write_usd(scene, src, progress)
            out = Path(d) / f"{name}.usdz"
            if not UsdUtils.CreateNewUsdzPackage(str(src), str(out)):
                raise RuntimeError("usd-core could not package the stage as usdz")
        else:
            out = Path(d) / f"{name}.{fmt}"
            write_usd(scene, out, progress)
        return out.read_bytes()


def validate_stage(path: str | os.PathLike) -> list[str]:
    """Every validator of usd-core's ``UsdValidation`` registry (what ``usdchecker`` runs) over the stage at
    ``path``: the errors as text (empty when it passes)."""
    from pxr import Usd, UsdValidation

    reg = UsdValidation.ValidationRegistry()
    validators = [reg.GetOrLoadValidatorByName(m.name) for m in reg.GetAllValidatorMetadata()]
    ctx = UsdValidation.ValidationContext([v for v in validators if v is not None])
    stage = Usd.Stage.Open(str(path))
    errors = ctx.Validate(stage)
    return [e.GetErrorAsString() for e in errors
            if e.GetType() == UsdValidation.ValidationErrorType.Error]
