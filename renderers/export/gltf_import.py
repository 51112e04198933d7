"""glTF (``.glb`` / ``.gltf`` with embedded buffers) scenes → ops that create them as entities, with pygltflib.

The scene's nodes are evaluated at every frame of the target fps from time 0 to the last animation time (LINEAR
and STEP samplers; CUBICSPLINE values without their tangents), and become:

- characters: each skin. The entity is the parent node of the skin's root joints (our exports: the character's
  node) or, without one, the skinned mesh's node; its joints are the skin's joint nodes (name from ``extras``
  or the node name; offset and rest rotation from the joint node's static translation and rotation; animated
  ``joints.<j>.rotation`` = rest⁻¹ · rotation, root motion = translation − offset). The skinned mesh node is the
  body and is not an entity of its own.
- cameras (perspective): focal length from ``yfov`` and the sensor (``extras.sensor_mm`` when our export wrote
  it, else 36 mm wide): ``f = sensor_w · H/W / (2·tan(yfov / 2))`` with W/H the camera's ``aspectRatio`` (else
  the shot's); ``znear``/``zfar``; ``yfov`` animated through ``KHR_animation_pointer`` becomes a focal track.
- lights (``KHR_lights_punctual``): the inverse of the export's units (W = cd / ``W_TO_CANDELA``, W/m² = lux /
  ``WM2_TO_LUX``), colour, spot cone = 2 · outer angle, blend = 1 − inner / outer.
- every other node with a mesh: a prop, ``geometry`` from ``extras.wnm_geometry`` or ``{"asset": <node name>}``,
  colour from its material's base colour.

Entity ids come from ``extras.wnm_id``, else the node name made a valid id. Transforms are world-space (parents
applied). glTF has no visibility: every imported entity is visible.
"""

from __future__ import annotations

import re

import numpy as np

from core import quat, transform

from .gltf import W_TO_CANDELA, WM2_TO_LUX
from .importer import ImportError_, _Track

__all__ = ["import_gltf"]

_DTYPES = {5126: np.float32, 5125: np.uint32, 5123: np.uint16, 5121: np.uint8, 5122: np.int16, 5120: np.int8}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_NORM = {5121: 255.0, 5123: 65535.0, 5120: 127.0, 5122: 32767.0}


