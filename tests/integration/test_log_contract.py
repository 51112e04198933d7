"""The event log contract (SPEC §4 "Log"), run against the in-memory twin and the JetStream adapter alike.

Whatever the unit tests learn from ``MemoryLog`` must hold on JetStream: sequences, bounded reads, idempotent
appends, optimistic concurrency, tailing. The JetStream-only tests at the end check what has no twin: the stream's
durability settings, consumer clean-up and surviving a server restart.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

from events.jetstream import JetStreamLog
from events.log import ConflictError, LogError, MemoryLog, UnknownProject, stream_for
from events.nats_conn import connect
from realtime import embedded

TIMEOUT = 10.0


@pytest.fixture(params=["memory", "jetstream"])
async def log(request, nats_url, unique):
    """A fresh log of each kind; JetStream streams of this test's projects (ids starting with ``unique``) are
    deleted afterwards, so tests can share a NATS server."""
    if request.param == "memory":
        yield MemoryLog()
        return
    js_log = await JetStreamLog.connect(nats_url, heartbeat_s=1.0)
    try:
        yield js_log
    finally:
        js = js_log._nc.jetstream()
        for project in await js_log.projects():
            if project.startswith(unique):
                await js.delete_stream(stream_for(project))
        await js_log.close()


@pytest.fixture
async def project(log, unique) -> str:
    await log.ensure_project(unique)
    return unique


async def fill(log, project: str, shots: list[str], n: int, chunk: int = 500) -> dict[str, list[tuple[int, bytes]]]:
    """Append ``n`` events round-robin over ``shots`` (``chunk`` at a time, concurrently); {shot: [(seq, data)]}."""
    out: dict[str, list[tuple[int, bytes]]] = {s: [] for s in shots}

    async def one(i: int):
        shot = shots[i % len(shots)]
        data = b'{"i":%d}' % i
        appended = await log.append(project, shot, data, f"fill-{i}")
        out[shot].append((appended.seq, data))

    for start in range(0, n, chunk):
        await asyncio.gather(*(one(i) for i in range(start, min(n, start + chunk))))
    for events in out.values():
        events.sort()
    return out


async def collect(iterator) -> list:
    return [s async for s in iterator]


async def test_sequences_increase_across_shots_of_a_project(log, project, unique):
    seqs = [(await log.append(project, shot, b"x", f"c{i}")) for i, shot in enumerate(["a", "b", "a", "c"])]
    assert [a.seq for a in seqs] == [1, 2, 3, 4]
    assert not any(a.duplicate for a in seqs)
    other = unique + "-other"
    await log.ensure_project(other)
    assert (await log.append(other, "a", b"x", "c0")).seq == 1  # each project has its own sequence and ids


async def test_read_returns_only_the_shot_in_order_within_bounds(log, project):
    seqs = {}
    for i, shot in enumerate("abab" "cab"):
        seqs.setdefault(shot, []).append((await log.append(project, shot, f"{shot}{i}".encode(), f"c{i}")).seq)
    got = await collect(log.read(project, "a"))
    assert [(s.seq, s.shot, s.data) for s in got] == [(1, "a", b"a0"), (3, "a", b"a2"), (6, "a", b"a5")]
    assert [s.seq for s in await collect(log.read(project, "b"))] == seqs["b"] == [2, 4, 7]
    assert [s.seq for s in await collect(log.read(project, "a", after=1))] == [3, 6]
    assert [s.seq for s in await collect(log.read(project, "a", after=3))] == [6]
    assert [s.seq for s in await collect(log.read(project, "a", until=3))] == [1, 3]
    assert [s.seq for s in await collect(log.read(project, "a", until=5))] == [1, 3]  # until need not be an event
    assert [s.seq for s in await collect(log.read(project, "a", after=1, until=4))] == [3]
    assert [s.seq for s in await collect(log.read(project, "a", after=3, until=5))] == []
    assert await collect(log.read(project, "a", after=6)) == []
    assert await collect(log.read(project, "nothing-here")) == []


async def test_read_ends_at_the_head_it_saw(log, project):
    for i in range(5):
        await log.append(project, "a", b"old", f"c{i}")
    reader = log.read(project, "a")
    first = await asyncio.wait_for(reader.__anext__(), TIMEOUT)
    await log.append(project, "a", b"new", "late")
    rest = await asyncio.wait_for(collect(reader), TIMEOUT)
    assert [first.seq] + [s.seq for s in rest] == [1, 2, 3, 4, 5]


async def test_duplicate_msg_id_appends_once_and_returns_the_original_seq(log, project, unique):
    first = await log.append(project, "a", b"original", "cmd-1")
    await log.append(project, "b", b"other", "cmd-2")
    retry = await log.append(project, "a", b"retried", "cmd-1")
    assert (retry.seq, retry.duplicate) == (first.seq, True)
    assert [s.data for s in await collect(log.read(project, "a"))] == [b"original"]
    other = unique + "-other"
    await log.ensure_project(other)
    assert (await log.append(other, "a", b"x", "cmd-1")).duplicate is False


async def test_get_returns_the_event_at_a_seq_with_its_shot(log, project):
    await log.append(project, "a", b"first", "m1")
    second = await log.append(project, "b.c", b"second", "m2")
    got = await log.get(project, second.seq)
    assert (got.seq, got.shot, got.data) == (second.seq, "b.c", b"second")
    assert await log.get(project, second.seq + 5) is None
    await log.append(project, "a", b"third", "m3")
    assert (await log.get(project, 1, shot="b.c")).data == b"second"
    assert (await log.get(project, second.seq + 1, shot="a")).data == b"third"
    assert await log.get(project, second.seq + 1, shot="b.c") is None


async def test_retried_command_with_expected_seq_is_a_duplicate_not_a_conflict(log, project):
    # The client's first attempt landed but its answer was lost; it retries the same command verbatim.
    first = await log.append(project, "a", b"v1", "cmd-1", expected_seq=0)
    retry = await log.append(project, "a", b"v1", "cmd-1", expected_seq=0)
    assert (retry.seq, retry.duplicate) == (first.seq, True)
    await log.append(project, "a", b"v2", "cmd-2")  # the shot moves on; the retry is still recognised
    again = await log.append(project, "a", b"v1", "cmd-1", expected_seq=0)
    assert (again.seq, again.duplicate) == (first.seq, True)
    assert [s.data for s in await collect(log.read(project, "a"))] == [b"v1", b"v2"]


async def test_expected_seq_guards_the_shot_not_the_project(log, project):
    a1 = await log.append(project, "a", b"1", "c1", expected_seq=0)
    await log.append(project, "b", b"2", "c2")  # another shot moving on is no conflict
    a2 = await log.append(project, "a", b"3", "c3", expected_seq=a1.seq)
    assert a2.seq == 3 and not a2.duplicate
    with pytest.raises(ConflictError) as err:
        await log.append(project, "a", b"stale", "c4", expected_seq=a1.seq)
    assert (err.value.expected, err.value.actual) == (a1.seq, a2.seq)
    with pytest.raises(ConflictError):
        await log.append(project, "fresh", b"x", "c5", expected_seq=2)
    assert await log.last_seq(project, "a") == a2.seq
    assert [s.data for s in await collect(log.read(project, "a"))] == [b"1", b"3"]
    assert await collect(log.read(project, "fresh")) == []
    assert (await log.append(project, "a", b"4", "c6")).seq == 4  # nothing was appended by the conflicts


async def test_pipelined_appends_are_stored_in_the_order_sent(log, project):
    # A socket sends its commands without waiting for each ack; they must land as sent, and one refused in the
    # middle (a stale expected_seq) leaves the others as they were.
    acks = []
    for i in range(300):
        expected = 0 if i == 150 else None  # the shot has moved on by then: a conflict
        acks.append(await log.start_append(project, "ab"[i % 2], f"{i}".encode(), f"p{i}", expected_seq=expected))
    results = await asyncio.gather(*acks, return_exceptions=True)
    assert isinstance(results[150], ConflictError)
    stored = [r for i, r in enumerate(results) if i != 150]
    assert [a.seq for a in stored] == list(range(1, 300)) and not any(a.duplicate for a in stored)
    read = await collect(log.read(project, "a")) + await collect(log.read(project, "b"))
    assert [s.data for s in sorted(read)] == [f"{i}".encode() for i in range(300) if i != 150]
    again = await log.start_append(project, "a", b"0", "p0")  # a retry is still recognised
    assert await again == (1, True)


async def test_concurrent_appends_on_a_fresh_log_all_land_once(log, project):
    got = await asyncio.gather(*(log.append(project, "ab"[i % 2], b"x", f"g{i}") for i in range(50)))
    assert sorted(a.seq for a in got) == list(range(1, 51)) and not any(a.duplicate for a in got)


async def test_pipelined_append_errors_come_with_the_ack_or_at_once(log, project, unique):
    with pytest.raises(LogError, match="too large"):
        await log.start_append(project, "a", b"x" * (2 << 20), "big")
    with pytest.raises(UnknownProject):  # JetStream learns of a missing stream only from the answer
        await (await log.start_append(unique + "-missing", "a", b"x", "c1"))
    assert await (await log.start_append(project, "a", b"small", "c1")) == (1, False)


async def test_last_seq_is_the_shots_last_event(log, project):
    assert await log.last_seq(project, "a") == 0
    await log.append(project, "a", b"1", "c1")
    await log.append(project, "b", b"2", "c2")
    assert await log.last_seq(project, "a") == 1
    assert await log.last_seq(project, "b") == 2
    await log.append(project, "a", b"3", "c3")
    assert await log.last_seq(project, "a") == 3


async def test_follow_delivers_existing_then_new_events_of_every_shot(log, project):
    for i, shot in enumerate("aba"):
        await log.append(project, shot, f"{i}".encode(), f"c{i}")
    follower = log.follow(project, after=1)
    try:
        got = [await asyncio.wait_for(follower.__anext__(), TIMEOUT) for _ in range(2)]
        assert [(s.seq, s.shot, s.data) for s in got] == [(2, "b", b"1"), (3, "a", b"2")]
        pending = asyncio.ensure_future(follower.__anext__())
        await asyncio.sleep(0.05)
        assert not pending.done()  # it waits rather than ending
        await log.append(project, "c.take-2", b"new", "c9")
        got = await asyncio.wait_for(pending, TIMEOUT)
        assert (got.seq, got.shot, got.data) == (4, "c.take-2", b"new")
    finally:
        await follower.aclose()


async def test_follow_from_the_head_waits_for_the_next_event(log, project):
    follower = log.follow(project, after=0)
    try:
        pending = asyncio.ensure_future(follower.__anext__())
        await asyncio.sleep(0.05)
        await log.append(project, "a", b"first", "c1")
        assert (await asyncio.wait_for(pending, TIMEOUT)).data == b"first"
    finally:
        await follower.aclose()


async def test_ensure_project_is_idempotent_and_projects_lists_it(log, unique):
    names = [unique + "-a", unique + "-b.v2"]
    for name in names:
        await log.ensure_project(name)
    await log.append(names[0], "s", b"kept", "c1")
    await log.ensure_project(names[0])
    assert [p for p in await log.projects() if p.startswith(unique)] == names
    assert [s.data for s in await collect(log.read(names[0], "s"))] == [b"kept"]


async def test_unknown_project_is_an_error(log, unique):
    missing = unique + "-missing"
    with pytest.raises(UnknownProject, match="project"):
        await log.append(missing, "a", b"x", "c1")
    with pytest.raises(UnknownProject):
        await log.last_seq(missing, "a")
    with pytest.raises(UnknownProject):
        await collect(log.read(missing, "a"))
    follower = log.follow(missing)
    with pytest.raises(UnknownProject):
        await asyncio.wait_for(follower.__anext__(), TIMEOUT)
    await follower.aclose()


async def test_oversized_event_is_refused_and_the_log_keeps_working(log, project):
    with pytest.raises(LogError, match="too large"):
        await log.append(project, "a", b"x" * (2 << 20), "big")
    assert (await log.append(project, "a", b"small", "c1")).seq == 1


async def _large_read(log, project, n):
    shots = await fill(log, project, ["a", "a", "a", "b"], n)  # other shots' events are interleaved
    expected = shots["a"]
    t0 = time.perf_counter()
    got = await collect(log.read(project, "a"))
    elapsed = time.perf_counter() - t0
    assert [(s.seq, s.data) for s in got] == expected
    middle = expected[len(expected) // 2][0]
    tail = await collect(log.read(project, "a", after=middle))
    assert [s.seq for s in tail] == [seq for seq, _ in expected if seq > middle]
    return elapsed, len(got)


async def test_large_read_streams_quickly(log, project):
    elapsed, count = await _large_read(log, project, 20_000)
    # A request per event runs at ~5k/s here (3 s for these); batched delivery streams ~100k/s.
    assert count == 15_000 and elapsed < 1.5, f"read {count} events in {elapsed:.2f}s"


@pytest.mark.parametrize("n", [pytest.param(12_000, id="ci-12k"),
                               pytest.param(120_000, id="120k", marks=pytest.mark.slow)])
async def test_very_large_read_streams_quickly(log, project, n):
    shots = await fill(log, project, ["a"], n, chunk=2000)
    t0 = time.perf_counter()
    count = 0
    async for s in log.read(project, "a"):
        count += 1
    elapsed = time.perf_counter() - t0
    assert count == len(shots["a"]) == n
    assert elapsed < 20.0 * n / 120_000 + 1.0, f"read {count} events in {elapsed:.2f}s"


# -- JetStream only -------------------------------------------------------------------------------------------


@pytest.fixture
async def jslog(nats_url, unique):
    js_log = await JetStreamLog.connect(nats_url, heartbeat_s=1.0, duplicate_window_s=600)
    try:
        yield js_log
    finally:
        js = js_log._nc.jetstream()
        for project in await js_log.projects():
            if project.startswith(unique):
                await js.delete_stream(stream_for(project))
        await js_log.close()


async def test_stream_is_durable_and_append_only(jslog, unique):
    import nats.js.errors
    from nats.js import api

    await jslog.ensure_project(unique)
    js = jslog._nc.jetstream()
    config = (await js.stream_info(stream_for(unique))).config
    assert config.subjects == [f"wnm.ev.{unique}.>"]
    assert config.storage == api.StorageType.FILE
    assert (config.deny_delete, config.deny_purge, config.allow_direct) == (True, True, True)
    assert not config.max_age and config.max_msgs in (None, -1) and config.max_bytes in (None, -1)
    assert config.duplicate_window == 600
    assert not config.allow_msg_ttl
    await jslog.append(unique, "a", b"x", "c1")
    with pytest.raises(nats.js.errors.APIError):
        await js.delete_msg(stream_for(unique), 1)
    with pytest.raises(nats.js.errors.APIError):
        await js.purge_stream(stream_for(unique))
    assert await jslog.last_seq(unique, "a") == 1


async def test_ensure_project_repairs_a_drifted_stream(jslog, unique):
    from nats.js import api

    js = jslog._nc.jetstream()
    await js.add_stream(api.StreamConfig(name=stream_for(unique), subjects=[f"wnm.ev.{unique}.>"],
                                         storage=api.StorageType.FILE, max_age=3600, duplicate_window=60))
    await js.publish(f"wnm.ev.{unique}.a", b"kept")
    await jslog.ensure_project(unique)
    config = (await js.stream_info(stream_for(unique))).config
    assert (config.deny_delete, config.deny_purge, config.allow_direct) == (True, True, True)
    assert not config.max_age and config.duplicate_window == 600
    assert [s.data for s in await collect(jslog.read(unique, "a"))] == [b"kept"]


async def _consumers(jslog, project) -> list[str]:
    js = jslog._nc.jetstream()
    return [c.name for c in await js.consumers_info(stream_for(project))]


async def test_readers_and_followers_leave_no_consumers(jslog, unique):
    await jslog.ensure_project(unique)
    for i in range(50):
        await jslog.append(unique, "a", b"x", f"c{i}")
    assert len(await collect(jslog.read(unique, "a"))) == 50
    assert await _consumers(jslog, unique) == []

    reader = jslog.read(unique, "a")
    await reader.__anext__()
    assert len(await _consumers(jslog, unique)) == 1
    await reader.aclose()
    assert await _consumers(jslog, unique) == []

    async def first_then_break():
        async for _ in jslog.follow(unique):
            break  # the abandoned generator is closed when collected

    await first_then_break()
    for _ in range(50):
        if not await _consumers(jslog, unique):
            break
        await asyncio.sleep(0.02)
    assert await _consumers(jslog, unique) == []


async def test_concurrent_readers_share_the_read_budget_and_each_reads_everything(jslog, unique):
    """Many readers at once (a projector catching up on a hundred projects) split ``read_budget_bytes`` instead of
    each asking for ``read_buffer_bytes``: the server would cut a connection that far behind off as a slow
    consumer."""
    await jslog.ensure_project(unique)
    shots = [f"s{i}" for i in range(16)]
    await asyncio.gather(*(jslog.append(unique, shot, b"y" * 1000, f"c{shot}-{j}")
                           for shot in shots for j in range(60)))
    jslog.read_budget_bytes = 4 << 20
    assert jslog.reader_share_bytes() == 4 << 20  # none open: one reader may have the whole budget
    readers = [jslog.read(unique, shot) for shot in shots]
    firsts = [await r.__anext__() for r in readers]
    assert jslog.open_readers == 16
    assert jslog.reader_share_bytes() == 256 << 10  # 4 MiB / 16
    rests = await asyncio.gather(*(collect(r) for r in readers))
    assert [len(rest) + 1 for rest in rests] == [60] * 16
    assert all(s.shot == shot for first, rest, shot in zip(firsts, rests, shots) for s in [first, *rest])
    assert jslog.open_readers == 0


class _Server:
    """A nats-server process of our own, so a test can stop it gently or kill it."""

    def __init__(self, data_dir, port: int):
        conf = data_dir / "nats.conf"
        conf.write_text(f"listen: 127.0.0.1:{port}\njetstream {{\n  store_dir: {data_dir / 'js'}\n}}\n")
        self.proc = subprocess.Popen([embedded.nats_server_binary(), "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            embedded.wait_port(port, 10, self.proc)
        except RuntimeError:
            self.proc.kill()
            raise

    def stop(self, how: str) -> None:
        self.proc.kill() if how == "kill" else self.proc.terminate()
        self.proc.wait(10)


@pytest.mark.parametrize("how", ["terminate", "kill"])
async def test_follow_survives_a_server_restart(tmp_path, unique, how):
    port = embedded.free_port()
    server = _Server(tmp_path, port)
    jslog = JetStreamLog(await connect(f"nats://127.0.0.1:{port}"), heartbeat_s=0.5)
    try:
        await jslog.ensure_project(unique)
        await jslog.append(unique, "a", b"before", "c1")
        follower = jslog.follow(unique)
        assert (await asyncio.wait_for(follower.__anext__(), TIMEOUT)).data == b"before"
        server.stop(how)
        server = _Server(tmp_path, port)
        for _ in range(100):  # wait for the client to notice and reconnect
            if jslog._nc.stats["reconnects"] and jslog._nc.is_connected:
                break
            await asyncio.sleep(0.1)
        await jslog.append(unique, "b", b"after", "c2")
        got = await asyncio.wait_for(follower.__anext__(), TIMEOUT)
        assert (got.seq, got.shot, got.data) == (2, "b", b"after")
        await follower.aclose()
    finally:
        await jslog._nc.close()
        server.stop("terminate")


async def test_connect_to_nothing_fails_fast_with_a_log_error():
    url = f"nats://user:secret@127.0.0.1:{embedded.free_port()}"
    t0 = time.perf_counter()
    with pytest.raises(LogError, match="cannot connect") as err:
        await JetStreamLog.connect(url, connect_timeout_s=1.0)
    assert time.perf_counter() - t0 < 5.0
    assert "secret" not in str(err.value)


async def test_dotted_ids_never_share_a_stream_or_subject(log, unique):
    """Ids may contain dots (SPEC §2): project ``x`` and project ``x.b`` are distinct, and so are
    (``x``, shot ``b.s``) and (``x.b``, shot ``s``)."""
    outer, inner = unique, unique + ".b"
    await log.ensure_project(outer)
    await log.ensure_project(inner)
    await log.append(outer, "b.s", b"outer", "c1")
    await log.append(inner, "s", b"inner", "c1")
    assert [s.data for s in await collect(log.read(outer, "b.s"))] == [b"outer"]
    assert [s.data for s in await collect(log.read(inner, "s"))] == [b"inner"]
    assert await log.last_seq(inner, "b.s") == 0
    assert {p for p in await log.projects() if p.startswith(unique)} == {outer, inner}
