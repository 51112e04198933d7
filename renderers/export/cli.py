"""``wnm export --project P --shot S --format F [--at SEQ] [--entity E] OUT`` (parse → call → print).

``OUT`` is the file to write (an existing folder gets ``<project>-<shot>-<seq>[-<entity>].<format>`` inside it).
A progress bar on stderr follows sampling and writing; stdout gets one JSON line ``{out, format, seq, state_hash,
bytes}``. Errors (no such shot, an offset beyond the shot's last event, an unknown entity, a BVH of something
that is not a character with a skeleton) are one ``error:`` line and exit status 1; a bad ``--format`` is
argparse's usage error (status 2).

``add_commands(subparsers, run)`` wires the command into ``wnm``: ``run(coro_factory, args)`` is the
application's runner, which opens the system and awaits ``coro_factory(system)``; the system has ``log.last_seq``
and ``world_at(project, shot, seq)`` (a reducer with ``world`` and ``state_hash()``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from . import FORMATS, ExportError, export
from .importing import import_plan, parts, submit_parts

__all__ = ["add_commands", "export_to_file"]


def add_commands(subparsers, run) -> None:
    p = subparsers.add_parser("export", help="export a shot at an offset as USD, glTF binary or BVH")
    p.add_argument("--project", required=True)
    p.add_argument("--shot", required=True)
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--at", type=int, default=None, help="offset (stream sequence); default: head")
    p.add_argument("--entity", default=None, help="one entity (BVH: the character)")
    p.add_argument("out", type=Path, help="the file to write (or an existing folder)")
    p.set_defaults(func=lambda args: run(lambda system: _export(system, args), args))


def _bar():
    from tqdm import tqdm

    bar = tqdm(total=None, unit="step", file=sys.stderr, disable=None, desc="export")

    def progress(done, total):
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return bar, progress


def export_to_file(world, fmt: str, out: Path, *, seq: int, state_hash: str, entity: str | None = None,
                   progress=None) -> Path:
    """Write the export to ``out`` (or into it, when it is a folder) and return the path written."""
    data = export(world, fmt, seq=seq, state_hash=state_hash, entity=entity, progress=progress)
    if out.is_dir():
        out = out / f"{world.project}-{world.shot}-{seq}{'-' + entity if entity else ''}.{fmt}"
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out


async def _export(system, args) -> int:
    last = await system.log.last_seq(args.project, args.shot)
    if last == 0:
        print(f"error: no shot {args.project}/{args.shot}", file=sys.stderr)
        return 1
    if args.at is not None and not 0 <= args.at <= last:
        print(f"error: --at {args.at} is not an offset of {args.project}/{args.shot} (its last event is seq "
              f"{last})", file=sys.stderr)
        return 1
    reducer = await system.world_at(args.project, args.shot, args.at)
    world, state_hash = reducer.world, reducer.state_hash()
    if not args.out.parent.is_dir() and not args.out.is_dir():
        print(f"error: no folder {args.out.parent}", file=sys.stderr)
        return 1
    bar, progress = _bar()
    try:
        out = await asyncio.to_thread(export_to_file, world, args.format, args.out, seq=world.head_seq,
                                      state_hash=state_hash, entity=args.entity, progress=progress)
    except ExportError as e:
        bar.close()
        print(f"error: {e}", file=sys.stderr)
        return 1
    bar.close()
    print(json.dumps({"out": str(out), "format": args.format, "seq": world.head_seq, "state_hash": state_hash,
                      "bytes": out.stat().st_size}))
    return 0


# ------------------------------------------------------------------ import


def add_import_command(subparsers, run, actor_of) -> None:
    p = subparsers.add_parser("import", help="create the entities of a USD or glTF scene in a shot, or put a BVH "
                                             "clip on a character")
    p.add_argument("--project", required=True)
    p.add_argument("--shot", required=True)
    p.add_argument("--entity", default=None, help="BVH: the character the clip is retargeted onto")
    p.add_argument("--start", type=float, default=None, help="BVH: the shot frame of the clip's first frame")
    p.add_argument("file", type=Path, help="a .usda, .usdc, .usdz, .glb, .gltf or .bvh file")
    p.set_defaults(func=lambda args: run(lambda system: _import(system, args, actor_of(args)), args))


async def _import(system, args, actor) -> int:
    import uuid

    from core.restore import diff
    from core.world import World
    from events.envelope import Command

    last = await system.log.last_seq(args.project, args.shot)
    before = (await system.world_at(args.project, args.shot, None)).world if last else \
        World(project=args.project, shot=args.shot)
    try:
        plan = await asyncio.to_thread(import_plan, args.file, before, last == 0, getattr(args, "entity", None),
                                       getattr(args, "start", None))
    except ValueError as e:   # ExportError, and core's OpError naming the op that would not apply
        print(f"error: {args.file}: {e}", file=sys.stderr)
        return 1
    chunks = parts(plan)
    base = f"import-{uuid.uuid4().hex}"
    bar, progress = _bar()

    async def submit(cmd):
        return await system.commands.submit(args.project, args.shot, actor, cmd, must_exist=False)

    seq, failed = await submit_parts(chunks, submit, base=base, last=last, label=args.file.name, progress=progress)
    bar.close()
    if failed is not None:
        if seq != last:   # parts went in: one event takes the shot back to where it was
            now = (await system.world_at(args.project, args.shot, None)).world
            undo = diff(now, before)
            if undo:
                await system.commands.submit(args.project, args.shot, actor,
                                             Command(command_id=f"{base}/undo", ops=undo),
                                             reason=f"rollback to {last}")
        print(f"error: import stopped and was undone: {failed}", file=sys.stderr)
        return 1
    created = sum(1 for op in plan if type(op).__struct_config__.tag == "entity.create")
    print(json.dumps({"shot": args.shot, "entities": created, "ops": len(plan), "events": len(chunks), "seq": seq}))
    return 0
