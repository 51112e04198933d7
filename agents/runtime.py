"""The agent runtime (SPEC §7): follow a project's log, keep a replica of every shot seen, ask each agent to decide
on each applied event, and publish what it proposes.

An :class:`AgentRunner` serves a group of agents (one in ``wnm agents run collision``, all of them in ``wnm up``).
Per project it tails the log with the log port's ordered consumer (in stream order, never redelivered — JetStream
redelivery reorders messages, which a replica cannot afford), folds each event into that shot's replica — the same
:class:`~projections.reducer.ShotReducer` the server runs, loaded lazily (snapshot + tail) at the seq before the
first event it needs — and hands ``(world after the event, event, seq)`` to each agent's pure ``decide``.

Durability: each agent's position per project is a checkpoint (:class:`Checkpoints`, PostgreSQL in production),
saved right after the agent published for an event and at least every ``checkpoint_every_s`` otherwise; a
restarted runner resumes after it. What it publishes has ``command_id`` ``agent.<name>.<seq>.<i>``, sent as
``Nats-Msg-Id``, so an event decided again after a crash between publishing and checkpointing is appended once.
A project an agent has no checkpoint for is read from its start, but events older than ``fresh_s`` are only
folded, not decided on (an agent added to an old project does not repair its history).

Keeping up: a reader task tails the log while the agents decide, and what arrived meanwhile is handled as one
batch in which an edit superseded by a later waiting one (the same entities written again with the same kinds of
op: a drag, a re-keyed track) is folded but not decided on — its proposal would be stale — so under a stream of
edits the agents decide on the newest state instead of falling ever further behind (:func:`_superseded`).

Loop bounds: an agent never reacts to its own events, nor to rejected events, nor to an agent event at causation
depth ≥ ``max_depth`` (a person's or system's event has depth 0, an agent's event one more than its cause's).

Modes (``world.agent_mode(name)``, set by ``shot.configure``'s ``agents``): ``auto`` publishes each proposal as
one event (actor ``agent:<name>``, ``causation`` = the triggering seq, ``reason``) through the command service —
the one write path, so it is validated like anyone's edit; ``suggest`` stores it as a pending
:class:`~agents.suggestions.Suggestion`; ``off`` decides nothing.

Before it publishes, the runner waits until the command service's replica has folded the triggering event: that
replica (a server's projector) follows the log on its own consumer and may be behind this runner's, and a proposal
checked against a world without the event it answers is refused for what that event made — a layout's room was
refused with "unknown directive" when the projector had not folded the directive yet (issue 12 item 8). A proposal
refused all the same is shown to people (:mod:`agents.refusals`): a failed report on its directive, or a rejected
entry in the history with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict, deque
from typing import Awaitable, Callable, Protocol

import msgspec

from core.ops import ShotConfigure, op_entity_ids
from events.envelope import Actor, Command, Event, decode_event
from events.log import EventLog, LogError, Stored
from events.tasks import cancel_and_wait
from events.verdicts import CommandError
from projections.reducer import Outcome, ShotReducer

from . import spatial
from .base import Agent
from .refusals import Refusals
from .suggestions import Suggestion, SuggestionStore

__all__ = ["Checkpoints", "MemoryCheckpoints", "PgCheckpoints", "AgentRunner", "FollowingReplica",
           "command_id_for", "MAX_DEPTH", "Loader"]

log = logging.getLogger(__name__)

MAX_DEPTH = 3
LOOKAHEAD = 256
"""The most events the runner takes from its reader at once (see :func:`_superseded`)."""
"""Agent events caused (transitively) by this many agent events in a row trigger nothing more."""

Loader = Callable[[str, str, int], Awaitable[ShotReducer]]
"""``load(project, shot, upto)``: the shot's reducer after every event with seq ≤ upto (snapshot + tail)."""


def command_id_for(agent: str, seq: int, index: int = 0) -> str:
    """The command id of an agent's ``index``-th proposal for the event at ``seq`` (unique per project stream)."""
    return f"agent.{agent}.{seq}.{index}"