class _Doc:
    def __init__(self, path: str):
        import pygltflib

        try:
            self.doc = pygltflib.GLTF2().load(path)
        except Exception as e:  # noqa: BLE001 - pygltflib raises many kinds on a bad file
            raise ImportError_(f"cannot read {path} as glTF: {e}", "file") from None
        if self.doc is None or not self.doc.nodes:
            raise ImportError_(f"cannot read {path} as glTF (no nodes)", "file")
        try:
            self.doc.convert_buffers(pygltflib.BufferFormat.BINARYBLOB)
        except Exception as e:  # noqa: BLE001
            raise ImportError_(f"{path}: cannot read its buffers ({e}); embed them or use .glb", "file") from None
        self.blob = self.doc.binary_blob() or b""
        self.parent: dict[int, int] = {}
        for i, n in enumerate(self.doc.nodes):
            for c in n.children or []:
                self.parent[c] = i
        self.channels: dict = {}
        end = 0.0
        for a in self.doc.animations or []:
            for ch in a.channels:
                s = a.samplers[ch.sampler]
                t = self.accessor(s.input).astype(np.float64).reshape(-1)
                v = self.accessor(s.output).astype(np.float64)
                if s.interpolation == "CUBICSPLINE":
                    v = v.reshape(len(t), 3, -1)[:, 1]
                key = ch.target.extensions["KHR_animation_pointer"]["pointer"] if ch.target.path == "pointer" \
                    and ch.target.extensions else (ch.target.node, ch.target.path)
                self.channels[key] = (t, v.reshape(len(t), -1), s.interpolation or "LINEAR")
                end = max(end, float(t[-1]) if len(t) else 0.0)
        self.end = end

    def accessor(self, i: int) -> np.ndarray:
        a = self.doc.accessors[i]
        v = self.doc.bufferViews[a.bufferView]
        w = _WIDTH[a.type]
        dt = np.dtype(_DTYPES[a.componentType])
        start = (v.byteOffset or 0) + (a.byteOffset or 0)
        stride = v.byteStride or dt.itemsize * w
        raw = np.frombuffer(self.blob, dtype=np.uint8, count=stride * (a.count - 1) + dt.itemsize * w, offset=start)
        rows = np.lib.stride_tricks.as_strided(raw, shape=(a.count, dt.itemsize * w), strides=(stride, 1))
        out = np.ascontiguousarray(rows).view(dt).reshape(a.count, w).astype(np.float64)
        if a.normalized and a.componentType in _NORM:
            out = out / _NORM[a.componentType]
        return out

    def at(self, key, times: np.ndarray, static) -> np.ndarray:
        """Values (T, D) of a channel at ``times`` (or ``static`` everywhere)."""
        ch = self.channels.get(key)
        static = np.atleast_1d(np.asarray(static, dtype=np.float64))
        if ch is None:
            return np.broadcast_to(static, (len(times),) + static.shape).copy()
        t, v, interp = ch
        k = np.clip(np.searchsorted(t, times, side="right") - 1, 0, len(t) - 1)
        if interp == "STEP" or len(t) == 1:
            return v[k]
        k1 = np.minimum(k + 1, len(t) - 1)
        span = np.where(t[k1] > t[k], t[k1] - t[k], 1.0)
        u = np.clip((times - t[k]) / span, 0.0, 1.0)[:, None]
        if isinstance(key, tuple) and key[1] == "rotation":
            return quat.slerp(quat.normalize(v[k]), quat.normalize(v[k1]), u[:, 0])
        return v[k] + (v[k1] - v[k]) * u

    def local(self, i: int, times: np.ndarray) -> np.ndarray:
        n = self.doc.nodes[i]
        if n.matrix is not None and not any((i, p) in self.channels for p in ("translation", "rotation", "scale")):
            return np.broadcast_to(np.array(n.matrix, dtype=np.float64).reshape(4, 4).T, (len(times), 4, 4)).copy()
        t = self.at((i, "translation"), times, n.translation or [0, 0, 0])
        r = quat.normalize(self.at((i, "rotation"), times, n.rotation or [0, 0, 0, 1]))
        s = self.at((i, "scale"), times, n.scale or [1, 1, 1])
        return transform.compose(t, r, s)

    def world(self, i: int, times: np.ndarray) -> np.ndarray:
        m = self.local(i, times)
        while i in self.parent:
            i = self.parent[i]
            m = self.local(i, times) @ m
        return m


def _id(name: str | None, fallback: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]", "_", name or "")[:64]
    if not s or not re.match(r"[A-Za-z0-9]", s):
        s = (fallback + s)[:64]
    return s


