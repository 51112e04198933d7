"""The projector: follows each project's event stream, folds every event into its shot's reducer and writes the
projection (audit row, shot catalogue, snapshots, checkpoint) to the store in one transaction per batch.

Per project one reader task tails the log into a queue, one folder folds what is queued — as many events as are
already waiting, up to ``batch_max`` — and one committer commits the folded batches in order, all those waiting in
one transaction, while the next ones fold (folding never waits for PostgreSQL unless ``_FOLDED_AHEAD`` batches
are waiting); a lone event is never held back. A store error is logged and the same batches retried with backoff
until they commit; an event is never skipped. Because the checkpoint moves in the same transaction as the rows, a
projector killed at any point restarts from the last committed seq and neither loses nor repeats an event.

No event stops a projector. An event whose fold raises (the reducer rejects what it cannot apply, so this is a
bug) is recorded as rejected with the reason ``internal error while folding: <exception type>`` and leaves its
shot as it was before it: the shot is reloaded (snapshot + log tail, without that event), exactly as every other
replica and every replay (:func:`projections.replay.fold_tail`) folds it, and folding goes on. A failing snapshot
or hash is skipped and counted; anything else that escapes folding restarts the project's follower from its
checkpoint after a backoff. Store and log errors are retried with backoff; while one is, :meth:`Projector.health`
reports the project ``failing``.

The log must never be behind the projection: on start and every ``verify_s`` the projector compares the head of
each project's stream with what it has folded. A stream that ends before the checkpoint lost its tail (a crash
before fsync, a stream recreated), and any new event would reuse a committed seq; that project is halted — not
followed, :meth:`Projector.load` and :meth:`Projector.wait_for` raise :class:`ProjectHalted` (HTTP 503 with the
reason), ``health()`` names it — until an operator restores the stream or rebuilds the projection and restarts.

A shot's reducer is loaded lazily, the first time the projector (or :meth:`Projector.load`) needs it, from the
newest snapshot at or below the position the projector has folded to, plus the log tail up to that position. A
load for a request gives up after ``LOAD_TRIES`` failed tries, or after waiting ``LOAD_WAIT_S`` for the project
(:class:`ShotUnavailable`, HTTP 503 for that request only), and never holds the project's lock longer than those.

Other parts of the server use :meth:`Projector.wait_for` (a command handler answers once the seq it appended is
projected), :meth:`Projector.reducer` (the live document and world of a shot) and :meth:`Projector.add_listener`
(called once per projected event, in stream order, as soon as it is folded — before its batch commits).
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import inspect
import logging
import time
from collections import Counter, OrderedDict, deque
from typing import Any, Awaitable, Callable, NamedTuple

import msgspec
from pycrdt import merge_updates

from events.envelope import Event, decode_event
from events.log import EventLog, LogError, Stored, UnknownProject
from events.tasks import cancel_and_wait

from .hashing import OFFLOAD_BYTES, Hasher, Shadow
from .reducer import REDUCER_VERSION, Outcome, ShotReducer, canonical_update
from .replay import fold_tail, internal_rejection
from .store import AuditEntry, ProjectionStore, ShotUpdate, Snapshot, StoreError, WorldSnapshot, audit_entry_for
from .world_codec import encode_world

__all__ = ["Projector", "Listener", "ProjectHealth", "ProjectHalted", "ShotUnavailable", "LOAD_TRIES", "LOAD_WAIT_S"]

log = logging.getLogger(__name__)

Listener = Callable[[str, str, Outcome, bytes, "Event | None"], "Awaitable[None] | None"]
"""``listener(project, shot, outcome, update, event)``: ``update`` is the Yjs update the event made (b"" when
rejected), ``event`` the decoded event (None when undecodable). Keep it quick: hand work to a queue."""

_OUTCOMES_KEPT = 50_000

LOAD_TRIES = 3
"""Tries of a shot load made for a request (:meth:`Projector.load`) before it answers :class:`ShotUnavailable`."""


LOAD_WAIT_S = 10.0
"""The longest :meth:`Projector.load` waits for a project's checkpoint or for its lock (held while folding, which
waits for the store when it is down) before it answers :class:`ShotUnavailable`."""


class ProjectHalted(LogError):
    """The project's stream ends before the projection's checkpoint (its tail was lost): the projector stopped
    following it and refuses reads and writes of it (HTTP 503) until an operator repairs it."""


class ShotUnavailable(StoreError):
    """Loading a shot for a request failed ``LOAD_TRIES`` times (HTTP 503 for that request)."""


class ProjectHealth(msgspec.Struct, frozen=True, kw_only=True):
    """Where the projection of one project stands (:meth:`Projector.health`).

    ``state``: ``ok``; ``starting`` (its checkpoint not read yet); ``failing`` (a store or log call is being
    retried, or the follower crashed and is restarting: ``error`` says what, ``since`` for how many seconds);
    ``behind`` (more than ``ready_lag`` events behind the stream for over ``ready_lag_s``); ``halted`` (the
    stream ends before the checkpoint; never recovers by itself). ``head`` is the stream's last seq as last
    checked (None before the first check), ``lag`` = head − committed. ``ready``: ``ok``, or ``starting`` for
    less than ``ready_lag_s``."""

    state: str
    ready: bool
    committed: int
    head: int | None = None
    lag: int = 0
    error: str | None = None
    since: float = 0.0

HASH_EVERY_S = 0.5
"""A shot's catalogue hash is computed at most this often (it hashes the whole document): the first event after a
quiet spell is hashed at once, a stream of events every ``HASH_EVERY_S``, and the last one at most ``HASH_EVERY_S``
after it was folded (a trailing refresh while the projector waits for more). A document so large that hashing it
this often would take more than ``HASH_SHARE`` of the time is hashed less often, in proportion."""

HASH_SHARE = 0.02
"""The most of its time the projector spends hashing a shot under a stream of events (a 1.5 MB document takes
about 50 ms, so it is hashed every 2.5 s rather than every 0.5 s; reads of the hash through the API compute it
afresh when the catalogue's is behind)."""

WORLD_SNAPSHOT_KEYS = 10_000
"""World snapshots of a shot of k × this many units (a keyframe is one, an entity two) are taken every
k × ``snapshot_every`` applied events: encoding one costs about 1 µs a keyframe and 2 µs an entity, and reading the
world at an offset costs one decode plus the tail, so both stay bounded per event as shots grow."""

DOC_SNAPSHOT_BYTES = 128 << 10
"""Document snapshots of a shot whose document is k × 128 KiB (k ≥ 1, fractional) are taken every
k × ``snapshot_every`` applied events: encoding one (``ShotReducer.snapshot``) costs about 35 ns a byte, so about
5 µs an event at any size, and loading a shot replays at most that many events after its snapshot."""


class _Shot:
    """A loaded shot: its reducer, the update bytes its last event produced, and applied events since the last
    snapshot."""

    __slots__ = ("reducer", "since_snapshot", "since_doc_snapshot", "doc_bytes", "world_every", "touched",
                 "_updates", "_subscription", "hashed", "hashed_at", "hash_every", "hashing", "unwritten", "shadow")

    def __init__(self, reducer: ShotReducer, since_snapshot: int):
        self.reducer = reducer
        self.since_snapshot = since_snapshot
        self.since_doc_snapshot = since_snapshot
        self.doc_bytes = 0
        self.world_every = 0  # applied events between world snapshots, as of the last one (see WORLD_SNAPSHOT_KEYS)
        self.hashed: tuple[int, str] | None = None  # (head_seq, state hash) last written to the catalogue
        self.hashed_at = 0.0
        self.hash_every = HASH_EVERY_S  # grows with the document (see HASH_SHARE)
        self.hashing: asyncio.Task | None = None  # a hash being computed off the event loop (projections.hashing)
        self.unwritten = False  # ``hashed`` came from that worker and is not yet in the catalogue
        self.shadow = Shadow()  # the worker's copy of the document, fed each event's update once seeded
        self.touched = time.monotonic()
        self._updates: list[bytes] = []
        # Observers must not touch the doc: only collect the bytes.
        self._subscription = reducer.doc.observe(lambda e: self._updates.append(e.update))

    def fold(self, seq: int, data: bytes) -> tuple[Outcome, bytes, Event | None]:
        self._updates.clear()
        self.touched = time.monotonic()
        try:
            event = decode_event(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return self.reducer.apply_raw(seq, data), b"", None
        outcome = self.reducer.apply(seq, event)
        updates, self._updates = self._updates, []
        update = b"" if not updates else updates[0] if len(updates) == 1 else merge_updates(*updates)
        self.shadow.add(update)
        return outcome, update, event

    def close(self) -> None:
        self.reducer.doc.unobserve(self._subscription)

    @property
    def hash_behind(self) -> bool:
        """Whether events were applied since the hash last written to the catalogue."""
        return self.hashed is not None and self.hashed[0] != self.reducer.world.head_seq


def _decoded(data: bytes) -> Event | None:
    try:
        return decode_event(data)
    except Exception:  # noqa: BLE001 - undecodable events are audited from their bytes
        return None


class _Folded(NamedTuple):
    """A folded batch, waiting for its commit."""

    rows: list
    updates: dict[str, ShotUpdate]
    snapshots: list
    outcomes: list[Outcome]
    checkpoint: int


_FOLDED_AHEAD = 8
"""Folded batches that may wait for their commit before folding waits in turn."""


class _Project:
    def __init__(self, name: str):
        self.name = name
        self.shots: dict[str, _Shot] = {}
        self.lock = asyncio.Lock()  # held while folding, so a load sees a stable position
        self.ready = asyncio.Event()  # set once the checkpoint is known
        self.committed = 0  # the store's checkpoint as of our last commit
        self.folded = 0  # the last seq folded into the reducers (≥ committed)
        self.waiting: list[tuple[int, int, asyncio.Future]] = []  # heap of (seq, n, future) for wait_for
        self.n_waiting = 0
        self.outcomes: OrderedDict[int, Outcome] = OrderedDict()
        self.event_ids: OrderedDict[int, str | None] = OrderedDict()  # beside outcomes: the event id at each seq
        self.task: asyncio.Task | None = None
        self.poisoned: dict[int, str] = {}  # seq → exception type, of events whose fold raised: rejected
        self.failure: tuple[str, float] | None = None  # (what failed, since) while a retry loop is failing
        self.halted: str | None = None  # why the project is stopped for good
        self.stopped = asyncio.Event()  # set when halted
        self.head: int | None = None  # the stream's last seq as last checked
        self.behind_since: float | None = None  # when the lag last went over the bound
        self.started = time.monotonic()
        # document snapshots being encoded in the hashing worker: (seq, shot, task), committed once done
        self.pending_snapshots: list[tuple[int, str, asyncio.Task]] = []


class Projector:
    """Projects every project of ``log`` into ``store``.

    ``snapshot_every``: a shot is snapshotted after this many applied events since its last snapshot.
    ``batch_max``: the most events committed in one transaction. ``rescan_s``: how often :meth:`run` looks for new
    projects. ``retry_max_s``: the longest backoff between retries of a failed store or log call. ``verify_s``:
    how often each project's stream head is checked against the projection (lag, lost tail). ``ready_lag`` and
    ``ready_lag_s``: a project more than ``ready_lag`` events behind its stream for longer than ``ready_lag_s``
    is ``behind`` in :meth:`health`. ``idle_s``: a shot no event, load or read has touched for this long is
    unloaded (its hash written first); the next event or request loads it again (snapshot + tail), so memory
    holds the shots in use, not every shot ever followed (None: never).

    ``counts`` (read by /metrics): events, applied, rejected, commits, shots_loaded, shots_unloaded, hash_refreshes;
    foreign_events (a wait_for whose seq holds another event than the caller's); failures: store_errors,
    log_errors, load_errors (each failed try of a shot load), loads_failed (loads for a request that gave up:
    the request got a 503), fold_errors (events rejected because their fold raised), snapshot_errors,
    hash_errors, listener_errors, follow_crashes (the follower restarted after an unexpected error), halted
    (projects stopped because their stream is behind the checkpoint).
    """

    def __init__(self, log: EventLog, store: ProjectionStore, snapshot_every: int = 1000, batch_max: int = 500,
                 rescan_s: float = 5.0, retry_max_s: float = 5.0, verify_s: float = 2.0, ready_lag: int = 100,
                 ready_lag_s: float = 5.0, idle_s: float | None = 600.0):
        if snapshot_every < 1 or batch_max < 1:
            raise ValueError("snapshot_every and batch_max must be ≥ 1")
        self.log, self.store = log, store
        self.snapshot_every, self.batch_max = snapshot_every, batch_max
        self.rescan_s, self.retry_max_s = rescan_s, retry_max_s
        self.verify_s, self.ready_lag, self.ready_lag_s = verify_s, ready_lag, ready_lag_s
        self.idle_s = idle_s
        self.counts: Counter[str] = Counter()
        self._projects: dict[str, _Project] = {}
        self._listeners: list[Listener] = []
        self._batch_listeners: list[Callable[[], None]] = []
        self._deadlines: deque[tuple[float, asyncio.Future]] = deque()
        self._sweeper: asyncio.Task | None = None
        self._hasher = Hasher()

    # ------------------------------------------------------------ public

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` for every projected event; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def add_batch_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` each time the listeners have heard every event of one folded batch (a socket hub
        sends the batch's updates then, merged, rather than a loop turn later); returns a function that removes
        it."""
        self._batch_listeners.append(listener)
        return lambda: self._batch_listeners.remove(listener) if listener in self._batch_listeners else None

    def watch_project(self, project: str) -> None:
        """Start following ``project`` (idempotent). Call it when a project is created; :meth:`run` also finds
        projects by rescanning the log."""
        st = self._projects.get(project)
        if st is None:
            st = self._projects[project] = _Project(project)
        if st.halted is None and (st.task is None or st.task.done()):
            st.task = asyncio.get_running_loop().create_task(self._supervise(st), name=f"projector:{project}")

    def projects(self) -> list[str]:
        return sorted(self._projects)

    def loaded(self, project: str) -> list[str]:
        """The shots of ``project`` held in memory now (asking does not count as a use)."""
        st = self._projects.get(project)
        return sorted(st.shots) if st is not None else []

    def position(self, project: str) -> int:
        """The last seq of ``project`` committed by this projector (0 before it started)."""
        st = self._projects.get(project)
        return 0 if st is None else st.committed

    def reducer(self, project: str, shot: str) -> ShotReducer | None:
        """The live reducer of a loaded shot (its ``doc``, ``world``, ``state_hash()``), or None: see :meth:`load`.
        Read it, never write it."""
        st = self._projects.get(project)
        sh = st.shots.get(shot) if st is not None and st.halted is None else None
        if sh is None:
            return None
        sh.touched = time.monotonic()
        return sh.reducer

    async def load(self, project: str, shot: str) -> ShotReducer:
        """The live reducer of ``shot``, loading it (snapshot + tail) if the projector has not yet needed it.
        Raises :class:`ProjectHalted`, or :class:`ShotUnavailable` after ``LOAD_TRIES`` failed tries."""
        st = self._projects.get(project)
        sh = st.shots.get(shot) if st is not None and st.task is not None and not st.task.done() else None
        if sh is not None and st.halted is None:  # loaded and followed: the common case, no lock needed
            sh.touched = time.monotonic()
            return sh.reducer
        self.watch_project(project)
        st = self._projects[project]
        self._check_halted(st)
        try:
            async with asyncio.timeout(LOAD_WAIT_S):
                await self._until_ready(st)
                await st.lock.acquire()
        except TimeoutError:
            self.counts["loads_failed"] += 1
            why = st.failure[0] if st.failure else "its projector is busy"
            raise ShotUnavailable(f"shot {project}/{shot} is not available within {LOAD_WAIT_S:g}s: {why}") from None
        try:
            self._check_halted(st)
            sh = st.shots.get(shot)
            if sh is None:
                try:
                    sh = await self._load(st, shot, tries=LOAD_TRIES)
                except (asyncio.CancelledError, ProjectHalted):
                    raise
                except Exception as e:
                    self.counts["loads_failed"] += 1
                    raise ShotUnavailable(f"loading shot {project}/{shot} failed {LOAD_TRIES} times: "
                                          f"{type(e).__name__}: {e}") from e
        finally:
            st.lock.release()
        return sh.reducer

    async def _until_ready(self, st: _Project) -> None:
        """Wait for the project's checkpoint, or raise ProjectHalted if it is halted meanwhile."""
        if st.ready.is_set():
            return
        halted = asyncio.ensure_future(st.stopped.wait())
        ready = asyncio.ensure_future(st.ready.wait())
        try:
            await asyncio.wait([ready, halted], return_when=asyncio.FIRST_COMPLETED)
        finally:
            halted.cancel()
            ready.cancel()
        self._check_halted(st)

    @staticmethod
    def _check_halted(st: _Project) -> None:
        if st.halted is not None:
            raise ProjectHalted(st.halted)

    def health(self) -> dict[str, ProjectHealth]:
        """Per project followed: where its projection stands (see :class:`ProjectHealth`). Cheap: it reads what
        the followers last saw (the stream heads are checked every ``verify_s``)."""
        now = time.monotonic()
        out: dict[str, ProjectHealth] = {}
        for name, st in sorted(self._projects.items()):
            lag = 0 if st.head is None else max(0, st.head - st.committed)
            common = {"committed": st.committed, "head": st.head, "lag": lag, "ready": False}
            if st.halted is not None:
                out[name] = ProjectHealth(state="halted", error=st.halted, **common)
            elif st.failure is not None:
                out[name] = ProjectHealth(state="failing", error=st.failure[0], since=now - st.failure[1], **common)
            elif st.task is None or st.task.done():
                out[name] = ProjectHealth(state="failing", error="not followed (its task ended)", **common)
            elif not st.ready.is_set():
                common["ready"] = now - st.started <= self.ready_lag_s
                out[name] = ProjectHealth(state="starting", since=now - st.started, **common)
            elif st.behind_since is not None and now - st.behind_since > self.ready_lag_s:
                out[name] = ProjectHealth(state="behind", since=now - st.behind_since,
                                          error=f"{lag} events behind the stream", **common)
            else:
                common["ready"] = True
                out[name] = ProjectHealth(state="ok", **common)
        return out

    async def wait_for(self, project: str, seq: int, timeout: float = 10.0, event_id: str | None = None) -> Outcome:
        """The outcome of the event at ``seq`` once this projector has committed it; raises ``TimeoutError``, or
        ``LookupError`` when the projection has no event at ``seq``, or :class:`ProjectHalted`.

        ``event_id``: the id of the event the caller appended at ``seq``. When the projection holds another event
        there, the stream may have lost its tail and given ``seq`` out again: the stream is checked at once (and
        the project halted if so) instead of answering with the other event's outcome."""
        self.watch_project(project)
        st = self._projects[project]
        self._check_halted(st)
        if not (st.ready.is_set() and st.committed >= seq):
            # Woken once, by the commit that reaches seq; or failed by the sweep once past its deadline (no timer
            # per waiter: thousands wait at once under load).
            future = asyncio.get_running_loop().create_future()
            st.n_waiting += 1
            heapq.heappush(st.waiting, (seq, st.n_waiting, future))
            self._deadlines.append((time.monotonic() + timeout, future))
            if self._sweeper is None or self._sweeper.done():
                self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="projector:deadlines")
            try:
                await future
            except asyncio.CancelledError:
                future.cancel()
                raise
        self._check_halted(st)
        outcome = st.outcomes.get(seq)
        seen = st.event_ids.get(seq)
        if outcome is None:
            entry = await self.store.audit_entry(project, seq)
            if entry is None:
                raise LookupError(f"no event at seq {seq} in project {project!r}")
            outcome, seen = Outcome(seq, entry.applied, entry.reason), entry.event_id
        if event_id is not None and seen is not None and seen != event_id:
            self.counts["foreign_events"] += 1
            log.warning("projector: %s seq %d was expected to be event %r, the projection holds %r; checking the "
                        "stream", project, seq, event_id, seen)
            await self._verify(st, once=True)
            self._check_halted(st)
        return outcome

    async def _sweep(self) -> None:
        """Fail the waits that passed their deadline with TimeoutError (checked every 0.1 s)."""
        while self._deadlines:
            await asyncio.sleep(0.1)
            now, kept = time.monotonic(), deque()
            for deadline, future in self._deadlines:
                if future.done():
                    continue
                if deadline <= now:
                    future.set_exception(TimeoutError())
                else:
                    kept.append((deadline, future))
            self._deadlines = kept

    async def run(self, discover: bool = True) -> None:
        """Follow every project the log knows, rescanning for new ones, until cancelled. With ``discover`` off,
        follow only the projects asked for (:meth:`watch_project`, :meth:`load`, :meth:`wait_for`)."""
        try:
            while discover:
                try:
                    for project in await self.log.projects():
                        self.watch_project(project)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.counts["log_errors"] += 1
                    log.exception("projector: listing projects failed")
                await asyncio.sleep(self.rescan_s)
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop following; catalogue hashes still behind their shot's head are written once more (one try)."""
        await cancel_and_wait(*(st.task for st in self._projects.values()), self._sweeper,
                              *(sh.hashing for st in self._projects.values() for sh in st.shots.values()),
                              *(t for st in self._projects.values() for _, _, t in st.pending_snapshots))
        self._hasher.close()
        for st in self._projects.values():
            for shot, sh in self._stale(st):
                if sh.reducer.world.head_seq <= st.committed:
                    try:
                        await self._write_hash(st, shot, sh)
                    except Exception as e:
                        log.warning("projector: refreshing the hash of %s/%s on stop failed: %s", st.name, shot, e)

    # ------------------------------------------------------------ following

    async def _retry(self, what: str, call: Callable[[], Awaitable[Any]], st: _Project | None = None,
                     tries: int | None = None) -> Any:
        """``call()`` until it succeeds, backing off; while it fails, ``st`` is reported failing. With ``tries``,
        the last failure is raised after that many."""
        delay, attempt = 0.05, 0
        while True:
            attempt += 1
            try:
                result = await call()
            except asyncio.CancelledError:
                raise
            except ProjectHalted:
                raise
            except Exception as e:
                self.counts[f"{what}_errors"] += 1
                if tries is not None and attempt >= tries:
                    # the caller says what follows (a load's 503, the next head check); "giving up" misled
                    log.warning("projector: %s failed (%s: %s)%s", what, type(e).__name__, e,
                                f" after {attempt} tries" if attempt > 1 else "")
                    raise
                if st is not None and tries is None:
                    st.failure = (f"{what}: {type(e).__name__}: {e}"[:300],
                                  st.failure[1] if st.failure else time.monotonic())
                log.warning("projector: %s failed (%s: %s); retrying in %.2fs", what, type(e).__name__, e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
            else:
                if st is not None and tries is None:
                    st.failure = None
                return result

    async def _supervise(self, st: _Project) -> None:
        """Follow the project; an unexpected error restarts the follower from the checkpoint after a backoff
        (reported as failing meanwhile). Only cancellation or a halt ends it."""
        delay = 0.05
        while st.halted is None:
            began = time.monotonic()
            try:
                await self._follow(st)
                if st.halted is None:
                    raise RuntimeError("the follower ended without a halt")
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.counts["follow_crashes"] += 1
                st.failure = (f"follower crashed: {type(e).__name__}: {e}"[:300], time.monotonic())
                log.exception("projector: following %s crashed; restarting from its checkpoint in %.2fs",
                              st.name, delay)
                if time.monotonic() - began > 60:
                    delay = 0.05
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)

    async def _follow(self, st: _Project) -> None:
        checkpoint = await self._retry("store", lambda: self.store.checkpoint(st.name), st)
        start = max(st.committed, checkpoint)
        if st.folded != start:  # restarted: loaded shots may be ahead of or behind the start
            for sh in st.shots.values():
                sh.close()
            st.shots.clear()
        st.committed = st.folded = start
        if not await self._verify(st):
            self._stop_halted(st)
            return
        st.failure = None
        st.ready.set()
        self._release(st)
        queue: asyncio.Queue[Stored] = asyncio.Queue(maxsize=self.batch_max * 4)
        folded: asyncio.Queue[_Folded] = asyncio.Queue(maxsize=_FOLDED_AHEAD)
        loop = asyncio.get_running_loop()
        reader = loop.create_task(self._read(st, queue, st.folded))
        committer = loop.create_task(self._commit(st, folded))
        folder = loop.create_task(self._folding(st, queue, folded))
        verifier = loop.create_task(self._verifying(st))
        halted = loop.create_task(st.stopped.wait())
        try:
            # The first to end decides: a halt (found by the verifier or by wait_for), or a crash (re-raised to
            # the supervisor).
            done, _ = await asyncio.wait([folder, committer, verifier, reader, halted],
                                         return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if not t.cancelled() and t.exception() is not None:
                    raise t.exception()
        finally:
            await cancel_and_wait(reader, committer, folder, verifier, halted)
        if st.halted is not None:
            self._stop_halted(st)

    async def _folding(self, st: _Project, queue: asyncio.Queue, folded: asyncio.Queue) -> None:
        while True:
            batch = [await self._next(st, queue)]
            while len(batch) < self.batch_max and not queue.empty():
                batch.append(queue.get_nowait())
            await folded.put(await self._fold(st, batch))

    async def _verifying(self, st: _Project) -> None:
        """Every ``verify_s``, check the stream's head (lag, lost tail); returns once the project is halted."""
        while await self._verify(st, once=True):
            if self.idle_s is not None:
                await self._unload_idle(st)
            await asyncio.sleep(self.verify_s)

    async def _unload_idle(self, st: _Project) -> None:
        """Drop the shots untouched for ``idle_s`` whose folded state is committed and hashed."""
        cutoff = time.monotonic() - self.idle_s
        if not any(sh.touched <= cutoff for sh in st.shots.values()):
            return
        async with st.lock:
            for shot, sh in list(st.shots.items()):
                if (sh.touched <= cutoff and not sh.hash_behind and not sh.unwritten and sh.hashing is None
                        and sh.reducer.world.head_seq <= st.committed):
                    del st.shots[shot]
                    sh.close()
                    self._hasher.forget(sh.shadow)
                    self.counts["shots_unloaded"] += 1

    async def _verify(self, st: _Project, once: bool = False) -> bool:
        """Compare the stream's head with what was folded; False (and the project halted) when the stream ends
        before it. ``once``: a failed check is counted and passed over; otherwise it is retried until it answers."""
        folded = st.folded  # read before the head: every event folded so far was in the stream then

        async def head() -> int:
            try:
                return await self.log.head(st.name)
            except UnknownProject:
                return 0

        try:
            h = await self._retry("log", head, st, tries=1 if once else None)
        except (asyncio.CancelledError, ProjectHalted):
            raise
        except Exception:  # counted and logged by _retry; the next check tries again
            return True
        st.head = h
        if h < folded:
            self._halt(st, f"the event stream of project {st.name!r} ends at seq {h}, before the projection's "
                           f"checkpoint {folded}: its tail was lost (a crash before fsync, or the stream was "
                           "recreated). New events would reuse committed seqs, so the project is stopped: restore "
                           "the stream, or rebuild the projection, then restart")
            return False
        if h - st.committed > self.ready_lag:
            st.behind_since = st.behind_since or time.monotonic()
        else:
            st.behind_since = None
        return True

    def _halt(self, st: _Project, reason: str) -> None:
        if st.halted is not None:
            return
        st.halted = reason
        self.counts["halted"] += 1
        log.error("projector: %s", reason)
        st.stopped.set()

    def _stop_halted(self, st: _Project) -> None:
        """A halted project forgets its shots (they may hold events the stream lost) and fails every wait."""
        for sh in st.shots.values():
            sh.close()
        st.shots.clear()
        while st.waiting:
            future = heapq.heappop(st.waiting)[2]
            if not future.done():
                future.set_exception(ProjectHalted(st.halted))

    async def _next(self, st: _Project, queue: asyncio.Queue) -> Stored:
        """The next event to fold; while waiting for it, refresh the catalogue hashes that fell behind (a large
        document's in the hashing worker, written once it answers)."""
        while True:
            stale = self._stale(st)
            if not stale:
                return await queue.get()
            now = time.monotonic()
            due = min(self._refresh_due(st, sh, now) for _, sh in stale)
            try:
                async with asyncio.timeout(max(0.0, due)):
                    return await queue.get()  # a cancelled get takes nothing off the queue
            except TimeoutError:
                pass
            now = time.monotonic()
            for shot, sh in stale:
                if sh.unwritten and sh.hashed[0] <= st.committed:
                    pair, sh.unwritten = sh.hashed, False
                    await self._retry("store", lambda: self.store.refresh_hash(st.name, shot, *pair), st)
                    self.counts["hash_refreshes"] += 1
                elif (sh.hash_behind and sh.hashing is None and now - sh.hashed_at >= sh.hash_every
                      and sh.reducer.world.head_seq <= st.committed):
                    if sh.doc_bytes >= OFFLOAD_BYTES:
                        self._hash_off_loop(sh, now)
                        continue
                    pair = self._safe_hash(sh, now)
                    if pair is not None:
                        await self._retry("store", lambda: self.store.refresh_hash(st.name, shot, *pair), st)
                        self.counts["hash_refreshes"] += 1

    @staticmethod
    def _refresh_due(st: _Project, sh: _Shot, now: float) -> float:
        """Seconds until ``sh``'s catalogue hash should be looked at again."""
        if sh.hashing is not None or sh.unwritten:
            return 0.02
        due = sh.hashed_at + sh.hash_every - now
        if sh.reducer.world.head_seq > st.committed:
            due = max(due, 0.01)  # the row to refresh is not committed yet: look again shortly
        return due

    @staticmethod
    def _stale(st: _Project) -> list[tuple[str, _Shot]]:
        return [(shot, sh) for shot, sh in st.shots.items() if sh.hash_behind or sh.unwritten or sh.hashing]

    def current_hash(self, project: str, shot: str) -> tuple[int, str] | None:
        """``(head_seq, state_hash)`` of a loaded shot as folded now (None when not loaded)."""
        st = self._projects.get(project)
        sh = st.shots.get(shot) if st else None
        if sh is None:
            return None
        if sh.hashed is not None and not sh.hash_behind:
            return sh.hashed
        return self._hash(sh, time.monotonic())

    async def _write_hash(self, st: _Project, shot: str, sh: _Shot) -> None:
        """Hash the shot now and write the pair to its catalogue row (its head must be committed)."""
        await self.store.refresh_hash(st.name, shot, *self._hash(sh, time.monotonic()))

    def _safe_hash(self, sh: _Shot, now: float) -> tuple[int, str] | None:
        """:meth:`_hash`, or None (counted, logged, and not tried again for ``hash_every``) when hashing raises."""
        try:
            return self._hash(sh, now)
        except Exception:
            self.counts["hash_errors"] += 1
            sh.hashed_at = now
            log.exception("projector: hashing %s/%s failed", sh.reducer.project, sh.reducer.shot)
            return None

    @staticmethod
    def _hash(sh: _Shot, now: float) -> tuple[int, str]:
        t = time.perf_counter()
        canonical = canonical_update(sh.reducer.doc)  # what ShotReducer.state_hash hashes
        sh.hashed = (sh.reducer.world.head_seq, hashlib.sha256(canonical).hexdigest())
        sh.hashed_at = now
        sh.doc_bytes = len(canonical)
        sh.unwritten = False
        sh.hash_every = max(HASH_EVERY_S, (time.perf_counter() - t) / HASH_SHARE)
        return sh.hashed

    def _hash_off_loop(self, sh: _Shot, now: float) -> None:
        """Start hashing ``sh`` at its head in the hashing worker, which holds a shadow of the document: only the
        updates folded since the last call are handed over (the first call seeds it with ``doc.get_update()``).
        The pair lands in ``sh.hashed`` (marked unwritten) when the worker answers; a failure is counted and tried
        again after ``hash_every``."""
        if sh.hashing is not None:
            return
        head = sh.reducer.world.head_seq
        sh.hashed_at = now
        try:
            answer = self._hasher.canonical(sh.shadow, sh.reducer.doc)  # the document as it is now, at ``head``
        except Exception:  # noqa: BLE001
            self.counts["hash_errors"] += 1
            log.exception("projector: hashing %s/%s failed", sh.reducer.project, sh.reducer.shot)
            return

        async def job() -> None:
            try:
                _, digest, size, took = await answer
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                self.counts["hash_errors"] += 1
                log.exception("projector: hashing %s/%s failed", sh.reducer.project, sh.reducer.shot)
                return
            finally:
                sh.hashing = None
            if sh.hashed is None or head > sh.hashed[0]:
                sh.hashed, sh.unwritten = (head, digest), True
            sh.doc_bytes = size
            sh.hash_every = max(HASH_EVERY_S, took / HASH_SHARE)
            self.counts["hashes_off_loop"] += 1

        sh.hashing = asyncio.get_running_loop().create_task(job())

    async def _read(self, st: _Project, queue: asyncio.Queue, after: int) -> None:
        delay = 0.05
        while True:
            try:
                async for stored in self.log.follow(st.name, after=after):
                    if stored.seq <= after:
                        continue
                    await queue.put(stored)
                    after = stored.seq
                    delay = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.counts["log_errors"] += 1
                log.warning("projector: following %s failed (%s: %s); retrying in %.2fs",
                            st.name, type(e).__name__, e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max_s)

    async def _load(self, st: _Project, shot: str, tries: int | None = None) -> _Shot:
        """Load ``shot`` at the folded position (the caller holds ``st.lock``); events whose fold raises are
        rejected as the live fold rejects them (:func:`projections.replay.fold_tail`). Retried until it loads, or
        ``tries`` times."""
        upto = st.folded

        async def build() -> tuple[ShotReducer, int]:
            snap = await self.store.latest_snapshot(st.name, shot, at_most_seq=upto)

            def start() -> ShotReducer:
                if snap is None:
                    return ShotReducer(st.name, shot)
                reducer = ShotReducer(st.name, shot, snapshot=snap.doc)
                reducer.last_seq = snap.seq
                return reducer

            after = 0 if snap is None else snap.seq
            if upto <= after:
                return start(), 0
            reducer, applied, poisoned = await fold_tail(self.log, start, st.name, shot, after, upto, st.poisoned)
            if len(poisoned) > len(st.poisoned):
                self.counts["fold_errors"] += len(poisoned) - len(st.poisoned)
                st.poisoned.update(poisoned)
            return reducer, applied

        reducer, applied = await self._retry("load", build, None if tries else st, tries)
        sh = st.shots[shot] = _Shot(reducer, applied)
        self.counts["shots_loaded"] += 1
        return sh

    async def _fold(self, st: _Project, batch: list[Stored]) -> "_Folded":
        """Fold ``batch`` into the shots' reducers and tell the listeners; what the commit needs is returned."""
        rows, snapshots, effects = [], [], []
        touched: dict[str, _Shot] = {}
        async with st.lock:
            for stored in batch:
                sh = st.shots.get(stored.shot) or await self._load(st, stored.shot)
                error = st.poisoned.get(stored.seq)  # refolded after a restart: rejected again, not tried
                if error is None:
                    try:
                        outcome, update, event = sh.fold(stored.seq, stored.data)
                    except Exception as e:  # noqa: BLE001 - no event stops the projector
                        error = type(e).__name__
                        self.counts["fold_errors"] += 1
                        log.error("projector: folding %s/%s seq %d raised %s: %s; the event is rejected",
                                  st.name, stored.shot, stored.seq, error, e, exc_info=True)
                if error is not None:
                    sh = await self._reject_poisoned(st, stored, error)
                    outcome, update, event = internal_rejection(stored.seq, error), b"", _decoded(stored.data)
                st.folded = stored.seq
                rows.append(self._audit_row(st.name, stored, event, outcome))
                if outcome.applied:
                    sh.since_snapshot += 1
                    sh.since_doc_snapshot += 1
                    if sh.since_snapshot >= max(self.snapshot_every, sh.world_every):
                        snapshots.extend(self._safe_snapshots(st.name, stored.shot, stored.seq, sh))
                touched[stored.shot] = sh
                effects.append((stored.shot, outcome, update, event))
        updates = {shot: self._catalogue_row(shot, sh) for shot, sh in touched.items()}
        # Listeners (socket broadcasts, agents) hear of each event as soon as it is folded: it is durable in the
        # log already, and folding is deterministic, so a crash before its commit re-folds the same events and
        # notifies them again (a Yjs update applied twice is a no-op). Verdicts (wait_for) still wait for the
        # commit, so a client that reads its history right after a command finds the entry.
        for shot, outcome, update, event in effects:
            await self._notify(st.name, shot, outcome, update, event)
        self._batch_done()
        return _Folded(rows, updates, snapshots, [outcome for _, outcome, _, _ in effects], batch[-1].seq)

    async def _reject_poisoned(self, st: _Project, stored: Stored, error: str) -> _Shot:
        """The shot after rejecting ``stored`` because its fold raised: reloaded as it was before the event
        (whatever the failed fold half-wrote is dropped), exactly as a replay folds it."""
        st.poisoned[stored.seq] = error
        old = st.shots.pop(stored.shot, None)
        if old is not None:
            old.close()
        sh = await self._load(st, stored.shot)  # at st.folded: the events before this one
        sh.reducer.last_seq = max(sh.reducer.last_seq, stored.seq)
        return sh

    def _audit_row(self, project: str, stored: Stored, event: Event | None, outcome: Outcome) -> AuditEntry:
        try:
            return audit_entry_for(project, stored.shot, stored.seq, stored.data, event, outcome.applied,
                                   outcome.reason)
        except Exception:  # noqa: BLE001 - the row is still written, with the raw bytes
            log.exception("projector: the audit row of %s seq %d failed; storing the raw event", project, stored.seq)
            return AuditEntry(project=project, shot=stored.shot, seq=stored.seq,
                              status="applied" if outcome.applied else "rejected", reason=outcome.reason,
                              raw=bytes(stored.data))

    def _safe_snapshots(self, project: str, shot: str, seq: int, sh: _Shot) -> list:
        """:meth:`_snapshots`, or none when taking them raises (counted: snapshots only shorten loads)."""
        try:
            return self._snapshots(project, shot, seq, sh)
        except Exception:  # noqa: BLE001
            self.counts["snapshot_errors"] += 1
            sh.since_snapshot = sh.since_doc_snapshot = 0
            log.exception("projector: snapshotting %s/%s at seq %d failed; skipped", project, shot, seq)
            return []

    async def _commit(self, st: _Project, folded: asyncio.Queue) -> None:
        """Commit folded batches in order, while the next ones fold: all those waiting go in one transaction
        (a store error retries it until it commits)."""
        while True:
            work = [await folded.get()]
            while not folded.empty():
                work.append(folded.get_nowait())
            rows = [r for w in work for r in w.rows]
            updates = list({shot: u for w in work for shot, u in w.updates.items()}.values())
            checkpoint = work[-1].checkpoint
            snapshots = [x for w in work for x in w.snapshots] + self._encoded_snapshots(st, checkpoint)
            await self._retry("store", lambda: self.store.commit_batch(st.name, rows, updates, snapshots, checkpoint),
                              st)
            self.counts["commits"] += 1
            self.counts["events"] += len(rows)
            st.committed = max(st.committed, checkpoint)
            for w in work:
                for outcome, row in zip(w.outcomes, w.rows):
                    st.outcomes[outcome.seq] = outcome
                    st.event_ids[outcome.seq] = row.event_id
                    self.counts["applied" if outcome.applied else "rejected"] += 1
            while len(st.outcomes) > _OUTCOMES_KEPT:
                st.outcomes.popitem(last=False)
                st.event_ids.popitem(last=False)
            self._release(st)

    def _encoded_snapshots(self, st: _Project, checkpoint: int) -> list:
        """The document snapshots the hashing worker has finished, at seqs this commit covers."""
        out, kept = [], []
        for seq, shot, task in st.pending_snapshots:
            if not task.done() or seq > checkpoint:
                kept.append((seq, shot, task))
            elif task.cancelled() or task.exception() is not None:
                self.counts["snapshot_errors"] += 1
                log.error("projector: snapshotting %s/%s at seq %d failed; skipped", st.name, shot, seq,
                          exc_info=None if task.cancelled() else task.exception())
            else:
                doc, digest, _, _ = task.result()
                out.append(Snapshot(project=st.name, shot=shot, seq=seq, doc=doc, state_hash=digest,
                                    reducer_version=REDUCER_VERSION))
                self.counts["snapshots_off_loop"] += 1
        st.pending_snapshots = kept
        return out

    @staticmethod
    def _release(st: _Project) -> None:
        """Wake the waits for seqs now committed."""
        while st.waiting and st.waiting[0][0] <= st.committed:
            future = heapq.heappop(st.waiting)[2]
            if not future.done():  # a wait that timed out or was cancelled is done already
                future.set_result(None)

    def _catalogue_row(self, shot: str, sh: _Shot) -> ShotUpdate:
        """The shot's catalogue row. Its (head_seq, state_hash) pair is always consistent but may be up to
        ``HASH_EVERY_S`` behind, longer for a large document (see there); ``last_seq`` and the event count are
        always current."""
        now = time.monotonic()
        if sh.hashed is None or (sh.hash_behind and now - sh.hashed_at >= sh.hash_every):
            if sh.hashed is not None and sh.doc_bytes >= OFFLOAD_BYTES:
                self._hash_off_loop(sh, now)  # the row carries the last pair; the new one is written when ready
            else:
                self._safe_hash(sh, now)
        head, state_hash = sh.hashed or (0, "")
        return ShotUpdate(shot, head, sh.reducer.last_seq, state_hash)

    def _snapshots(self, project: str, shot: str, seq: int, sh: _Shot) -> list:
        """A world snapshot every ``snapshot_every`` applied events while the world is small, then less often as
        it grows (every ``snapshot_every × keys/WORLD_SNAPSHOT_KEYS``); a document snapshot likewise by document
        size (every ``snapshot_every × size/DOC_SNAPSHOT_BYTES``). So the work and bytes snapshots take stay
        proportional to the events, not to events × shot size."""
        world = sh.reducer.world
        out: list = [WorldSnapshot(project=project, shot=shot, seq=seq, world=encode_world(world),
                                   reducer_version=REDUCER_VERSION)]
        sh.since_snapshot = 0
        keys = sum(len(t) for e in world.entities.values() for t in e.tracks.values())
        sh.world_every = self.snapshot_every * max(1, (keys + 2 * len(world.entities)) // WORLD_SNAPSHOT_KEYS)
        if sh.since_doc_snapshot >= self.snapshot_every * max(1.0, sh.doc_bytes / DOC_SNAPSHOT_BYTES):
            if sh.doc_bytes >= OFFLOAD_BYTES:  # encoded in the worker; committed with a later batch
                task = asyncio.get_running_loop().create_task(
                    self._hasher.canonical(sh.shadow, sh.reducer.doc, want_doc=True))
                self._projects[project].pending_snapshots.append((seq, shot, task))
                sh.since_doc_snapshot = 0
                return out
            doc = sh.reducer.snapshot()
            out.append(Snapshot(project=project, shot=shot, seq=seq, doc=doc,
                                state_hash=hashlib.sha256(doc).hexdigest(), reducer_version=REDUCER_VERSION))
            sh.doc_bytes = len(doc)
            sh.since_doc_snapshot = 0
        return out

    def _batch_done(self) -> None:
        for listener in list(self._batch_listeners):
            try:
                listener()
            except Exception:
                self._listener_failed(listener, "at the end of a batch")

    async def _notify(self, project, shot, outcome, update, event) -> None:
        for listener in list(self._listeners):
            try:
                result = listener(project, shot, outcome, update, event)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                self._listener_failed(listener, f"on {project} seq {outcome.seq}")

    def _listener_failed(self, listener, where: str) -> None:
        """A listener's failure is logged and counted; the fold goes on (event consumers never stop on one)."""
        self.counts["listener_errors"] += 1
        log.exception("projector: listener %r failed %s", listener, where)
