"""Serving the sync socket for tests: a uvicorn server in this event loop over a real system (NATS + PostgreSQL
from the fixtures), tokens signed with a test secret, and helpers to create shots and members."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

import uvicorn
from litestar import Litestar

from realtime.auth import Tokens
from realtime.bootstrap import System, open_system
from realtime.embedded import free_port
from realtime.settings import Settings
from realtime.sync import SyncHub, SyncLimits

SECRET = "e2e-test-secret-0123456789abcdef"
NODE_DIR = Path(__file__).parent / "node"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    base: str  # ws://127.0.0.1:PORT
    system: System
    hub: SyncHub
    tokens: Tokens = field(default_factory=lambda: Tokens(SECRET))

    def token(self, user: str, ttl_s: float = 3600) -> str:
        return self.tokens.issue(user, ttl_s)


def settings_for(nats_url: str, database_url: str, data_dir: Path) -> Settings:
    return Settings(nats_url=nats_url, database_url=database_url, data_dir=data_dir, secret=SECRET)


def hub_of(app: Litestar) -> SyncHub:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", [getattr(route, "route_handler", None)]):
            hub = getattr(handler, "opt", {}).get("hub") if handler is not None else None
            if hub is not None:
                return hub
    raise LookupError("the app has no sync route")


@asynccontextmanager
async def serve_sync(settings: Settings, limits: SyncLimits | None = None) -> AsyncIterator[Served]:
    """The whole app (``create_app``: HTTP and the sync socket) of one instance on a free port, in this loop."""
    from realtime.app import create_app

    from dataclasses import replace

    # follow only the projects this instance is asked about: a shared test server holds many
    async with open_system(replace(settings, follow_all_projects=False), run_projector=True) as system:
        app = create_app(system)
        hub = hub_of(app)
        if limits is not None:
            hub.limits = limits
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                              ws="websockets", lifespan="on", ws_max_size=16 << 20))
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield Served(f"ws://127.0.0.1:{port}", system, hub)
        finally:
            server.should_exit = True
            await task


async def add_member(system: System, project: str, user: str, role: str) -> None:
    await system.access.set_member(project, user, role)


async def create_shot(system: System, project: str, shot: str, owner: str = "owner") -> int:
    """Project (with ``owner``) and shot, as the HTTP routes make them; returns the shot's first seq."""
    from realtime import gateway

    await system.access.create_project(project, "", owner)
    res = await gateway.create_shot_as(system, owner, project, shot, fps=24.0, frame_start=0.0, frame_end=240.0)
    assert res.status == "applied", res
    return res.seq


def cube(eid: str, x: float = 0.0) -> dict:
    return {"type": "entity.create", "id": eid, "kind": "prop",
            "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}, "transform.position": [x, 0, 0]}}


class NodeClient:
    """The stock-Yjs client script (tests/e2e/node/client.cjs) as a subprocess speaking JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.events: list[dict] = []
        self._new = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, base: str, project: str, shot: str, token: str) -> "NodeClient":
        proc = await asyncio.create_subprocess_exec(
            node_binary(), str(NODE_DIR / "client.cjs"), base, project, shot, token,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=NODE_DIR)
        return cls(proc)

    async def _read(self) -> None:
        async for line in self.proc.stdout:
            if line.strip():
                async with self._new:
                    self.events.append(json.loads(line))
                    self._new.notify_all()

    async def send(self, **msg) -> None:
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        await self.proc.stdin.drain()

    async def expect(self, ev: str, timeout: float = 10.0, **match) -> dict:
        """The first event named ``ev`` whose fields include ``match`` (waiting for it)."""
        def found():
            return next((e for e in self.events if e.get("ev") == ev
                         and all(e.get(k) == v for k, v in match.items())), None)

        try:
            async with asyncio.timeout(timeout):
                async with self._new:
                    await self._new.wait_for(lambda: found() is not None)
        except TimeoutError:
            err = b""
            if self.proc.returncode is not None:
                err = await self.proc.stderr.read()
            raise AssertionError(f"node client: no {ev} {match} within {timeout}s; saw {self.events[-10:]}; "
                                 f"stderr {err[-2000:]!r}") from None
        return found()

    async def stop(self) -> None:
        if self.proc.returncode is None:
            try:
                await self.send(op="close")
                await asyncio.wait_for(self.proc.wait(), 5)
            except (asyncio.TimeoutError, BrokenPipeError, ConnectionResetError):
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()


def node_binary() -> str | None:
    return shutil.which("node")


def node_ready() -> str | None:
    """None when the Node client can run, else why not."""
    if node_binary() is None:
        return "node is not installed (the stock Yjs client test needs Node.js ≥ 18)"
    if not (NODE_DIR / "node_modules" / "y-websocket").is_dir():
        return f"run `npm ci --prefix {NODE_DIR.relative_to(REPO)}` (or npm install) first"
    return None


def env_for_subprocess(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


PYTHON = sys.executable


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, so a killed run leaves no server behind (Linux)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class WnmUp:
    """``wnm up`` as a subprocess (one server instance) against given NATS and PostgreSQL, on a free port."""

    def __init__(self, nats_url: str, database_url: str, data_dir: Path, secret: str = SECRET, **env: str):
        self.port = free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        self.base = f"ws://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / "wnm-up.log"
        self._env = env_for_subprocess(WNM_NATS_URL=nats_url, WNM_DATABASE_URL=database_url,
                                       WNM_PORT=str(self.port), WNM_SECRET=secret, WNM_DATA_DIR=str(data_dir),
                                       **env)
        self.proc: subprocess.Popen | None = None

    async def start(self, timeout: float = 60.0) -> "WnmUp":
        import httpx

        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([PYTHON, "-m", "realtime.cli", "up"], env=self._env, cwd=REPO,
                                         stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        async with httpx.AsyncClient() as http, asyncio.timeout(timeout):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"wnm up exited with {self.proc.returncode}: {self.log_tail()}")
                try:
                    if (await http.get(self.http + "/healthz")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def log_tail(self, n: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        for _ in range(150):
            if self.proc.poll() is not None:
                return
            await asyncio.sleep(0.1)
        self.proc.kill()
        self.proc.wait()
