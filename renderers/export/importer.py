"""USD scenes → ops that create them as entities (pure apart from reading the file).

Reads the children of the stage's default prim (or of the pseudo-root when there is none), at every integer time
code from ``startTimeCode`` to ``endTimeCode``, into:

- the kind: ``customData["wnm"]["kind"]`` when the file came from our exports; else ``Camera`` → camera, a UsdLux
  light → light, ``SkelRoot`` → character, any other Xformable → prop;
- the id: ``customData["wnm"]["id"]``, else the prim name; the name from ``customData["wnm"]["name"]``;
- the world transform (``ComputeLocalToWorldTransform``, decomposed): a static prop when it is the same at every
  frame, else one linear key per frame (rotations slerp between keys, so each frame reads back exactly);
  ``visibility`` as stepped keys where it changes;
- props: ``customData["wnm"]["geometry"]`` when present, else ``{"asset": <prim name>}``; colour from the first
  child mesh's ``displayColor``;
- characters: the Skeleton's joints (names from ``jointNames`` or the last path element; parents from the joint
  paths; offset and rest rotation from ``restTransforms``) and, from its SkelAnimation, ``joints.<j>.rotation`` =
  rest⁻¹ · rotation and ``joints.<root>.position`` = translation − offset;
- cameras: focal length and sensor from USD lens units (× 100 → mm; the sensor from ``customData`` when our
  export wrote it, else apertures), focus distance, f-stop, clipping range;
- lights: type (``customData`` or the schema: distant → sun, rect/disk → area, sphere → point, spot when it has
  ShapingAPI), intensity, colour temperature or colour, cone (2 × ``shaping:cone:angle``), blend (softness),
  size, shadow.

Frames map to the target shot by time: a time code t of a file at ``fps_f`` lands on frame
``frame_start + (t − t0) · fps / fps_f``. :func:`import_ops` returns ``(shot_ops, entity_ops)``; ``shot_ops``
configures an empty shot like the file (fps, frame range).
"""

from __future__ import annotations

import json

import numpy as np

from core import quat, transform

from .scene import ExportError

__all__ = ["import_ops", "import_file", "ImportError_"]


class ImportError_(ExportError):
    """A file that cannot be imported (unreadable, or not a scene we understand)."""


def _const(a: np.ndarray, tol: float = 0.0) -> bool:
    return a.shape[0] <= 1 or bool(np.all(np.abs(a - a[:1]) <= tol))


def _num(a) -> list:
    return [float(x) for x in np.asarray(a).reshape(-1)]


class _Track:
    """Collects static values and keys of one entity."""

    def __init__(self, eid: str, frames: np.ndarray):
        self.eid, self.frames = eid, frames
        self.props: dict = {}
        self.keys: list[dict] = []

    def put(self, path: str, values: np.ndarray, interp: str = "linear", scalar: bool = False) -> None:
        values = np.asarray(values, dtype=np.float64)
        if _const(values):
            v = values[0]
            self.props[path] = float(v) if scalar else _num(v)
            return
        for f, v in zip(self.frames, values):
            self.keys.append({"type": "key.set", "id": self.eid, "path": path, "frame": float(f),
                              "value": float(v) if scalar else _num(v), "interp": interp})

    def put_bool(self, path: str, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=bool)
        if bool(np.all(values == values[0])):
            self.props[path] = bool(values[0])
            return
        for k in range(len(values)):
            if k == 0 or values[k] != values[k - 1]:
                self.keys.append({"type": "key.set", "id": self.eid, "path": path, "frame": float(self.frames[k]),
                                  "value": bool(values[k]), "interp": "constant"})


def _wnm(prim, key: str):
    return prim.GetCustomDataByKey(f"wnm:{key}")


def _times(stage) -> tuple[np.ndarray, float]:
    start, end = stage.GetStartTimeCode(), stage.GetEndTimeCode()
    if not (np.isfinite(start) and np.isfinite(end)) or end < start:
        start = end = 0.0
    n = int(np.floor(end - start + 1e-9)) + 1
    if n > 100_000:
        raise ImportError_(f"the file spans {n} time codes; imports stop at 100000")
    return start + np.arange(n, dtype=np.float64), float(stage.GetTimeCodesPerSecond() or 24.0)


