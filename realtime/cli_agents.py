"""``wnm agents …`` and ``wnm up``'s agents: the wiring of an :class:`~agents.runtime.AgentRunner` to a
:class:`realtime.bootstrap.System` (its log, command service and stores), which is the composition root's job, so
``agents/`` itself imports nothing from ``realtime/``.

    wnm agents list                      the agents this installation has
    wnm agents run [NAMES] [--project P]  run agents (default all) as their own process until Ctrl-C
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading

from agents.base import available, create
from agents.runtime import AgentRunner, FollowingReplica

__all__ = ["build_runner", "add_commands", "run_as_child", "warm", "STOP_GRACE_S"]

STOP_GRACE_S = 10.0
"""How long `wnm agents run` may take to stop after SIGTERM / SIGINT before it exits regardless."""


def build_runner(system, names: list[str] | None = None, projects: list[str] | None = None,
                 own_replica: bool = False, **kwargs) -> AgentRunner:
    """A runner for ``names`` (default: every available agent) on the system's log. With ``own_replica`` (a process
    without a projector) commands are validated against a replica that follows the log; otherwise through the
    system's command service."""
    from .commands import CommandService

    from projections.fold import WorldFold
    from projections.replay import plain_world_at

    async def load(project, shot, upto):
        # agents read plain worlds: the same decisions as the reducer without a CRDT document to write
        world, last = await plain_world_at(system.log, system.store, project, shot, upto)
        return WorldFold(project, shot, world, last)

    commands = system.commands
    if own_replica:
        commands = CommandService(system.log, FollowingReplica(system.log, load),
                                  outcome_timeout=system.settings.outcome_timeout_s)
    from .bootstrap import agent_stores

    checkpoints, suggestions = agent_stores(system)
    return AgentRunner(create(names), system.log, commands, load, checkpoints, suggestions, projects=projects,
                       **kwargs)


async def with_imported_assets(system, runner: AgentRunner) -> None:
    """Give the runner's layout agent an index that also holds the assets users imported (read at start)."""
    pool = getattr(system.store, "pool", None)
    if pool is None:
        return
    from agents.assets.imports import PgAssetStore, load_index
    from agents.layout.agent import LayoutAgent

    index = await load_index(PgAssetStore(pool))
    for member in runner.members:
        if member.agent.name == "layout":
            member.agent = LayoutAgent(index)


async def run_as_child(system) -> None:
    """``wnm up``'s hook: every available agent in a supervised child process (:mod:`agents.process`), a client
    of the same NATS and PostgreSQL, so no agent ever runs on the server's event loop."""
    from agents.process import AgentProcess, child_env

    settings = system.settings
    child = AgentProcess(child_env(settings.nats_url, settings.database_url), nice=settings.agents_nice,
                         idle=settings.agents_idle)
    system.agents = child
    # the child names its agents when it starts; importing them all here would cost the server's start 0.1 s
    sched = ", SCHED_IDLE" if settings.agents_idle else ""
    print(f"wnm up: agents run as a child process (nice {settings.agents_nice}{sched}); restarted if it dies",
          flush=True)
    await child.run()


async def warm(runner: AgentRunner) -> None:
    """Load what an agent's first decision would otherwise load (the layout agent's text-embedding model and the
    catalogue's embeddings, about 1.5 s here), off the event loop, before following the log."""
    for member in runner.members:
        index = getattr(member.agent, "index", None)
        if index is not None and hasattr(index, "search"):
            await asyncio.to_thread(index.search, "chair")


