"""Export cost at 20 / 200 / 2,000 characters × 240 frames: time per stage and file size per format.

    python bench/bench_export.py [--characters 20,200,2000] [--frames 240] [--formats usdc,glb,usda,usdz]
                                 [--validate 200]

Every character is a biped (29 joints) walking a straight line (two position keys) with six animated joints
(knees, hips, elbows: three keys each, auto interpolation), spread on a grid; the shot also has a camera, a
spot light and a floor. ``sample`` is core's sampling plus the bodies and skins (``build_scene``, shared by all
formats); each format's time is the writer alone on that scene. ``--validate N`` runs usd-core's validators on the
usdc and the Khronos glTF validator (Node, tests/e2e/node) on the glb for the N-character world.
One run on this machine; each time is given as CPU seconds of this process (``time.process_time``: robust to
other work on a shared machine) and, after the slash, wall-clock seconds. The table is printed as Markdown.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core import ops as O  # noqa: E402
from core import quat  # noqa: E402
from core.edit import apply  # noqa: E402
from core.world import World  # noqa: E402
from renderers.export.scene import build_scene  # noqa: E402


def crowd(n: int, frames: int) -> World:
    w = World(project="bench", shot=f"crowd{n}", frame_start=0.0, frame_end=float(frames - 1))
    ops = [O.EntityCreate(id="floor", kind="environment",
                          props={"geometry": {"primitive": "plane", "size": [200.0, 200.0]}}),
           O.EntityCreate(id="cam", kind="camera", props={"transform.position": [0.0, 10.0, 60.0]}),
           O.KeySet(id="cam", path="camera.focal_length_mm", frame=0, value=35.0),
           O.KeySet(id="cam", path="camera.focal_length_mm", frame=frames - 1, value=50.0),
           O.EntityCreate(id="key", kind="light", props={"light.type": "spot", "transform.position": [0, 20, 0]})]
    side = int(np.ceil(np.sqrt(n)))
    rng = np.random.default_rng(0)
    end = frames - 1
    for i in range(n):
        eid = f"c{i:05d}"
        x, z = (i % side) * 1.5, (i // side) * 1.5
        ops += [O.EntityCreate(id=eid, kind="character", props={"color": rng.uniform(0.2, 0.9, 3).tolist()}),
                O.SkeletonSet(id=eid, template="biped"),
                O.KeySet(id=eid, path="transform.position", frame=0, value=[x, 0.0, z], interp="linear"),
                O.KeySet(id=eid, path="transform.position", frame=end, value=[x, 0.0, z + 10.0], interp="linear")]
        for j in ("l_knee", "r_knee", "l_hip", "r_hip", "l_elbow", "r_elbow"):
            for f in (0, end // 2, end):
                a = rng.uniform(-40, 40)
                ops.append(O.KeySet(id=eid, path=f"joints.{j}.rotation", frame=f,
                                    value=quat.from_axis_angle([1, 0, 0], np.radians(a)).tolist()))
    for k in range(0, len(ops), 500):
        apply(w, ops[k:k + 500], "user:bench")
    return w


def _write(scene, fmt: str) -> bytes:
    if fmt == "glb":
        from renderers.export.gltf import glb_bytes

        return glb_bytes(scene)
    from renderers.export.usd import usd_bytes

    return usd_bytes(scene, fmt)


def _validate(n: int, usdc: bytes, glb: bytes) -> dict:
    from renderers.export.usd import validate_stage

    out = {}
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "crowd.usdc"
        p.write_bytes(usdc)
        t = time.perf_counter()
        out["usd_errors"] = len(validate_stage(p))
        out["usd_validate_s"] = round(time.perf_counter() - t, 2)
        node_dir = ROOT / "tests" / "e2e" / "node" / "node_modules" / "gltf-validator"
        if shutil.which("node") and node_dir.is_dir():
            g = Path(d) / "crowd.glb"
            g.write_bytes(glb)
            script = ("const v=require(process.argv[1]);v.validateBytes(new Uint8Array(require('fs')"
                      ".readFileSync(process.argv[2])),{maxIssues:0}).then(r=>console.log(JSON.stringify(r.issues)))")
            t = time.perf_counter()
            r = subprocess.run(["node", "-e", script, str(node_dir), str(g)], capture_output=True, text=True,
                               check=True)
            issues = json.loads(r.stdout)
            out["gltf_errors"], out["gltf_warnings"] = issues["numErrors"], issues["numWarnings"]
            out["gltf_validate_s"] = round(time.perf_counter() - t, 2)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--characters", default="20,200,2000")
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--formats", default="usdc,glb,usda,usdz")
    ap.add_argument("--validate", type=int, default=200, help="validate the exports of this size (0: none)")
    args = ap.parse_args(argv)
    formats = args.formats.split(",")
    print("| characters | frames | sample cpu/wall s | " + " | ".join(f"{f} cpu/wall s | {f} MB" for f in formats)
          + " |")
    print("|" + "---|" * (3 + 2 * len(formats)))
    checks = {}
    for n in (int(x) for x in args.characters.split(",")):
        w = crowd(n, args.frames)
        t, c = time.perf_counter(), time.process_time()
        scene = build_scene(w, seq=1, state_hash="bench")
        cells = [str(n), str(args.frames), f"{time.process_time() - c:.1f} / {time.perf_counter() - t:.1f}"]
        files = {}
        for fmt in formats:
            t, c = time.perf_counter(), time.process_time()
            files[fmt] = _write(scene, fmt)
            cells += [f"{time.process_time() - c:.1f} / {time.perf_counter() - t:.1f}", f"{len(files[fmt]) / 1e6:.1f}"]
        print("| " + " | ".join(cells) + " |", flush=True)
        if n == args.validate and "usdc" in files and "glb" in files:
            checks[n] = _validate(n, files["usdc"], files["glb"])
        del scene, files, w
    for n, c in checks.items():
        print(f"validated at {n} characters: {json.dumps(c)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
