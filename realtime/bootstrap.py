"""The composition root: builds the running system from settings passed in.

``services(settings)`` resolves where NATS and PostgreSQL are — the given URLs, or embedded servers started under
the data directory — and ``open_system(settings)`` connects the log, the projection store, the projector and the
command service. ``wnm up``, the CLI and the tests all build the system here and nowhere else. The rest of the
wiring lives here too: what ``wnm up`` runs beside the projector (:func:`up_services`), the first start's owner
and token (:func:`first_start_token`), the agents' stores on the system's pool (:func:`agent_stores`) and the
render farm the render routes queue on (:func:`connect_render_farm`).
"""

from __future__ import annotations

import fcntl
import json
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator

from events.jetstream import JetStreamLog
from events.log import EventLog
from events.tasks import cancel_and_wait
from projections.pgstore import PgStore
from projections.projector import Projector
from projections.replay import world_at
from projections.store import ProjectionStore

from .commands import CommandService, LocalReplica
from .settings import Settings

if TYPE_CHECKING:
    from .access import AccessStore
    from .auth import Tokens

__all__ = ["System", "services", "open_system", "endpoints_file", "resolve_endpoints", "ProjectorReplica",
           "up_services", "first_start_token", "agent_stores", "connect_render_farm", "DEFAULT_PROJECT"]

DEFAULT_PROJECT = "default"


def endpoints_file(settings: Settings) -> Path:
    return settings.data_dir / "endpoints.json"


@contextmanager
def services(settings: Settings, children: list | None = None) -> Iterator[Settings]:
    """Settings with both URLs set: embedded servers are started for any that is unset, and their URLs written to
    ``<data_dir>/endpoints.json`` so CLI commands in other shells find them. The embedded servers started are
    appended to ``children`` (for :func:`realtime.embedded.supervise`); all are stopped on exit."""
    from . import embedded

    with ExitStack() as stack:
        nats_url, db_url = settings.nats_url, settings.database_url
        if not (nats_url and db_url):
            stack.enter_context(_data_dir_lock(settings.data_dir))
        started = []
        if not nats_url:
            nats = embedded.NatsServer(settings.data_dir / "nats", sync_always=settings.nats_sync_always)
            started.append(stack.enter_context(embedded.running(nats)))
            nats_url = nats.url
        if not db_url:
            pg = embedded.PostgresServer(settings.data_dir / "postgres")
            started.append(stack.enter_context(embedded.running(pg)))
            db_url = pg.url
        if children is not None:
            children.extend(started)
        resolved = replace(settings, nats_url=nats_url, database_url=db_url)
        path = endpoints_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        ours = json.dumps({"nats_url": nats_url, "database_url": db_url,
                           "http": f"http://{settings.host}:{settings.port}"})
        path.write_text(ours)
        try:
            yield resolved
        finally:
            # another instance sharing the data dir (against external servers) may have written it since
            with suppress(OSError):
                if path.read_text() == ours:
                    path.unlink()


@contextmanager
def _data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Embedded servers keep their data under ``data_dir``; two of them on one store would corrupt it, so a second
    ``wnm up`` on the same folder stops here and says why."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "up.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"error: another `wnm up` is running with the data folder {data_dir} (its embedded "
                             "NATS and PostgreSQL); stop it, or give this one its own WNM_DATA_DIR") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def resolve_endpoints(settings: Settings) -> Settings:
    """For commands run beside ``wnm up``: fill unset URLs from the endpoints file it wrote."""
    if settings.nats_url and settings.database_url:
        return settings
    path = endpoints_file(settings)
    if not path.exists():
        raise SystemExit("no NATS/PostgreSQL configured: set WNM_NATS_URL and WNM_DATABASE_URL, "
                         f"or start `wnm up` (it writes {path})")
    found = json.loads(path.read_text())
    return replace(settings, nats_url=settings.nats_url or found["nats_url"],
                   database_url=settings.database_url or found["database_url"])


