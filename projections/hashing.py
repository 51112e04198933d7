"""A large document's state hash, computed in a worker process so the projector's event loop never waits on it.

The state hash is sha256 of :func:`projections.reducer.canonical_update`: decoding the document's update into a
fresh document and encoding that again, about 35 ns a byte (yrs holds the GIL throughout, so a thread would not
help): 30 ms for a shot of 1,000 props, half a second for 10,000 — every command and socket update arriving
meanwhile would wait. Here only ``doc.get_update()`` (about a tenth of the cost) runs on the loop; the decode,
re-encode and sha256 run in one worker process, on the same bytes, so the hash is exactly the one
:func:`~projections.reducer.state_hash` gives. Documents under :data:`OFFLOAD_BYTES` are hashed on the loop as
before (cheaper than the round trip). Document snapshots (the same canonical bytes) are taken there alike."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

__all__ = ["OFFLOAD_BYTES", "Hasher", "hash_update", "canonical_of"]

log = logging.getLogger(__name__)

OFFLOAD_BYTES = 128 << 10
"""Documents whose last hashed update was at least this large are hashed in the worker (about 4 ms on the loop
otherwise)."""


def hash_update(update: bytes) -> tuple[str, int, float]:
    """(sha256 of the canonical form of the document ``update`` encodes, its length, seconds taken)."""
    canonical, digest, took = canonical_of(update)
    return digest, len(canonical), took


def canonical_of(update: bytes) -> tuple[bytes, str, float]:
    """(the canonical form of the document ``update`` encodes — :func:`projections.reducer.canonical_update` of
    it —, its sha256, seconds taken)."""
    from pycrdt import Doc

    t = time.perf_counter()
    fresh = Doc()
    fresh.apply_update(update)
    canonical = fresh.get_update()
    return canonical, hashlib.sha256(canonical).hexdigest(), time.perf_counter() - t


_CONTEXT = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
"""Forked where the platform can (started in milliseconds, pycrdt already loaded; the worker runs only the pure
functions above, never the parent's loop, threads or locks); spawned elsewhere."""


class Hasher:
    """One worker process, started on first use; a worker that died is replaced, and the hash then computed here."""

    def __init__(self):
        self._pool: ProcessPoolExecutor | None = None
        self.counts = {"offloaded": 0, "worker_errors": 0}

    async def hash(self, update: bytes) -> tuple[str, int, float]:
        """:func:`hash_update` of ``update``, in the worker."""
        return await self._run(hash_update, update)

    async def canonical(self, update: bytes) -> tuple[bytes, str, float]:
        """:func:`canonical_of` ``update`` (a document snapshot and its hash), in the worker."""
        return await self._run(canonical_of, update)

    async def _run(self, fn, update: bytes):
        if self._pool is None:
            self._pool = ProcessPoolExecutor(1, mp_context=_CONTEXT)
        try:
            out = await asyncio.get_running_loop().run_in_executor(self._pool, fn, update)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a broken worker: start another next time, compute here now
            self.counts["worker_errors"] += 1
            log.exception("projector: the hashing worker failed; computing on the event loop")
            self.close()
            return fn(update)
        self.counts["offloaded"] += 1
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
