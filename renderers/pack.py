"""Rendering a control pack (SPEC §8): the folder a video model is driven by.

Layout (``NNNNNN`` = output frame index)::

    manifest.json            shot, seq, state_hash, fps, frames, resolution, passes, sha256 of every file
    proxy/NNNNNN.png  depth/NNNNNN.png  normal/NNNNNN.png  instance/NNNNNN.png  pose/NNNNNN.png
    keypoints/NNNNNN.json    depth_f32/NNNNNN.npy  plucker/NNNNNN.npy   (when asked for)
    lighting/NNNNNN.png  lights/NNNNNN.json     (the ``lighting`` pass: :mod:`renderers.lighting`)
    cameras.json  cameras.txt  prompt.txt
    proxy.mp4  depth.mp4  normal.mp4  instance.mp4  pose.mp4   (one per image pass)

``manifest["pack_sha256"]`` is the sha256 of the sorted ``"<sha256>  <path>"`` lines of every file except the
manifest and the videos: the same world at the same offset gives the same value. Video hashes are recorded in
``manifest["videos"]`` but may differ between ffmpeg builds.

A pack is written into a temporary sibling folder and renamed into place, so a killed renderer never leaves a
half pack, and of two renderers racing for the same folder exactly one wins (:class:`PackExists` for the other).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

import numpy as np

from core.illumination import REFERENCE_IRRADIANCE

from . import cameras as cam_files
from . import images
from .geometry import RENDERED_KINDS, id_to_rgb, instance_ids, part_poses, scene_parts
from .job import IMAGE_PASSES, Plan, RenderError, RenderJob, plan as make_plan

__all__ = ["PackExists", "render_pack", "write_pack", "pack_digest", "verify_pack", "default_prompt",
           "FORMAT"]

FORMAT = "wnm-control-pack/1"
Progress = Callable[[int, int], None]


class PackExists(FileExistsError):
    """The destination already holds a pack (another renderer finished the same job first)."""


def _json_bytes(obj, compact: bool = False) -> bytes:
    if compact:
        return (json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    return (json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _npy_bytes(a: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def pack_digest(files: dict[str, str]) -> str:
    return images.sha256("".join(f"{h}  {p}\n" for p, h in sorted(files.items())).encode())


def default_prompt(world) -> str:
    """A plain description of the shot when the job gives no prompt."""
    things = []
    for eid, e in sorted(world.entities.items()):
        if e.kind in RENDERED_KINDS:
            things.append(f"{e.name or eid} ({e.kind})")
    title = world.name or world.shot
    return f"{title}: " + (", ".join(things) if things else "an empty set") + "."


_rasterizers: dict = {}


def _rasterizer(width: int, height: int, egl: bool, backend: str = "gl"):
    """The cached frame renderer: GL (OSMesa, or EGL with ``egl``) or, with ``backend="torch"``, the analytic
    ray caster (:mod:`renderers.raycast`; on CUDA with ``egl``, else on the CPU). Both take the same calls."""
    key = (width, height, egl, backend)
    if key not in _rasterizers:
        if backend == "torch":
            from .raycast import Raycaster

            _rasterizers[key] = Raycaster(width, height, device="cuda" if egl else "cpu")
        elif backend == "gl":
            from .raster import Rasterizer

            _rasterizers[key] = Rasterizer(width, height, egl=egl)
        else:
            raise ValueError(f"unknown render backend {backend!r} (gl or torch)")
    return _rasterizers[key]


def _default_sampler():
    from core.sampling import sample

    return sample


class _Folder:
    """The pack's folder as it is written: each file's sha256, and one video per image pass."""

    def __init__(self, out: Path, p: Plan, w: int, h: int):
        self.out, self.files = out, {}
        self.writers = {}
        from .video import VideoWriter

        for name in IMAGE_PASSES:
            if name in p.passes and name != "depth":
                self.writers[name] = VideoWriter(out / f"{name}.mp4", w, h, p.fps)

    def put(self, rel: str, data: bytes) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[rel] = images.sha256(data)

    def image(self, name: str, key: str, img: np.ndarray) -> None:
        """``name/key.png`` and a frame of ``name.mp4``."""
        self.put(f"{name}/{key}.png", images.png_bytes(img))
        self.writers[name].write(img)

    def close(self) -> None:
        for wr in self.writers.values():
            wr.close()


class _Scene:
    """What the image passes draw: the rasteriser loaded with the scene's parts, their poses at every frame, and
    the instance palette."""

    def __init__(self, world, s, p: Plan, w: int, h: int, egl: bool, backend: str):
        self.ids_of = instance_ids(world.entities)
        self.parts = scene_parts(world, s.ids)
        self.rendered = sorted({pt.entity for pt in self.parts})
        self.palette_ids = np.array(sorted(self.ids_of[e] for e in self.rendered), dtype=np.int64)
        self.entity_of_id = {self.ids_of[e]: e for e in self.rendered}
        self.index_of = {e: s.ids.index(e) for e in self.rendered}
        self.rast = None
        if any(x in p.passes for x in ("proxy", "depth", "normal", "instance", "depth_f32", "lighting")):
            self.rast = _rasterizer(w, h, egl, backend)
            self.rast.load(self.parts, self.ids_of)
            F = len(p.frames)
            self.poses = (np.stack([part_poses(pt, s) for pt in self.parts], axis=0) if self.parts
                          else np.zeros((0, F, 4, 4)))
        self.normals = any(x in p.passes for x in ("proxy", "normal", "lighting"))

    def frame(self, s, i: int, K, w2c, cam):
        """The rasterised frame ``i`` and the colours of the palette's entities."""
        vis = np.array([bool(s.visible[i, pt.index]) for pt in self.parts], dtype=bool)
        fr = self.rast.render(self.poses[:, i], vis, K, w2c, float(cam.near_m[i]), float(cam.far_m[i]),
                              normals=self.normals)
        colors = np.array([s.color[i, self.index_of[self.entity_of_id[k]]] for k in self.palette_ids]).reshape(-1, 3)
        return fr, colors


