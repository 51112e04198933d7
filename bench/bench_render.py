"""Depth + instance frames per second at 512² for a scene of 20 boxes (and a floor).

    .venv/bin/python bench/bench_render.py            # CPU, OSMesa (llvmpipe)   goal ≥ 40
    .venv/bin/python bench/bench_render.py --egl      # GPU machine, EGL         goal ≥ 1000
    .venv/bin/python bench/bench_render.py --backend torch --device cuda --batch 64   # GPU, torch ray caster
    .venv/bin/python bench/bench_render.py --backend both                             # gl and torch, one run

One id draw per frame gives both passes (instance ids and linear depth), read back to numpy, as the pack
renderer does; the camera orbits so no frame repeats. ``--backend torch`` ray casts the same parts analytically
(:mod:`renderers.raycast`), ``--batch`` frames per call, read back to numpy too; ``--no-readback`` leaves them on
the device. ``--full`` also times the complete per-frame work of a pack (normals, proxy shading, PNG encoding)
without video.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--egl", action="store_true")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--boxes", type=int, default=20)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--backend", choices=["gl", "torch", "both"], default="gl")
    ap.add_argument("--device", default="cpu", help="torch device for --backend torch (cpu, cuda, cuda:1 …)")
    ap.add_argument("--batch", type=int, default=16, help="frames per render_batch call (--backend torch)")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--chunk", type=int, default=None, help="elements per ray-casting step (default by device)")
    ap.add_argument("--no-readback", action="store_true", help="torch: keep frames on the device")
    ap.add_argument("--compile", action="store_true", help="torch: fuse the tile kernels with torch.compile")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args(argv)
    results = []
    if args.backend in ("gl", "both"):
        results.append(bench_gl(args))
    if args.backend in ("torch", "both"):
        results.append(bench_torch(args))
    for out in results:
        print(json.dumps(out))
    return 0


def _scene(args):
    """The demo world without its character: (parts, poses, visible, K, instance ids, orbit w2c(i))."""
    from core.camera import intrinsics
    from core.sampling import sample
    from renderers.demo import demo_world
    from renderers.geometry import instance_ids, part_poses, scene_parts

    world = demo_world(boxes=args.boxes, character=False)
    s = sample(world, np.zeros(1))
    parts = scene_parts(world, s.ids)
    poses = np.stack([part_poses(p, s)[0] for p in parts])
    visible = np.ones(len(parts), bool)
    K = intrinsics(30.0, (args.size, args.size))
    ids = instance_ids(world.entities)

    def w2c(i):
        a = 0.3 * np.sin(i * 0.05)
        eye = np.array([8 * np.sin(a), 1.6, 8 * np.cos(a) - 2])
        fwd = (np.array([0, 0.5, -2.0]) - eye) / np.linalg.norm(np.array([0, 0.5, -2.0]) - eye)
        right = np.cross(fwd, [0, 1, 0]); right /= np.linalg.norm(right)
        up = np.cross(right, fwd)
        c2w = np.eye(4)
        c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, up, -fwd, eye
        return np.linalg.inv(c2w)

    return parts, poses, visible, K, ids, w2c


def _full_frame(images, fr, palette, colors):
    images.png_bytes(images.proxy_image(fr.ids, fr.normal, palette, colors))
    images.png_bytes(images.depth16(fr.depth, 0.001))
    images.png_bytes(fr.normal)
    images.png_bytes(images.instance_image(fr.ids))


def bench_gl(args) -> dict:
    from renderers import images
    from renderers.raster import Rasterizer

    parts, poses, visible, K, ids, w2c = _scene(args)
    with Rasterizer(args.size, args.size, egl=args.egl) as r:
        r.load(parts, ids)
        for i in range(5):  # warm-up (shader compilation, buffers)
            r.render(poses, visible, K, w2c(i), 0.1, 1000.0, normals=False)
        t = time.perf_counter()
        covered = 0
        for i in range(args.frames):
            fr = r.render(poses, visible, K, w2c(i), 0.1, 1000.0, normals=False)
            covered += int((fr.ids > 0).sum() > 0)
        dt = time.perf_counter() - t
        out = {"backend": "gl", "platform": "egl" if args.egl else "osmesa", "size": args.size, "boxes": args.boxes,
               "frames": args.frames, "depth_instance_fps": round(args.frames / dt, 1),
               "frames_with_geometry": covered}
        if args.full:
            palette = np.array(sorted(ids[p.entity] for p in parts))
            colors = np.full((len(palette), 3), 0.7)
            n = max(10, args.frames // 5)
            t = time.perf_counter()
            for i in range(n):
                fr = r.render(poses, visible, K, w2c(i), 0.1, 1000.0, normals=True)
                _full_frame(images, fr, palette, colors)
            out["full_pack_frame_fps"] = round(n / (time.perf_counter() - t), 1)
    return out


def bench_torch(args) -> dict:
    import torch

    from renderers import images
    from renderers.raster import Frame
    from renderers.raycast import Raycaster

    if args.threads:
        torch.set_num_threads(args.threads)
    parts, poses, visible, K, ids, w2c = _scene(args)
    dtype = getattr(torch, args.dtype)
    r = Raycaster(args.size, args.size, device=args.device, dtype=dtype, chunk=args.chunk,
                  compile=args.compile)
    r.load(parts, ids)
    B = max(1, args.batch)

    def batch(i0, n, normals):
        return r.render_batch(np.broadcast_to(poses, (n,) + poses.shape),
                              np.broadcast_to(visible, (n,) + visible.shape), np.broadcast_to(K, (n, 3, 3)),
                              np.stack([w2c(i0 + k) for k in range(n)]), 0.1, 1000.0,
                              normals=normals, numpy=not args.no_readback)

    def sync():
        if r.device.type == "cuda":
            torch.cuda.synchronize(r.device)

    batch(0, B, False)  # warm-up (allocator, kernels, compilation)
    if args.full:
        batch(0, B, True)
    sync()
    t = time.perf_counter()
    covered = 0
    for i0 in range(0, args.frames, B):
        fr = batch(i0, min(B, args.frames - i0), False)
        covered += int((fr.ids > 0).reshape(fr.ids.shape[0], -1).any(1).sum())
    sync()
    dt = time.perf_counter() - t
    out = {"backend": "torch", "device": str(r.device), "device_name": _device_name(torch, r.device),
           "threads": torch.get_num_threads(), "dtype": args.dtype, "compile": args.compile, "batch": B,
           "readback": not args.no_readback,
           "size": args.size, "boxes": args.boxes, "frames": args.frames,
           "depth_instance_fps": round(args.frames / dt, 1), "frames_with_geometry": covered}
    if args.full:
        palette = np.array(sorted(ids[p.entity] for p in parts))
        colors = np.full((len(palette), 3), 0.7)
        n = max(10, args.frames // 5)
        t = time.perf_counter()
        for i0 in range(0, n, B):
            fb = batch(i0, min(B, n - i0), True)
            if args.no_readback:
                fb = Frame(fb.ids.cpu().numpy().astype(np.uint32), fb.depth.cpu().numpy(), fb.normal.cpu().numpy())
            for k in range(fb.ids.shape[0]):
                _full_frame(images, Frame(fb.ids[k], fb.depth[k], fb.normal[k]), palette, colors)
        out["full_pack_frame_fps"] = round(n / (time.perf_counter() - t), 1)
    return out


def _device_name(torch, device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
