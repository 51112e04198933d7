"""Importing a USD or glTF scene into a shot as commands — shared by ``wnm import`` and ``POST …/import``.

:func:`import_plan` turns a file into ops checked against the shot's world (nothing is sent when any op would not
apply); :func:`parts` cuts them into events of bounded size; :func:`submit_parts` sends them one after another,
each expecting the last one's seq, and stops at the first refusal — the caller then takes the shot back to where
it was in one event, so an import goes in whole or not at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Awaitable, Callable

import msgspec

from . import ExportError

__all__ = ["import_plan", "parts", "submit_parts", "suffix_of", "IMPORT_OPS_PER_EVENT", "IMPORT_BYTES_PER_EVENT"]

IMPORT_OPS_PER_EVENT = 500
IMPORT_BYTES_PER_EVENT = 400_000


def suffix_of(head: bytes) -> str | None:
    """The file suffix a scene file's first bytes say it has (.glb, .usdc, .usdz, .usda, .gltf, .bvh), or None."""
    if head[:4] == b"glTF":
        return ".glb"
    if head[:8] == b"PXR-USDC":
        return ".usdc"
    if head[:2] == b"PK":
        return ".usdz"
    text = head.lstrip()
    if text[:9] == b"HIERARCHY":
        return ".bvh"
    if text[:5] == b"#usda":
        return ".usda"
    if text[:1] == b"{":
        return ".gltf"
    return None


def import_plan(path: Path, world, new_shot: bool, entity: str | None = None, start: float | None = None) -> list:
    """The ops that import ``path`` into ``world`` (checked against it; raises ExportError or ValueError naming
    the first problem — nothing is submitted then). A ``.bvh`` file is retargeted onto the character ``entity``
    from frame ``start`` (:mod:`renderers.export.bvh_import`)."""
    from core import ops as O
    from core.edit import check

    from .importer import import_file

    if not path.is_file():
        raise ExportError(f"no such file {path}", "file")
    if path.suffix.lower() == ".bvh":
        from .bvh_import import bvh_ops

        if entity is None:
            raise ExportError("a BVH import names the character it goes on: --entity", "entity")
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise ExportError(f"cannot read {path}: {e}", "file") from e
        plan, _ = bvh_ops(world, entity, text, start)
        check(world, plan, "user:import")
        return plan
    if entity is not None:
        raise ExportError("--entity is for BVH imports", "entity")
    shot_ops, ops = import_file(str(path), fps=None if new_shot else world.fps,
                                frame_start=None if new_shot else world.frame_start, resolution=world.resolution)
    taken = [o["id"] for o in ops if o["type"] == "entity.create" and o["id"] in world.entities]
    if taken:
        raise ExportError(f"the shot already has entities {', '.join(sorted(taken)[:10])}; import into another "
                          "shot or remove them first", "file")
    plan = msgspec.convert((shot_ops if new_shot else []) + ops, type=list[O.Op])
    check(world, plan, "user:import")
    return plan


def parts(plan: list) -> list[list]:
    """``plan`` cut into events of at most IMPORT_OPS_PER_EVENT ops and about IMPORT_BYTES_PER_EVENT bytes."""
    out, cur, size = [], [], 0
    for op in plan:
        n = len(msgspec.json.encode(op))
        if cur and (len(cur) >= IMPORT_OPS_PER_EVENT or size + n > IMPORT_BYTES_PER_EVENT):
            out.append(cur)
            cur, size = [], 0
        cur.append(op)
        size += n
    if cur:
        out.append(cur)
    return out


async def submit_parts(chunks: list[list], submit: Callable[..., Awaitable], *, base: str, last: int, label: str,
                       progress: Callable[[int, int], None] | None = None) -> tuple[int, str | None]:
    """Send each chunk as one command ``<base>/<k>`` expecting the previous seq (the shot's ``last`` first):
    ``submit(command)`` returns the verdict or raises a refusal. Returns (seq of the last applied part, the reason
    the import stopped or None)."""
    from events.envelope import Command

    seq = last
    for k, part in enumerate(chunks):
        cmd = Command(command_id=f"{base}/{k + 1}", ops=part, expected_seq=seq,
                      reason=None if len(chunks) == 1 else f"import {label} (part {k + 1}/{len(chunks)})")
        try:
            res = await submit(cmd)
        except Exception as e:  # noqa: BLE001 - a conflict or a refusal: the caller undoes what went in
            return seq, str(getattr(e, "reason", e))
        if res.status != "applied":
            return seq, res.reason
        seq = res.seq
        if progress is not None:
            progress(k + 1, len(chunks))
    return seq, None
