"""The sync socket under load: edit→peer latency, sustained ingest, initial sync of a big shot, fan-out.

    python bench/bench_sync.py [--agents both|on|off] [--props 100,1000,10000] [--editors 20] [--rate 10]
        [--seconds 5] [--http-rate 50] [--frames 240] [--keys 100000] [--fanout 200]
        [--only latency http repair ingest sync fanout]

Each part runs first in the default configuration — the repair agents on, as ``wnm up`` ships them (its supervised
agents process) — and then with every agent off on the bench's shots, printed one after the other for comparison
(``--agents both``, the default); ``--agents on`` or ``--agents off`` runs one of them only. ``--props N``
(repeatable, or a comma list) fills the shot the latency, HTTP and repair parts measure with N white-box props on
a grid 2 m apart (so none collide) first, and prints each figure per size with its ratio to the smallest size.

One ``wnm up`` process serves (embedded NATS and PostgreSQL started here unless WNM_NATS_URL / WNM_DATABASE_URL are
set); the clients run in this process, speaking the socket's frames directly. No Yjs document is kept on the hot
path: a client records, for each sync-update frame, when it arrived and the server clock its update starts at (read
from the update's header); the server may merge the updates of several events into one frame, and frames cover the
server's clock in order without gaps. Afterwards the shot's log is replayed here with the same deterministic
reducer, which gives the clock each event ends at: an event with end clock E reached a socket with the last frame
starting below E (a sentinel command sent last makes sure a later frame exists). Reported in the same run:

* floor — nats-py core publish → subscribe latency between two connections of this process, same pacing; and
  the durable floor: a JetStream append → its delivery to an ordered consumer on another connection, on the same
  NATS (file storage, fsync per write as ``wnm up`` runs it unless ``WNM_NATS_SYNC=interval``) — the log's share
  of every command → peer, which no server work can go under;
* latency — ``--editors`` sockets each send a command every 1/``--rate`` s; p50 / p99 of command sent → the Yjs
  update arriving at each *other* editor's socket, its ratio to the floor and how far above the durable floor;
* http — one HTTP client creates a prop per command (on the grid, clear of the others), ``--http-rate`` commands
  a second, each sent after the previous answer; p50 / p99 of POST sent → the Yjs update arriving at a socket
  watching the shot; measured twice, with a plain keep-alive HTTP/1.1 client (a few lines on asyncio streams:
  the server's time) and with httpx (whose own time per request, ≈ 0.5–1.3 ms here, is then in the figure);
* repair — (agents on) a box pushed by an HTTP command into another is freed by the collision agent: time from
  the command sent to the agent's repair (the event caused by it) reaching the watching socket;
* ingest — the same editors pipelining commands (a window each) for ``--seconds``: applied edits/s for one shot.
  Each editor keys its own entity's position at frames 0 … ``--frames`` − 1 and then round again (re-setting keys);
  a Yjs array insert walks the array, so long tracks cost more per key (``--frames 2000`` shows how much);
* initial sync — a fresh client of a shot with ``--keys`` keyframes: connect → step 2 received and applied to a
  pycrdt Doc; beside pycrdt-websocket (0.16) serving the same document bytes, same client code;
* fan-out — ``--fanout`` sockets on one shot, one editor: command sent → update at every socket.

Goals (SPEC issue 3, this 2-core machine): latency p50 ≤ 3 ms, p99 ≤ 15 ms; ingest ≥ 5,000 edits/s per shot.
Issue 12, at 1,000 props with agents on: HTTP command → update at the client p50 ≤ 3 ms, p99 ≤ 15 ms; socket
command → peer p50 ≤ 2 ms, p99 ≤ 10 ms; at 10,000 props within 1.2× of the figures at 1,000.
The server runs with the socket rate limit lifted (WNM_SOCKET_RATE_PER_S) so the limit is not what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from projections.reducer import client_id_for  # noqa: E402
from realtime import yprotocol as Y  # noqa: E402
from realtime.auth import Tokens  # noqa: E402
from realtime.embedded import free_port  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-sync-secret-0123456789abcdef"
TOKENS = Tokens(SECRET)
AGENTS_OFF = {name: "off" for name in ("bounds", "collision", "layout", "support")}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q / 100 * len(xs)))] if xs else float("nan")


def ms(x: float) -> str:
    return f"{x * 1000:.2f} ms"


class Raw:
    """A minimal client: (arrival time, server clock reached) of update frames, command results by id."""

    def __init__(self, ws, server_id: int):
        self.ws, self.server_id = ws, server_id
        self.arrivals: list[tuple[float, int]] = []
        self.results: dict[str, tuple[float, dict]] = {}
        self.synced = asyncio.Event()
        self.step2 = b""
        self.result_event = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, server_id: int) -> "Raw":
        ws = await connect(url, compression=None, max_size=None, ping_interval=None, open_timeout=30)
        c = cls(ws, server_id)
        await ws.send(Y.sync_step1(b"\x00"))
        await asyncio.wait_for(c.synced.wait(), 60)
        return c

    def clock(self) -> int:
        """The start clock of the last update frame (0 before any): everything below it has arrived."""
        return self.arrivals[-1][1] if self.arrivals else 0

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                t = time.perf_counter()
                k = frame[0]
                if k == 0:
                    if frame[1] == 2:
                        start = start_clock(Y.parse(frame).payload, self.server_id)
                        if start is not None:
                            self.arrivals.append((t, start))
                    elif frame[1] == 1:
                        self.step2 = frame
                        self.synced.set()
                elif k == 101:
                    r = json.loads(Y.parse(frame).payload)
                    self.results[r["command_id"]] = (t, r)
                    self.result_event.set()
        except ConnectionClosed:
            pass

    def arrival(self, end: int, start: int = 0) -> tuple[float, int]:
        """When the event ending at clock ``end`` arrived — the last frame starting below ``end`` — searching from
        index ``start``; and that frame's index."""
        i = start
        while self.arrivals[i + 1][1] < end:
            i += 1
        return self.arrivals[i][0], i

    async def command(self, cid: str, ops: list) -> float:
        t = time.perf_counter()
        await self.ws.send(Y.command(json.dumps({"command_id": cid, "ops": ops}).encode()))
        return t

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


