"""glTF 2.0 binary (``.glb``) export of an :class:`~renderers.export.scene.ExportScene`, with pygltflib.

Layout: one scene; every entity a root node in world space (see :mod:`renderers.export.scene`) with its world
TRS; ``extras`` keep the entity id, kind, name and geometry value, ``asset.extras`` the world it came from
(project, shot, seq, state_hash, fps, frame range, resolution, directives as JSON).

- Meshes: the white-box bodies, one material per display colour (first frame's colour; metallic 0, roughness 1).
  Entities with the same geometry and colour share one mesh; the same geometry in other colours shares the
  vertex and index accessors (a crowd of one skeleton stores its body once).
- Animation ``shot``: one sampler per animated property, LINEAR, times in seconds ``(frame − frame_start) / fps``
  (glTF times start at 0), one shared input accessor; rotations are unit quaternions XYZW (the world's order).
  A property constant over the shot is written as the node's static value instead.
- Characters: the entity node carries the world TRS; its children are the joint nodes (local TRS = offset + root
  motion, rest · animated rotation). The skinned mesh is a separate root node without a transform (glTF ignores
  a skinned mesh node's transform), each vertex bound with weight 1 to its joint; ``inverseBindMatrices`` are the
  inverses of the rest global matrices in the character's space.
- Cameras: ``perspective`` with ``yfov`` = the vertical field of view the image shows (horizontal fit:
  ``2·atan(sensor_w·H/W / 2f)``), ``aspectRatio`` W/H, ``znear``, ``zfar``. The camera's ``extras`` keep focal
  length and sensor in mm.
- Lights (``KHR_lights_punctual``): point and area → ``point``, spot → ``spot`` (``outerConeAngle`` = cone / 2 in
  radians, ``innerConeAngle`` = outer · (1 − blend)), sun → ``directional``; colour = the world's linear RGB
  (from the colour temperature when one is set).

  Units: the world gives radiant watts (W/m² for a sun); glTF asks for candela (point, spot) and lux
  (directional). With the luminous efficacy of 683 lm/W (the 555 nm peak, as Blender's glTF exporter uses) and an
  isotropic emitter: **cd = W · 683 / (4π)**; for a spot the same (glTF: a spot's intensity does not change with
  its cone); **lux = W/m² · 683** for a sun. ``W_TO_CANDELA`` and ``WM2_TO_LUX`` hold the factors.

Camera and light values that change over the shot are animated through ``KHR_animation_pointer`` (``/cameras/i/
perspective/yfov``, ``/extensions/KHR_lights_punctual/lights/i/intensity``, …), which the Khronos validator knows.
"""

from __future__ import annotations

import math

import numpy as np

from .scene import EntityTrack, ExportScene

__all__ = ["glb_bytes", "W_TO_CANDELA", "WM2_TO_LUX", "light_intensity"]

LUMENS_PER_WATT = 683.0
W_TO_CANDELA = LUMENS_PER_WATT / (4.0 * math.pi)
WM2_TO_LUX = LUMENS_PER_WATT

_FLOAT, _UINT, _USHORT = 5126, 5125, 5123
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963


def light_intensity(kind: str, watts):
    """The world's light intensity (W, or W/m² for sun) → glTF's (cd, or lux for directional)."""
    return np.asarray(watts, dtype=np.float64) * (WM2_TO_LUX if kind == "sun" else W_TO_CANDELA)


def _constant(a: np.ndarray) -> bool:
    return a.shape[0] <= 1 or bool(np.all(a == a[:1]))


