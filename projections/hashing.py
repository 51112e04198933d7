"""A large document's state hash and snapshots, computed in a worker process so the projector's event loop never
waits on them.

The state hash is sha256 of :func:`projections.reducer.canonical_update`: decoding the document's update into a
fresh document and encoding that again, about 35 ns a byte (yrs holds the GIL throughout, so a thread would not
help): 30 ms for a shot of 1,000 props, half a second for 10,000 — every command and socket update arriving
meanwhile would wait. The worker keeps a *shadow* of each large shot's document: seeded once with the document's
full update, then fed the update bytes of each event folded since (which the projector has anyway, for the
sockets), so asking for a hash costs the loop nothing but handing over those bytes. The canonical form is the
same for the same state whatever the history (that is what it is for), so the shadow hashes exactly as the
reducer's own document does (checked by tests/unit/test_edit_cost.py). Documents under :data:`OFFLOAD_BYTES` are
hashed on the loop as before (cheaper than the round trip).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor

__all__ = ["OFFLOAD_BYTES", "Hasher", "Shadow", "canonical_of", "hash_update"]

log = logging.getLogger(__name__)

OFFLOAD_BYTES = 128 << 10
"""Documents whose last hashed update was at least this large are hashed in the worker (about 4 ms on the loop
otherwise)."""

MAX_SHADOWS = 256
"""Shadows the worker keeps (least recently used dropped; a dropped shot is seeded again when next asked)."""


def canonical_of(update: bytes) -> tuple[bytes, str, float]:
    """(the canonical form of the document ``update`` encodes — :func:`projections.reducer.canonical_update` of
    it —, its sha256, seconds taken)."""
    from pycrdt import Doc

    t = time.perf_counter()
    fresh = Doc()
    fresh.apply_update(update)
    canonical = fresh.get_update()
    return canonical, hashlib.sha256(canonical).hexdigest(), time.perf_counter() - t


def hash_update(update: bytes) -> tuple[str, int, float]:
    """(sha256 of the canonical form of the document ``update`` encodes, its length, seconds taken)."""
    canonical, digest, took = canonical_of(update)
    return digest, len(canonical), took


_SHADOWS: OrderedDict = OrderedDict()  # in the worker: token → pycrdt Doc


def _shadow_canonical(token: int, seed: bytes | None, updates: list[bytes], want_doc: bool):
    """In the worker: bring shadow ``token`` up to date (``seed`` starts it afresh) and give (canonical bytes or
    None, sha256, length, seconds); None when the worker holds no shadow ``token`` (it was dropped, or this is a
    new worker): the caller seeds it again."""
    from pycrdt import Doc

    t = time.perf_counter()
    if seed is not None:
        doc = _SHADOWS[token] = Doc()
        doc.apply_update(seed)
    else:
        doc = _SHADOWS.get(token)
        if doc is None:
            return None
    for u in updates:
        doc.apply_update(u)
    _SHADOWS.move_to_end(token)
    while len(_SHADOWS) > MAX_SHADOWS:
        _SHADOWS.popitem(last=False)
    canonical, digest, _ = canonical_of(doc.get_update())
    return (canonical if want_doc else None), digest, len(canonical), time.perf_counter() - t


def _drop_shadow(token: int) -> None:
    _SHADOWS.pop(token, None)


_CONTEXT = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                       else "spawn")
"""Not forked from the server: a forked child holds a copy of every socket open in the server at that moment (the
listening socket, each client's WebSocket, NATS and PostgreSQL), so a socket the server closes stays open in the
worker — its peer never sees the end of the connection, and the port stays bound after the server is gone. The
fork server is a fresh interpreter holding only its own pipes; the worker is forked from it."""
if _CONTEXT.get_start_method() == "forkserver":
    _CONTEXT.set_forkserver_preload(["pycrdt", __name__])


def _started_pool() -> ProcessPoolExecutor:
    pool = ProcessPoolExecutor(1, mp_context=_CONTEXT)
    pool.submit(int).result()  # the process is started by its first task
    return pool


def _shut_down(started: asyncio.Future) -> None:
    if not started.cancelled() and started.exception() is None:
        started.result().shutdown(wait=False)


class Shadow:
    """The projector's side of one shot's shadow: the update bytes folded since it was last brought up to date.
    ``add`` each event's update; :meth:`Hasher.canonical` takes them."""

    _tokens = iter(range(1, 1 << 62))

    __slots__ = ("token", "seeded", "pending")

    def __init__(self):
        self.token = next(Shadow._tokens)
        self.seeded = False
        self.pending: list[bytes] = []

    def add(self, update: bytes) -> None:
        if self.seeded and update:
            self.pending.append(update)


class Hasher:
    """One worker process, started on first use and replaced if it dies (its shadows are then seeded again)."""

    def __init__(self):
        self._pool: ProcessPoolExecutor | None = None
        self._starting: asyncio.Future | None = None
        self.counts = {"offloaded": 0, "seeded": 0, "worker_errors": 0, "workers_started": 0}

    def canonical(self, shadow: Shadow, doc, want_doc: bool = False):
        """Hand ``shadow`` what it lacks *now* (so the answer is ``doc`` as it stands at this call, whatever is
        folded while the worker works) and return an awaitable of (canonical bytes if ``want_doc``, sha256,
        length, seconds in the worker). Only a shadow's first call (or one after the worker lost it) runs
        ``doc.get_update()`` here. Raises (awaiting) when the worker fails or lost the shadow; it is seeded again
        on the next call."""
        if shadow.seeded:
            seed, updates = None, shadow.pending
        else:
            seed, updates = doc.get_update(), []
            shadow.seeded = True
            self.counts["seeded"] += 1
        shadow.pending = []
        return self._run(shadow, seed, updates, want_doc)

    async def _run(self, shadow: Shadow, seed: bytes | None, updates: list[bytes], want_doc: bool):
        try:
            pool = self._pool or await self._start()
            out = await asyncio.get_running_loop().run_in_executor(pool, _shadow_canonical, shadow.token, seed,
                                                                   updates, want_doc)
        except asyncio.CancelledError:
            shadow.seeded, shadow.pending = False, []
            raise
        except Exception:
            shadow.seeded, shadow.pending = False, []
            self.counts["worker_errors"] += 1
            log.exception("projector: the hashing worker failed; it is started again on next use")
            self.close()
            raise
        if out is None:
            shadow.seeded, shadow.pending = False, []
            raise LookupError("the hashing worker holds no shadow of this shot (a new worker); seeded next time")
        self.counts["offloaded"] += 1
        return out

    async def _start(self) -> ProcessPoolExecutor:
        """The worker, started on a thread: starting a process (and, the first time, the fork server) takes a
        fifth of a second or more, which the event loop must not wait out."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(asyncio.to_thread(_started_pool))
        starting = self._starting
        try:
            pool = await asyncio.shield(starting)
        except Exception:
            if self._starting is starting:  # tried again on the next call
                self._starting = None
            raise
        if self._starting is starting:  # the first to see it started keeps it
            self._starting, self._pool = None, pool
            self.counts["workers_started"] += 1
        if self._pool is not pool:
            raise RuntimeError("the hashing worker was closed while it started")
        return pool

    def forget(self, shadow: Shadow) -> None:
        """Drop ``shadow`` in the worker (its shot was unloaded); best effort."""
        if self._pool is not None and shadow.seeded:
            try:
                self._pool.submit(_drop_shadow, shadow.token)
            except Exception:  # noqa: BLE001 - a broken or closed worker holds nothing anyway
                pass

    def close(self) -> None:
        if self._starting is not None:  # a worker still starting is shut down once it has
            self._starting.add_done_callback(_shut_down)
            self._starting = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