def start_clock(update: bytes, client: int) -> int | None:
    """The clock at which ``client``'s structs in a Yjs v1 update start (None: the update has none — a deletion
    only). The shot's document has one writer, the server, so its section comes first."""
    n, pos = Y.read_var_uint(update, 0)
    if n == 0:
        return None
    _, pos = Y.read_var_uint(update, pos)  # number of structs
    cid, pos = Y.read_var_uint(update, pos)
    clock, _ = Y.read_var_uint(update, pos)
    return clock if cid == client else None


async def clocks(nats_url: str, p: str, s: str) -> dict[int, int]:
    """seq → the server clock of the shot's document once that event is folded, by replaying the log here."""
    from events.jetstream import JetStreamLog
    from projections.reducer import ShotReducer

    jlog = await JetStreamLog.connect(nats_url, name="bench-replay")
    try:
        r = ShotReducer(p, s)
        out = {}
        async for stored in jlog.read(p, s):
            r.apply_raw(stored.seq, stored.data)
            out[stored.seq] = Y.decode_state_vector(r.doc.get_state()).get(r.doc.client_id, 0)
        return out
    finally:
        await jlog.close()


def editor_place(eid: str) -> tuple[float, float]:
    """Where an editor's entity (``e3``, ``f0``, …) stands: 4 m apart on a row at z = −20, clear of the props' grid
    (z ≥ 0) and of each other however its keys move it (under 1 m), so repair agents have nothing to repair."""
    return 4.0 * int(eid[1:]), -20.0


def key_op(eid: str, k: int, frames: int = 2000) -> dict:
    """The k-th key an editor sets: frames 0, 1, …, ``frames`` − 1, then round again, re-setting existing keys."""
    x, z = editor_place(eid)
    return {"type": "key.set", "id": eid, "path": "transform.position", "frame": k % frames,
            "value": [x + (k % 97) / 100, 0, z], "interp": "linear"}


