"""The OpenGL rasteriser behind every image pass (pyrender offscreen, OSMesa or EGL).

Two draws per frame, both without multisampling so every pixel belongs to exactly one entity: an *id* draw
(each node filled with its instance colour; also gives linear depth) and a *normal* draw (camera-space normals).
The proxy pass is shaded from these two in numpy (see :mod:`renderers.passes`), so the passes agree pixel for
pixel. The draws reuse pyrender's segmentation path with this package's own shaders (``shaders/``), swapped in
through the renderer's shader cache — pyrender has no public hook for custom shaders.
"""

from __future__ import annotations

import os

import numpy as np

from . import gl
from .geometry import Part, id_to_rgb

__all__ = ["Rasterizer", "Frame"]

_SHADERS = os.path.join(os.path.dirname(__file__), "shaders")


class Frame:
    """Raw buffers of one frame: ``ids`` (H, W) uint32 (0 = background), ``depth`` (H, W) float32 metres along
    the view axis (0 = background), ``normal`` (H, W, 3) uint8 or None."""

    __slots__ = ("ids", "depth", "normal")

    def __init__(self, ids, depth, normal):
        self.ids, self.depth, self.normal = ids, depth, normal


def _shader_cache(pyrender):
    from pyrender.shader_program import ShaderProgram, ShaderProgramCache

    class PassShaders(ShaderProgramCache):
        """Serves this package's shaders wherever pyrender asks for its segmentation shaders, and caches
        programs by shader and defines only: pyrender's own key includes ``OpenGL.contextdata.getContext()``,
        which on OSMesa is a fresh ctypes object per call, so every draw recompiled its program. One cache
        belongs to one renderer and its one context."""

        mode = "id"

        def get_program(self, vertex_shader, fragment_shader, geometry_shader=None, defines=None):
            if vertex_shader == "segmentation.vert":
                vertex_shader = os.path.join(_SHADERS, "wnm.vert")
                fragment_shader = os.path.join(_SHADERS, f"wnm_{self.mode}.frag")
            defines = defines or {}
            key = (vertex_shader, fragment_shader, geometry_shader, tuple(sorted(defines.items())))
            program = self._program_cache.get(key)
            if program is None:
                def path(fn):
                    return None if fn is None else os.path.join(self.shader_dir, fn)

                program = ShaderProgram(vertex_shader=path(vertex_shader), fragment_shader=path(fragment_shader),
                                        geometry_shader=path(geometry_shader), defines=defines)
                self._program_cache[key] = program
            return program

    return PassShaders()


def _set_vertex_normals(mesh):
    """Area-weighted vertex normals in numpy (trimesh's own path wants scipy, which is not a dependency)."""
    fn = np.asarray(mesh.face_normals) * np.asarray(mesh.area_faces)[:, None]
    vn = np.zeros((len(mesh.vertices), 3))
    for k in range(3):
        np.add.at(vn, mesh.faces[:, k], fn)
    norm = np.linalg.norm(vn, axis=1, keepdims=True)
    mesh.vertex_normals = vn / np.where(norm > 0, norm, 1.0)


class Rasterizer:
    """Renders :class:`Part` meshes at given poses through a pinhole camera. Not thread-safe; one per process
    and resolution is enough (the GL context is made once)."""

    def __init__(self, width: int, height: int, egl: bool = False):
        self.width, self.height = int(width), int(height)
        self._pr = gl.pyrender_module(egl)
        self._renderer = self._pr.OffscreenRenderer(self.width, self.height)
        self._cache = _shader_cache(self._pr)
        self._renderer._renderer._program_cache = self._cache
        self._scene = None
        self._nodes: list = []
        self._parts: list[Part] = []

    def close(self):
        if self._renderer is not None:
            self._renderer.delete()
            self._renderer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def load(self, parts: list[Part], instance: dict[str, int]):
        """Upload the meshes of a world (once per pack); ``instance`` maps entity ids to instance ids."""
        pr = self._pr
        scene = pr.Scene(bg_color=[0.0, 0.0, 0.0, 0.0], ambient_light=[0.0, 0.0, 0.0])
        nodes = []
        for p in parts:
            if p.smooth:
                _set_vertex_normals(p.mesh)
            mesh = pr.Mesh.from_trimesh(p.mesh, smooth=p.smooth)
            node = scene.add(mesh, pose=np.eye(4))
            nodes.append(node)
        self._camera_node = scene.add(pr.IntrinsicsCamera(1.0, 1.0, 0.0, 0.0), pose=np.eye(4))
        self._scene, self._nodes, self._parts = scene, nodes, parts
        self._colors = [np.asarray(id_to_rgb(instance[p.entity]), dtype=np.float64) for p in parts]

    def render(self, poses: np.ndarray, visible: np.ndarray, K: np.ndarray, world_to_camera: np.ndarray,
               near: float, far: float, normals: bool = True) -> Frame:
        """One frame. ``poses`` (P, 4, 4) world pose per part, ``visible`` (P,) bool, ``K`` (3, 3) pixel
        intrinsics for this rasteriser's size, ``world_to_camera`` (4, 4) in OpenGL axes."""
        pr, scene = self._pr, self._scene
        if scene is None:
            raise RuntimeError("load() the parts before rendering")
        for node, pose in zip(self._nodes, poses):
            scene.set_pose(node, pose)
        cam = self._camera_node.camera
        cam.fx, cam.fy, cam.cx, cam.cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
        cam.znear, cam.zfar = float(near), float(far)
        scene.set_pose(self._camera_node, np.linalg.inv(world_to_camera))
        seg = {n: c for n, c, v in zip(self._nodes, self._colors, visible) if v}
        flags = pr.RenderFlags.SEG
        self._cache.mode = "id"
        rgb, depth = self._renderer.render(scene, flags=flags, seg_node_map=seg)
        rgb = rgb.astype(np.uint32)
        ids = rgb[..., 0] | (rgb[..., 1] << 8) | (rgb[..., 2] << 16)
        normal = None
        if normals:
            self._cache.mode = "normal"
            normal, _ = self._renderer.render(scene, flags=flags, seg_node_map=seg)
            normal = np.where((ids > 0)[..., None], normal, 0).astype(np.uint8)
        return Frame(ids, np.where(ids > 0, depth, 0.0).astype(np.float32), normal)
