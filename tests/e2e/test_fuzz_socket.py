"""Mutated and random frames on the sync socket never make the server fail.

A seeded generator sends frames of every family the socket reads — random bytes, truncated integers, huge lengths,
unknown types, garbage and mutated sync steps, state vectors of foreign documents, oversized or crowded or malformed
awareness, command frames whose JSON is deeply nested, holds huge numbers, odd strings or bad command ids, and ops
with adversarial values (sent in bursts, as a fast client pipelines them). After every case:

* the socket was either answered or closed with a client-error code (never 1011, never dropped without a close);
* nothing was logged at ERROR and no task died with an unhandled exception;
* the shot still accepts a write from another client, so its projector is still folding.

The default run sends ``CASES`` cases (well under a minute); ``--runslow`` runs ``SLOW_CASES`` more with other seeds.
A failing case is printed with its index and seed: ``FUZZ_SEED=<seed>`` replays the run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from dataclasses import dataclass, field

import pytest
from pycrdt import Array, Doc, Map

from realtime import yprotocol as Y
from realtime.sync import SyncLimits
from realtime.sync_client import SyncClient
from tests.e2e.sync_harness import add_member, create_shot, cube, serve_sync, settings_for

CASES = 720
OP_CASES = 300
SLOW_CASES = 5000
ALLOWED_CLOSES = {1009, 1013, 4400, 4410}  # too large, try again, malformed, resync: all the client's doing

# ---------------------------------------------------------------- values a careless or hostile client sends

ODD_STRINGS = ["", " ", " x ", "x" * 5000, "x\r\ny", "\u0000", "\ud7ff\ue000", "é" * 300, "../../x", "%00", "$",
               "a.b.c", "wnm.>", "*", "\\", '"', "null", "🙂" * 50, "\t", "p\x00q"]
NUMBERS = [0, -1, 1, 2**31, 2**53 + 1, 2**63, 10**30, 10**400, -(10**400), 1e300, -1e300, 1e-300, 5e-324,
           1.7976931348623157e308, 0.1, -0.0, 3.5, 240, 241, -240]
IDS = ["cube", "cam", "p", "probe", "", "x" * 300, "a/b", " cube ", "\u0000"]
PATHS = ["transform.position", "transform.rotation", "transform.scale", "geometry", "parent", "color",
         "camera.focal_length", "light.intensity", "x" * 200, "", "transform", "transform.position.0"]
OPS = ["shot.configure", "entity.create", "entity.remove", "entity.set", "key.set", "key.remove", "track.clear",
       "track.shift", "skeleton.set", "relation.add", "relation.remove", "directive.add", "directive.update",
       "directive.remove", "nope", ""]


def nested(depth: int, leaf="x", kind: str = "list"):
    v = leaf
    for _ in range(depth):
        v = [v] if kind == "list" else {"k": v}
    return v


def nested_json(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


class Gen:
    """One seeded source of cases; each case is a list of frames sent back to back."""

    def __init__(self, seed: int, server_id: int, ops: bool = True):
        self.r = random.Random(seed)
        self.server_id, self.ops = server_id, ops
        doc = Doc()
        doc["m"] = m = Map()
        m["a"] = Array([1, 2, 3])
        m["s"] = "text"
        self.update = doc.get_update()
        self.sv = doc.get_state()

    # -------- building blocks

    def bytes_(self, n: int) -> bytes:
        return bytes(self.r.randrange(256) for _ in range(n))

    def mutate(self, data: bytes) -> bytes:
        r, b = self.r, bytearray(data)
        for _ in range(r.randint(1, 4)):
            what = r.randrange(4)
            if what == 0 and b:
                b[r.randrange(len(b))] = r.randrange(256)
            elif what == 1 and b:
                del b[r.randrange(len(b)):]
            elif what == 2:
                i = r.randrange(len(b) + 1)
                b[i:i] = self.bytes_(r.randint(1, 8))
            elif b:
                i = r.randrange(len(b))
                b[i:i] = b"\xff" * r.randint(1, 9)
        return bytes(b)

    def value(self, depth: int = 0):
        r = self.r
        k = r.randrange(10)
        if k < 3:
            return r.choice(NUMBERS)
        if k < 5:
            return r.choice(ODD_STRINGS)
        if k == 5:
            return r.choice([None, True, False, [], {}])
        if k == 6 or depth > 2:
            return [r.choice(NUMBERS) for _ in range(r.choice([0, 1, 2, 3, 4, 16]))]
        if k == 7:
            return nested(r.choice([10, 100, 400, 600]), kind=r.choice(["list", "dict"]))
        if k == 8:
            return {r.choice(ODD_STRINGS + PATHS): self.value(depth + 1) for _ in range(r.randint(0, 3))}
        return [self.value(depth + 1) for _ in range(r.randint(0, 3))]

    def op(self) -> dict:
        r = self.r
        op = {"type": r.choice(OPS), "id": r.choice(IDS)}
        fields = ["kind", "path", "value", "frame", "by", "start", "end", "interp", "props", "parent", "params",
                  "agent", "subject", "object", "template", "scale", "joints", "fps", "frame_start", "frame_end",
                  "resolution", "name", "in_tangent", "out_tangent", "offset", "joint", "agents", "bogus"]
        for f in r.sample(fields, r.randint(0, 6)):
            if f == "kind":
                op[f] = r.choice(["prop", "camera", "light", "character", "environment", "look_at", "attached_to",
                                  "nope", 3])
            elif f == "path":
                op[f] = r.choice(PATHS)
            elif f in ("frame", "by", "start", "end", "fps", "frame_start", "frame_end", "scale"):
                op[f] = r.choice(NUMBERS + [None, "1", []])
            elif f in ("subject", "object", "parent", "agent"):
                op[f] = r.choice(IDS + [None, 1, [1], {}])
            else:
                op[f] = self.value()
        return op

    def not_an_op(self):
        """Something in an op's place that no op decodes from (the command is refused before any check)."""
        v = self.value()
        return {**self.op(), "type": self.r.choice(["nope", "", 1, None])} if isinstance(v, dict) else v

    def command_body(self):
        r = self.r
        k = r.randrange(12)
        if k == 0:
            return self.bytes_(r.randint(0, 40))
        if k == 1:
            return nested_json(r.choice([50, 500, 5000]))
        if k == 2:
            return b"[" * r.choice([100, 1000, 30000])
        if k == 3:
            return r.choice([b"", b"null", b"1", b'"x"', b"[]", b"{}", b"1e400", b"1" + b"0" * 400, b"\xff\xfe",
                             b'{"command_id": "\\ud800", "ops": []}', b'{"command_id":"a","ops":[],"ops":[]}'])
        op = self.op if self.ops else self.not_an_op
        body: dict = {"command_id": r.choice(ODD_STRINGS + [None, 1, [], {}, "ok-%d" % r.randrange(10**6)]),
                      "ops": [op() for _ in range(r.choice([0, 1, 1, 2, 3, 50]))]}
        if r.random() < 0.2:
            body["expected_seq"] = r.choice(NUMBERS + [None, "1"])
        if r.random() < 0.1:
            body["reason"] = r.choice(ODD_STRINGS + [1, None])
        if r.random() < 0.1:
            body[r.choice(ODD_STRINGS)] = self.value()
        if r.random() < 0.05 or not self.ops:
            body["ops"] = r.choice([body["ops"], self.value()])
        return json.dumps(body).encode()

    def state(self) -> bytes:
        r = self.r
        k = r.randrange(8)
        if k == 0:
            return b"null"
        if k == 1:
            return self.bytes_(r.randint(0, 20))
        if k == 2:
            return nested_json(r.choice([10, 1000, 20000]))
        if k == 3:
            return json.dumps(self.value()).encode()
        if k == 4:
            return json.dumps({"user": self.value(), "frame": self.value()}).encode()
        return json.dumps({"user": {"id": r.choice(ODD_STRINGS), "name": "n"}, "frame": r.choice(NUMBERS),
                           "selection": [r.choice(IDS)], "drag": {"entity": "cube", "path": r.choice(PATHS),
                                                                  "value": self.value()}}).encode()

    def awareness_update(self) -> bytes:
        r = self.r
        k = r.randrange(10)
        if k == 0:
            n = r.choice([40, 8000])
            return Y.encode_awareness([Y.AwarenessEntry(i, 1, "{}") for i in range(n)])
        if k == 1:
            return Y.write_var_uint(r.choice([2**20, 2**40])) + self.bytes_(r.randint(0, 10))
        if k == 2:
            return Y.encode_awareness([Y.AwarenessEntry(1, 1, "{}")]) + self.bytes_(r.randint(1, 4))
        if k == 3:
            return Y.write_var_uint(1) + Y.write_var_uint(7) + Y.write_var_uint(1) + Y.write_bytes(b"x" * 70_000)
        parts = []
        n = r.randint(0, 5)
        for _ in range(n):
            cid = r.choice([r.randrange(2**32), r.randrange(8), 2**53 - 1, self.server_id, 0])
            parts.append(Y.write_var_uint(cid) + Y.write_var_uint(r.choice([0, 1, 2, 2**32, 2**53 - 1]))
                         + Y.write_bytes(self.state()))
        raw = Y.write_var_uint(n) + b"".join(parts)
        return self.mutate(raw) if k == 4 else raw

    # -------- a case

    def case(self) -> list[bytes | str]:
        r = self.r
        family = r.randrange(16)
        if family == 0:
            return [self.bytes_(r.randint(0, 64))]
        if family == 1:  # truncated or over-long integers
            return [bytes([r.choice([0, 1, 2, 3, 100, 101])]) + b"\x80" * r.randint(1, 12)]
        if family == 2:  # huge lengths
            head = r.choice([b"\x00\x00", b"\x00\x01", b"\x00\x02", b"\x01", b"\x02\x00", b"\x64"])
            return [head + Y.write_var_uint(r.choice([2**20, 2**31, 2**40, 2**55])) + self.bytes_(r.randint(0, 8))]
        if family == 3:  # types nobody defined, sub-types likewise
            t = r.choice([4, 5, 8, 99, 102, 127, 128, 2**20])
            return [Y.write_var_uint(t) + self.bytes_(r.randint(0, 8)),
                    b"\x00" + Y.write_var_uint(r.choice([3, 4, 127, 2**30])) + b"\x00"]
        if family == 4:  # sync steps with garbage or mutated payloads
            build = r.choice([Y.sync_step1, Y.sync_step2, Y.sync_update])
            payload = r.choice([self.bytes_(r.randint(0, 48)), self.mutate(self.update), self.mutate(self.sv)])
            return [build(payload)]
        if family == 5:  # state vectors: foreign documents, this document with absurd clocks
            entries = [(r.choice([self.server_id, 2**32 + r.randrange(2**20), r.randrange(2**32), 2**53 - 1]),
                        r.choice([0, 1, 10**6, 2**53 - 1])) for _ in range(r.randint(1, 3))]
            sv = Y.write_var_uint(len(entries)) + b"".join(Y.write_var_uint(c) + Y.write_var_uint(k)
                                                           for c, k in entries)
            return [Y.sync_step1(sv)]
        if family in (6, 7, 8):
            return [Y.awareness(self.awareness_update()) for _ in range(r.choice([1, 1, 3]))]
        if family == 9:
            return [r.choice([Y.query_awareness() + self.bytes_(r.randint(1, 4)), Y.query_awareness(),
                              b"\x02" + Y.write_var_uint(r.randrange(300)) + Y.write_bytes(self.bytes_(8)),
                              Y.command_result(self.command_body()), "text " * r.randint(0, 30)])]
        if family == 10 and self.ops:  # the reproducer and its kin: a key far out, then a shift over it
            eid = "k%d" % r.randrange(4)
            frame = r.choice([1e300, -1e300, 1.7976931348623157e308, 10**30, 2**53 + 1])
            return [Y.command(json.dumps({"command_id": "c%d" % r.randrange(10**9), "ops": ops}).encode()) for ops in
                    ([cube(eid)], [{"type": "key.set", "id": eid, "path": "transform.position", "frame": 1,
                                    "value": [0, 0, 0]}],
                     [{"type": "key.set", "id": eid, "path": "transform.position", "frame": frame,
                       "value": [r.choice(NUMBERS), 0, 0]}],
                     [{"type": "track.shift", "id": eid, "path": "transform.position",
                       "by": r.choice([1, frame, -frame, 1e300]), "start": 0, "end": r.choice([10, 1e308])}])]
        return [Y.command(self.command_body()) for _ in range(r.choice([1, 1, 2, 4]))]


