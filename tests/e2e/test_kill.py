"""kill -9 under load: of `wnm up`, of its embedded NATS and of its embedded PostgreSQL.

A real `wnm up` with embedded servers in a temporary data folder is loaded by concurrent HTTP clients; each command
creates its own entity and carries a unique command_id, and a client retries a command whose request failed, with
the same id, until it gets an answer. Mid-load a part is killed: `wnm up` is started again by the test, NATS and
PostgreSQL are restarted by `wnm up`'s supervisor. Then: every command was acknowledged, its entity is in the world,
the history holds each command id exactly once, writes flowed again within 10 s of the dead part returning, and
exactly one nats-server and one PostgreSQL serve the store (none after a clean stop).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from realtime import embedded
from realtime.cli_agents import STOP_GRACE_S

ROOT = Path(__file__).resolve().parents[2]
WNM = [sys.executable, "-m", "realtime.cli"]
FLOW_AGAIN_S = 10.0


@dataclass
class Up:
    """A running `wnm up` with embedded servers, its output in a file (a pipe nobody drains would block it)."""

    data: Path
    port: int
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0
    token: str = ""

    @property
    def out(self) -> Path:
        return self.data.parent / f"up-{self.starts}.out"

    async def start(self) -> float:
        """Start it and wait until it answers HTTP; returns when it did (time.monotonic)."""
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if k not in ("WNM_NATS_URL", "WNM_DATABASE_URL")}
        env.update(WNM_DATA_DIR=str(self.data), WNM_PORT=str(self.port), USER="owner", PYTHONUNBUFFERED="1",
                   WNM_LOG_LEVEL="warning")
        with open(self.out, "wb") as out:
            self.proc = await asyncio.create_subprocess_exec(*WNM, "up", cwd=ROOT, env=env, stdout=out,
                                                             stderr=asyncio.subprocess.STDOUT)
        async with asyncio.timeout(90):
            while "HTTP on" not in (text := self.out.read_text(errors="replace")):
                assert self.proc.returncode is None, f"wnm up exited: {text}"
                await asyncio.sleep(0.05)
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if "owner token" in line:
                self.token = lines[i + 1].strip()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=5) as http:
            async with asyncio.timeout(60):  # the line is printed before the port is bound
                while True:
                    assert self.proc.returncode is None, f"wnm up exited: {self.out.read_text(errors='replace')}"
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            return time.monotonic()
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.05)

    async def kill(self) -> None:
        self.proc.kill()
        await self.proc.wait()

    async def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            return await self.proc.wait()

    def child_pid(self, name: str) -> int:
        record = embedded.read_record(self.data / f"{name}.json")
        assert record is not None and embedded.is_running(record), f"no running {name} recorded"
        return record.pid


@dataclass
class Load:
    clients: int
    commands: int
    acked: dict[str, tuple[float, dict]] = field(default_factory=dict)  # command id → (when, answer)
    failures: Counter = field(default_factory=Counter)
    last_failure: dict[str, str] = field(default_factory=dict)  # command id → why its last try failed

    def acks_after(self, t: float) -> list[float]:
        return sorted(when for when, _ in self.acked.values() if when > t)


def _server_pids(store: Path, binary: str) -> list[int]:
    """Live processes running ``binary`` with an argument under ``store``."""
    found = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        record = embedded.record_of(int(pid_dir.name))
        if record is not None and record.cmdline and Path(record.cmdline[0]).name == binary \
                and any(str(store) in arg for arg in record.cmdline[1:]):
            found.append(record.pid)
    return found


def _agent_pids(data: Path) -> list[int]:
    """Live `wnm agents run` processes of the `wnm up` whose data folder is ``data`` (found by their environment)."""
    found = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            cmdline = (pid_dir / "cmdline").read_bytes()
            environ = (pid_dir / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"agents\0run" in cmdline and f"WNM_DATA_DIR={data}".encode() in environ:
            found.append(int(pid_dir.name))
    return found


async def _client(base: str, token: str, c: int, load: Load, pace_s: float) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        for i in range(load.commands):
            cid = f"k{c}-{i}"
            body = {"command_id": cid, "ops": [{"type": "entity.create", "id": f"e{c}-{i}", "kind": "prop"}]}
            while True:
                try:
                    r = await http.post("/v1/projects/default/shots/s1/commands", json=body)
                except httpx.TransportError as e:
                    load.failures[type(e).__name__] += 1
                    load.last_failure[cid] = repr(e)
                    await asyncio.sleep(0.1)
                    continue
                if r.status_code >= 500:
                    load.failures[r.status_code] += 1
                    load.last_failure[cid] = f"{r.status_code} {r.text[:300]}"
                    await asyncio.sleep(0.1)
                    continue
                assert r.status_code == 200, r.text
                load.acked[cid] = (time.monotonic(), r.json())
                break
            await asyncio.sleep(pace_s)


async def _until(predicate, timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout}s"
        await asyncio.sleep(0.02)
    return time.monotonic()


async def _progress(load: Load, count: int, workers: list[asyncio.Task], stall_s: float = 60.0) -> None:
    """Wait until ``count`` commands are acknowledged; fail when none is for ``stall_s`` (a busy machine is slow,
    a wedged server stops), or with the error of a client that failed."""
    last, seen = time.monotonic(), len(load.acked)
    while len(load.acked) < count:
        await asyncio.sleep(0.05)
        for w in workers:
            if w.done() and w.exception() is not None:
                raise w.exception()
        if len(load.acked) != seen:
            last, seen = time.monotonic(), len(load.acked)
        assert time.monotonic() - last < stall_s, (
            f"no command acknowledged for {stall_s}s ({seen} so far); failing: "
            f"{ {cid: why for cid, why in load.last_failure.items() if cid not in load.acked} }")


async def _returned(up: Up, name: str, old_pid: int) -> float:
    """When the supervisor's new server on the store serves (its record names a new, running pid)."""
    def back() -> bool:
        record = embedded.read_record(up.data / f"{name}.json")
        if record is None or record.pid == old_pid or not embedded.is_running(record):
            return False
        if name == "nats":
            return embedded._accepts(record.port)
        try:
            lines = (up.data / "postgres" / "postmaster.pid").read_text().splitlines()
        except OSError:  # not written yet
            return False
        return len(lines) >= 8 and lines[0].strip() == str(record.pid) and lines[7].strip() == "ready"

    return await _until(back, 60, f"{name} back")