def import_ops(path: str, *, fps: float | None = None, frame_start: float | None = None):
    """(shot_ops, entity_ops) for the USD file at ``path``; ``fps``/``frame_start`` of the target shot (None: the
    file's). Raises ImportError_ for a file that is not a readable USD scene."""
    try:
        from pxr import Usd, UsdGeom, UsdLux, UsdSkel

        stage = Usd.Stage.Open(str(path))
    except Exception as e:  # noqa: BLE001 - usd-core raises Tf.ErrorException and RuntimeError alike
        raise ImportError_(f"cannot read {path} as USD: {str(e).strip().splitlines()[-1] if str(e) else e}",
                           "file") from None
    if stage is None:
        raise ImportError_(f"cannot read {path} as USD", "file")
    times, file_fps = _times(stage)
    up = UsdGeom.GetStageUpAxis(stage)
    if up != UsdGeom.Tokens.y:
        raise ImportError_(f"the stage's up axis is {up}; the world is Y up (re-export the file Y up)", "file")
    mpu = UsdGeom.GetStageMetersPerUnit(stage)
    target_fps = file_fps if fps is None else fps
    start = times[0] if frame_start is None else frame_start
    frames = start + (times - times[0]) * target_fps / file_fps
    root = stage.GetDefaultPrim() or stage.GetPseudoRoot()
    shot_ops = [{"type": "shot.configure", "fps": target_fps, "frame_start": float(frames[0]),
                 "frame_end": float(max(frames[-1], frames[0] + 1))}]
    caches = [UsdGeom.XformCache(Usd.TimeCode(t)) for t in times]
    ops: list[dict] = []
    taken: set[str] = set()
    for prim in root.GetChildren():
        if not prim.IsA(UsdGeom.Xformable):
            continue
        kind = _wnm(prim, "kind") or _kind(prim, UsdGeom, UsdLux, UsdSkel)
        eid = _wnm(prim, "id") or prim.GetName()
        if eid in taken:
            raise ImportError_(f"two prims are entity {eid!r}", "file")
        taken.add(eid)
        tr = _Track(eid, frames)
        m = np.array([np.array(c.GetLocalToWorldTransform(prim), dtype=np.float64).T for c in caches])
        m[:, :3, 3] *= mpu
        pos, rot, scl = transform.decompose(m)
        tr.put("transform.position", pos)
        tr.put("transform.rotation", rot)
        if kind not in ("camera", "light"):
            tr.put("transform.scale", scl)
        vis = [UsdGeom.Imageable(prim).ComputeVisibility(Usd.TimeCode(t)) != UsdGeom.Tokens.invisible
               for t in times]
        tr.put_bool("visible", np.array(vis))
        extra: list[dict] = []
        if kind in ("prop", "environment"):
            g = _wnm(prim, "geometry")
            tr.props["geometry"] = json.loads(g) if g else {"asset": prim.GetName()}
            _color(prim, tr, times, UsdGeom, Usd)
        elif kind == "character":
            _color(prim, tr, times, UsdGeom, Usd)
            extra = _skeleton(prim, tr, times, UsdSkel, Usd)
        elif kind == "camera":
            _camera(prim, tr, times, UsdGeom, Usd, mpu)
        elif kind == "light":
            _light(prim, tr, times, UsdLux, Usd, mpu)
        name = _wnm(prim, "name")
        for path in [p for p in tr.props if p.startswith("joints.")]:   # set once the skeleton exists
            extra.append({"type": "entity.set", "id": eid, "path": path, "value": tr.props.pop(path)})
        create = {"type": "entity.create", "id": eid, "kind": kind, "props": tr.props}
        if name:
            create["name"] = name
        ops.append(create)
        ops.extend(extra)
        ops.extend(tr.keys)
    if not taken:
        raise ImportError_(f"{path} holds no entities under {root.GetPath()}", "file")
    return shot_ops, ops


def _kind(prim, UsdGeom, UsdLux, UsdSkel) -> str:
    if prim.IsA(UsdGeom.Camera):
        return "camera"
    if prim.HasAPI(UsdLux.LightAPI) or prim.IsA(UsdLux.BoundableLightBase) or prim.IsA(UsdLux.NonboundableLightBase):
        return "light"
    if prim.IsA(UsdSkel.Root):
        return "character"
    return "prop"


