"""Forward-kinematics throughput: vectorised numpy vs a naive per-joint Python loop (vs torch, if importable).

    python bench/bench_fk.py [--device cpu|cuda] [--characters 500] [--frames 240] [--chunk 50]

The skeleton is the biped template plus five three-joint fingers per hand and a jaw: 60 joints. Every character
gets its own random joint rotations and root motion for every frame. The vectorised paths process ``--chunk``
characters per call (the full batch's output would be about 0.9 GB of float64 matrices) and their results are
discarded. The naive loop (one 4×4 product per joint per frame, in Python) is timed on ``--naive-characters``
characters and extrapolated to the full batch; the table says so. Every path is timed best of ``--repeat`` runs in
the same process, and the vectorised results are checked against the naive ones on that subset.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core import quat  # noqa: E402
from core.kinematics import depth_levels, forward_kinematics, rig  # noqa: E402
from core.skeleton import normalize_joints  # noqa: E402
from core.templates import template_joints  # noqa: E402


def skeleton_60() -> list[dict]:
    joints = template_joints("biped")
    joints.append({"name": "jaw", "parent": "head", "offset": [0.0, -0.02, 0.06]})
    for side, sx in (("l", 1.0), ("r", -1.0)):
        for k, z in enumerate((0.035, 0.017, 0.0, -0.017, -0.035)):
            parent = f"{side}_hand"
            for seg, length in enumerate((0.04, 0.025, 0.02)):
                name = f"{side}_finger{k}_{seg}"
                off = [sx * (0.0 if seg == 0 else length), 0.0, z if seg == 0 else 0.0]
                joints.append({"name": name, "parent": parent, "offset": off})
                parent = name
    joints = normalize_joints(joints)
    assert len(joints) == 60, len(joints)
    return joints


def naive_fk(parents, offsets, rest, rotations, translations):
    """One character: rotations (F, J, 4), translations (F, J, 3) → (F, J, 4, 4), a Python loop per joint."""
    n_f, n_j = rotations.shape[:2]
    out = np.empty((n_f, n_j, 4, 4))
    for f in range(n_f):
        for j in range(n_j):
            local = np.eye(4)
            local[:3, :3] = quat.to_matrix(quat.multiply(rest[j], rotations[f, j]))
            local[:3, 3] = offsets[j] + translations[f, j]
            p = parents[j]
            out[f, j] = local if p < 0 else out[f, p] @ local
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="device for the torch path")
    ap.add_argument("--characters", type=int, default=500)
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--chunk", type=int, default=50, help="characters per vectorised call")
    ap.add_argument("--naive-characters", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="best of N, for every path")
    args = ap.parse_args(argv)

    r = rig(skeleton_60())
    n_b, n_f, n_j = args.characters, args.frames, len(r.names)
    poses = n_b * n_f * n_j
    rng = np.random.default_rng(0)
    rotations = quat.normalize(rng.normal(size=(n_b, n_f, n_j, 4)))
    translations = np.zeros((n_b, n_f, n_j, 3))
    translations[:, :, r.roots] = rng.normal(scale=0.1, size=(n_b, n_f, len(r.roots), 3))
    print(f"FK benchmark: {n_b} characters × {n_j} joints × {n_f} frames = {poses:,} joint poses")

    rows = []

    # naive, on a subset, extrapolated
    k = max(1, min(args.naive_characters, n_b))
    t_naive = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        naive = [naive_fk(r.parents, r.offsets, r.rest, rotations[b], translations[b]) for b in range(k)]
        t_naive = min(t_naive, (time.perf_counter() - t0) * n_b / k)
    rows.append((f"naive Python loop (timed on {k}×{n_f}×{n_j}, extrapolated)", "float64", t_naive))

    def numpy_run(dtype):
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for s in range(0, n_b, args.chunk):
                forward_kinematics(r.parents, r.offsets, r.rest, rotations[s:s + args.chunk],
                                   translations[s:s + args.chunk], dtype=dtype)
            best = min(best, time.perf_counter() - t0)
        return best

    check = forward_kinematics(r.parents, r.offsets, r.rest, rotations[:k], translations[:k])
    err = float(np.abs(check - np.stack(naive)).max())
    rows.append((f"numpy vectorised ({args.chunk} characters per call)", "float64", numpy_run(np.float64)))
    rows.append((f"numpy vectorised ({args.chunk} characters per call)", "float32", numpy_run(np.float32)))

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        from fk_torch import forward_kinematics_torch

        if args.device == "cuda" and not torch.cuda.is_available():
            raise SystemExit("--device cuda: torch sees no CUDA device")
        dev = torch.device(args.device)
        levels = depth_levels(r.parents)
        for dtype in (torch.float32, torch.float64):
            off = torch.as_tensor(r.offsets, dtype=dtype, device=dev)
            rest = torch.as_tensor(r.rest, dtype=dtype, device=dev)
            rot_t = torch.as_tensor(rotations, dtype=dtype, device=dev)
            tr_t = torch.as_tensor(translations, dtype=dtype, device=dev)
            chunk = n_b if args.device == "cuda" else args.chunk
            ref = forward_kinematics_torch(levels, r.parents, off, rest, rot_t[:k], tr_t[:k]).cpu().numpy()
            err = max(err, float(np.abs(ref - np.stack(naive)).max()) if dtype == torch.float64 else err)
            best = float("inf")
            with torch.no_grad():
                for _ in range(args.repeat):
                    if args.device == "cuda":
                        torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    for s in range(0, n_b, chunk):
                        forward_kinematics_torch(levels, r.parents, off, rest, rot_t[s:s + chunk],
                                                 tr_t[s:s + chunk])
                    if args.device == "cuda":
                        torch.cuda.synchronize()
                    best = min(best, time.perf_counter() - t0)
            rows.append((f"torch {args.device} by depth level ({chunk} characters per call)",
                         str(dtype).replace("torch.", ""), best))
            del rot_t, tr_t
    else:
        print("(torch not importable: torch path skipped)")

    print(f"max |vectorised − naive| on the checked subset: {err:.2e}")
    print()
    width = max(len(name) for name, _, _ in rows)
    print(f"{'path':<{width}}  {'dtype':<7}  {'seconds':>9}  {'joint poses/s':>14}  {'vs naive':>9}")
    for name, dtype, t in rows:
        print(f"{name:<{width}}  {dtype:<7}  {t:9.3f}  {poses / t:14,.0f}  {t_naive / t:8.1f}×")


if __name__ == "__main__":
    main()