def import_gltf(path: str, *, fps: float | None = None, frame_start: float | None = None, resolution=(1280, 720)):
    """(shot_ops, entity_ops) for the glTF file at ``path`` (see the module docstring)."""
    d = _Doc(path)
    doc = d.doc
    meta = (doc.asset.extras or {}) if doc.asset else {}
    file_fps = float(meta.get("fps") or 24.0)
    target_fps = fps or file_fps
    start = frame_start if frame_start is not None else float(meta.get("frame_start", 0.0))
    n = int(np.floor(d.end * target_fps + 1e-6)) + 1
    if n > 100_000:
        raise ImportError_(f"the file's animation spans {n} frames; imports stop at 100000", "file")
    times = np.arange(n, dtype=np.float64) / target_fps
    frames = start + np.arange(n, dtype=np.float64)
    shot_ops = [{"type": "shot.configure", "fps": target_fps, "frame_start": float(frames[0]),
                 "frame_end": float(max(frames[-1], frames[0] + 1))}]
    lights = ((doc.extensions or {}).get("KHR_lights_punctual") or {}).get("lights") or []
    bodies: set[int] = set()
    characters: dict[int, int] = {}            # entity node → skin index
    joint_nodes: set[int] = set()
    for si, skin in enumerate(doc.skins or []):
        joint_nodes.update(skin.joints)
        roots = [j for j in skin.joints if d.parent.get(j) not in skin.joints]
        owner = {d.parent.get(j) for j in roots}
        mesh_node = next((i for i, nd in enumerate(doc.nodes) if nd.skin == si), None)
        if len(owner) == 1 and None not in owner:
            characters[owner.pop()] = si
            if mesh_node is not None:
                bodies.add(mesh_node)
        elif mesh_node is not None:
            characters[mesh_node] = si
    ops: list[dict] = []
    taken: set[str] = set()
    for i, node in enumerate(doc.nodes):
        light = ((node.extensions or {}).get("KHR_lights_punctual") or {}).get("light")
        if i in bodies or i in joint_nodes:
            continue
        if i in characters:
            kind = "character"
        elif node.camera is not None:
            kind = "camera"
        elif light is not None:
            kind = "light"
        elif node.mesh is not None:
            kind = (node.extras or {}).get("wnm_kind", "prop")
            kind = kind if kind in ("prop", "environment", "character") else "prop"
        else:
            continue
        eid = (node.extras or {}).get("wnm_id") or _id(node.name, f"node{i}")
        if eid in taken:
            eid = _id(f"{eid}_{i}", f"node{i}")
        taken.add(eid)
        tr = _Track(eid, frames)
        pos, rot, scl = transform.decompose(d.world(i, times))
        tr.put("transform.position", pos)
        tr.put("transform.rotation", rot)
        if kind not in ("camera", "light"):
            tr.put("transform.scale", scl)
        extra: list[dict] = []
        if kind in ("prop", "environment"):
            tr.props["geometry"] = (node.extras or {}).get("wnm_geometry") or {"asset": _id(node.name, f"node{i}")}
            _color(d, node.mesh, tr)
        elif kind == "character" and i not in characters:     # a character without a skeleton
            _color(d, node.mesh, tr)
        elif kind == "character":
            si = characters[i]
            body = next((nd for nd in doc.nodes if nd.skin == si), None)
            if body is not None and body.mesh is not None:
                _color(d, body.mesh, tr)
            extra = _skin(d, doc.skins[si], tr, times)
        elif kind == "camera":
            _camera(d, node.camera, tr, times, resolution)
        else:
            _light(d, lights, light, tr, times)
        for p in [p for p in tr.props if p.startswith("joints.")]:
            extra.append({"type": "entity.set", "id": eid, "path": p, "value": tr.props.pop(p)})
        create = {"type": "entity.create", "id": eid, "kind": kind, "props": tr.props}
        name = (node.extras or {}).get("wnm_name")
        if name:
            create["name"] = name
        ops += [create, *extra, *tr.keys]
    if not taken:
        raise ImportError_(f"{path} holds no meshes, cameras, lights or skins", "file")
    return shot_ops, ops


def _color(d: _Doc, mesh: int | None, tr: _Track) -> None:
    if mesh is None:
        return
    prims = d.doc.meshes[mesh].primitives
    if prims and prims[0].material is not None:
        pbr = d.doc.materials[prims[0].material].pbrMetallicRoughness
        if pbr is not None and pbr.baseColorFactor:
            tr.props["color"] = [float(x) for x in pbr.baseColorFactor[:3]]