async def _history(base: str, token: str) -> list[dict]:
    entries, after = [], 0
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        while True:
            r = await http.get("/v1/projects/default/shots/s1/history", params={"after": after, "limit": 1000})
            assert r.status_code == 200, r.text
            page = r.json()["entries"]
            entries += page
            if len(page) < 1000:
                return entries
            after = page[-1]["seq"]


async def _kill_under_load(tmp: Path, clients: int, commands: int, pace_s: float) -> None:
    up = Up(tmp / "data", embedded.free_port())
    base = f"http://127.0.0.1:{up.port}"
    await up.start()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     headers={"Authorization": f"Bearer {up.token}"}) as http:
            r = await http.post("/v1/projects/default/shots", json={"id": "s1", "fps": 24})
            assert r.status_code == 201, r.text

        load = Load(clients, commands)
        total = clients * commands
        workers = [asyncio.create_task(_client(base, up.token, c, load, pace_s)) for c in range(clients)]
        flow: dict[str, float] = {}
        try:
            for n, part in enumerate(("nats", "postgres", "wnm up")):
                await _progress(load, total * (n + 1) // 4, workers)
                acked = len(load.acked)
                if part == "wnm up":
                    await up.kill()
                    returned = await up.start()
                else:
                    old = up.child_pid(part)
                    os.kill(old, signal.SIGKILL)
                    returned = await _returned(up, part, old)
                flowing = await _until(lambda: load.acks_after(returned), 60, f"writes after {part} returned")
                flow[part] = flowing - returned
                print(f"{part}: killed at {acked} of {total} acknowledged, writes flowing "
                      f"{flow[part]:.2f}s after it returned", flush=True)
            await _progress(load, total, workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

        # every command acknowledged once as applied (a retry of a stored command is answered as the duplicate)
        assert len(load.acked) == total
        refused = {cid: a for cid, (_, a) in load.acked.items() if a.get("status") != "applied"}
        assert not refused, refused
        assert all(t <= FLOW_AGAIN_S for t in flow.values()), flow
        assert 500 not in load.failures  # an outage is a 503/504 to retry, never an internal error

        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     headers={"Authorization": f"Bearer {up.token}"}) as http:
            world = (await http.get("/v1/projects/default/shots/s1/world")).json()
        ours = {e for e in world["entities"] if e.startswith("e")}
        assert ours == {f"e{c}-{i}" for c in range(clients) for i in range(commands)}

        history = await _history(base, up.token)
        ids = Counter(e["command_id"] for e in history)
        assert [cid for cid, n in ids.items() if n > 1] == []
        assert all(ids[f"k{c}-{i}"] == 1 for c in range(clients) for i in range(commands))
        assert all(e["status"] == "applied" for e in history if e["command_id"].startswith("k")), \
            [e for e in history if e["status"] != "applied"]

        assert len(_server_pids(up.data / "nats", "nats-server")) == 1
        assert len(_server_pids(up.data / "postgres", "postgres")) == 1  # the postmaster (workers retitle themselves)
        assert await up.stop() == 0
        up.proc = None
        await _until(lambda: not _server_pids(up.data / "postgres", "postgres"), 30, "PostgreSQL stopped")
        assert _server_pids(up.data / "nats", "nats-server") == []
        # the agents processes of every `wnm up` killed here went too (PDEATHSIG, and a bounded graceful stop)
        await _until(lambda: not _agent_pids(up.data), STOP_GRACE_S + 10, "exit of every agents process")
        for n in range(1, up.starts + 1):  # no background task (projector, agents) died of an outage
            assert "Task exception was never retrieved" not in (tmp / f"up-{n}.out").read_text(errors="replace")
        print(f"writes flowing again after the part returned: {flow}; failed requests retried: {dict(load.failures)}")
    except BaseException:
        for n in range(1, up.starts + 1):  # what `wnm up` said, for the failure report
            out = tmp / f"up-{n}.out"
            print(f"---- {out}\n{out.read_text(errors='replace')[-20000:]}")
        raise
    finally:
        if up.proc is not None and up.proc.returncode is None:
            await up.stop()


@pytest.fixture
def folder():
    """A folder outside pytest's: as root, PostgreSQL runs as another user, who must traverse every parent of its
    cluster, and a concurrent pytest session resets its base folder to mode 0700."""
    path = Path(tempfile.mkdtemp(prefix="wnm-kill-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_kill_each_part_under_a_small_load(folder):
    await _kill_under_load(folder, clients=3, commands=30, pace_s=0.05)


@pytest.mark.slow
async def test_kill_each_part_under_10_clients_of_200_commands(folder):
    await _kill_under_load(folder, clients=10, commands=200, pace_s=0.0)
