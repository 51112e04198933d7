"""Reads cannot wedge a project, route parameters are checked before any store call, and a stream that lost its
tail halts its project (503 with the reason, /readyz not ready naming it) — on real NATS JetStream and
PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from events.log import stream_for
from projections.projector import ProjectHalted, ShotUnavailable

from .http_helpers import Api, http_system, project_with_shot


@pytest.fixture
async def env(nats_url, database_url, tmp_path, monkeypatch):
    async with http_system(nats_url, database_url, tmp_path, monkeypatch) as (system, client):
        yield system, Api(client, system)


def box(eid):
    return {"type": "entity.create", "id": eid, "kind": "prop"}


def key(eid, frame, value):
    return {"type": "key.set", "id": eid, "path": "transform.position", "frame": frame, "value": value}


async def with_viewer(api: Api, project: str) -> Api:
    await api.ok("POST", f"/v1/projects/{project}/members", {"user": "vera", "role": "viewer"})
    return api.as_("vera")


async def test_a_nul_shot_read_by_a_viewer_is_a_400_and_the_project_stays_writable(env, unique):
    system, api = env
    await project_with_shot(api, unique)
    viewer = await with_viewer(api, unique)
    for path in ("hash", "world", "history"):
        r = await viewer.get(f"/v1/projects/{unique}/shots/%00/{path}")
        assert r.status_code == 400 and r.json()["field"] == "shot", r.text
    r = await api.command(unique, "s1", [box("after-nul")])
    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
    # and the other id-carrying paths
    for path in (f"/v1/projects/%00", f"/v1/projects/%00/shots", f"/v1/projects/{unique}/shots/a%00b",
                 f"/v1/projects/{unique}/shots/{'x' * 65}/hash", f"/v1/projects/{unique}/shots/.hidden/world",
                 f"/v1/projects/{unique}/shots/s1/suggestions/%00/accept"):
        r = await (api.post(path, {}) if path.endswith("accept") else api.get(path))
        assert r.status_code == 400, (path, r.status_code, r.text)
    for path in ("/v1/renders/%00", "/v1/renders/-x/manifest", f"/v1/renders/{'j' * 201}/pack"):
        r = await api.get(path)
        assert r.status_code == 400 and r.json()["field"] == "job_id", (path, r.text)
    r = await api.post(f"/v1/projects/{unique}/shots/s1/rollback", {"command_id": "r", "to_seq": 2**63})
    assert r.status_code == 422 and r.json()["field"] == "to_seq", r.text
    r = await api.client.delete(f"/v1/projects/{unique}/members/%00", headers=api.headers)
    assert r.status_code == 400 and r.json()["field"] == "member"
    # well-formed but absent: 404
    assert (await viewer.get(f"/v1/projects/{unique}/shots/nope/hash")).status_code == 404
    assert (await viewer.get(f"/v1/projects/{unique}x/shots")).status_code == 404
    r = await api.command(unique, "s1", [key("after-nul", 3, [1, 2, 3])])
    assert r.json()["status"] == "applied"


async def test_absurd_query_numbers_are_400_not_5xx(env, unique):
    system, api = env
    await project_with_shot(api, unique)
    base = f"/v1/projects/{unique}/shots/s1"
    huge = "99999999999999999999"
    for path, params in ((f"{base}/history", {"after": huge}), (f"{base}/history", {"before": huge}),
                         (f"{base}/history", {"after": "-" + huge}), (f"{base}/history", {"limit": huge}),
                         (f"{base}/hash", {"at": huge}), (f"{base}/world", {"at": huge}),
                         (f"{base}/world", {"frame": "1e300"}), (f"{base}/world", {"frame": "-1e10"}),
                         (f"{base}/history", {"after": "9" * 5000}),
                         (f"{base}/history", {"entity": "\x00"}), (f"{base}/history", {"actor": "a\x00"})):
        r = await api.get(path, **params)
        assert r.status_code == 400, (path, params, r.status_code, r.text)
        assert r.json()["field"] == next(iter(params))
    assert (await api.get(f"{base}/world", frame="nan")).status_code == 422  # not a number at all: the handler's
    # in range: answered
    assert (await api.ok("GET", f"{base}/history", after=2**53))["entries"] == []  # numbers are bounded to ±2⁵³ (realtime.inputs)
    assert (await api.ok("GET", f"{base}/hash", at=2**53))["seq"] >= 1
    assert (await api.ok("GET", f"{base}/world", frame="1e9"))["frame"] == 1e9


async def test_a_failing_shot_load_is_a_503_for_that_request_only(env, unique, monkeypatch):
    system, api = env
    await project_with_shot(api, unique)
    real = system.store.latest_snapshot

    async def refuse(project, shot, *args, **kw):
        if shot == "cursed":
            raise type("DataError", (Exception,), {})("invalid byte sequence")  # not even a StoreError
        return await real(project, shot, *args, **kw)

    monkeypatch.setattr(system.store, "latest_snapshot", refuse)
    r = await api.get(f"/v1/projects/{unique}/shots/cursed/hash")
    assert r.status_code == 503 and "loading shot" in r.json()["reason"], r.text
    assert system.projector.counts["loads_failed"] == 1
    assert (await api.command(unique, "s1", [box("still")])).json()["status"] == "applied"
    r = await api.client.get("/readyz")
    assert r.status_code == 200, r.text


async def test_a_stream_recreated_with_fewer_events_halts_its_project(env, unique):
    """The stream's tail is lost (here: deleted and recreated with fewer messages, as a crash before fsync leaves
    it): the projector halts the project; commands answer 503 with the reason instead of "applied" with reused
    seqs; /readyz names it; other projects carry on."""
    system, api = env
    system.projector.verify_s = 0.1
    await project_with_shot(api, unique)
    for i in range(4):
        assert (await api.command(unique, "s1", [box(f"b{i}")])).json()["status"] == "applied"
    other = unique + "-o"
    await project_with_shot(api, other)

    js = system.log._js
    await js.delete_stream(stream_for(unique))
    await system.log.ensure_project(unique)
    appended = await system.log.append(unique, "s1", b"not json", msg_id="after-loss")
    assert appended.seq == 1  # the stream is now behind the projection's checkpoint of 5
    assert await system.log.head(unique) == 1

    async with asyncio.timeout(10):
        while system.projector.health()[unique].state != "halted":
            await asyncio.sleep(0.05)
    r = await api.command(unique, "s1", [box("lost")])
    assert r.status_code == 503 and "tail was lost" in r.json()["reason"], r.text
    for path in ("hash", "world"):
        r = await api.get(f"/v1/projects/{unique}/shots/s1/{path}")
        assert r.status_code == 503, r.text
    r = await api.client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["projects"][unique]["state"] == "halted" and unique in body["checks"]["projector"]
    assert other not in body.get("projects", {})
    assert system.projector.counts["halted"] == 1
    metrics = (await api.client.get("/metrics")).text
    assert f'wnm_projector_ready{{project="{unique}",state="halted"}} 0.0' in metrics
    assert 'wnm_projector_events_total{what="halted"} 1.0' in metrics
    # the history still shows what was committed; nothing of the new stream was projected
    entries = (await api.ok("GET", f"/v1/projects/{unique}/shots/s1/history"))["entries"]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert (await api.command(other, "s1", [box("fine")])).json()["status"] == "applied"
    with pytest.raises(ProjectHalted):
        await system.projector.load(unique, "s1")
    assert not isinstance(ProjectHalted("x"), ShotUnavailable)
