"""Depth + instance frames per second at 512² for a scene of 20 boxes (and a floor).

    .venv/bin/python bench/bench_render.py            # CPU, OSMesa (llvmpipe)   goal ≥ 40
    .venv/bin/python bench/bench_render.py --egl      # GPU machine, EGL         goal ≥ 1000

One id draw per frame gives both passes (instance ids and linear depth), read back to numpy, as the pack
renderer does; the camera orbits so no frame repeats. ``--full`` also times the complete per-frame work of a
pack (normals, proxy shading, PNG encoding) without video.
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
    args = ap.parse_args(argv)

    from core.camera import intrinsics
    from renderers import images
    from core.sampling import sample
    from renderers.demo import demo_world
    from renderers.geometry import instance_ids, part_poses, scene_parts
    from renderers.raster import Rasterizer

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
        out = {"platform": "egl" if args.egl else "osmesa", "size": args.size, "boxes": args.boxes,
               "frames": args.frames, "depth_instance_fps": round(args.frames / dt, 1),
               "frames_with_geometry": covered}
        if args.full:
            palette = np.array(sorted(ids[p.entity] for p in parts))
            colors = np.full((len(palette), 3), 0.7)
            n = max(10, args.frames // 5)
            t = time.perf_counter()
            for i in range(n):
                fr = r.render(poses, visible, K, w2c(i), 0.1, 1000.0, normals=True)
                images.png_bytes(images.proxy_image(fr.ids, fr.normal, palette, colors))
                images.png_bytes(images.depth16(fr.depth, 0.001))
                images.png_bytes(fr.normal)
                images.png_bytes(images.instance_image(fr.ids))
            out["full_pack_frame_fps"] = round(n / (time.perf_counter() - t), 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