def box(eid: str) -> dict:
    x, z = editor_place(eid)
    return {"type": "entity.create", "id": eid, "kind": "prop",
            "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}, "transform.position": [x, 0.0, z]}}


class Server:
    def __init__(self, nats_url: str, database_url: str, data_dir: Path):
        self.port, self.nats_url = free_port(), nats_url
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"
        env = dict(os.environ, WNM_NATS_URL=nats_url, WNM_DATABASE_URL=database_url, WNM_PORT=str(self.port),
                   WNM_SECRET=SECRET, WNM_DATA_DIR=str(data_dir), WNM_SOCKET_RATE_PER_S="1000000",
                   WNM_SOCKET_BURST="1000000", WNM_RATE_PER_S="100000", WNM_RATE_BURST="100000",
                   PYTHONPATH=str(REPO))
        self.log = open(data_dir / "server.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "realtime.cli", "up"], env=env, cwd=REPO,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    async def ready(self) -> None:
        async with httpx.AsyncClient() as c:
            for _ in range(600):
                try:
                    if (await c.get(self.http + "/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.proc.poll() is not None:
                    raise SystemExit("wnm up exited; see server.log")
                await asyncio.sleep(0.1)
        raise SystemExit("wnm up did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def sync_url(server: Server, p: str, s: str, user: str = "bench") -> str:
    return f"{server.ws}/v1/projects/{p}/shots/{s}/sync?token={TOKENS.issue(user)}"


async def http_setup(server: Server, p: str, shots: list[str], agents: str = "on") -> httpx.AsyncClient:
    """The project and its shots: with the agents at their defaults (``agents`` "on", as ``wnm up`` ships them) or
    every agent off."""
    c = httpx.AsyncClient(base_url=server.http, headers={"Authorization": f"Bearer {TOKENS.issue('bench')}"},
                          timeout=120)
    r = await c.post("/v1/projects", json={"id": p})
    assert r.status_code == 201, r.text
    await add_shots(c, p, shots, agents)
    return c


async def add_shots(c: httpx.AsyncClient, p: str, shots: list[str], agents: str) -> None:
    for s in shots:
        body = {"id": s} if agents == "on" else {"id": s, "agents": AGENTS_OFF}
        r = await c.post(f"/v1/projects/{p}/shots", json=body)
        assert r.status_code == 201, r.text


GRID_M = 2.0
GRID_ROW = 100


def grid_box(eid: str, i: int) -> dict:
    """A 1 m white box at the i-th place of a grid 2 m apart (rows of 100 along x, then z): none touch another."""
    return {"type": "entity.create", "id": eid, "kind": "prop",
            "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]},
                      "transform.position": [GRID_M * (i % GRID_ROW), 0.0, GRID_M * (i // GRID_ROW)]}}


async def fill(c: httpx.AsyncClient, p: str, s: str, n: int, chunk: int = 1000) -> None:
    """``n`` props ``g0`` … on the grid, ``chunk`` per command."""
    for start in range(0, n, chunk):
        await command_http(c, p, s, f"fill-{start}",
                           [grid_box(f"g{i}", i) for i in range(start, min(n, start + chunk))])


async def command_http(c: httpx.AsyncClient | PlainHTTP, p: str, s: str, cid: str, ops: list) -> dict:
    path, body = f"/v1/projects/{p}/shots/{s}/commands", {"command_id": cid, "ops": ops}
    if isinstance(c, PlainHTTP):
        status, r = await c.post(path, body)
    else:
        resp = await c.post(path, json=body)
        status, r = resp.status_code, resp.json()
    assert status == 200 and r["status"] == "applied", r
    return r


# ---------------------------------------------------------------- floor


def _paced(publish, n: int, interval: float) -> tuple:
    """``(run, on_msg)``: subscribe ``on_msg``, then ``await run()`` publishes ``n`` timestamps ``interval`` apart
    with ``publish(bytes)`` and returns the seconds each took to arrive. Waits at most 10 s for the last: a message
    lost (core NATS delivers at most once) shortens the sample, whose n is printed, never the run."""
    got: list[float] = []
    done = asyncio.Event()

    async def on_msg(msg):
        got.append(time.perf_counter() - float(msg.data))
        if len(got) >= n:
            done.set()

    async def run() -> list[float]:
        for _ in range(n):
            await publish(repr(time.perf_counter()).encode())
            await asyncio.sleep(interval)
        try:
            await asyncio.wait_for(done.wait(), 10)
        except TimeoutError:
            pass
        return got

    return run, on_msg


async def nats_floor(nats_url: str, n: int, interval: float) -> list[float]:
    import nats

    a, b = await nats.connect(nats_url), await nats.connect(nats_url)
    run, on_msg = _paced(lambda data: a.publish("bench.floor", data), n, interval)
    await b.subscribe("bench.floor", cb=on_msg)
    await b.flush()
    try:
        return await run()
    finally:
        await a.close()
        await b.close()


async def durable_floor(nats_url: str, n: int, interval: float) -> list[float]:
    """JetStream append → delivery at an ordered consumer on a second connection, on a stream of its own (file
    storage: the server's fsync setting applies), ``n`` appends ``interval`` apart; seconds each."""
    import nats
    from nats.js import api

    a, b = await nats.connect(nats_url), await nats.connect(nats_url)
    name = "BENCH_FLOOR_" + os.urandom(3).hex().upper()
    subject = f"benchfloor.{name.lower()}"
    js = a.jetstream()
    await js.add_stream(name=name, subjects=[subject], storage=api.StorageType.FILE)
    try:
        run, on_msg = _paced(lambda data: a.publish(subject, data), n, interval)
        sub = await b.jetstream().subscribe(subject, cb=on_msg, ordered_consumer=True)
        got = await run()
        await sub.unsubscribe()
        return got
    finally:
        await js.delete_stream(name)
        await a.close()
        await b.close()


# ---------------------------------------------------------------- latency and ingest


async def reach(clients: list[Raw], clock: int, timeout: float = 60) -> None:
    try:
        async with asyncio.timeout(timeout):
            while min(c.clock() for c in clients) < clock:
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise SystemExit(f"updates never reached clock {clock}: sockets at {sorted({c.clock() for c in clients})}")


async def sentinel(c: Raw, cid: str, entity: str = "e0", ops: list | None = None) -> None:
    """One more applied command, so that a frame after the last measured event's exists."""
    await c.command(cid, ops or [key_op(entity, 1999, frames=240)])
    async with asyncio.timeout(60):
        while cid not in c.results:
            await asyncio.sleep(0.01)


def arrivals(c: Raw, ends: list[int]) -> list[float]:
    """When each event (by its end clock, ascending) reached ``c``."""
    out, i = [], 0
    for clock in ends:
        t, i = c.arrival(clock, i)
        out.append(t)
    return out


async def latency(server: Server, p: str, s: str, editors: int, rate: float, seconds: float, tag: str = "lat"):
    """``tag`` prefixes the command ids (a second run on the same shot needs another: a reused id is a retry)."""
    url, sid = sync_url(server, p, s), client_id_for(p, s)
    clients = [await Raw.open(url, sid) for _ in range(editors)]
    per = max(1, int(rate * seconds))
    sent: dict[str, tuple[int, float]] = {}

    async def editor(i: int) -> None:
        await asyncio.sleep(i / editors / rate)  # spread the editors over one period
        for k in range(per):
            cid = f"{tag}-{i}-{k}"
            sent[cid] = (i, await clients[i].command(cid, [key_op(f"e{i}", k)]))
            await asyncio.sleep(1 / rate)

    await asyncio.gather(*(editor(i) for i in range(editors)))
    total = editors * per
    async with asyncio.timeout(60):
        while sum(len(c.results) for c in clients) < total:
            await asyncio.sleep(0.05)
    assert all(r["status"] == "applied" for c in clients for _, r in c.results.values())
    by_seq = sorted((r["seq"], cid) for c in clients for cid, (_, r) in c.results.items())
    await sentinel(clients[0], f"{tag}-sentinel")
    clock = await clocks(server.nats_url, p, s)
    ends = [clock[seq] for seq, _ in by_seq]
    await reach(clients, ends[-1])
    lat = []
    for peer, c in enumerate(clients):
        for (_, cid), t in zip(by_seq, arrivals(c, ends)):
            who, t0 = sent[cid]
            if who != peer:
                lat.append(t - t0)
    own = [t - sent[cid][1] for c in clients for cid, (t, _) in c.results.items() if cid in sent]
    frames = statistics.mean(len(c.arrivals) for c in clients)
    for c in clients:
        await c.close()
    return lat, own, total / frames


async def ingest(server: Server, p: str, s: str, editors: int, seconds: float, window: int, frames: int):
    url, sid = sync_url(server, p, s), client_id_for(p, s)
    observer = await Raw.open(url, sid)
    clients = [await Raw.open(url, sid) for _ in range(editors)]
    stop = time.perf_counter() + seconds
    counts = [0] * editors

    async def editor(i: int) -> None:
        c, k = clients[i], 0
        while time.perf_counter() < stop:
            while k - len(c.results) < window and time.perf_counter() < stop:
                await c.command(f"ing-{i}-{k}", [key_op(f"e{i}", k, frames)])
                k += 1
            c.result_event.clear()
            await c.result_event.wait()
        counts[i] = k

    t0 = time.perf_counter()
    await asyncio.gather(*(editor(i) for i in range(editors)))
    total = sum(counts)
    async with asyncio.timeout(120):
        while sum(len(c.results) for c in clients) < total:
            await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - t0
    applied = [r["seq"] for c in clients for _, r in c.results.values() if r["status"] == "applied"]
    await sentinel(observer, "ing-sentinel")
    clock = await clocks(server.nats_url, p, s)
    await reach([observer], clock[max(applied)])  # every applied edit reached a peer
    frames = len(observer.arrivals)
    for c in clients + [observer]:
        await c.close()
    return len(applied), elapsed, frames


# ---------------------------------------------------------------- HTTP command → socket, and a repair


class PlainHTTP:
    """An HTTP/1.1 client of one keep-alive connection, written on asyncio streams: a request is a few bytes
    written and a response head plus ``Content-Length`` bytes read, so what is timed is the server (and the
    loopback), not a client library. httpx's own time per request here is ≈ 0.5–1.3 ms; both are printed."""

    def __init__(self, host: str, port: int, token: str):
        self.host, self.port, self.token = host, port, token
        self.reader = self.writer = None

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = json.dumps(body).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.token}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = dict(line.split(":", 1) for line in head[1:] if ":" in line)
        length = {k.strip().lower(): v.strip() for k, v in fields.items()}.get("content-length")
        if length is None:
            raise SystemExit(f"the server answered without a Content-Length: {head[0]}")
        return int(head[0].split()[1]), json.loads(await self.reader.readexactly(int(length)))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def http_latency(server: Server, c: httpx.AsyncClient | PlainHTTP, p: str, s: str, first: int, rate: float,
                       seconds: float, tag: str = "http") -> list[float]:
    """One HTTP client creating a prop per command on the grid from place ``first`` on (clear of every other),
    each after the previous answer, at most ``rate`` a second: POST sent → the update at a watching socket.
    ``c``: httpx, or :class:`PlainHTTP`; ``tag`` prefixes the command ids and entity ids."""
    watcher = await Raw.open(sync_url(server, p, s), client_id_for(p, s))
    sent: list[tuple[int, float]] = []
    stop = time.perf_counter() + seconds
    k = 0
    while time.perf_counter() < stop:
        ops = [grid_box(f"{tag}{k}", first + k)]
        t0 = time.perf_counter()
        r = await command_http(c, p, s, f"{tag}-{k}", ops)
        sent.append((r["seq"], t0))
        k += 1
        await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - t0)))
    await sentinel(watcher, f"{tag}-sentinel")
    clock = await clocks(server.nats_url, p, s)
    sent.sort()
    ends = [clock[seq] for seq, _ in sent]
    await reach([watcher], ends[-1])
    lat = [t - t0 for (_, t0), t in zip(sent, arrivals(watcher, ends))]
    await watcher.close()
    return lat


async def repair(server: Server, c: httpx.AsyncClient, p: str, s: str, first: int, timeout: float = 10.0):
    """A table and a chair on the grid at places ``first`` and ``first + 1``; an HTTP command pushes the chair into
    the table. Returns (seconds from the command sent to the collision agent's repair reaching a watching socket,
    the repair's reason), or (None, why) when no repair came within ``timeout``."""
    table, chair = f"table{first}", f"chair{first}"
    await command_http(c, p, s, f"rep-{first}-boxes", [grid_box(table, first), grid_box(chair, first + 1)])
    tx, tz = GRID_M * (first % GRID_ROW), GRID_M * (first // GRID_ROW)
    watcher = await Raw.open(sync_url(server, p, s), client_id_for(p, s))
    t0 = time.perf_counter()
    r = await command_http(c, p, s, f"rep-{first}-push", [
        {"type": "entity.set", "id": chair, "path": "transform.position", "value": [tx + 0.5, 0.0, tz]}])
    pushed = r["seq"]
    found = None
    async with asyncio.timeout(timeout + 5):
        while found is None and time.perf_counter() - t0 < timeout:
            h = await c.get(f"/v1/projects/{p}/shots/{s}/history", params={"entity": chair, "after": pushed})
            assert h.status_code == 200, h.text
            for e in h.json()["entries"]:
                if e.get("causation") == pushed and e.get("status") == "applied":
                    found = e
            if found is None:
                await asyncio.sleep(0.01)
    if found is None:
        await watcher.close()
        return None, f"no applied repair caused by seq {pushed} within {timeout:g} s"
    clock = await clocks(server.nats_url, p, s)
    await sentinel(watcher, f"rep-{first}-sentinel", ops=[
        {"type": "entity.set", "id": table, "path": "name", "value": "table"}])
    await reach([watcher], clock[found["seq"]])
    t, _ = watcher.arrival(clock[found["seq"]])
    await watcher.close()
    why = (found.get("payload") or {}).get("reason") or ""
    return t - t0, f"{why} (by {found.get('actor_kind')}:{found.get('actor_id')})"


# ---------------------------------------------------------------- initial sync


async def time_sync(url: str) -> float:
    from pycrdt import Doc

    t0 = time.perf_counter()
    ws = await connect(url, compression=None, max_size=None, ping_interval=None)
    await ws.send(Y.sync_step1(b"\x00"))
    async for frame in ws:
        m = Y.parse(frame)
        if m.type is Y.MessageType.SYNC and m.sub is Y.SyncType.STEP2:
            Doc().apply_update(m.payload)
            break
    t = time.perf_counter() - t0
    await ws.close()
    return t


def serve_pycrdt_websocket(port: int, doc_path: str) -> None:
    """``--serve-pycrdt PORT FILE``: pycrdt-websocket serving the document in FILE at every path."""
    import uvicorn
    from pycrdt import Doc
    from pycrdt.websocket import ASGIServer, WebsocketServer, YRoom

    async def main():
        doc = Doc()
        doc.apply_update(Path(doc_path).read_bytes())
        async with WebsocketServer(auto_clean_rooms=False) as server:
            room = YRoom(ydoc=doc)
            server.rooms["/big"] = room
            await server.start_room(room)
            config = uvicorn.Config(ASGIServer(server), host="127.0.0.1", port=port, log_level="warning",
                                    ws="auto", ws_max_size=1 << 30)  # uvicorn picks, as for `wnm up`
            await uvicorn.Server(config).serve()

    asyncio.run(main())


async def initial_sync(server: Server, c: httpx.AsyncClient, p: str, s: str, keys: int, tmp: Path):
    per_entity = 1000
    n_entities = max(1, keys // per_entity)
    await command_http(c, p, s, "big-entities", [box(f"b{i}") for i in range(n_entities)])
    for i in range(n_entities):
        x, z = editor_place(f"b{i}")  # small moves about its place: nothing for a repair agent to repair
        ops = [{"type": "key.set", "id": f"b{i}", "path": "transform.position", "frame": f,
                "value": [x + f / 1000, 0, z], "interp": "linear"} for f in range(per_entity)]
        await command_http(c, p, s, f"big-{i}", ops)
    url = sync_url(server, p, s)
    ours = [await time_sync(url) for _ in range(5)]
    probe = await Raw.open(url, client_id_for(p, s))
    update = Y.parse(probe.step2).payload
    await probe.close()
    doc_file = tmp / "big.update"
    doc_file.write_bytes(update)
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve-pycrdt", str(port), str(doc_file)], cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        for _ in range(300):
            try:
                async with connect(f"ws://127.0.0.1:{port}/big", ping_interval=None):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit("the pycrdt-websocket server exited; install the bench extras: "
                                     "pip install -e '.[bench]'") from None
                await asyncio.sleep(0.1)
        theirs = [await time_sync(f"ws://127.0.0.1:{port}/big") for _ in range(5)]
    finally:
        proc.terminate()
        proc.wait(10)
    return ours, theirs, len(update), n_entities * per_entity


# ---------------------------------------------------------------- fan-out


async def fanout(server: Server, p: str, s: str, n: int, commands: int, rate: float):
    url, sid = sync_url(server, p, s), client_id_for(p, s)
    clients = []
    for i in range(0, n, 20):
        clients += await asyncio.gather(*(Raw.open(url, sid) for _ in range(min(20, n - i))))
    editor = await Raw.open(url, sid)
    sent = {}
    for k in range(commands):
        sent[f"fan-{k}"] = await editor.command(f"fan-{k}", [key_op("f0", k)])
        await asyncio.sleep(1 / rate)
    async with asyncio.timeout(60):
        while len(editor.results) < commands:
            await asyncio.sleep(0.02)
    by_seq = sorted((r["seq"], cid) for cid, (_, r) in editor.results.items())
    await sentinel(editor, "fan-sentinel", "f0")
    clock = await clocks(server.nats_url, p, s)
    ends = [clock[seq] for seq, _ in by_seq]
    await reach(clients, ends[-1])
    at = [arrivals(c, ends) for c in clients]
    t0 = [sent[cid] for _, cid in by_seq]
    each = [ts[k] - t0[k] for ts in at for k in range(commands)]
    last = [max(ts[k] for ts in at) - t0[k] for k in range(commands)]
    for c in clients + [editor]:
        await c.close()
    return each, last


# ---------------------------------------------------------------- main


async def run(args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        await _run_in(args, tmp)
    finally:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)  # the embedded PostgreSQL cluster and NATS store: ~75 MB a run


def ratio(x: float, base: float) -> str:
    return f"×{x / base:.2f}" if base > 0 else "×-"


async def _run_in(args, tmp: Path) -> None:
    from realtime.bootstrap import services
    from realtime.settings import Settings

    def want(part: str) -> bool:
        return not args.only or part in args.only

    modes = ["on", "off"] if args.agents == "both" else [args.agents]
    sizes = args.props or [0]
    settings = Settings.from_env(data_dir=tmp)
    print(f"load average at start: {os.getloadavg()}; cpus: {os.cpu_count()}; agents: {', '.join(modes)}; "
          f"props: {', '.join(f'{n:,}' for n in sizes)}")
    with services(settings) as resolved:
        server = Server(resolved.nats_url, resolved.database_url, tmp)
        try:
            await server.ready()
            p = "bench" + os.urandom(3).hex()
            c = await http_setup(server, p, [])
            floor = None
            if want("latency"):
                gap = 1 / (args.rate * args.editors)
                floor = {"core": await nats_floor(resolved.nats_url, 1000, gap),
                         "durable": await durable_floor(resolved.nats_url, 1000, gap)}
                print()
                for what, xs in (("core", "nats-py core publish→subscribe"),
                                 ("durable", f"JetStream append→delivery, {_fsync(settings)}")):
                    print(f"floor  {xs}: p50 {ms(pct(floor[what], 50))}  p99 {ms(pct(floor[what], 99))}  "
                          f"(n={len(floor[what])})")
            for mode in modes:
                await _scaled(args, server, c, p, mode, sizes, floor, want)
                await _fixed(args, server, c, p, mode, tmp, want)
            await c.aclose()
            print(f"\nload average at end: {os.getloadavg()}")
        finally:
            server.stop()


async def full_collections(c: httpx.AsyncClient) -> int:
    """The server's full (generation 2) garbage collections so far, from its /metrics: each walks every object the
    server holds, on its event loop."""
    r = await c.get("/metrics")
    m = re.search(r'^python_gc_collections_total\{generation="2"\} ([0-9.e+]+)$', r.text, re.M)
    if m is None:
        raise SystemExit("the server's /metrics has no python_gc_collections_total: an older server?")
    return int(float(m.group(1)))


def _fsync(settings) -> str:
    if os.environ.get("WNM_NATS_URL"):
        return "fsync as that NATS is configured"
    return "fsync per write" if settings.nats_sync_always else "fsync every 2 min (WNM_NATS_SYNC=interval)"


async def agents_caught_up(c: httpx.AsyncClient, p: str, timeout: float = 300.0) -> float | None:
    """Seconds until ``wnm up``'s agents process has handled every committed event of project ``p`` (/readyz: each
    agent's lag there is 0); the first time includes loading the layout agent's text-embedding model. None: not
    within ``timeout``."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        r = await c.get("/readyz")
        lag = (r.json().get("agents") or {}).get("lag") or {}
        if lag and all(per.get(p, 1) == 0 for per in lag.values()):
            return time.perf_counter() - t0
        await asyncio.sleep(0.1)
    return None


async def _scaled(args, server: Server, c: httpx.AsyncClient, p: str, mode: str, sizes: list[int], floor, want):
    """latency, http and repair at each shot size, with each figure's ratio to the smallest size's."""
    rows: dict[str, dict[int, tuple[float, float]]] = {}
    for n in sizes:
        s = f"lat-{mode}-{n}"
        await add_shots(c, p, [s], mode)
        await command_http(c, p, s, f"{s}-boxes", [box(f"e{i}") for i in range(args.editors)])
        t, gcs = time.perf_counter(), await full_collections(c)
        await fill(c, p, s, n)
        head = f"\n[agents {mode}, {n:,} props]" + (f" filled in {time.perf_counter() - t:.1f} s" if n else "")
        head += f" (the server's full garbage collections meanwhile: {await full_collections(c) - gcs})"
        if mode == "on":
            waited = await agents_caught_up(c, p)
            head += (f"; agents caught up {waited:.1f} s later" if waited is not None
                     else "; agents NOT caught up after 300 s")
        print(head)
        first = n
        if want("latency"):
            gcs = await full_collections(c)
            lat, own, per_frame = await latency(server, p, s, args.editors, args.rate, args.seconds)
            gcs = await full_collections(c) - gcs
            l50, l99 = pct(lat, 50), pct(lat, 99)
            rows.setdefault("socket command → peer", {})[n] = (l50, l99)
            print(f"latency edit→peer, {args.editors} editors × {args.rate:g} cmd/s: p50 {ms(l50)}  "
                  f"p99 {ms(l99)}  (n={len(lat)}; goal p50 ≤ 2 ms, p99 ≤ 10 ms at 1,000 props)")
            if floor:
                core, durable = floor["core"], floor["durable"]
                print(f"        ratio to the floor: p50 ×{l50 / pct(core, 50):.1f}  p99 ×{l99 / pct(core, 99):.1f}; "
                      f"above the durable floor: p50 +{ms(l50 - pct(durable, 50))}  p99 +{ms(l99 - pct(durable, 99))}")
            print(f"        command → own result: p50 {ms(pct(own, 50))}  p99 {ms(pct(own, 99))}; "
                  f"{per_frame:.2f} events per update frame; the server's full garbage collections meanwhile: {gcs}")
        if want("http"):
            plain = PlainHTTP("127.0.0.1", server.port, TOKENS.issue("bench"))
            for name, client, tag in (("plain HTTP/1.1", plain, "http"), ("httpx", c, "httpx")):
                lat = await http_latency(server, client, p, s, first, args.http_rate, args.seconds, tag)
                h50, h99 = pct(lat, 50), pct(lat, 99)
                rows.setdefault(f"HTTP command → client ({name})", {})[n] = (h50, h99)
                print(f"http   POST command (creates a prop) → update at a socket, ≤ {args.http_rate:g}/s, "
                      f"{name} client: p50 {ms(h50)}  p99 {ms(h99)}  (n={len(lat)}; goal p50 ≤ 3 ms, p99 ≤ 15 ms "
                      "at 1,000 props)")
                first += len(lat) + 1
            await plain.close()
        if want("repair") and mode == "off":
            print("repair skipped: the shot's agents are off")
        elif want("repair"):
            took, whats = [], []
            for k in range(args.repairs):
                await agents_caught_up(c, p)  # measured from an idle agents process
                t, what = await repair(server, c, p, s, first + 2 + 2 * k, timeout=30.0)
                if t is None:
                    print(f"repair chair pushed into a table: {what}")
                    break
                took.append(t)
                whats.append(what)
            if took:
                rows.setdefault("repair (push → freed at the socket, p50 / max)", {})[n] = (pct(took, 50), max(took))
                print(f"repair {len(took)} chairs pushed into tables, freed at the socket after p50 "
                      f"{ms(pct(took, 50))}  max {ms(max(took))} ({', '.join(f'{x * 1e3:.0f}' for x in took)} ms); "
                      f"the first: {whats[0]}")
    if len(sizes) > 1 and rows:
        base = sizes[0]
        print(f"\n[agents {mode}] ratio of each size to {base:,} props (p50 / p99):")
        for name, per in rows.items():
            if base not in per:
                continue
            b50, b99 = per[base]
            cells = [f"{n:,}: {ms(a)} / {ms(b)} ({ratio(a, b50)} / {ratio(b, b99)})" for n, (a, b) in per.items()]
            print(f"        {name}: " + ";  ".join(cells))


async def _fixed(args, server: Server, c: httpx.AsyncClient, p: str, mode: str, tmp: Path, want):
    """ingest, initial sync and fan-out, as before (shots without the fill)."""
    if not (want("ingest") or want("sync") or want("fanout")):
        return
    shots = {part: f"{part}-{mode}" for part in ("ing", "big", "fan")}
    await add_shots(c, p, list(shots.values()), mode)
    await command_http(c, p, shots["ing"], "ing-boxes", [box(f"e{i}") for i in range(args.editors)])
    await command_http(c, p, shots["fan"], "fan-boxes", [box("f0")])
    print(f"\n[agents {mode}]")
    if want("ingest"):
        applied, elapsed, frames = await ingest(server, p, shots["ing"], args.editors, args.seconds, args.window,
                                                args.frames)
        print(f"ingest one shot, {args.editors} editors pipelining (window {args.window}), each keying its "
              f"own entity over {args.frames} frames: {applied} edits in {elapsed:.2f} s = "
              f"{applied / elapsed:,.0f} edits/s (goal ≥ 5,000)")
        print(f"        each socket got {frames} update frames ({applied / max(frames, 1):.1f} events per frame)")
    if want("sync"):
        ours, theirs, size, keys = await initial_sync(server, c, p, shots["big"], args.keys, tmp)
        print(f"initial sync, {keys:,} keyframes ({size / 1e6:.1f} MB update), connect → applied:")
        print(f"        this server:      first {ms(ours[0])}, median of next 4 "
              f"{ms(statistics.median(ours[1:]))}")
        print(f"        pycrdt-websocket: first {ms(theirs[0])}, median of next 4 "
              f"{ms(statistics.median(theirs[1:]))}")
    if want("fanout"):
        each, last = await fanout(server, p, shots["fan"], args.fanout, 50, 10)
        print(f"fan-out to {args.fanout} sockets (10 cmd/s): per socket p50 {ms(pct(each, 50))}  "
              f"p99 {ms(pct(each, 99))}; all {args.fanout} reached p50 {ms(pct(last, 50))}  "
              f"p99 {ms(pct(last, 99))}")


def sizes_arg(text: str) -> list[int]:
    try:
        out = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--props takes counts like 100,1000,10000, got {text!r}") from None
    if not out or any(n < 0 for n in out):
        raise argparse.ArgumentTypeError(f"--props takes counts ≥ 0, got {text!r}")
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-pycrdt":
        serve_pycrdt_websocket(int(sys.argv[2]), sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", choices=["on", "off", "both"], default="both",
                    help="the shots' repair agents: both in turn (on first: their defaults, as wnm up ships; then "
                         "off), or on / off only")
    ap.add_argument("--props", type=sizes_arg, action="append",
                    help="fill the measured shot with N props first (repeatable or a comma list: 100,1000,10000)")
    ap.add_argument("--http-rate", type=float, default=50.0, help="HTTP commands per second at most (http)")
    ap.add_argument("--editors", type=int, default=20)
    ap.add_argument("--rate", type=float, default=10.0, help="commands per second per editor (latency)")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--window", type=int, default=32, help="commands in flight per editor (ingest)")
    ap.add_argument("--frames", type=int, default=240,
                    help="ingest: each editor keys frames 0..N-1 of its entity's position, then re-sets them "
                         "(240: a 10 s shot at 24 fps; a Yjs array insert costs more the longer the track)")
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--fanout", type=int, default=200)
    ap.add_argument("--repairs", type=int, default=5, help="chairs pushed into tables, one at a time (repair)")
    ap.add_argument("--only", nargs="+", choices=["latency", "http", "repair", "ingest", "sync", "fanout"],
                    help="run only these parts (default: all)")
    args = ap.parse_args()
    args.props = sorted({n for group in args.props for n in group}) if args.props else None
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