def add_commands(sub) -> None:
    ag = sub.add_parser("agents", help="repair and generative agents").add_subparsers(dest="agents_command",
                                                                                        required=True)
    ls = ag.add_parser("list", help="list the available agents")
    ls.set_defaults(func=_cmd_list)
    run = ag.add_parser("run", help="run agents as their own process until Ctrl-C")
    run.add_argument("names", nargs="*", help="agents to run (default: all)")
    run.add_argument("--project", action="append", default=None, help="only these projects (repeatable)")
    run.set_defaults(func=_cmd_run)

    assets = sub.add_parser("assets", help="the asset library").add_subparsers(dest="assets_command", required=True)
    imp = assets.add_parser("import", help="import a GLB/glTF/OBJ file as an asset (normalised to metres, "
                                           "ground pivot at the bottom centre)")
    imp.add_argument("file")
    imp.add_argument("--id", required=True, help="asset id")
    imp.add_argument("--name", default=None)
    imp.add_argument("--unit", default=None, help="the file's unit when it has none: m, cm, mm, in, ft")
    imp.add_argument("--category", default="props")
    imp.add_argument("--support", default="floor", help="floor, wall, table or ceiling")
    imp.add_argument("--synonyms", default="", help="comma-separated other names")
    imp.add_argument("--description", default="")
    imp.set_defaults(func=_cmd_import)
    find = assets.add_parser("search", help="the best assets for a text query")
    find.add_argument("query")
    find.add_argument("-k", type=int, default=5)
    find.set_defaults(func=_cmd_search)


def _with_store(args, work):
    from .bootstrap import resolve_endpoints
    from .cli import _settings

    settings = resolve_endpoints(_settings(args))

    async def go():
        import asyncpg

        from projections.migrate import migrate

        from agents.assets.imports import PgAssetStore

        pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
        try:
            await migrate(pool)
            return await work(PgAssetStore(pool))
        finally:
            await pool.close()

    return asyncio.run(go())


def _cmd_import(args) -> int:
    from pathlib import Path

    from agents.assets.imports import AssetImportError, import_asset

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file {path}", file=sys.stderr)
        return 2
    kind = path.suffix.lower().lstrip(".")

    async def work(store):
        try:
            item = await import_asset(store, path.read_bytes(), kind, args.id, args.name or path.stem, unit=args.unit,
                                      category=args.category, support=args.support,
                                      synonyms=tuple(x.strip() for x in args.synonyms.split(",") if x.strip()),
                                      description=args.description)
        except (AssetImportError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        w, h, d = item.asset.dims
        print(f"imported {item.asset.id}: {w:.3f} × {h:.3f} × {d:.3f} m (scale {item.scale:g} to metres)")
        return 0

    return _with_store(args, work)


def _cmd_search(args) -> int:
    from agents.assets.imports import load_index

    async def work(store):
        index = await load_index(store)
        for hit in index.search(args.query, k=args.k):
            print(f"{hit.asset.id}\t{hit.score:.3f}\t{hit.asset.name}")
        return 0

    return _with_store(args, work)


def _cmd_list(args) -> int:
    for name, factory in available().items():
        a = factory()
        print(f"{name}\t{'generative' if a.generative else 'repair'}")
    return 0


def _cmd_run(args) -> int:
    from .bootstrap import open_system, resolve_endpoints
    from .cli import _settings

    if os.environ.get("WNM_AGENTS_CHILD"):  # wnm up's child: never outlive it
        from agents.process import exit_with_parent

        exit_with_parent(STOP_GRACE_S)
    try:
        create(args.names or None)
    except KeyError as e:
        raise SystemExit(f"error: {e.args[0]}") from None
    settings = resolve_endpoints(_settings(args))

    async def go() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            # A graceful stop saves positions and closes connections; when NATS or PostgreSQL died with the parent
            # (the embedded servers of a killed `wnm up`) that would wait for ever, so it gets STOP_GRACE_S.
            if not stop.is_set():
                stop.set()
                watchdog = threading.Timer(STOP_GRACE_S, os._exit, args=(0,))
                watchdog.daemon = True
                watchdog.start()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        async with open_system(settings) as system:
            runner = build_runner(system, args.names or None, args.project, own_replica=True)
            await with_imported_assets(system, runner)
            await warm(runner)
            print(f"wnm agents: running {', '.join(m.agent.name for m in runner.members)}", flush=True)
            task = asyncio.create_task(runner.run())
            waiter = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            waiter.cancel()
        print("wnm agents: stopped", flush=True)
        return 0

    try:
        rc = asyncio.run(go())
    except Exception as e:  # NATS or PostgreSQL gone for good (they died with a killed `wnm up`): say so and go
        print(f"wnm agents: stopped by {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        rc = 1
    # Everything is closed by now; leave without the interpreter's shutdown, which the embedding model's and the
    # clients' leftover threads have been seen to keep waiting for ever, leaving an orphan behind.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)