# ---------------------------------------------------------------- watching the server


@dataclass
class Errors(logging.Handler):
    records: list[str] = field(default_factory=list)

    def __post_init__(self):
        logging.Handler.__init__(self, logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()[:500]}"
                            + (f" [{record.exc_info[0].__name__}]" if record.exc_info else ""))

    __hash__ = logging.Handler.__hash__


LOGGERS = ["", "uvicorn", "uvicorn.error", "litestar", "realtime", "projections", "events"]


class Fuzzer:
    """A raw socket that sends a case's frames and waits until the server has dealt with them: a command's result
    (or its refusal) came back, or a sync step 1 sent after the frames was answered, or the socket was closed."""

    def __init__(self, served, p: str, s: str, tokens: list[str]):
        self.served, self.p, self.s, self.tokens = served, p, s, tokens
        self.c: SyncClient | None = None
        self.step2 = self.results = 0
        self.closes: list[int] = []

    def _count(self, m: Y.Message, _now: float) -> None:
        if m.type is Y.MessageType.SYNC and m.sub is Y.SyncType.STEP2:
            self.step2 += 1
        elif m.type is Y.MessageType.COMMAND_RESULT:
            self.results += 1

    async def _socket(self, r: random.Random) -> SyncClient:
        if self.c is None or self.c.closed.done():
            if self.c is not None:
                await self.c.close()
            self.c = await SyncClient.connect(self.served.base, self.p, self.s, r.choice(self.tokens), doc=Doc())
            self.c.on_frame = self._count
        return self.c

    async def send(self, frames: list[bytes | str], r: random.Random, timeout: float = 20.0) -> tuple[str, object]:
        c = await self._socket(r)
        commands = 0
        for f in frames:
            if isinstance(f, bytes):
                try:
                    commands += Y.parse(f).type is Y.MessageType.COMMAND
                except Y.ProtocolError:
                    pass
        results, step2 = self.results + commands, self.step2 + 1
        try:
            for f in frames:
                await c.send_raw(f)
            await c.send_raw(Y.sync_step1(b"\x00"))
        except Exception:  # closed by the server mid-case
            pass
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not c.closed.done() and (self.results < results or self.step2 < step2):
            if loop.time() > deadline:
                return "stuck", f"no answer within {timeout}s ({self.results}/{results} results)"
            await asyncio.sleep(0.002)
        if c.closed.done():
            code, reason = c.closed.result()
            self.closes.append(code)
            return ("closed", (code, reason)) if code in ALLOWED_CLOSES else ("bad close", (code, reason))
        return "answered", None

    async def close(self) -> None:
        if self.c is not None:
            await self.c.close()


