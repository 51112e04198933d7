"""The agents as a supervised child process of ``wnm up``: the server never runs an agent on its own event loop.

``wnm up`` starts ``wnm agents run`` as a child — a client of the log exactly like an agents process started by
hand, with its own replica — so nothing an agent does (loading the text-embedding model, a collision test over
thousands of entities, a layout solve) can delay a command's verdict or a peer's update. A child that exits or is
killed is started again after a backoff that doubles up to ``MAX_BACKOFF_S`` and resets once a child has lived
``HEALTHY_S``; restarts are counted. The child asks the kernel for SIGTERM when its parent dies
(``PR_SET_PDEATHSIG``), so a ``kill -9`` of ``wnm up`` leaves no agents process behind; a restarted agent resumes
from its checkpoint and publishes nothing twice (command ids derive from the triggering seq).

The child runs at a lower CPU priority (``nice``, default :data:`NICE`, ``WNM_AGENTS_NICE``) and, by default, in
Linux's ``SCHED_IDLE`` class (``WNM_AGENTS_SCHED=idle``; ``normal`` leaves it out): on a machine with few cores the
agents' work (a repair per edit, a model loading) competes with the server for them. ``nice`` alone lowers the
child's share of a busy CPU, but a server task that wakes (a command, an ack from NATS) may still wait for the
child's time slice; a ``SCHED_IDLE`` task is preempted as soon as any other task wants its core. The agents still
get every idle cycle (and, as ``SCHED_IDLE`` is a very low weight rather than a ban, a trickle under full load).

The child's output is passed through, each line prefixed ``agents:``.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence

from events.tasks import cancel_and_wait

__all__ = ["exit_with_parent", "AgentProcess", "MAX_BACKOFF_S", "HEALTHY_S", "NICE"]

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 10.0
HEALTHY_S = 30.0
_STOP_GRACE_S = 5.0
_DRAIN_S = 0.5
_POLL_S = 0.05
_PR_SET_PDEATHSIG = 1
NICE = 19
"""How much lower than ``wnm up`` the agents child is scheduled (``nice`` increment; 0 = the same priority)."""


def _child_setup(nice: int, idle: bool = True):
    def setup() -> None:  # runs in the child between fork and exec
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not Linux: the parent's stop still terminates the child
            pass
        if nice > 0:
            try:
                os.nice(nice)
            except OSError:  # not permitted here: the child runs at the parent's priority
                pass
        if idle and hasattr(os, "SCHED_IDLE"):
            try:
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            except OSError:  # not permitted here: nice alone
                pass
    return setup


class AgentProcess:
    """Runs ``argv`` (default ``python -m realtime.cli agents run``) under ``env`` until :meth:`run` is cancelled,
    restarting it whenever it ends. ``status()`` says whether a child is running, its pid and how often it was
    restarted."""

    def __init__(self, env: Mapping[str, str], argv: Sequence[str] | None = None, *, cwd: str | None = None,
                 prefix: str = "agents: ", out=None, nice: int = NICE, idle: bool = True):
        self.env = dict(env)
        self.argv = list(argv) if argv else [sys.executable, "-m", "realtime.cli", "agents", "run"]
        self.cwd, self.prefix = cwd, prefix
        self.nice, self.idle = max(0, int(nice)), bool(idle)
        self.out = out if out is not None else sys.stdout
        self.restarts = 0
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    def status(self) -> dict:
        alive = self.proc is not None and self.proc.returncode is None
        return {"running": alive, "pid": self.proc.pid if alive else None, "restarts": self.restarts,
                "nice": self.nice, "sched": "idle" if self.idle else "normal"}

    async def run(self) -> None:
        backoff = 0.5
        try:
            while True:
                await self._start()
                rc = await self._pump()
                lived = time.monotonic() - self.started_at
                if lived >= HEALTHY_S:
                    backoff = 0.5
                self.restarts += 1
                log.warning("agents process exited with %s after %.1f s; starting it again in %.1f s",
                            rc, lived, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            await self._stop()

    async def _start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, env=self.env, cwd=self.cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_child_setup(self.nice, self.idle))
        self.started_at = time.monotonic()

    async def _pump(self) -> int:
        """Pass the child's output through until the child exits; its exit code. The child's exit ends it, not the
        end of its output: a process the child started may hold the pipe open for seconds after a ``kill -9``."""
        assert self.proc is not None and self.proc.stdout is not None
        reader = asyncio.get_running_loop().create_task(self._copy(self.proc.stdout))
        try:
            rc = await _exited(self.proc)
            try:  # what the child wrote before it ended
                await asyncio.wait_for(asyncio.shield(reader), _DRAIN_S)
            except TimeoutError:
                pass
            return rc
        finally:
            await cancel_and_wait(reader)

    async def _copy(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.out.write(self.prefix + line.decode(errors="replace"))
            self.out.flush()

    async def _stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.shield(asyncio.wait_for(_exited(proc), _STOP_GRACE_S))
        except (asyncio.TimeoutError, asyncio.CancelledError):
            proc.kill()
            await _exited(proc)


async def _exited(proc: asyncio.subprocess.Process) -> int:
    """The child's exit code once it has exited (``proc.wait()`` on Python 3.11 also waits for its pipes to close,
    which a process it started may hold open)."""
    while proc.returncode is None:
        await asyncio.sleep(_POLL_S)
    return proc.returncode


def child_env(nats_url: str, database_url: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an agents child: the parent's, pointed at the same NATS and PostgreSQL."""
    env = dict(os.environ if base is None else base)
    # no progress bars in a child whose output is a log: tqdm's lock has deadlocked a child's garbage collection
    env.update(WNM_NATS_URL=nats_url, WNM_DATABASE_URL=database_url, PYTHONUNBUFFERED="1", WNM_AGENTS_CHILD="1",
               TQDM_DISABLE="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    return env


def exit_with_parent(grace_s: float, every_s: float = 0.5) -> None:
    """In a child: a daemon thread that ends this process ``grace_s`` after its parent is gone, whatever the main
    thread is doing (PDEATHSIG's SIGTERM asks for a graceful stop, which a main thread stuck in a lock or in a
    connection to servers that died with the parent never gets to)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        time.sleep(grace_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
