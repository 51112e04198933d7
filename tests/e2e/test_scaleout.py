"""Scale-out: two ``wnm up`` processes against the same NATS and PostgreSQL serve one shot.

Two editors, one on each instance, send commands concurrently (pipelined, some sent twice with the same
``command_id``); one of them drops its socket mid-stream and carries on at the *other* instance with the document it
holds, re-sending what had no result yet. At the end both instances, both clients and a from-scratch replay of the
log hold the same document (equal state hashes), and every command id is in the log exactly once. Then one
instance is SIGKILLed mid-session: the other goes on serving the shot, the clients that move to it hold its
document, and no acknowledged command is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections import Counter

import hashlib

import httpx
import pytest
from pycrdt import Map

from agents.base import available
from events.envelope import decode_event
from events.jetstream import JetStreamLog
from projections.reducer import ShotReducer
from realtime.auth import Tokens
from realtime.sync_client import SyncClient
from tests.e2e.sync_harness import SECRET, WnmUp, cube

TOKENS = Tokens(SECRET)
AGENTS_OFF = {name: "off" for name in available()}  # only the editors write


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory):
    """A NATS server of this module's own: every instance's projector and agents follow *every* project on the
    server they are given, so on a shared server other projects would only slow their start (minutes, here)."""
    from realtime import embedded

    with embedded.nats_server(tmp_path_factory.mktemp("scaleout-nats")) as url:
        yield url


@pytest.fixture
async def instances(nats_url, database_url, tmp_path):
    servers = [WnmUp(nats_url, database_url, tmp_path / f"i{i}") for i in range(2)]
    try:
        await asyncio.gather(*(s.start() for s in servers))
        yield servers
    finally:
        await asyncio.gather(*(s.stop() for s in servers))


async def _setup(http: str, p: str, s: str) -> None:
    owner = {"Authorization": f"Bearer {TOKENS.issue('ed1')}"}
    async with httpx.AsyncClient(base_url=http, headers=owner) as c:
        for path, body in [("/v1/projects", {"id": p}),
                           (f"/v1/projects/{p}/members", {"user": "ed2", "role": "director"}),
                           (f"/v1/projects/{p}/shots", {"id": s, "agents": AGENTS_OFF})]:
            r = await c.post(path, json=body)
            assert r.status_code in (200, 201), r.text


def _ops(user: str, eid: str, k: int) -> list:
    ops = [{"type": "key.set", "id": eid, "path": "transform.position", "frame": k, "value": [k, 0.5, 0],
            "interp": "linear"}]
    if k % 7 == 0:  # both editors write the same attribute: last writer (in stream order) wins everywhere
        ops.append({"type": "entity.set", "id": "shared", "path": "color", "value": [k % 10 / 10, 0.5, 0.5]})
    return ops


async def _edit(bases: list[str], p: str, s: str, user: str, n: int, seed: int, reconnect_at: int | None,
                window: int = 16) -> dict[str, dict]:
    """Send ``n`` commands through ``bases[0]`` (moving to ``bases[1]`` after ``reconnect_at``); every command
    gets exactly one result, re-sent with the same id after a lost connection."""
    rnd = random.Random(seed)
    token = TOKENS.issue(user)
    client = await SyncClient.connect(bases[0], p, s, token)
    eid = f"{user}-box"
    await client.command([cube(eid)], command_id=f"{user}-create")
    results: dict[str, dict] = {}
    pending: dict[str, tuple[list, asyncio.Future]] = {}
    resent = 0

    async def settle(until: int) -> None:
        while len(pending) > until:
            futs = [f for _, f in pending.values()]
            done, _ = await asyncio.wait(futs, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            assert done, f"{user}: no command result within 30 s ({len(pending)} pending)"
            for cid, (ops, fut) in list(pending.items()):
                if not fut.done():
                    continue
                if fut.exception() is not None:  # connection lost: the same command again, same id
                    pending[cid] = (ops, await client.send_command(ops, cid))
                else:
                    results[cid] = fut.result()
                    del pending[cid]

    for k in range(n):
        cid = f"{user}-{k}"
        ops = _ops(user, eid, k)
        pending[cid] = (ops, await client.send_command(ops, cid))
        if rnd.random() < 0.1:  # a retry reusing the command id while the first is in flight
            await client.send_command(ops, cid)
        if k == reconnect_at:
            doc = client.doc
            await client.close()  # mid-stream: commands in flight lose their results
            client = await SyncClient.connect(bases[1], p, s, token, doc=doc)  # the other instance
            for cid2, (ops2, fut) in list(pending.items()):
                if not fut.done() or fut.exception() is not None:
                    pending[cid2] = (ops2, await client.send_command(ops2, cid2))
                    resent += 1
        await settle(window)
    await settle(0)
    client.results, client.resent = results, resent
    return client


async def _hash(http: str, p: str, s: str) -> dict:
    async with httpx.AsyncClient(base_url=http, headers={"Authorization": f"Bearer {TOKENS.issue('ed1')}"}) as c:
        r = await c.get(f"/v1/projects/{p}/shots/{s}/hash")
        assert r.status_code == 200, r.text
        return r.json()


async def _scale_out(instances, nats_url, unique, n: int) -> None:
    p, s = unique, "s1"
    a, b = instances
    await _setup(a.http, p, s)
    async with httpx.AsyncClient(base_url=a.http, headers={"Authorization": f"Bearer {TOKENS.issue('ed1')}"}) as c:
        r = await c.post(f"/v1/projects/{p}/shots/{s}/commands",
                         json={"command_id": "shared-create", "ops": [cube("shared")]})
        assert r.json()["status"] == "applied", r.text
    ed1, ed2 = await asyncio.gather(
        _edit([a.base, b.base], p, s, "ed1", n, seed=1, reconnect_at=n // 2),
        _edit([b.base, a.base], p, s, "ed2", n, seed=2, reconnect_at=None))
    try:
        for ed in (ed1, ed2):
            assert len(ed.results) == n and all(r["status"] == "applied" for r in ed.results.values())
        assert ed1.resent > 0  # the reconnect really left commands without results, sent again elsewhere

        # the log: every command id exactly once
        log = await JetStreamLog.connect(nats_url)
        try:
            replay = ShotReducer(p, s)
            ids: Counter[str] = Counter()
            async for stored in log.read(p, s):
                replay.apply_raw(stored.seq, stored.data)
                ids[decode_event(stored.data).command_id] += 1
        finally:
            await log.close()
        sent = {f"{u}-{k}" for u in ("ed1", "ed2") for k in range(n)}
        assert sent <= set(ids) and all(ids[c] == 1 for c in sent), [c for c in sent if ids[c] != 1][:10]
        assert {ids[c] for c in ids} == {1}
        # each result's seq is where that command's event is
        seqs = [r["seq"] for ed in (ed1, ed2) for r in ed.results.values()]
        assert len(set(seqs)) == 2 * n

        # both instances, both clients and the replay: one document
        head = replay.world.head_seq
        want = replay.state_hash()
        for inst in (a, b):
            async with asyncio.timeout(20):
                while (h := await _hash(inst.http, p, s))["seq"] != head:
                    await asyncio.sleep(0.05)
            assert h["state_hash"] == want
        for ed in (ed1, ed2):
            await ed.wait(lambda c: c.doc.get("meta", type=Map)["head_seq"] == head, timeout=20)
            assert hashlib.sha256(ed.doc.get_update()).hexdigest() == want
        world = replay.world
        assert len(world.entities["ed1-box"].tracks["transform.position"]) == n
        assert len(world.entities["ed2-box"].tracks["transform.position"]) == n
    finally:
        await asyncio.gather(ed1.close(), ed2.close())


async def test_two_instances_two_editors_converge_with_no_command_lost_or_duplicated(instances, nats_url, unique):
    await _scale_out(instances, nats_url, unique, n=200)


@pytest.mark.slow
async def test_two_instances_two_editors_1000_commands_each(instances, nats_url, unique):
    await _scale_out(instances, nats_url, unique, n=1000)


async def test_awareness_crosses_instances_and_is_cleared_on_disconnect(instances, unique):
    p, s = unique, "s1"
    a, b = instances
    await _setup(a.http, p, s)
    mover = await SyncClient.connect(a.base, p, s, TOKENS.issue("ed1"))
    await mover.set_awareness({"user": {"id": "ed1"}, "dragging": "shared"})
    me = mover.doc.client_id
    # the first client of the shot on the other instance learns it at once: that instance asks the others
    watcher = await SyncClient.connect(b.base, p, s, TOKENS.issue("ed2"))
    try:
        await watcher.wait(lambda c: c.awareness.get(me) == {"user": {"id": "ed1"}, "dragging": "shared"}, timeout=5)
        await mover.set_awareness({"user": {"id": "ed1"}, "dragging": "ed1-box"})
        await watcher.wait(lambda c: c.awareness.get(me) == {"user": {"id": "ed1"}, "dragging": "ed1-box"})
        late = await SyncClient.connect(b.base, p, s, TOKENS.issue("ed2"))
        await late.wait(lambda c: me in c.awareness, timeout=5)
        await mover.close()
        await watcher.wait(lambda c: me not in c.awareness)
        await late.wait(lambda c: me not in c.awareness)
        await late.close()
    finally:
        await watcher.close()


# --- an instance killed mid-session ---------------------------------------------------------------------------

class Editor:
    """One editor's pipelined commands over the sync socket, moving to the next base in ``bases`` when its
    instance goes away: it carries its document over and sends again, with the same ids, every command that had
    no result yet."""

    def __init__(self, bases: list[str], p: str, s: str, user: str):
        self.bases, self.p, self.s, self.user = list(bases), p, s, user
        self.token = TOKENS.issue(user)
        self.eid = f"{user}-box"
        self.client: SyncClient | None = None
        self.results: dict[str, dict] = {}
        self.pending: dict[str, tuple[list, asyncio.Future]] = {}
        self.moves = 0
        self.resent = 0

    async def start(self) -> None:
        self.client = await SyncClient.connect(self.bases[0], self.p, self.s, self.token)
        r = await self.client.command([cube(self.eid)], command_id=f"{self.user}-create")
        assert r["status"] == "applied", r

    async def send(self, cid: str, ops: list) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            fut = await self.client.send_command(ops, cid)
        except ConnectionClosed:
            fut = asyncio.get_running_loop().create_future()
            fut.set_exception(ConnectionError("sent on a closed socket"))
        self.pending[cid] = (ops, fut)

    async def move(self) -> None:
        doc = self.client.doc
        with contextlib.suppress(Exception):
            await self.client.close()
        self.bases.pop(0)
        assert self.bases, f"{self.user}: lost its connection to the last instance"
        async with asyncio.timeout(20):
            while True:
                try:
                    self.client = await SyncClient.connect(self.bases[0], self.p, self.s, self.token, doc=doc)
                    break
                except (OSError, ConnectionError, TimeoutError):
                    await asyncio.sleep(0.2)
        self.moves += 1
        for cid, (ops, fut) in list(self.pending.items()):
            if not fut.done() or fut.exception() is not None:
                self.resent += 1
                await self.send(cid, ops)

    async def settle(self, until: int) -> None:
        while len(self.pending) > until:
            done, _ = await asyncio.wait([f for _, f in self.pending.values()], timeout=30,
                                         return_when=asyncio.FIRST_COMPLETED)
            assert done, f"{self.user}: no command result within 30 s ({len(self.pending)} pending)"
            lost = False
            for cid, (ops, fut) in list(self.pending.items()):
                if fut.done() and fut.exception() is None:
                    self.results[cid] = fut.result()
                    del self.pending[cid]
                elif fut.done():
                    lost = True
            if lost:
                await self.move()

    async def run(self, n: int, pause_at: int | None = None, resume: asyncio.Event | None = None,
                  window: int = 16) -> None:
        for k in range(n):
            if k == pause_at:
                await self.settle(0)
                await resume.wait()
            await self.send(f"{self.user}-{k}", _ops(self.user, self.eid, k))
            await self.settle(window)
        await self.settle(0)


async def _kill_mid_session(instances, nats_url, unique, n: int) -> None:
    """ed1 and ed2 edit through instance a, ed3 through b. When ed1 has half its results, a is SIGKILLed: ed1 and
    ed2 move to b with their documents and re-send what had no result; ed3 goes on only after the kill."""
    p, s = unique, "s1"
    a, b = instances
    owner = {"Authorization": f"Bearer {TOKENS.issue('ed1')}"}
    async with httpx.AsyncClient(base_url=a.http, headers=owner) as c:
        for path, body in [("/v1/projects", {"id": p}),
                           (f"/v1/projects/{p}/members", {"user": "ed2", "role": "director"}),
                           (f"/v1/projects/{p}/members", {"user": "ed3", "role": "director"}),
                           (f"/v1/projects/{p}/shots", {"id": s, "agents": AGENTS_OFF})]:
            r = await c.post(path, json=body)
            assert r.status_code in (200, 201), r.text
        r = await c.post(f"/v1/projects/{p}/shots/{s}/commands",
                         json={"command_id": "shared-create", "ops": [cube("shared")]})
        assert r.json()["status"] == "applied", r.text
    ed1, ed2 = Editor([a.base, b.base], p, s, "ed1"), Editor([a.base, b.base], p, s, "ed2")
    ed3 = Editor([b.base], p, s, "ed3")
    editors = (ed1, ed2, ed3)
    await asyncio.gather(*(ed.start() for ed in editors))
    killed = asyncio.Event()
    acked_before_kill: dict[str, dict] = {}

    async def killer():
        while len(ed1.results) < n // 2:
            await asyncio.sleep(0.005)
        for ed in editors:
            acked_before_kill.update(ed.results)
        a.proc.kill()                                   # SIGKILL: no shutdown, no goodbye to any socket
        a.proc.wait()
        killed.set()

    try:
        async with asyncio.timeout(240):
            await asyncio.gather(killer(), ed1.run(n), ed2.run(n), ed3.run(n, pause_at=n // 2, resume=killed))
        assert a.proc.returncode == -signal.SIGKILL
        assert ed1.moves == ed2.moves == 1 and ed3.moves == 0
        assert ed1.resent + ed2.resent > 0, "the kill left no command in flight: it tested nothing"
        assert len(acked_before_kill) >= n // 2
        for ed in editors:
            assert len(ed.results) == n and all(r["status"] == "applied" for r in ed.results.values()), ed.user

        # the log: every command id once, and every acknowledgement (those before the kill too) is where it said
        log = await JetStreamLog.connect(nats_url)
        try:
            replay = ShotReducer(p, s)
            ids: Counter[str] = Counter()
            at_seq: dict[int, str] = {}
            async for stored in log.read(p, s):
                replay.apply_raw(stored.seq, stored.data)
                cid = decode_event(stored.data).command_id
                ids[cid] += 1
                at_seq[stored.seq] = cid
        finally:
            await log.close()
        assert {ids[c] for c in ids} == {1}, [c for c in ids if ids[c] != 1][:10]
        for cid, r in {**acked_before_kill, **ed1.results, **ed2.results, **ed3.results}.items():
            assert at_seq.get(r["seq"]) == cid, (cid, r)
        world = replay.world
        for ed in editors:
            keys = world.entities[ed.eid].tracks["transform.position"]
            assert len(keys) == n, (ed.user, len(keys))

        # the survivor serves the shot, and every client that moved to it holds its document
        head, want = world.head_seq, replay.state_hash()
        async with asyncio.timeout(20):
            while (h := await _hash(b.http, p, s))["seq"] != head:
                await asyncio.sleep(0.05)
        assert h["state_hash"] == want
        for ed in editors:
            await ed.client.wait(lambda c: c.doc.get("meta", type=Map)["head_seq"] == head, timeout=20)
            assert hashlib.sha256(ed.client.doc.get_update()).hexdigest() == want, ed.user
        async with httpx.AsyncClient(base_url=b.http, headers=owner) as c:
            r = await c.post(f"/v1/projects/{p}/shots/{s}/commands",
                             json={"command_id": "after-kill", "ops": [cube("after")]})
            assert r.status_code == 200 and r.json()["status"] == "applied" and r.json()["seq"] == head + 1, r.text
    finally:
        await asyncio.gather(*(ed.client.close() for ed in editors if ed.client is not None),
                             return_exceptions=True)


async def test_an_instance_killed_mid_session_loses_no_acknowledged_command(instances, nats_url, unique):
    await _kill_mid_session(instances, nats_url, unique, n=120)


@pytest.mark.slow
async def test_an_instance_killed_mid_session_1000_commands_each(instances, nats_url, unique):
    await _kill_mid_session(instances, nats_url, unique, n=1000)