def _sampled(attr, times, Usd, conv=float) -> np.ndarray | None:
    if not attr or not attr.HasAuthoredValue():
        return None
    return np.array([conv(attr.Get(Usd.TimeCode(t))) for t in times], dtype=np.float64)


def _color(prim, tr: _Track, times, UsdGeom, Usd) -> None:
    for child in prim.GetChildren():
        if child.IsA(UsdGeom.Mesh):
            attr = UsdGeom.Gprim(child).GetDisplayColorAttr()
            if attr.HasAuthoredValue():
                v = _sampled(attr, times, Usd, lambda a: list(a[0]))
                tr.put("color", v)
            return


def _skeleton(prim, tr: _Track, times, UsdSkel, Usd) -> list[dict]:
    skel_prim = next((c for c in prim.GetChildren() if c.IsA(UsdSkel.Skeleton)), None)
    if skel_prim is None:
        return []
    skel = UsdSkel.Skeleton(skel_prim)
    paths = [str(p) for p in skel.GetJointsAttr().Get() or []]
    if not paths:
        return []
    names = list(skel.GetJointNamesAttr().Get() or []) or [p.split("/")[-1] for p in paths]
    index = {p: i for i, p in enumerate(paths)}
    parents = [index.get(p.rpartition("/")[0], -1) if "/" in p else -1 for p in paths]
    rest = skel.GetRestTransformsAttr().Get()
    if not rest or len(rest) != len(paths):
        raise ImportError_(f"skeleton {skel_prim.GetPath()} has no rest transforms for its joints", "file")
    rest_m = np.array([np.array(r, dtype=np.float64).T for r in rest])
    offsets, rest_q, _ = transform.decompose(rest_m)
    joints = [{"name": names[j], "parent": None if parents[j] < 0 else names[parents[j]],
               "offset": _num(offsets[j]), "rotation": _num(rest_q[j])} for j in range(len(paths))]
    ops = [{"type": "skeleton.set", "id": tr.eid, "joints": joints}]
    anim_rel = UsdSkel.BindingAPI(skel_prim).GetAnimationSourceRel()
    targets = anim_rel.GetTargets() if anim_rel else []
    if not targets:
        return ops
    anim = UsdSkel.Animation(prim.GetStage().GetPrimAtPath(targets[0]))
    order = [index.get(str(p)) for p in anim.GetJointsAttr().Get() or []]
    rot_attr, tr_attr = anim.GetRotationsAttr(), anim.GetTranslationsAttr()
    rots = np.array([[[q.imaginary[0], q.imaginary[1], q.imaginary[2], q.real] for q in rot_attr.Get(Usd.TimeCode(t))]
                     for t in times], dtype=np.float64) if rot_attr.HasAuthoredValue() else None
    trans = np.array([np.array(tr_attr.Get(Usd.TimeCode(t)), dtype=np.float64) for t in times]) \
        if tr_attr.HasAuthoredValue() else None
    inv_rest = quat.conjugate(quat.normalize(rest_q))
    for a, j in enumerate(order):
        if j is None:
            continue
        if rots is not None:
            local = quat.normalize(quat.multiply(np.broadcast_to(inv_rest[j], rots[:, a].shape), rots[:, a]))
            if not _const(local, 1e-12) or not np.allclose(local[0], [0, 0, 0, 1], atol=1e-12):
                tr.put(f"joints.{names[j]}.rotation", local)
        if trans is not None and parents[j] < 0:
            motion = trans[:, a] - offsets[j]
            if np.any(np.abs(motion) > 0):
                tr.put(f"joints.{names[j]}.position", motion)
    return ops


