"""Controllability checks: the same offset renders the same bytes (determinism), and an edit changes pixels
only where the entities it touched are, before or after (decoupling).

Decoupling compares the proxy, depth, normal and instance passes; the allowed region of a frame is the union
of the instance masks, at both offsets, of the touched entities and of everything that follows them (children,
attached entities). The pose pass is left out: its limbs are drawn wider than the white-box bones.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.world import moves_with

from .pack import render_pack

__all__ = ["check_determinism", "check_decoupling", "DECOUPLING_PASSES"]

_FOLLOW = ("attached_to", "look_at")  # what moves with an edited entity: attached things, things turning to it

DECOUPLING_PASSES = ("proxy", "depth", "normal", "instance")


def check_determinism(world, seq: int, state_hash: str, job, workdir, **kw) -> dict:
    """Render ``job`` twice into ``workdir/a`` and ``workdir/b`` and compare every file's hash."""
    workdir = Path(workdir)
    manifests = []
    for name in ("a", "b"):
        (workdir / name).mkdir(parents=True, exist_ok=False)
        manifests.append(render_pack(world, seq, state_hash, job, workdir / name, **kw))
    a, b = manifests
    differ = sorted(k for k in set(a["files"]) | set(b["files"]) if a["files"].get(k) != b["files"].get(k))
    videos = sorted(k for k in set(a["videos"]) | set(b["videos"]) if a["videos"].get(k) != b["videos"].get(k))
    return {"ok": not differ and a["pack_sha256"] == b["pack_sha256"], "pack_sha256": [a["pack_sha256"],
            b["pack_sha256"]], "files": len(a["files"]), "differing_files": differ, "differing_videos": videos}





def _read(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path))


def check_decoupling(world_a, seq_a: int, world_b, seq_b: int, touched, job, workdir, **kw) -> dict:
    """Render ``job`` at two offsets and count changed pixels outside the touched entities' masks.

    ``touched``: entity ids the events between the offsets touched, or None when an event touched the whole shot
    (e.g. ``shot.configure``), in which case every pixel may change."""
    import msgspec

    workdir = Path(workdir)
    job = msgspec.structs.replace(job, passes=list(DECOUPLING_PASSES))
    ma, mb = [], []
    for name, world, seq, out in (("a", world_a, seq_a, ma), ("b", world_b, seq_b, mb)):
        (workdir / name).mkdir(parents=True, exist_ok=False)
        out.append(render_pack(world, seq, "", job, workdir / name, **kw))
    ma, mb = ma[0], mb[0]
    if ma["frame_count"] != mb["frame_count"] or ma["resolution"] != mb["resolution"]:
        return {"ok": touched is None, "reason": "the offsets render different frames or sizes",
                "touched": None if touched is None else sorted(touched)}
    moving = None if touched is None else moves_with(world_a, touched, _FOLLOW) | moves_with(world_b, touched, _FOLLOW)
    note = None
    if moving is not None and ma.get("camera") in moving:
        note = f"the render camera {ma['camera']!r} moves with the touched entities: every pixel may change"
        moving = None
    palette = {**ma["instance"]["palette"], **mb["instance"]["palette"]}
    allowed_ids = np.array(sorted(palette[e]["id"] for e in (moving or ()) if e in palette), dtype=np.int64)
    per_pass = {p: {"changed": 0, "outside": 0} for p in DECOUPLING_PASSES}
    worst = []
    for i in range(ma["frame_count"]):
        key = f"{i:06d}.png"
        ia = _read(workdir / "a" / "instance" / key).astype(np.int64)
        ib = _read(workdir / "b" / "instance" / key).astype(np.int64)
        ida = ia[..., 0] | (ia[..., 1] << 8) | (ia[..., 2] << 16)
        idb = ib[..., 0] | (ib[..., 1] << 8) | (ib[..., 2] << 16)
        allowed = np.ones(ida.shape, bool) if moving is None else (np.isin(ida, allowed_ids) |
                                                                   np.isin(idb, allowed_ids))
        for p in DECOUPLING_PASSES:
            a, b = _read(workdir / "a" / p / key), _read(workdir / "b" / p / key)
            changed = a != b if a.ndim == 2 else np.any(a != b, axis=-1)
            outside = int(np.sum(changed & ~allowed))
            per_pass[p]["changed"] += int(changed.sum())
            per_pass[p]["outside"] += outside
            if outside:
                worst.append({"frame": i, "pass": p, "outside": outside})
    total_outside = sum(v["outside"] for v in per_pass.values())
    return {"ok": total_outside == 0, "seq": [seq_a, seq_b], "note": note,
            "touched": None if moving is None else sorted(moving), "frames": ma["frame_count"],
            "changed_outside": total_outside, "passes": per_pass, "worst": sorted(worst, key=lambda w: -w["outside"])[:10]}


def report(result: dict) -> str:
    return json.dumps(result, indent=1, sort_keys=True)