def _skin(d: _Doc, skin, tr: _Track, times) -> list[dict]:
    nodes = d.doc.nodes
    joints = skin.joints
    index = {j: k for k, j in enumerate(joints)}
    names = [(nodes[j].extras or {}).get("wnm_joint") or _id(nodes[j].name, f"joint{k}") for k, j in enumerate(joints)]
    parents = [index.get(d.parent.get(j), -1) for j in joints]
    order: list[int] = []                      # parents first
    seen: set[int] = set()

    def visit(k):
        if k in seen:
            return
        if parents[k] >= 0:
            visit(parents[k])
        seen.add(k)
        order.append(k)

    for k in range(len(joints)):
        visit(k)
    offsets = [np.asarray(nodes[j].translation or [0, 0, 0], dtype=np.float64) for j in joints]
    rests = [quat.normalize(np.asarray(nodes[j].rotation or [0, 0, 0, 1], dtype=np.float64)) for j in joints]
    spec = [{"name": names[k], "parent": None if parents[k] < 0 else names[parents[k]],
             "offset": [float(x) for x in offsets[k]], "rotation": [float(x) for x in rests[k]]} for k in order]
    for k, j in enumerate(joints):
        rot = quat.normalize(d.at((j, "rotation"), times, rests[k]))
        local = quat.normalize(quat.multiply(np.broadcast_to(quat.conjugate(rests[k]), rot.shape), rot))
        if (j, "rotation") in d.channels:
            tr.put(f"joints.{names[k]}.rotation", local)
        if parents[k] < 0 and (j, "translation") in d.channels:
            tr.put(f"joints.{names[k]}.position", d.at((j, "translation"), times, offsets[k]) - offsets[k])
    return [{"type": "skeleton.set", "id": tr.eid, "joints": spec}]


def _camera(d: _Doc, ci: int, tr: _Track, times, resolution) -> None:
    cam = d.doc.cameras[ci]
    if cam.type != "perspective" or cam.perspective is None:
        raise ImportError_(f"camera {cam.name or ci} is {cam.type}; only perspective cameras import", "file")
    p = cam.perspective
    extras = cam.extras or {}
    sw = float((extras.get("sensor_mm") or [36.0])[0])
    aspect = p.aspectRatio or resolution[0] / resolution[1]
    yfov = d.at(f"/cameras/{ci}/perspective/yfov", times, p.yfov)[:, 0]
    tr.put("camera.focal_length_mm", sw / aspect / (2 * np.tan(yfov / 2)), scalar=True)
    if extras.get("sensor_mm"):
        tr.props["camera.sensor_mm"] = [float(x) for x in extras["sensor_mm"]]
    for key in ("focus_distance_m", "f_stop"):
        if key in extras:
            tr.props[f"camera.{key}"] = float(extras[key])
    tr.put("camera.near_m", d.at(f"/cameras/{ci}/perspective/znear", times, p.znear)[:, 0], scalar=True)
    if p.zfar:
        tr.put("camera.far_m", d.at(f"/cameras/{ci}/perspective/zfar", times, p.zfar)[:, 0], scalar=True)


def _light(d: _Doc, lights: list, li: int, tr: _Track, times) -> None:
    spec = lights[li]
    base = f"/extensions/KHR_lights_punctual/lights/{li}"
    kind = (spec.get("extras") or {}).get("wnm_type") or {"directional": "sun"}.get(spec["type"], spec["type"])
    tr.props["light.type"] = kind
    factor = WM2_TO_LUX if kind == "sun" else W_TO_CANDELA
    tr.put("light.intensity", d.at(base + "/intensity", times, spec.get("intensity", 1.0))[:, 0] / factor,
           scalar=True)
    tr.put("light.color", np.clip(d.at(base + "/color", times, spec.get("color", [1.0, 1.0, 1.0])), 0.0, 1.0))
    extras = spec.get("extras") or {}
    if "size_m" in extras:
        tr.props["light.size_m"] = float(extras["size_m"])
    if "shadow" in extras:
        tr.props["light.shadow"] = bool(extras["shadow"])
    if spec["type"] == "spot":
        s = spec.get("spot") or {}
        outer = d.at(base + "/spot/outerConeAngle", times, s.get("outerConeAngle", np.pi / 4))[:, 0]
        inner = d.at(base + "/spot/innerConeAngle", times, s.get("innerConeAngle", 0.0))[:, 0]
        tr.put("light.cone_deg", np.clip(np.degrees(2 * outer), 1, 179), scalar=True)
        tr.put("light.blend", np.clip(1 - inner / outer, 0, 1), scalar=True)
