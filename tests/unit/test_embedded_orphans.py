"""The embedded servers' bookkeeping: process records, recycled pids, orphans, stale locks, supervision."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from realtime import embedded
from realtime.embedded import NatsServer, PostgresServer, ProcessRecord, is_running, read_record, record_of
from realtime.settings import Settings


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if record_of(pid) is None:
            return True
        time.sleep(0.05)
    return False


def test_a_record_reads_back_and_anything_else_reads_as_none(tmp_path):
    path = tmp_path / "nats.json"
    assert read_record(path) is None
    record = ProcessRecord(pid=123, start_time=456, cmdline=["nats-server", "-c", "x"], port=4222)
    embedded.write_record(path, record)
    assert read_record(path) == record
    for junk in (b"", b"{\"pid\": 1", b"[]", b"{\"pid\": \"x\", \"start_time\": 1, \"cmdline\": []}"):
        path.write_bytes(junk)
        assert read_record(path) is None


def test_a_record_names_one_process_and_a_recycled_pid_is_not_it():
    me = record_of(os.getpid())
    assert me is not None and me.pid == os.getpid() and "pytest" in " ".join(me.cmdline)
    assert is_running(me)
    assert not is_running(ProcessRecord(me.pid, me.start_time + 1, me.cmdline))  # same pid, later process
    assert not is_running(ProcessRecord(me.pid, me.start_time, ["nats-server"]))  # same pid, other program
    done = subprocess.Popen(["true"])
    done.wait()
    assert record_of(done.pid) is None


def test_a_zombie_is_not_running():
    child = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 5
        while embedded._stat(child.pid)[0] != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert record_of(child.pid) is None
    finally:
        child.wait()


def test_a_recycled_pid_in_the_record_is_left_alone(tmp_path):
    me = record_of(os.getpid())
    server = NatsServer(tmp_path / "nats")
    embedded.write_record(server.record_path, ProcessRecord(me.pid, me.start_time - 1, me.cmdline, 1234))
    server.stop_orphan()  # would have signalled this very process if it trusted the pid
    assert not server.record_path.exists()


def _orphan_nats(folder: Path) -> tuple[subprocess.Popen, ProcessRecord]:
    """A nats-server on ``folder`` that is nobody's supervised child (as a killed `wnm up` would leave it), recorded
    the way `wnm up` records its children."""
    server = NatsServer(folder)
    server.prepare()
    proc = subprocess.Popen(server.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    embedded.wait_port(server.port, 10, proc)
    record = record_of(proc.pid, server.port)
    embedded.write_record(server.record_path, record)
    return proc, record


def test_an_orphan_on_the_store_is_stopped_and_its_port_reused(tmp_path):
    orphan, record = _orphan_nats(tmp_path / "nats")
    try:
        server = NatsServer(tmp_path / "nats")
        with embedded.running(server):
            assert orphan.wait(10) is not None  # stopped by the start
            assert server.port == record.port and server.alive()
            assert read_record(server.record_path).pid == server.proc.pid
        assert not server.record_path.exists()
        assert _gone(record.pid)
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


def test_a_server_on_the_store_without_lock_or_record_is_stopped(tmp_path):
    orphan, record = _orphan_nats(tmp_path / "nats")  # as an older version left them: no lock, no record
    NatsServer(tmp_path / "nats").record_path.unlink()
    try:
        with embedded.running(NatsServer(tmp_path / "nats")) as server:
            assert orphan.wait(10) is not None
            assert server.alive()
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


def test_a_stale_lock_file_does_not_stop_a_start(tmp_path):
    server = NatsServer(tmp_path / "nats")
    server.lock_path.write_text("")  # left by a server that died: nobody holds it
    embedded.write_record(server.record_path, ProcessRecord(2**22 + 7, 1, ["nats-server"], None))
    with embedded.running(server):
        assert server.alive()


def test_a_live_unrecorded_holder_of_the_store_is_named_not_killed(tmp_path):
    server = NatsServer(tmp_path / "nats")
    server.lock_path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               f"f = open({str(server.lock_path)!r}, 'w'); fcntl.flock(f, fcntl.LOCK_EX)\n"
                               "print('locked', flush=True); time.sleep(60)"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"locked\n"
        with pytest.raises(RuntimeError, match=rf"another NATS serves the store .*{holder.pid}"):
            server.start(timeout=0.5)
        assert holder.poll() is None and not server.alive()
    finally:
        holder.kill()
        holder.wait()


def test_the_store_lock_is_held_as_long_as_the_server_lives(tmp_path):
    server = NatsServer(tmp_path / "nats")
    with embedded.running(server):
        with open(server.lock_path) as f, pytest.raises(BlockingIOError):
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert embedded.lock_holders(server.lock_path) == [server.proc.pid]
    with open(server.lock_path) as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_the_children_die_with_a_killed_parent(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\nfrom realtime.embedded import NatsServer\n"
         "s = NatsServer(Path(sys.argv[1])); s.start(); print(s.proc.pid, flush=True); time.sleep(60)",
         str(tmp_path / "nats")], stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(Path.cwd())})
    try:
        child = int(parent.stdout.readline())
        assert record_of(child) is not None
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _gone(child)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


async def test_the_supervisor_restarts_a_dead_server_on_its_port(tmp_path):
    server = NatsServer(tmp_path / "nats")
    with embedded.running(server):
        first, port = server.proc.pid, server.port
        task = asyncio.create_task(embedded.supervise([server], poll_s=0.05))
        try:
            os.kill(first, signal.SIGKILL)
            async with asyncio.timeout(20):
                while server.restarts == 0:
                    await asyncio.sleep(0.05)
            assert server.alive() and server.proc.pid != first and server.port == port
            assert embedded._accepts(port)
            assert read_record(server.record_path).pid == server.proc.pid
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def test_the_embedded_nats_fsyncs_every_write_unless_told_otherwise(tmp_path):
    NatsServer(tmp_path / "a").prepare()
    assert "sync_interval: always" in (tmp_path / "a" / "nats.conf").read_text()
    NatsServer(tmp_path / "b", sync_always=False).prepare()
    assert "sync_interval" not in (tmp_path / "b" / "nats.conf").read_text()
    assert Settings.from_env({}).nats_sync_always
    assert not Settings.from_env({"WNM_NATS_SYNC": "interval"}).nats_sync_always
    with pytest.raises(ValueError, match="WNM_NATS_SYNC"):
        Settings.from_env({"WNM_NATS_SYNC": "sometimes"})


def test_a_postmaster_pid_naming_another_live_process_is_cleared_not_obeyed(tmp_path):
    server = PostgresServer(tmp_path / "pg")
    server.folder.mkdir()
    (server.folder / "postmaster.pid").write_text(f"{os.getpid()}\n{server.folder}\n1\n5432\n\n\n\nready\n")
    server.before_spawn()  # PostgreSQL would refuse to start, taking this live pid for a running server
    assert not (server.folder / "postmaster.pid").exists()