async def fuzz(served, unique: str, cases: int, seed: int, ops: bool) -> None:
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    await add_member(served.system, p, "vic", "viewer")
    await add_member(served.system, p, "lay", "layout")
    errors = Errors()
    loggers = [logging.getLogger(n) for n in LOGGERS]
    for lg in loggers:
        lg.addHandler(errors)
    loop = asyncio.get_running_loop()
    unhandled: list[str] = []
    old_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: unhandled.append(repr(ctx.get("exception") or ctx["message"])))
    healthy = await SyncClient.connect(served.base, p, s, served.token("owner"))
    room = served.hub.rooms[(p, s)]
    gen = Gen(seed, room.server_id, ops)
    fz = Fuzzer(served, p, s, [served.token("owner")] * 3 + [served.token("vic"), served.token("lay")])
    outcomes: dict[str, int] = {}
    try:
        for i in range(cases):
            frames = gen.case()
            what, detail = await fz.send(frames, gen.r)
            outcomes[what] = outcomes.get(what, 0) + 1
            where = f"case {i} (seed {seed}): {[f[:60] for f in frames]}"
            assert what in ("answered", "closed"), f"{what} {detail}; {where}; logged: {errors.records[:3]}"
            res = await healthy.command([cube(f"healthy-{i}")], timeout=20)
            assert res["status"] == "applied", f"the shot refused a write after {where}: {res}"
            assert not errors.records and not unhandled, f"{errors.records[:5]} {unhandled[:5]} after {where}"
            assert not healthy.closed.done(), f"the healthy client was closed after {where}"
    finally:
        loop.set_exception_handler(old_handler)
        for lg in loggers:
            lg.removeHandler(errors)
        await fz.close()
        await healthy.close()
    # the generator reached both ends: sockets closed for bad input, and frames answered without a close
    assert outcomes.get("closed", 0) > cases // 10 and outcomes.get("answered", 0) > cases // 10, outcomes
    assert {4400, 1009} <= set(fz.closes), set(fz.closes)
    assert served.hub.counts["commands_applied"] > 0, served.hub.counts