def _raster_passes(folder: _Folder, scene: _Scene, world, s, p: Plan, i: int, key: str, K, w2c, cam,
                   depth_frames: list) -> None:
    """The passes drawn from the rasterised frame: lighting (+ lights), proxy, depth, depth_f32, normal, instance."""
    fr, colors = scene.frame(s, i, K, w2c, cam)
    if "lighting" in p.passes:
        from .lighting import light_records, lighting_image

        lights = light_records(world, s, i)
        folder.image("lighting", key, lighting_image(fr, K, w2c, lights, scene.palette_ids, colors))
        for rec in lights.values():
            del rec["matrix"]
        folder.put(f"lights/{key}.json", _json_bytes({"index": i, "frame": float(p.frames[i]), "lights": lights},
                                                     compact=True))
    if "proxy" in p.passes:
        folder.image("proxy", key, images.proxy_image(fr.ids, fr.normal, scene.palette_ids, colors))
    if "depth" in p.passes:
        d16 = images.depth16(fr.depth, p.depth_scale_m)
        folder.put(f"depth/{key}.png", images.png_bytes(d16))
        depth_frames.append(d16)
    if "depth_f32" in p.passes:
        folder.put(f"depth_f32/{key}.npy", _npy_bytes(fr.depth.astype("<f4")))
    if "normal" in p.passes:
        folder.image("normal", key, fr.normal)
    if "instance" in p.passes:
        folder.image("instance", key, images.instance_image(fr.ids))


def _joint_passes(folder: _Folder, s, p: Plan, i: int, key: str, K, w2c, cam, w: int, h: int) -> None:
    """keypoints (JSON per character) and pose (the skeletons drawn) at frame ``i``."""
    from .pose import character_keypoints, draw_pose

    records = {}
    for eid, js in sorted(s.joints.items()):
        if not s.visible[i, s.ids.index(eid)]:
            continue
        records[eid] = character_keypoints(js.names, list(np.asarray(js.parents).tolist()), js.matrices[i, :, :3, 3],
                                           K, w2c, w, h, float(cam.near_m[i]))
    if "keypoints" in p.passes:
        folder.put(f"keypoints/{key}.json", _json_bytes({"index": i, "frame": float(p.frames[i]),
                                                         "characters": records}, compact=True))
    if "pose" in p.passes:
        folder.image("pose", key, draw_pose([records[e] for e in sorted(records)], w, h))


def _manifest(world, seq: int, state_hash: str, p: Plan, scene: _Scene, files: dict, videos: dict) -> dict:
    w, h = p.resolution
    return {
        "format": FORMAT,
        "project": world.project,
        "shot": world.shot,
        "seq": int(seq),
        "state_hash": state_hash,
        "preset": p.preset,
        "camera": p.camera,
        "fps": p.fps,
        "shot_fps": world.fps,
        "frame_count": len(p.frames),
        "frames": [float(f) for f in p.frames],
        "held_frames": p.held_frames,
        "resolution": [w, h],
        "passes": list(p.passes),
        "depth": {"format": "png16", "scale_m": p.depth_scale_m, "background": 0,
                  "npy": "depth_f32" in p.passes},
        "normal": {"space": "camera, OpenGL axes (x right, y up, z towards the viewer)",
                   "encoding": "rgb = (n + 1) / 2 * 255", "background": [0, 0, 0]},
        "instance": {"encoding": "id = r + 256 g + 65536 b", "background": 0,
                     "palette": {e: {"id": scene.ids_of[e], "rgb": id_to_rgb(scene.ids_of[e]),
                                     "kind": world.entities[e].kind} for e in scene.rendered}},
        "pose": {"biped": "OpenPose COCO-18", "other": "one limb per bone, hue by bone index"},
        **({"lighting": {"encoding": "sRGB 8-bit of linear = colour · Σ E·rgb / E_ref · 0.8, clipped",
                         "reference_irradiance_w_m2": REFERENCE_IRRADIANCE, "model": "Lambert, no shadows",
                         "lights": "lights/NNNNNN.json"}} if "lighting" in p.passes else {}),
        "files": dict(sorted(files.items())),
        "videos": dict(sorted(videos.items())),
        "pack_sha256": pack_digest(files),
    }