class Checkpoints(Protocol):
    async def get(self, agent: str, project: str) -> int | None: ...

    async def put(self, agent: str, project: str, seq: int) -> None: ...


class MemoryCheckpoints:
    def __init__(self):
        self.positions: dict[tuple[str, str], int] = {}

    async def get(self, agent, project):
        return self.positions.get((agent, project))

    async def put(self, agent, project, seq):
        key = (agent, project)
        self.positions[key] = max(seq, self.positions.get(key, 0))


class PgCheckpoints:
    """Checkpoints in ``agent_checkpoints`` (migrations/003_agents.sql); never moves backwards."""

    def __init__(self, pool):
        self.pool = pool

    async def get(self, agent, project):
        return await self.pool.fetchval(
            "SELECT seq FROM agent_checkpoints WHERE agent = $1 AND project = $2", agent, project)

    async def put(self, agent, project, seq):
        await self.pool.execute(
            "INSERT INTO agent_checkpoints AS c (agent, project, seq) VALUES ($1, $2, $3) "
            "ON CONFLICT (agent, project) DO UPDATE SET seq = GREATEST(c.seq, EXCLUDED.seq), updated_at = now()",
            agent, project, seq)


class FollowingReplica:
    """A command-service replica for processes without a projector (``wnm agents run``): each shot is loaded once
    and caught up with the log tail before every validation, so long-running processes validate against the head.
    At most ``max_shots`` shots are kept (the least recently used goes).

    The runner hands it every event it reads (:meth:`offer`): the next event of a loaded shot is folded here too,
    without reading the log again, and a shot not loaded yet is loaded in the background — so a proposal finds its
    shot at the head and waits for neither (a 10,000-prop shot's first repair after the props were made took
    0.42 s, folding them then, where the next took 8 ms)."""

    def __init__(self, log: EventLog, load: Loader, max_shots: int = 256):
        self.log, self._load, self.max_shots = log, load, max_shots
        self._reducers: OrderedDict[tuple[str, str], ShotReducer] = OrderedDict()
        self._loading: dict[tuple[str, str], asyncio.Future] = {}
        self._offered: dict[tuple[str, str], int] = {}  # the seq of the last event offered per shot
        self._behind: dict[tuple[str, str], asyncio.Future] = {}  # a catch-up from the log in the background
        self._outcomes: OrderedDict[tuple[str, int], Outcome] = OrderedDict()

    def offer(self, project: str, stored: Stored, follow: bool = True) -> None:
        """``stored``, the runner's next event of its project. The runner hands over every event it reads, in
        order (what makes folding it here right); ``follow=False`` (every agent is off on the shot) only notes it,
        so the events the replica then misses are read from the log when the shot is next followed."""
        key = (project, stored.shot)
        before, self._offered[key] = self._offered.get(key), stored.seq
        if not follow:
            return
        r = self._reducers.get(key)
        if r is not None and stored.seq <= r.last_seq:
            return  # folded already (a proposal's verdict read it from the log)
        if r is not None and before is not None and before <= r.last_seq:
            # every event of the shot up to `before` is folded, and the runner saw none between it and this one
            self._record(project, stored.seq, r.apply_raw(stored.seq, stored.data))
        elif key not in self._loading and key not in self._behind:
            task = self._behind[key] = asyncio.ensure_future(self._catch_up(project, stored.shot))
            task.add_done_callback(lambda t: (self._behind.pop(key, None), _background_done(t)))

    def _start_load(self, key: tuple[str, str], until: int | None) -> asyncio.Future:
        async def load() -> ShotReducer:
            project, shot = key
            try:
                r = await self._load(project, shot, until or await self.log.last_seq(project, shot))
            finally:
                self._loading.pop(key, None)
            self._reducers[key] = r
            while len(self._reducers) > self.max_shots:
                gone, _ = self._reducers.popitem(last=False)
                self._offered.pop(gone, None)  # loaded again from the log when next offered
            return r

        task = self._loading[key] = asyncio.ensure_future(load())
        return task

    async def _catch_up(self, project, shot, until=None) -> ShotReducer:
        key = (project, shot)
        r = self._reducers.get(key)
        if r is None:
            loading = self._loading.get(key) or self._start_load(key, until)
            r = await asyncio.shield(loading)  # shared with a background load or another caller; a cancelled
            # caller leaves the load to finish for the others
        if key in self._reducers:
            self._reducers.move_to_end(key)
        if until is not None and r.last_seq >= until:
            return r  # nothing to read (the runner's offers brought it here)
        async for stored in self.log.read(project, shot, after=r.last_seq, until=until):
            if stored.seq <= r.last_seq:
                continue  # folded meanwhile by another caller catching up the same shot, or offered
            self._record(project, stored.seq, r.apply_raw(stored.seq, stored.data))
        return r

    def _record(self, project: str, seq: int, outcome: Outcome) -> None:
        self._outcomes[(project, seq)] = outcome
        while len(self._outcomes) > 10_000:
            self._outcomes.popitem(last=False)

    async def reducer(self, project, shot) -> ShotReducer:
        return await self._catch_up(project, shot)

    async def outcome(self, project, shot, seq, timeout, event_id=None) -> Outcome:
        async with asyncio.timeout(timeout):
            await self._catch_up(project, shot, until=seq)
        out = self._outcomes.get((project, seq))
        return out if out is not None else Outcome(seq, True, "duplicate command: its verdict is in the history")