@pytest.fixture
async def served(nats_url, database_url, tmp_path):
    # a rate high enough that the fuzzer is not simply closed for speed (the rate limit has its own tests)
    async with serve_sync(settings_for(nats_url, database_url, tmp_path),
                          SyncLimits(rate_per_s=10_000, burst=10_000)) as s:
        yield s


SEED = int(os.environ.get("FUZZ_SEED", "20261202"))


async def test_mutated_socket_frames_never_fail_the_server(served, unique):
    """Every family of frame, with command frames that no command decodes from."""
    await fuzz(served, unique, CASES, SEED, ops=False)


def core_overflows() -> bool:
    """Whether core still lets a frame of 1e300 through its check and then fails to fold a shift over it (issue 11,
    item 1: the fold raises OverflowError and the project's projector stops), or raises while checking a shift by
    1e300. While it does, the test below is an expected failure; once core bounds its numbers it must pass."""
    from core import edit
    from events.envelope import Actor, Event
    from events.envelope import decode_command as decode
    from projections.reducer import ShotReducer

    r = ShotReducer("p", "s")
    key = {"type": "key.set", "id": "k", "path": "transform.position", "value": [0, 0, 0]}
    commands = [[cube("k")], [{**key, "frame": 1}], [{**key, "frame": 1e300}],
                [{"type": "track.shift", "id": "k", "path": "transform.position", "by": 1, "start": 0, "end": 10}]]
    try:
        for seq, ops in enumerate(commands, start=1):
            ops = decode(json.dumps({"command_id": "c", "ops": ops})).ops
            edit.check(r.world, ops, "user:a")
            r.apply(seq, Event(event_id=f"e{seq}", command_id=f"c{seq}", project="p", shot="s",
                               actor=Actor(kind="user", id="a"), ops=ops, ts=0.0))
        shift = [{"type": "track.shift", "id": "k", "path": "transform.position", "by": -1e300, "start": 0, "end": 10}]
        edit.check(r.world, decode(json.dumps({"command_id": "c", "ops": shift})).ops, "user:a")
    except edit.OpError:
        return False
    except (OverflowError, ValueError, TypeError):
        return True
    return False


CORE_OVERFLOWS = pytest.mark.xfail(
    core_overflows(), strict=True,
    reason="core folds and checks adversarial numbers with OverflowError (issue 11, items 1 and 8)")


@CORE_OVERFLOWS
async def test_commands_with_adversarial_ops_never_fail_the_server(served, unique):
    """Command frames whose ops decode, carrying adversarial values through the check and the fold."""
    await fuzz(served, unique, OP_CASES, SEED, ops=True)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("ops", [False, pytest.param(True, marks=CORE_OVERFLOWS)])
async def test_mutated_socket_frames_never_fail_the_server_long(served, unique, seed, ops):
    await fuzz(served, unique, SLOW_CASES, seed, ops)