def render_pack(world, seq: int, state_hash: str, job: RenderJob, out: Path, *, progress: Progress | None = None,
                egl: bool = False, sampler=None, backend: str = "gl") -> dict:
    """Render ``job`` for ``world`` (the shot at offset ``seq``) into the existing, empty folder ``out``.
    Returns the manifest. Raises RenderError for a job that does not fit the world. ``backend="torch"`` draws the
    image passes with the analytic ray caster instead of OpenGL (on CUDA when ``egl``)."""
    p = make_plan(job, world)
    sampler = sampler or _default_sampler()
    out = Path(out)
    w, h = p.resolution
    F = len(p.frames)
    s = sampler(world, p.frames)
    if p.camera not in s.cameras:
        raise RenderError(f"camera {p.camera!r} was not sampled")
    cam = s.cameras[p.camera]
    K = cam_files.render_intrinsics(cam.K, world.resolution, (w, h))
    w2c = np.asarray(cam.world_to_camera, dtype=np.float64)
    scene = _Scene(world, s, p, w, h, egl, backend)
    joints = "pose" in p.passes or "keypoints" in p.passes
    depth_frames: list = []
    folder = _Folder(out, p, w, h)
    try:
        for i in range(F):
            key = f"{i:06d}"
            if scene.rast is not None:
                _raster_passes(folder, scene, world, s, p, i, key, K[i], w2c[i], cam, depth_frames)
            if joints:
                _joint_passes(folder, s, p, i, key, K[i], w2c[i], cam, w, h)
            if "plucker" in p.passes:
                folder.put(f"plucker/{key}.npy", _npy_bytes(cam_files.plucker(K[i], w2c[i], w, h).astype("<f2")))
            if progress is not None:
                progress(i + 1, F)
    finally:
        folder.close()
    if depth_frames:
        from .video import encode_mp4

        encode_mp4(out / "depth.mp4", images.depth_preview(np.stack(depth_frames)), p.fps)
    videos = {f"{name}.mp4": images.sha256((out / f"{name}.mp4").read_bytes())
              for name in IMAGE_PASSES if (out / f"{name}.mp4").exists()}
    folder.put("cameras.json", _json_bytes(cam_files.cameras_json(p.camera, w, h, p.frames, p.times_s, K, cam,
                                                                  np.arange(F))))
    folder.put("cameras.txt", cam_files.cameras_txt(f"wnm:{world.project}/{world.shot}@{seq} camera={p.camera}",
                                                    w, h, p.times_s, K, w2c).encode())
    folder.put("prompt.txt", ((job.prompt if job.prompt is not None else default_prompt(world)).strip()
                              + "\n").encode())
    manifest = _manifest(world, seq, state_hash, p, scene, folder.files, videos)
    (out / "manifest.json").write_bytes(_json_bytes(manifest))
    return manifest


def write_pack(world, seq: int, state_hash: str, job: RenderJob, dest, **kw) -> dict:
    """Render into a temporary sibling of ``dest`` and rename it into place (atomic). Raises PackExists when
    ``dest`` already holds a pack, RenderError for a bad job."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and any(dest.iterdir()):
        raise PackExists(f"{dest} already holds a pack")
    tmp = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        manifest = render_pack(world, seq, state_hash, job, tmp, **kw)
        try:
            os.rename(tmp, dest)
        except OSError as e:
            raise PackExists(f"{dest} already holds a pack") from e
        return manifest
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def verify_pack(folder) -> list[str]:
    """Problems with a pack on disk (missing files, wrong hashes); empty when it is whole."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        return [f"manifest.json: {e}"]
    problems = []
    for rel, digest in {**manifest.get("files", {}), **manifest.get("videos", {})}.items():
        f = folder / rel
        if not f.is_file():
            problems.append(f"{rel}: missing")
        elif images.sha256(f.read_bytes()) != digest:
            problems.append(f"{rel}: sha256 differs")
    if pack_digest(manifest.get("files", {})) != manifest.get("pack_sha256"):
        problems.append("pack_sha256 differs")
    return problems
