"""``wnm up``'s agents child: restarted when it dies, its output passed through, stopped with its parent."""

from __future__ import annotations

import asyncio
import io
import os
import sys

import pytest

from agents import process
from agents.process import AgentProcess, child_env

CHILD = "import os, sys, time; print('child', os.getpid(), flush=True); time.sleep(float(sys.argv[1]))"


async def _wait_for(cond, timeout=10.0):
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.02)


async def test_a_child_that_dies_is_started_again_and_its_output_passes_through(monkeypatch):
    monkeypatch.setattr(process, "MAX_BACKOFF_S", 0.05)
    out = io.StringIO()
    child = AgentProcess(os.environ, [sys.executable, "-c", CHILD, "0"], out=out)
    task = asyncio.create_task(child.run())
    try:
        await _wait_for(lambda: child.restarts >= 2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    lines = [line for line in out.getvalue().splitlines() if line]
    assert len(lines) >= 2 and all(line.startswith("agents: child ") for line in lines)
    assert len({line.split()[-1] for line in lines}) == len(lines)  # a new process each time


async def test_a_killed_child_is_replaced_and_cancelling_stops_the_running_one():
    child = AgentProcess(os.environ, [sys.executable, "-c", CHILD, "60"], out=io.StringIO())
    task = asyncio.create_task(child.run())
    try:
        await _wait_for(lambda: child.status()["running"])
        first = child.status()["pid"]
        os.kill(first, 9)
        await _wait_for(lambda: child.status()["running"] and child.status()["pid"] != first)
        second = child.status()["pid"]
        assert child.status()["restarts"] == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0.1)
    assert not _alive(second)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_the_child_is_pointed_at_the_parents_services():
    env = child_env("nats://127.0.0.1:1", "postgresql://x/y", base={"PATH": "/bin", "WNM_NATS_URL": "old"})
    assert env["WNM_NATS_URL"] == "nats://127.0.0.1:1" and env["WNM_DATABASE_URL"] == "postgresql://x/y"
    assert env["PATH"] == "/bin"


NICE_CHILD = ("import os, time; print('nice', os.nice(0), 'sched', os.sched_getscheduler(0), flush=True); "
              "time.sleep(60)")


async def test_the_child_runs_below_the_servers_cpu_priority():
    """The agents compete with the server for few cores: the kernel must give the server's commands the CPU
    first (issue 12: nothing an agent does may delay a verdict or a peer's update)."""
    base, parent = os.nice(0), os.sched_getscheduler(0)
    for nice, idle, want in ((process.NICE, True, min(19, base + process.NICE)), (0, False, base)):
        out = io.StringIO()
        child = AgentProcess(os.environ, [sys.executable, "-c", NICE_CHILD], out=out, nice=nice, idle=idle)
        task = asyncio.create_task(child.run())
        try:
            await _wait_for(lambda: "nice" in out.getvalue())
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        words = out.getvalue().split()
        assert words[-3] == str(want)
        # SCHED_IDLE: preempted whenever the server wakes, not only given a smaller share
        assert int(words[-1]) == (os.SCHED_IDLE if idle else parent)
        assert child.status()["nice"] == nice and child.status()["sched"] == ("idle" if idle else "normal")


def test_agents_nice_setting():
    from realtime.settings import Settings

    assert Settings.from_env({}).agents_nice == process.NICE
    assert Settings.from_env({"WNM_AGENTS_NICE": "0"}).agents_nice == 0
    for bad in ("-1", "20", "high"):
        with pytest.raises(ValueError, match="WNM_AGENTS_NICE"):
            Settings.from_env({"WNM_AGENTS_NICE": bad})
    assert Settings.from_env({}).agents_idle is True
    assert Settings.from_env({"WNM_AGENTS_SCHED": "normal"}).agents_idle is False
    with pytest.raises(ValueError, match="WNM_AGENTS_SCHED"):
        Settings.from_env({"WNM_AGENTS_SCHED": "batch"})


HOLDER = ("import os, subprocess, sys, time; "
          "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); "  # inherits the stdout pipe
          "print('child', os.getpid(), flush=True); time.sleep(60)")


async def test_a_killed_child_whose_own_child_holds_its_output_open_is_replaced_at_once(monkeypatch):
    """A kill -9 of the agents process leaves whatever it started holding the output pipe: the restart must follow
    the child's exit, not the end of its output (it used to wait for the grandchild, 7 s in the kill bench)."""
    out = io.StringIO()
    child = AgentProcess(os.environ, [sys.executable, "-c", HOLDER], out=out)
    task = asyncio.create_task(child.run())
    grandchildren = []
    try:
        await _wait_for(lambda: "child" in out.getvalue())
        first = child.status()["pid"]
        grandchildren = _children_of(first)
        os.kill(first, 9)
        await _wait_for(lambda: child.status()["running"] and child.status()["pid"] != first, timeout=3.0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        for pid in grandchildren + _children_of(os.getpid()):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


def _children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []
