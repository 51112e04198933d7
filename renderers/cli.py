"""Command-line commands of the renderer, wired into ``wnm`` by the application (parse → call → print):

    wnm render --project P --shot S [--at SEQ] [--preset vace] [--passes a,b] [--farm] OUT/
    wnm worker render [--root DIR | --object-store] [--egl]
    wnm check determinism --project P --shot S [--at SEQ]
    wnm check decoupling --project P --shot S --from A --to B

``context_factory(args)`` (possibly async) returns the application's context, an object with
``load_world(project, shot, seq) -> (World, seq, state_hash)`` (``RenderError`` for a shot that has no events),
``nats_url`` and ``render_root`` (the pack
directory workers write) and, for ``check decoupling``, ``touched(project, shot, after_seq, upto_seq)`` → the
entity ids the events in (after_seq, upto_seq] touched, or None when one touched the whole shot.

``python -m renderers.cli`` runs the same commands stand-alone, its context from ``--nats``, ``--root`` and
``--load-world module:function``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

__all__ = ["add_commands", "add_render_command", "add_worker_render_command", "add_check_commands", "main"]


async def _context(context_factory, args):
    ctx = context_factory(args)
    if inspect.isawaitable(ctx):
        ctx = await ctx
    return ctx


def parse_frames(text: str) -> list[float]:
    """``0,4,8`` or ``START:END[:STEP]`` (END included) → frame numbers."""
    try:
        if ":" in text:
            parts = [float(x) for x in text.split(":")]
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] <= 0):
                raise ValueError
            start, end, step = parts[0], parts[1], parts[2] if len(parts) == 3 else 1.0
            count = int((end - start) // step) + 1
            if count < 1 or count > 100_000:
                raise ValueError
            return [start + i * step for i in range(count)]
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"--frames must be comma-separated frames or START:END[:STEP], got {text!r}") from None


def parse_resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
        return w, h
    except ValueError:
        raise ValueError(f"--resolution must be WxH, e.g. 832x480, got {text!r}") from None


def _job_from_args(args):
    from .job import RenderJob, check_request

    frames = parse_frames(args.frames) if getattr(args, "frames", None) else None
    res = parse_resolution(args.resolution) if getattr(args, "resolution", None) else None
    job = RenderJob(project=args.project, shot=args.shot, seq=args.at, preset=args.preset, frames=frames,
                     start=getattr(args, "start", None),
                     passes=args.passes.split(",") if getattr(args, "passes", None) else None,
                     resolution=res, camera=getattr(args, "camera", None), prompt=getattr(args, "prompt", None))
    check_request(job)
    return job


def _job_arguments(p, preset_default: str = "vace"):
    p.add_argument("--project", required=True)
    p.add_argument("--shot", required=True)
    p.add_argument("--at", type=int, default=None, help="offset (stream sequence); default: head")
    p.add_argument("--preset", default=preset_default, help="vace, cameractrl or custom")
    p.add_argument("--frames", help="custom preset: shot frames, comma-separated or START:END[:STEP]")
    p.add_argument("--start", type=float, help="first shot frame")
    p.add_argument("--passes", help="comma-separated: proxy,depth,normal,instance,pose,lighting,keypoints,"
                                    "depth_f32,plucker")
    p.add_argument("--resolution", help="WxH, e.g. 832x480")
    p.add_argument("--camera", help="camera entity id")
    p.add_argument("--egl", action="store_true", help="render on a GPU (EGL for gl, CUDA for torch)")
    p.add_argument("--backend", choices=["gl", "torch"], default="gl",
                   help="gl: OpenGL through pyrender (default); torch: the analytic ray caster")


def _bar(total_hint=None):
    from tqdm import tqdm

    bar = tqdm(total=total_hint, unit="frame", file=sys.stderr)

    def progress(done, total):
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return bar, progress


# ------------------------------------------------------------------ render


def add_render_command(subparsers, context_factory):
    p = subparsers.add_parser("render", help="render a control pack of a shot at an offset")
    _job_arguments(p)
    p.add_argument("--prompt")
    p.add_argument("--farm", action="store_true", help="queue the job on the render farm and download the pack")
    p.add_argument("out", type=Path, help="output folder (must not exist or be empty)")
    p.set_defaults(func=lambda args: asyncio.run(_render(args, context_factory)))


async def _render(args, context_factory) -> int:
    from .job import RenderError
    from .pack import PackExists, write_pack

    ctx = await _context(context_factory, args)
    try:
        job = _job_from_args(args)
    except ValueError as e:  # RenderError is a ValueError
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.farm:
        from .farm import RenderFarm
        from .store import untar

        farm = await RenderFarm.connect(ctx.nats_url, root=getattr(ctx, "render_root", None) or tempfile.gettempdir(),
                                        load_world=ctx.load_world)
        try:
            rec = await farm.submit(job)
            bar, progress = _bar()
            rec = await farm.wait(job.project, rec["job_id"], timeout=24 * 3600,
                                  on_status=lambda r: progress(r.get("frames_done") or 0, r.get("frames_total")))
            bar.close()
            if rec["state"] != "done":
                print(f"error: render failed: {rec.get('error')}", file=sys.stderr)
                return 1
            untar(await farm.pack_tar(job.project, rec["job_id"]), args.out)
        except RenderError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        finally:
            await farm.close()
        print(json.dumps({"job_id": rec["job_id"], "out": str(args.out), "pack_sha256": rec.get("pack_sha256")}))
        return 0
    try:
        world, seq, state_hash = await asyncio.to_thread(ctx.load_world, job.project, job.shot, job.seq)
        bar, progress = _bar()
        manifest = await asyncio.to_thread(write_pack, world, seq, state_hash, job, args.out, progress=progress,
                                           egl=args.egl, backend=args.backend)
        bar.close()
    except (RenderError, PackExists) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), "seq": seq, "frames": manifest["frame_count"],
                      "pack_sha256": manifest["pack_sha256"]}))
    return 0


# ------------------------------------------------------------------ worker


def add_worker_render_command(worker_subparsers, context_factory):
    p = worker_subparsers.add_parser("render", help="take render jobs from the farm until stopped")
    p.add_argument("--root", type=Path, help="pack directory (default: the context's render_root)")
    p.add_argument("--object-store", action="store_true", help="store packs in the NATS object store")
    p.add_argument("--egl", action="store_true", help="render on a GPU (EGL for gl, CUDA for torch)")
    p.add_argument("--backend", choices=["gl", "torch"], default="gl",
                   help="gl: OpenGL through pyrender (default); torch: the analytic ray caster")
    p.add_argument("--max-jobs", type=int, default=None)
    p.add_argument("--ack-wait", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--prefix", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=lambda args: asyncio.run(_worker(args, context_factory)))


async def _worker(args, context_factory) -> int:
    import signal

    from .farm import FarmConfig, RenderFarm, Worker

    ctx = await _context(context_factory, args)
    cfg = FarmConfig(**{k: v for k, v in (("prefix", args.prefix), ("ack_wait_s", args.ack_wait)) if v is not None})
    farm = await RenderFarm.connect(ctx.nats_url, config=cfg, root=args.root or getattr(ctx, "render_root", None),
                                    object_store=args.object_store)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(farm, ctx.load_world, egl=args.egl, backend=args.backend)
    print(json.dumps({"worker": worker.name, "stream": cfg.stream}), flush=True)
    try:
        await worker.run(stop, max_jobs=args.max_jobs)
    finally:
        await farm.close()
    return 0


# ------------------------------------------------------------------ checks


def add_check_commands(check_subparsers, context_factory):
    p = check_subparsers.add_parser("determinism", help="render an offset twice and compare every file's hash")
    _job_arguments(p, preset_default="custom")
    p.set_defaults(func=lambda args: asyncio.run(_determinism(args, context_factory)))
    p = check_subparsers.add_parser("decoupling",
                                    help="render two offsets; count changed pixels outside the touched entities")
    _job_arguments(p, preset_default="custom")
    p.add_argument("--from", dest="from_seq", type=int, required=True)
    p.add_argument("--to", dest="to_seq", type=int, required=True)
    p.set_defaults(func=lambda args: asyncio.run(_decoupling(args, context_factory)))


async def _report(check) -> int:
    """Run a check (a coroutine giving its result dict) and print the result: exit 0 when it holds, 1 when it
    does not, 2 when it could not run."""
    from .job import RenderError

    try:
        result = await check
    except RenderError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1))
    return 0 if result["ok"] else 1


async def _determinism(args, context_factory) -> int:
    from .checks import check_determinism

    ctx = await _context(context_factory, args)

    async def check():
        job = _job_from_args(args)
        world, seq, state_hash = await asyncio.to_thread(ctx.load_world, job.project, job.shot, job.seq)
        with tempfile.TemporaryDirectory() as tmp:
            return await asyncio.to_thread(check_determinism, world, seq, state_hash, job, tmp, egl=args.egl,
                                           backend=args.backend)

    return await _report(check())


async def _decoupling(args, context_factory) -> int:
    from .checks import check_decoupling

    ctx = await _context(context_factory, args)

    async def check():
        job = _job_from_args(args)
        wa, sa, _ = await asyncio.to_thread(ctx.load_world, job.project, job.shot, args.from_seq)
        wb, sb, _ = await asyncio.to_thread(ctx.load_world, job.project, job.shot, args.to_seq)
        touched = ctx.touched(job.project, job.shot, sa, sb)
        if inspect.isawaitable(touched):
            touched = await touched
        with tempfile.TemporaryDirectory() as tmp:
            return await asyncio.to_thread(check_decoupling, wa, sa, wb, sb, touched, job, tmp, egl=args.egl,
                                           backend=args.backend)

    return await _report(check())


def add_commands(subparsers, context_factory):
    """Add ``render``, ``worker render``, ``check determinism`` and ``check decoupling`` to ``subparsers``."""
    add_render_command(subparsers, context_factory)
    worker = subparsers.add_parser("worker", help="long-running workers").add_subparsers(dest="worker_kind",
                                                                                         required=True)
    add_worker_render_command(worker, context_factory)
    check = subparsers.add_parser("check", help="controllability checks").add_subparsers(dest="check_kind",
                                                                                         required=True)
    add_check_commands(check, context_factory)


# ------------------------------------------------------------------ stand-alone


def _standalone_context(args):
    module, _, name = args.load_world.partition(":")
    load_world = getattr(importlib.import_module(module), name)
    return SimpleNamespace(load_world=load_world, nats_url=args.nats, render_root=args.root_default,
                           touched=lambda *a: None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m renderers.cli")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--load-world", default="renderers.demo:load_world", help="module:function")
    parser.add_argument("--packs", dest="root_default", type=Path, default=Path("packs"))
    sub = parser.add_subparsers(dest="command", required=True)
    add_commands(sub, _standalone_context)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