class _Builder:
    def __init__(self, scene: ExportScene):
        import pygltflib as g

        self.g = g
        self.scene = scene
        self.blob = bytearray()
        self.views: list = []
        self.accessors: list = []
        self.nodes: list = []
        self.meshes: list = []
        self.materials: list = []
        self.skins: list = []
        self.cameras: list = []
        self.lights: list[dict] = []
        self.channels: list = []
        self.samplers: list = []
        self.roots: list[int] = []
        self._mesh_of: dict = {}
        self._geometry_of: dict = {}
        self._material_of: dict = {}
        self._time = None
        self._pointer = False

    # -------------------------------------------------------------- buffers

    def _view(self, data: bytes, target: int | None = None) -> int:
        while len(self.blob) % 4:
            self.blob.append(0)
        self.views.append(self.g.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data),
                                            target=target))
        self.blob.extend(data)
        return len(self.views) - 1

    def accessor(self, a: np.ndarray, kind: str, ctype: int = _FLOAT, target: int | None = None,
                 minmax: bool = False) -> int:
        dtype = {_FLOAT: np.float32, _UINT: np.uint32, _USHORT: np.uint16}[ctype]
        a = np.ascontiguousarray(a, dtype=dtype)
        count = a.shape[0]
        acc = self.g.Accessor(bufferView=self._view(a.tobytes(), target), componentType=ctype, count=count,
                              type=kind)
        if minmax:
            flat = a.reshape(count, -1)
            acc.min = [float(x) if ctype == _FLOAT else int(x) for x in flat.min(axis=0)]
            acc.max = [float(x) if ctype == _FLOAT else int(x) for x in flat.max(axis=0)]
        else:
            acc.min = None
            acc.max = None
        self.accessors.append(acc)
        return len(self.accessors) - 1

    def _times(self) -> int:
        if self._time is None:
            s = self.scene
            self._time = self.accessor((s.frames - s.frames[0]) / s.fps, "SCALAR", minmax=True)
        return self._time

    # -------------------------------------------------------------- animation

    def _channel(self, values: np.ndarray, kind: str, node: int | None = None, path: str | None = None,
                 pointer: str | None = None) -> None:
        out = self.accessor(values, kind)
        self.samplers.append(self.g.AnimationSampler(input=self._times(), output=out, interpolation="LINEAR"))
        if pointer is None:
            target = self.g.AnimationChannelTarget(node=node, path=path)
        else:
            self._pointer = True
            target = self.g.AnimationChannelTarget(path="pointer",
                                                   extensions={"KHR_animation_pointer": {"pointer": pointer}})
        self.channels.append(self.g.AnimationChannel(sampler=len(self.samplers) - 1, target=target))

    def _trs(self, node, index: int, translation, rotation, scale=None) -> None:
        """Static values at the first frame; a channel for each that changes."""
        node.translation = [float(x) for x in translation[0]]
        node.rotation = [float(x) for x in rotation[0]]
        if not _constant(translation):
            self._channel(translation, "VEC3", index, "translation")
        if not _constant(rotation):
            self._channel(rotation, "VEC4", index, "rotation")
        if scale is not None:
            node.scale = [float(x) for x in scale[0]]
            if not _constant(scale):
                self._channel(scale, "VEC3", index, "scale")

    def _animated(self, values: np.ndarray, pointer: str, kind: str = "SCALAR") -> None:
        if not _constant(values):
            self._channel(values, kind, pointer=pointer)

    # -------------------------------------------------------------- nodes

    def _node(self, **kw) -> int:
        self.nodes.append(self.g.Node(**kw))
        return len(self.nodes) - 1

    def _material(self, color) -> int:
        key = tuple(round(float(c), 6) for c in color)
        if key not in self._material_of:
            self.materials.append(self.g.Material(
                name=f"white_box_{len(self.materials)}",
                pbrMetallicRoughness=self.g.PbrMetallicRoughness(baseColorFactor=[*key, 1.0], metallicFactor=0.0,
                                                                roughnessFactor=1.0)))
            self._material_of[key] = len(self.materials) - 1
        return self._material_of[key]

    def _mesh(self, t: EntityTrack, skinned: bool) -> int:
        """The mesh of ``t``'s body in its colour; bodies are written once, whatever the colours using them."""
        b = t.body
        material = self._material(t.color[0])
        key = (id(b), material, skinned)
        if key in self._mesh_of:
            return self._mesh_of[key]
        geo = self._geometry_of.get((id(b), skinned))
        if geo is None:
            attrs = {"POSITION": self.accessor(b.vertices, "VEC3", target=_ARRAY_BUFFER, minmax=True),
                     "NORMAL": self.accessor(b.normals, "VEC3", target=_ARRAY_BUFFER)}
            if skinned:
                joints = np.zeros((len(b.joint), 4), dtype=np.uint16)
                joints[:, 0] = b.joint
                weights = np.zeros((len(b.joint), 4), dtype=np.float32)
                weights[:, 0] = 1.0
                attrs["JOINTS_0"] = self.accessor(joints, "VEC4", _USHORT, target=_ARRAY_BUFFER)
                attrs["WEIGHTS_0"] = self.accessor(weights, "VEC4", target=_ARRAY_BUFFER)
            big = len(b.vertices) > 65535
            indices = self.accessor(b.faces.reshape(-1), "SCALAR", _UINT if big else _USHORT,
                                    target=_ELEMENT_ARRAY_BUFFER)
            geo = self._geometry_of[(id(b), skinned)] = (attrs, indices)
        attrs, indices = geo
        self.meshes.append(self.g.Mesh(name=t.kind, primitives=[
            self.g.Primitive(attributes=self.g.Attributes(**attrs), indices=indices, material=material, mode=4)]))
        self._mesh_of[key] = len(self.meshes) - 1
        return self._mesh_of[key]

    def entity(self, t: EntityTrack) -> None:
        extras = {"wnm_id": t.id, "wnm_kind": t.kind}
        if t.name:
            extras["wnm_name"] = t.name
        if t.geometry is not None:
            extras["wnm_geometry"] = t.geometry
        n = self._node(name=t.id, extras=extras)
        node = self.nodes[n]
        self.roots.append(n)
        self._trs(node, n, t.position, t.rotation, None if t.kind in ("camera", "light") else t.scale)
        if t.kind == "character" and t.skin is not None:
            self._character(t, n)
        elif t.body is not None:
            node.mesh = self._mesh(t, skinned=False)
        elif t.kind == "camera":
            self._camera(t, node)
        elif t.kind == "light":
            self._light(t, node)

    def _character(self, t: EntityTrack, n: int) -> None:
        sk = t.skin
        joints = []
        for j, name in enumerate(sk.names):
            jn = self._node(name=f"{t.id}:{name}", extras={"wnm_joint": name})
            joints.append(jn)
            self._trs(self.nodes[jn], jn, sk.translation[:, j], sk.rotation[:, j])
            parent = n if sk.parents[j] < 0 else joints[sk.parents[j]]
            self.nodes[parent].children.append(jn)
        ibm = np.linalg.inv(sk.bind).transpose(0, 2, 1)            # column-major 4×4 per joint
        self.skins.append(self.g.Skin(name=t.id, joints=joints, skeleton=n,
                                      inverseBindMatrices=self.accessor(ibm.reshape(-1, 16), "MAT4")))
        body = self._node(name=f"{t.id}:body", mesh=self._mesh(t, skinned=True), skin=len(self.skins) - 1,
                          extras={"wnm_body_of": t.id})
        self.roots.append(body)

    def _camera(self, t: EntityTrack, node) -> None:
        c = t.camera
        w, h = self.scene.resolution
        yfov = np.radians(c.fov_deg[:, 1])
        i = len(self.cameras)
        self.cameras.append(self.g.Camera(
            type="perspective", name=t.id,
            perspective=self.g.Perspective(yfov=float(yfov[0]), aspectRatio=w / h, znear=float(c.near_m[0]),
                                           zfar=float(c.far_m[0])),
            extras={"focal_length_mm": float(c.focal_length_mm[0]), "sensor_mm": [float(x) for x in c.sensor_mm[0]],
                    "focus_distance_m": float(c.focus_distance_m[0]), "f_stop": float(c.f_stop[0])}))
        node.camera = i
        self._animated(yfov, f"/cameras/{i}/perspective/yfov")
        self._animated(c.near_m, f"/cameras/{i}/perspective/znear")
        self._animated(c.far_m, f"/cameras/{i}/perspective/zfar")

    def _light(self, t: EntityTrack, node) -> None:
        lt = t.light
        i = len(self.lights)
        kind = {"sun": "directional", "spot": "spot"}.get(lt.type, "point")
        intensity = light_intensity(lt.type, lt.intensity)
        color = np.clip(lt.color, 0.0, None)
        d = {"type": kind, "name": t.id, "intensity": float(intensity[0]), "color": [float(x) for x in color[0]],
             "extras": {"wnm_type": lt.type, "watts": float(lt.intensity[0]), "size_m": float(lt.size_m[0]),
                        "shadow": bool(lt.shadow[0])}}
        base = f"/extensions/KHR_lights_punctual/lights/{i}"
        if kind == "spot":
            outer = np.radians(lt.cone_deg) / 2.0
            inner = outer * (1.0 - lt.blend)
            d["spot"] = {"innerConeAngle": float(inner[0]), "outerConeAngle": float(outer[0])}
            self._animated(outer, base + "/spot/outerConeAngle")
            self._animated(inner, base + "/spot/innerConeAngle")
        self.lights.append(d)
        node.extensions = {"KHR_lights_punctual": {"light": i}}
        self._animated(intensity, base + "/intensity")
        self._animated(color, base + "/color", "VEC3")

    # -------------------------------------------------------------- file

    def build(self) -> bytes:
        g = self.g
        used = []
        if self.lights:
            used.append("KHR_lights_punctual")
        if self._pointer:
            used.append("KHR_animation_pointer")
        doc = g.GLTF2(
            asset=g.Asset(version="2.0", generator="wnm export", extras=self.scene.metadata()),
            scene=0,
            scenes=[g.Scene(name=self.scene.shot, nodes=self.roots)],
            nodes=self.nodes, meshes=self.meshes, materials=self.materials, skins=self.skins,
            cameras=self.cameras, accessors=self.accessors, bufferViews=self.views,
            buffers=[g.Buffer(byteLength=len(self.blob))] if self.blob else [],
            animations=[g.Animation(name="shot", channels=self.channels, samplers=self.samplers)]
            if self.channels else [],
            extensionsUsed=used,
        )
        if self.lights:
            doc.extensions = {"KHR_lights_punctual": {"lights": self.lights}}
        if self.blob:
            doc.set_binary_blob(bytes(self.blob))
        return b"".join(doc.save_to_bytes())


def glb_bytes(scene: ExportScene, progress=None) -> bytes:
    """The scene as a binary glTF file's bytes."""
    b = _Builder(scene)
    for n, t in enumerate(scene.entities):
        b.entity(t)
        if progress is not None:
            progress(n + 1, len(scene.entities))
    return b.build()