class ProjectorReplica:
    """The command service's view of the world inside a server: the live projector."""

    def __init__(self, projector: Projector):
        self.projector = projector

    async def reducer(self, project, shot):
        self.projector.watch_project(project)
        return await self.projector.load(project, shot)

    async def outcome(self, project, shot, seq, timeout, event_id=None):
        return await self.projector.wait_for(project, seq, timeout, event_id)


@dataclass
class System:
    settings: Settings
    log: EventLog
    store: ProjectionStore
    commands: CommandService
    projector: Projector | None = None
    access: "AccessStore | None" = None  # projects and memberships (realtime/access.py)
    tokens: "Tokens | None" = None  # bearer tokens (realtime/auth.py)
    agents: Any = None  # wnm up's supervised agents process (agents/process.py), for health and metrics
    agents_lag: dict | None = None  # {agent: {project: events}} as last read (realtime/agent_health.py)

    async def world_at(self, project: str, shot: str, seq: int | None = None):
        return await world_at(self.log, self.store, project, shot, seq)


@asynccontextmanager
async def open_system(settings: Settings, *, run_projector: bool = False) -> AsyncIterator[System]:
    """Connect everything. With ``run_projector`` the projector follows every project in the background and the
    command service answers from it; without, commands are checked by a local replica (one-off tools)."""
    import asyncio

    async with AsyncExitStack() as stack:
        log = await JetStreamLog.connect(settings.nats_url, duplicate_window_s=settings.duplicate_window_s)
        stack.push_async_callback(log.close)
        store = await PgStore.open(settings.database_url)
        stack.push_async_callback(store.close)
        projector = None
        if run_projector:
            projector = Projector(log, store, snapshot_every=settings.snapshot_every, idle_s=settings.shot_idle_s)
            task = asyncio.create_task(projector.run(discover=settings.follow_all_projects), name="projector")

            async def stop_projector():
                await projector.stop()
                await cancel_and_wait(task)

            stack.push_async_callback(stop_projector)
            replica = ProjectorReplica(projector)
        else:
            replica = LocalReplica(log, lambda p, s: world_at(log, store, p, s))
        commands = CommandService(log, replica, outcome_timeout=settings.outcome_timeout_s,
                                  find_command=store.command_entry)
        from .access import CachedAccess, PgAccess
        from .auth import Tokens, secret_for

        yield System(settings, log, store, commands, projector, access=CachedAccess(PgAccess(store.pool)),
                     tokens=Tokens(secret_for(settings)))


def up_services(system) -> list:
    """The coroutines ``wnm up`` runs beside the projector: the HTTP and socket server, and the agents as a
    supervised child process."""
    from .cli_agents import run_as_child
    from .http_serve import serve

    return [serve(system), run_as_child(system)]


async def first_start_token(system, user: str) -> str | None:
    """On a fresh install: the ``default`` project, ``user`` as its owner and a token for them; else None."""
    if await system.access.member_count():
        return None
    await system.access.create_project(DEFAULT_PROJECT, "Default project", user)
    await system.log.ensure_project(DEFAULT_PROJECT)
    if system.projector is not None:
        system.projector.watch_project(DEFAULT_PROJECT)
    return system.tokens.issue(user, ttl_s=365 * 86400)


def agent_stores(system):
    """(checkpoints, suggestions) of the agents on the system's PostgreSQL pool (in memory when it has none)."""
    from agents.runtime import MemoryCheckpoints, PgCheckpoints
    from agents.suggestions import MemorySuggestions, PgSuggestions

    pool = getattr(system.store, "pool", None)
    if pool is None:
        return MemoryCheckpoints(), MemorySuggestions()
    return PgCheckpoints(pool), PgSuggestions(pool)


async def connect_render_farm(settings: Settings):
    """The render farm's work queue and status bucket on the system's NATS (packs under ``<data_dir>/packs``)."""
    from renderers.farm import RenderFarm

    return await RenderFarm.connect(settings.nats_url, root=Path(settings.data_dir) / "packs")