def _background_done(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:  # a proposal loads it again, and says so
        log.warning("agents: bringing a shot's command replica up to the head failed: %s", task.exception())


class _Member:
    """One agent inside a runner, with its per-project checkpoint state."""

    def __init__(self, agent: Agent):
        self.agent = agent
        self.position: dict[str, int] = {}
        self.saved: dict[str, int] = {}
        self.fresh_after: dict[str, float | None] = {}


class AgentRunner:
    """Runs ``agents`` over ``projects`` (default: every project the log knows, rescanned every ``rescan_s``).

    ``commands`` is a :class:`realtime.commands.CommandService`; ``load`` builds a shot's reducer at a seq;
    ``suggestions`` keeps proposals of agents in ``suggest`` mode. ``counts`` tallies what happened.
    """

    def __init__(self, agents: list[Agent], log: EventLog, commands, load: Loader, checkpoints: Checkpoints,
                 suggestions: SuggestionStore, *, projects: list[str] | None = None, max_depth: int = MAX_DEPTH,
                 fresh_s: float | None = 300.0, checkpoint_every_s: float = 1.0, max_shots: int = 256,
                 rescan_s: float = 2.0):
        names = [a.name for a in agents]
        if len(set(names)) != len(names):
            raise ValueError(f"agent names must be unique, got {names}")
        self.members = [_Member(a) for a in sorted(agents, key=lambda a: a.name)]
        self.log, self.commands, self.load = log, commands, load
        self.checkpoints, self.suggestions = checkpoints, suggestions
        self.refusals = Refusals(commands)
        self.projects, self.max_depth, self.fresh_s = projects, max_depth, fresh_s
        self.checkpoint_every_s, self.max_shots, self.rescan_s = checkpoint_every_s, max_shots, rescan_s
        self.counts: Counter[str] = Counter()
        self._replicas: dict[str, OrderedDict[str, ShotReducer]] = {}
        self._spatial: dict[tuple[str, str], spatial.Tracker] = {}  # each replica's spatial index
        self._asleep: set[tuple[str, str]] = set()  # shots whose agents are all off: no replica is kept
        self._depths: dict[str, OrderedDict[int, int]] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._last_save = time.monotonic()
        self.positions: dict[str, int] = {}  # project -> last seq handled (for tests and metrics)
        self._advanced = asyncio.Event()

    # ------------------------------------------------------------ running

    async def run(self) -> None:
        """Follow the projects until cancelled."""
        try:
            while True:
                try:
                    wanted = self.projects if self.projects is not None else await self.log.projects()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.counts["log_errors"] += 1
                    log.exception("agents: listing projects failed")
                    wanted = []
                for p in wanted:
                    t = self._tasks.get(p)
                    if t is None or t.done():
                        self._tasks[p] = asyncio.get_running_loop().create_task(self._follow(p),
                                                                                name=f"agents:{p}")
                await self._flush()
                await asyncio.sleep(self.rescan_s)
        finally:
            await self.stop()

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks.values())
        self._tasks.clear()

    async def wait_for(self, project: str, seq: int, timeout: float = 10.0) -> None:
        """Until this runner has handled ``seq`` of ``project`` (for tests and tools)."""
        async with asyncio.timeout(timeout):
            while self.positions.get(project, 0) < seq:
                self._advanced.clear()
                await self._advanced.wait()

    async def _start(self, project: str) -> int:
        start = None
        for m in self.members:
            cp = await self.checkpoints.get(m.agent.name, project)
            m.position[project] = m.saved[project] = cp or 0
            m.fresh_after[project] = None if cp is not None or self.fresh_s is None else time.time() - self.fresh_s
            start = (cp or 0) if start is None else min(start, cp or 0)
        return start or 0

    async def _follow(self, project: str) -> None:
        delay = 0.05
        while True:
            try:
                # inside the try: PostgreSQL may be down (restarting) when following starts again
                after = await self._start(project)
                self._replicas.pop(project, None)
                self._asleep = {k for k in self._asleep if k[0] != project}
                self.positions[project] = max(self.positions.get(project, 0), after)
                self._advanced.set()
                async for batch in self._batches(project, after):
                    superseded = _superseded(batch)  # seq → the later seq that supersedes it
                    held: dict[int, list[Stored]] = {}
                    for stored in batch:
                        if stored.seq <= after:
                            continue
                        by = superseded.get(stored.seq)
                        applied = await self.handle(project, stored, decide=by is None)
                        if by is not None:
                            held.setdefault(by, []).append(stored)
                        for earlier in held.pop(stored.seq, []):
                            if not applied:  # what superseded it was rejected: decide on it after all
                                await self.decide_late(project, earlier)
                        after = stored.seq
                    delay = 0.05
            except asyncio.CancelledError:
                await self._save(project, force=True)
                raise
            except Exception as e:
                self.counts["errors"] += 1
                log.warning("agents: following %s failed (%s: %s); retrying in %.2fs", project, type(e).__name__, e,
                            delay)
                try:
                    await self._save(project, force=True)
                except Exception as e2:  # the store may be what failed; positions are saved on the next pass
                    log.warning("agents: saving positions of %s failed (%s: %s)", project, type(e2).__name__, e2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _batches(self, project: str, after: int):
        """The project's events after ``after`` in stream order, in lists of those already waiting (at most
        :data:`LOOKAHEAD`): a reader task tails the log while the agents decide, so what arrived meanwhile is seen
        together and an event that a later one supersedes need not be decided on (:func:`_superseded`)."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=4 * LOOKAHEAD)

        async def read() -> None:
            try:
                async for stored in self.log.follow(project, after=after):
                    await queue.put(stored)
                raise LogError(f"following {project} ended")
            except asyncio.CancelledError:
                raise
            except BaseException as e:  # handed to the consumer, which retries from its checkpoint
                await queue.put(e)

        reader = asyncio.get_running_loop().create_task(read(), name=f"agents-read:{project}")
        try:
            while True:
                batch = [await queue.get()]
                while len(batch) < LOOKAHEAD and not queue.empty():
                    batch.append(queue.get_nowait())
                failed = next((x for x in batch if isinstance(x, BaseException)), None)
                ready = [x for x in batch if not isinstance(x, BaseException)]
                if ready:
                    yield ready
                if failed is not None:
                    raise failed
        finally:
            await cancel_and_wait(reader)

    async def _flush(self) -> None:
        """Save the positions reached since the last save: a quiet project's last events would otherwise stay
        unsaved until its next event (decided again after a restart, and reported as lag meanwhile)."""
        for project in list(self._tasks):
            try:
                await self._save(project, force=True)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the store may be down; the next pass saves them
                log.warning("agents: saving positions of %s failed (%s: %s)", project, type(e).__name__, e)

    async def _save(self, project: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_save < self.checkpoint_every_s:
            return
        self._last_save = now
        for m in self.members:
            pos = m.position.get(project, 0)
            if pos > m.saved.get(project, 0):
                await self.checkpoints.put(m.agent.name, project, pos)
                m.saved[project] = pos

    # ------------------------------------------------------------ one event

    async def _replica(self, project: str, shot: str, seq: int) -> ShotReducer:
        shots = self._replicas.setdefault(project, OrderedDict())
        r = shots.get(shot)
        if r is None or r.last_seq >= seq:
            r = await self.load(project, shot, seq - 1)
            shots[shot] = r
            self._spatial[(project, shot)] = spatial.Tracker()
            while len(shots) > self.max_shots:
                gone, _ = shots.popitem(last=False)
                self._spatial.pop((project, gone), None)
        shots.move_to_end(shot)
        return r

    async def _depth(self, project: str, shot: str, event: Event, seq: int) -> int:
        depths = self._depths.setdefault(project, OrderedDict())
        if seq in depths:
            return depths[seq]
        if event.actor.kind != "agent":
            d = 0
        elif event.causation is None:
            d = 1
        else:
            d = 1 + await self._depth_of(project, shot, event.causation, budget=self.max_depth + 1)
        depths[seq] = d
        while len(depths) > 100_000:
            depths.popitem(last=False)
        return d

    async def _depth_of(self, project: str, shot: str, seq: int, budget: int) -> int:
        depths = self._depths.setdefault(project, OrderedDict())
        if seq in depths:
            return depths[seq]
        if budget <= 0:
            return self.max_depth
        found = None
        async for stored in self.log.read(project, shot, after=seq - 1, until=seq):
            if stored.seq == seq:
                found = stored
        if found is None:
            return 0
        try:
            ev = decode_event(found.data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return 0
        if ev.actor.kind != "agent":
            return 0
        if ev.causation is None:
            return 1
        return 1 + await self._depth_of(project, shot, ev.causation, budget - 1)

    async def handle(self, project: str, stored: Stored, decide: bool = True) -> bool:
        """Fold one stored event into its replica and let every agent decide on it (``decide=False``: fold only —
        a later event already waiting supersedes it). Whether the event was applied."""
        seq = stored.seq
        offer = getattr(getattr(self.commands, "replica", None), "offer", None)
        if offer is not None:  # the command service's own replica follows too: a proposal need not wait for it
            offer(project, stored, follow=(project, stored.shot) not in self._asleep)
        if (project, stored.shot) in self._asleep and not _may_set_modes(stored.data):
            self._advance(project, seq)  # every agent is off on this shot, and this event cannot change that
            return False
        self._asleep.discard((project, stored.shot))
        reducer = await self._replica(project, stored.shot, seq)
        head = reducer.world.head_seq
        outcome = reducer.apply_raw(seq, stored.data)
        if all(reducer.world.agent_mode(m.agent.name) == "off" for m in self.members):
            self._asleep.add((project, stored.shot))  # reloaded from a snapshot when an agent is turned on
            self._replicas.get(project, {}).pop(stored.shot, None)
            self._spatial.pop((project, stored.shot), None)
        acted = False
        if outcome.applied:
            event = decode_event(stored.data)
            tracker = self._spatial.setdefault((project, stored.shot), spatial.Tracker())
            tracker.applied(reducer.world, event, head)
            if decide:
                acted = await self._decide_all(project, stored.shot, reducer, event, seq, tracker)
            else:
                self.counts["superseded"] += 1
        self._advance(project, seq)
        await self._save(project, force=acted)
        return outcome.applied

    async def decide_late(self, project: str, stored: Stored) -> None:
        """Let the agents decide on an event folded earlier without a decision, against the shot's world now (the
        event that superseded it was rejected)."""
        reducer = self._replicas.get(project, {}).get(stored.shot)
        if reducer is None:
            return
        event = decode_event(stored.data)
        tracker = self._spatial.setdefault((project, stored.shot), spatial.Tracker())
        self.counts["decided_late"] += 1
        if await self._decide_all(project, stored.shot, reducer, event, stored.seq, tracker, late=True):
            await self._save(project, force=True)

    async def _decide_all(self, project: str, shot: str, reducer: ShotReducer, event: Event, seq: int,
                          tracker: spatial.Tracker, late: bool = False) -> bool:
        depth = await self._depth(project, shot, event, seq)
        acted = False
        for m in self.members:
            if seq <= m.position.get(project, 0) and not late:
                continue
            fresh = m.fresh_after.get(project)
            if fresh is not None and event.ts < fresh:
                continue
            acted |= await self._decide(m.agent, project, shot, reducer, event, seq, depth, tracker)
        return acted

    def _advance(self, project: str, seq: int) -> None:
        for m in self.members:
            m.position[project] = max(m.position.get(project, 0), seq)
        self.positions[project] = seq
        self._advanced.set()

    async def _stale(self, project: str, shot: str, reducer: ShotReducer, ops: list) -> bool:
        """Whether an entity the ops write has changed since the event decided on (a later event moved it): the
        proposal was computed from values that are no longer there, and the agent will decide again on that later
        event instead. (Agents write whole values — a position is one vec3 — so publishing would undo the change.)"""
        replica = getattr(self.commands, "replica", None)
        if replica is None:
            return False
        head = await replica.reducer(project, shot)
        if head.last_seq <= reducer.last_seq:
            return False
        ids = sorted({i for op in ops for i in op_entity_ids(op)})
        return any(reducer.world.entities.get(i) != head.world.entities.get(i) for i in ids)

    async def _decide(self, agent: Agent, project: str, shot: str, reducer: ShotReducer, event: Event, seq: int,
                      depth: int, tracker: spatial.Tracker | None = None) -> bool:
        if event.actor.kind == "agent" and event.actor.id == agent.name:
            return False
        if depth >= self.max_depth:
            self.counts["depth_limited"] += 1
            return False
        mode = reducer.world.agent_mode(agent.name)
        if mode == "off":
            return False
        try:
            with spatial.using(tracker if tracker is not None else spatial.Tracker()):
                proposals = agent.decide(reducer.world, event, seq)
        except Exception as e:
            self.counts["decide_errors"] += 1
            log.exception("agent %s failed deciding on %s/%s seq %d", agent.name, project, shot, seq)
            if await self._validator_at(project, shot, seq) is None:  # its report is checked like a proposal
                await self.refusals.failed(agent.name, project, shot, event, seq, f"{type(e).__name__}: {e}")
            return False
        behind: str | None = None
        waited = False
        for i, p in enumerate(proposals):
            if not p.ops:
                continue
            cid = command_id_for(agent.name, seq, i)
            if mode == "suggest":
                await self.suggestions.propose(Suggestion(
                    id=cid, project=project, shot=shot, agent=agent.name, trigger_seq=seq, ops=list(p.ops),
                    reason=p.reason))
                self.counts["suggested"] += 1
                continue
            if not waited:  # the command service checks against its own replica: let it hold this event first
                behind, waited = await self._validator_at(project, shot, seq), True
                # A decision's proposals are checked together, before the first is published: the later ones
                # continue what the first began (a long motion is several events), so the first's own changes
                # don't make them stale.
                if behind is None and await self._stale(project, shot, reducer,
                                                        [op for q in proposals for op in q.ops]):
                    self.counts["stale"] += len([q for q in proposals if q.ops])
                    break
            why = behind
            if why is None:
                try:
                    res = await self.commands.submit(project, shot, Actor(kind="agent", id=agent.name),
                                                     Command(command_id=cid, ops=list(p.ops), reason=p.reason),
                                                     causation=seq, reason=p.reason)
                except CommandError as e:
                    why = e.reason
                else:
                    self.counts["duplicates" if res.duplicate else res.status] += 1
                    continue
            self.counts["refused"] += 1
            log.info("agent %s: proposal for %s/%s seq %d refused: %s", agent.name, project, shot, seq, why)
            await self.refusals.refused(agent.name, project, shot, seq, cid, p, why)
        return bool(proposals)

    async def _validator_at(self, project: str, shot: str, seq: int) -> str | None:
        """Wait until the command service's replica has folded the event at ``seq``: it validates against its
        own replica (a server's projector, which follows the log on its own consumer and may be behind this
        runner), and a proposal checked against a world without the event it answers is refused for what that
        event made — "unknown directive" for a layout answering its directive. None once it has, else why not."""
        replica = getattr(self.commands, "replica", None)
        if replica is None:
            return None
        timeout = getattr(self.commands, "outcome_timeout", 10.0)
        try:
            await replica.outcome(project, shot, seq, timeout)
        except (TimeoutError, asyncio.TimeoutError):
            return f"the command service had not applied seq {seq} within {timeout:g} s"
        except (LookupError, LogError) as e:
            return f"the command service could not confirm seq {seq}: {e}"
        return None


def _superseded(batch: list[Stored]) -> dict[int, int]:
    """The seqs in ``batch`` (stream order) that no agent needs to decide on, each with the first later seq that
    supersedes it: a person's or the system's event E when a later person's or system's event L of the same shot
    writes every entity E wrote with every kind of op E used (a drag sends the same ``entity.set`` many times a
    second; editors re-key a track). A proposal computed for E would be stale by L (:meth:`AgentRunner._stale`
    drops it) and L is decided on with the newer world, so deciding on E is wasted — under load, enough to leave
    the agents ever further behind. Agents' events never supersede nor are superseded (an agent's event at the
    depth limit is decided by no one), nor are events that write no entity (directives, shot settings). When L
    is rejected, the events it superseded are decided on after all (:meth:`AgentRunner.decide_late`); a chain
    E ⊆ L ⊆ L2 passes on, L2 covering both. Each event is compared only with the later ones that write one of its
    entities (nearest first), so a batch of editors each on their own entity costs linear time."""
    writes: list[tuple[int, str, frozenset, frozenset] | None] = []
    for stored in batch:
        try:
            event = decode_event(stored.data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            writes.append(None)
            continue
        ids = frozenset(i for op in event.ops for i in op_entity_ids(op))
        if event.actor.kind == "agent" or not ids or any(not op_entity_ids(op) for op in event.ops):
            writes.append(None)
            continue
        writes.append((stored.seq, stored.shot, ids, frozenset(type(op) for op in event.ops)))
    out: dict[int, int] = {}
    later_writing: dict[tuple[str, str], deque] = {}  # (shot, entity) → later writes, nearest first
    for w in reversed(writes):
        if w is None:
            continue
        seq, shot, ids, kinds = w
        for later in later_writing.get((shot, min(ids)), ()):  # a superseding write holds every id, this one too
            if ids <= later[2] and kinds <= later[3]:
                out[seq] = later[0]
                break
        for i in ids:
            later_writing.setdefault((shot, i), deque()).appendleft(w)
    return out


def _may_set_modes(data: bytes) -> bool:
    """Whether an event may change a shot's agent modes (a ``shot.configure`` op with ``agents``); a cheap test of
    the raw bytes first, since almost no event does."""
    if b'"shot.configure"' not in data and b"\\u" not in data:  # an escaped tag would hide from the first test
        return False
    try:
        event = decode_event(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False
    return any(isinstance(op, ShotConfigure) and op.agents is not None for op in event.ops)
