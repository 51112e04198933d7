"""The ``wnm`` command line. Each command parses, calls the system built by :mod:`realtime.bootstrap`, prints.

Contract forms (other tools depend on them):
    wnm up
    wnm shot create --project P --shot S [--fps 24] [--frames 0:120]
    wnm apply --project P --shot S FILE.jsonl
    wnm world --project P --shot S [--at SEQ] [--frame F]
    wnm hash --project P --shot S [--at SEQ]
    wnm history --project P --shot S [--limit N]
    wnm token create --project P --user U --role R [--ttl-days N] [--scopes a,b]
    wnm export --project P --shot S --format usda|usdc|usdz|glb|bvh [--at SEQ] [--entity E] OUT
    wnm import --project P --shot S FILE (.usda/.usdc/.usdz/.glb/.gltf)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import msgspec

from core import ops as O
from core.values import check_id
from events.envelope import Actor, Command
from events.log import LogError, UnknownProject

from projections.replay import plain_world_at

from . import http_serve as _http_serve
from .bootstrap import open_system, resolve_endpoints, services, up_services
from .commands import CommandError, decode_command
from .settings import Settings

__all__ = ["main", "build_parser"]


def _id(what: str):
    def parse(value: str) -> str:
        try:
            return check_id(value, what)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return parse


def _frames(value: str) -> tuple[float, float]:
    try:
        a, b = value.split(":")
        lo, hi = float(a), float(b)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--frames must be START:END, got {value!r}") from None
    if not hi > lo:
        raise argparse.ArgumentTypeError(f"--frames END must be greater than START, got {value!r}")
    return lo, hi


def _actor(value: str) -> Actor:
    kind, _, ident = value.partition(":")
    if kind not in ("user", "agent", "system") or not ident:
        raise argparse.ArgumentTypeError("--actor must be user:NAME, agent:NAME or system:NAME")
    return Actor(kind=kind, id=ident)


def _shot_args(p: argparse.ArgumentParser):
    p.add_argument("--project", required=True, type=_id("project"))
    p.add_argument("--shot", required=True, type=_id("shot"))


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="wnm", description="World Narrative backend")
    ap.add_argument("--data-dir", default=None, help="where embedded services keep their data (default ./var)")
    ap.add_argument("--actor", type=_actor, default=None,
                    help="who the edits are by (default user:$USER)")
    sub = ap.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the backend (embedded NATS and PostgreSQL when WNM_*_URL are unset)")
    up.add_argument("--port", type=int, default=None)
    up.set_defaults(func=cmd_up)

    shot = sub.add_parser("shot", help="shots").add_subparsers(dest="shot_command", required=True)
    create = shot.add_parser("create", help="create a shot")
    _shot_args(create)
    create.add_argument("--fps", type=float, default=24.0)
    create.add_argument("--frames", type=_frames, default=(0.0, 120.0))
    create.add_argument("--name", default=None)
    create.set_defaults(func=cmd_shot_create)

    apply = sub.add_parser("apply", help="append commands from a JSON-lines file")
    _shot_args(apply)
    apply.add_argument("file", help="one command per line: {\"command_id\": ..., \"ops\": [...]}; - for stdin")
    apply.set_defaults(func=cmd_apply)

    world = sub.add_parser("world", help="print the world at an offset (raw, or sampled at a frame)")
    _shot_args(world)
    world.add_argument("--at", type=int, default=None)
    world.add_argument("--frame", type=float, default=None)
    world.set_defaults(func=cmd_world)

    h = sub.add_parser("hash", help="print the state hash at an offset")
    _shot_args(h)
    h.add_argument("--at", type=int, default=None)
    h.set_defaults(func=cmd_hash)

    hist = sub.add_parser("history", help="print the audit history, one JSON object per line")
    _shot_args(hist)
    hist.add_argument("--limit", type=int, default=100)
    hist.add_argument("--actor", dest="filter_actor", default=None)
    hist.add_argument("--entity", default=None)
    hist.add_argument("--op", default=None)
    hist.add_argument("--after", type=int, default=None)
    hist.add_argument("--before", type=int, default=None)
    hist.add_argument("--wait", type=float, default=10.0, metavar="SECONDS",
                      help="wait this long for the projection (wnm up) to catch up with the log (default 10)")
    hist.set_defaults(func=cmd_history)

    from renderers.cli import add_commands as add_render_commands

    add_render_commands(sub, _render_context)
    _more_commands(sub)
    return ap


def _render_context(args):
    from .render_context import RenderContext

    return RenderContext(resolve_endpoints(_settings(args)))


def _settings(args) -> Settings:
    overrides = {}
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return Settings.from_env(**overrides)


def _actor_of(args) -> Actor:
    return args.actor or Actor(kind="user", id=os.environ.get("USER") or "cli")


def _print_json(data) -> None:
    sys.stdout.buffer.write(msgspec.json.encode(data) + b"\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- commands


def cmd_up(args) -> int:
    settings = _settings(args)
    busy = _http_serve.port_free(settings.host, settings.port)
    if busy is not None:
        print(f"error: cannot serve HTTP on {settings.host}:{settings.port}: {busy} (another `wnm up`?); "
              "choose another with --port or WNM_PORT", file=sys.stderr)
        return 1
    children: list = []
    with services(settings, children) as resolved:
        try:
            return asyncio.run(_up(resolved, children))
        except _http_serve.ServeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1


async def _up(settings: Settings, children: list) -> int:
    from .embedded import supervise

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_system(settings, run_projector=True) as system:
        # the embedded servers that die are restarted; the connections to them reconnect by themselves
        runners = [supervise(children)] if children else []
        runners += up_services(system)
        tasks = [asyncio.create_task(r) for r in runners]
        print(f"wnm up: NATS {settings.nats_url}  PostgreSQL {settings.database_url}", flush=True)
        print(f"wnm up: projector running (snapshots every {settings.snapshot_every} events); Ctrl-C stops",
              flush=True)
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # let each runner finish its own shutdown
        for t in done:
            if t is not waiter and t.exception():
                raise t.exception()
    print("wnm up: stopped", flush=True)
    return 0


def _more_commands(sub) -> None:
    """``wnm token`` (realtime/http_serve.py), ``wnm agents …`` and ``wnm assets …`` (realtime/cli_agents.py),
    ``wnm export …`` and ``wnm import …`` (renderers/export/cli.py, run on the system like the others)."""
    from renderers.export.cli import add_commands as add_export_commands, add_import_command

    from . import cli_agents

    _http_serve.add_token_command(sub)
    cli_agents.add_commands(sub)
    add_export_commands(sub, _run)
    add_import_command(sub, _run, _actor_of)


def _run(coro_factory, args) -> int:
    settings = resolve_endpoints(_settings(args))

    async def go():
        async with open_system(settings) as system:
            return await coro_factory(system)

    try:
        return asyncio.run(go())
    except CommandError as e:
        print(f"error: {e.reason}", file=sys.stderr)
        return 1
    except UnknownProject:
        print(f"error: no project {getattr(args, 'project', '?')!r} (a mistyped id? `wnm shot create` makes one)",
              file=sys.stderr)
        return 1
    except LogError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def cmd_shot_create(args) -> int:
    async def go(system):
        await system.log.ensure_project(args.project)
        if await system.log.last_seq(args.project, args.shot):
            print(f"error: shot {args.project}/{args.shot} already exists", file=sys.stderr)
            return 1
        start, end = args.frames
        cmd = Command(command_id=f"shot-create-{uuid.uuid4().hex}",
                      ops=[O.ShotConfigure(fps=args.fps, frame_start=start, frame_end=end, name=args.name)])
        res = await system.commands.submit(args.project, args.shot, _actor_of(args), cmd, must_exist=False)
        _print_json(res.to_json())
        return 0 if res.status == "applied" else 1

    return _run(go, args)


def _lines(path: str):
    f = sys.stdin if path == "-" else open(path, "rb")
    with f:
        for n, line in enumerate(f, start=1):
            line = line.strip() if isinstance(line, bytes) else line.strip().encode()
            if line:
                yield n, line


def cmd_apply(args) -> int:
    from tqdm import tqdm

    if args.file != "-" and not Path(args.file).is_file():
        print(f"error: no such file {args.file}", file=sys.stderr)
        return 2
    total = None if args.file == "-" else sum(1 for _ in _lines(args.file))

    async def go(system):
        applied = rejected = 0
        reasons: list[str] = []
        actor = _actor_of(args)
        with tqdm(total=total, unit="cmd", file=sys.stderr, disable=None) as bar:
            for n, line in _lines(args.file):
                try:
                    cmd = decode_command(line)
                    res = await system.commands.submit(args.project, args.shot, actor, cmd)
                    if res.status == "applied":
                        applied += 1
                    else:
                        rejected += 1
                        reasons.append(f"line {n} (seq {res.seq}): {res.reason}")
                except CommandError as e:
                    rejected += 1
                    reasons.append(f"line {n}: {e.reason}")
                bar.update(1)
        print(f"applied {applied}, rejected {rejected}")
        for r in reasons[:50]:
            print(f"  {r}")
        if len(reasons) > 50:
            print(f"  … and {len(reasons) - 50} more")
        return 0 if rejected == 0 else 1

    return _run(go, args)


def cmd_world(args) -> int:
    async def go(system):
        world, last = await plain_world_at(system.log, system.store, args.project, args.shot, args.at)
        if last == 0:
            print(f"error: no shot {args.project}/{args.shot}", file=sys.stderr)
            return 1
        if args.frame is None:
            out = world.to_json()
            out["seq"] = world.head_seq
        else:
            from core.sampling import sample_json

            from .http_common import is_mesh_asset

            out = {"seq": world.head_seq, **sample_json(world, args.frame, is_mesh_asset)}
        _print_json(out)
        return 0

    return _run(go, args)


def cmd_hash(args) -> int:
    async def go(system):
        r = await system.world_at(args.project, args.shot, args.at)
        if r.last_seq == 0:
            print(f"error: no shot {args.project}/{args.shot}", file=sys.stderr)
            return 1
        print(r.state_hash())
        return 0

    return _run(go, args)


def cmd_history(args) -> int:
    async def go(system):
        await _caught_up(system, args.project, args.shot, args.wait)
        entries = await system.store.history(args.project, args.shot, actor=args.filter_actor, entity=args.entity,
                                             op=args.op, after=args.after, before=args.before, limit=args.limit)
        for e in entries:
            d = msgspec.to_builtins(e)
            d.pop("raw", None)
            _print_json(d)
        return 0

    return _run(go, args)


async def _caught_up(system, project: str, shot: str, wait_s: float) -> None:
    """Wait until the projection holds every event the log has for ``shot`` (a command just applied from the CLI
    reaches the history once ``wnm up``'s projector, which finds new projects every few seconds, has folded it); say
    so on stderr when it does not within ``wait_s``."""
    last = await system.log.last_seq(project, shot)
    deadline = time.monotonic() + max(0.0, wait_s)
    while (at := await system.store.checkpoint(project)) < last:
        if time.monotonic() >= deadline:
            print(f"warning: the projection is at seq {at}, the log at {last}; is `wnm up` running? "
                  "showing what is projected", file=sys.stderr)
            return
        await asyncio.sleep(0.1)


GC_OLDEST_THRESHOLD = 100
"""How many middle-generation collections CPython lets pass before it considers a full one, in ``wnm`` processes
(its default is 10). A full collection walks every object the process holds — 30–90 ms on the server's event loop
with a 10,000-prop shot loaded — and filling such a shot with props set off 7 (collecting nothing: the new
long-lived entities keep tripping CPython's 25 % rule) and took 1.2 s; now none, 0.8 s. Young collections keep
their default: 14× rarer ones (a threshold of 10,000 for the youngest) did the same for fills but cost the HTTP
path ≈ 1 ms at p50, each collecting what many requests left."""


def main(argv: list[str] | None = None) -> int:
    gc.set_threshold(*gc.get_threshold()[:2], GC_OLDEST_THRESHOLD)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