def _camera(prim, tr: _Track, times, UsdGeom, Usd, mpu: float) -> None:
    cam = UsdGeom.Camera(prim)
    focal = _sampled(cam.GetFocalLengthAttr(), times, Usd)
    lens = 100.0 * mpu                        # tenths of a scene unit → mm
    if focal is not None:
        tr.put("camera.focal_length_mm", focal * lens, scalar=True)
    sensor = _wnm(prim, "sensor_mm")
    if sensor is not None:
        tr.props["camera.sensor_mm"] = _num(sensor)
    else:
        h = _sampled(cam.GetHorizontalApertureAttr(), times, Usd)
        v = _sampled(cam.GetVerticalApertureAttr(), times, Usd)
        if h is not None and v is not None:
            tr.put("camera.sensor_mm", np.stack([h, v], axis=-1) * lens)
    fd = _sampled(cam.GetFocusDistanceAttr(), times, Usd)
    if fd is not None and np.all(fd > 0):
        tr.put("camera.focus_distance_m", fd * mpu, scalar=True)
    fs = _sampled(cam.GetFStopAttr(), times, Usd)
    if fs is not None and np.all(fs >= 0.5):
        tr.put("camera.f_stop", fs, scalar=True)
    clip = cam.GetClippingRangeAttr()
    if clip.HasAuthoredValue():
        c = np.array([list(clip.Get(Usd.TimeCode(t))) for t in times], dtype=np.float64) * mpu
        tr.put("camera.near_m", c[:, 0], scalar=True)
        tr.put("camera.far_m", c[:, 1], scalar=True)


def _light(prim, tr: _Track, times, UsdLux, Usd, mpu: float) -> None:
    kind = _wnm(prim, "light_type")
    if kind is None:
        if prim.IsA(UsdLux.DistantLight):
            kind = "sun"
        elif prim.IsA(UsdLux.RectLight) or prim.IsA(UsdLux.DiskLight):
            kind = "area"
        else:
            kind = "spot" if prim.HasAPI(UsdLux.ShapingAPI) else "point"
    tr.props["light.type"] = kind
    light = UsdLux.LightAPI(prim)
    v = _sampled(light.GetIntensityAttr(), times, Usd)
    if v is not None:
        tr.put("light.intensity", v, scalar=True)
    enabled = light.GetEnableColorTemperatureAttr()
    if enabled.HasAuthoredValue() and enabled.Get():
        tr.put("light.color_temperature_k", _sampled(light.GetColorTemperatureAttr(), times, Usd), scalar=True)
    else:
        c = _sampled(light.GetColorAttr(), times, Usd, list)
        if c is not None:
            tr.put("light.color", c)
    if kind == "spot" and prim.HasAPI(UsdLux.ShapingAPI):
        shaping = UsdLux.ShapingAPI(prim)
        a = _sampled(shaping.GetShapingConeAngleAttr(), times, Usd)
        if a is not None:
            tr.put("light.cone_deg", np.clip(2 * a, 1, 179), scalar=True)
        s = _sampled(shaping.GetShapingConeSoftnessAttr(), times, Usd)
        if s is not None:
            tr.put("light.blend", np.clip(s, 0, 1), scalar=True)
    if kind == "area":
        w = _sampled(UsdLux.RectLight(prim).GetWidthAttr(), times, Usd) if prim.IsA(UsdLux.RectLight) else None
        if w is not None:
            tr.put("light.size_m", w * mpu, scalar=True)
    elif kind in ("point", "spot") and prim.IsA(UsdLux.SphereLight):
        r = _sampled(UsdLux.SphereLight(prim).GetRadiusAttr(), times, Usd)
        if r is not None:
            tr.put("light.size_m", 2 * r * mpu, scalar=True)
    if prim.HasAPI(UsdLux.ShadowAPI):
        s = UsdLux.ShadowAPI(prim).GetShadowEnableAttr()
        if s.HasAuthoredValue():
            tr.put_bool("light.shadow", np.array([bool(s.Get(Usd.TimeCode(t))) for t in times]))


def import_file(path: str, *, fps: float | None = None, frame_start: float | None = None,
                resolution=(1280, 720)):
    """(shot_ops, entity_ops) for a USD (.usda/.usdc/.usdz) or glTF (.glb/.gltf) file, by its first bytes."""
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:4] == b"glTF" or (str(path).lower().endswith(".gltf") and head.lstrip()[:1] == b"{"):
        from .gltf_import import import_gltf

        return import_gltf(str(path), fps=fps, frame_start=frame_start, resolution=resolution)
    return import_ops(str(path), fps=fps, frame_start=frame_start)
