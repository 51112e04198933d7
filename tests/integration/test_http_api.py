"""The REST API on real NATS JetStream and PostgreSQL: commands, reads, history paging, rollback, undo / redo,
fork, bad input and limits, health and metrics."""

from __future__ import annotations

import copy

import pytest

from core.restore import same_world
from realtime.limits import Limits

from .http_helpers import Api, http_system, project_with_shot


@pytest.fixture
async def env(nats_url, database_url, tmp_path, monkeypatch):
    async with http_system(nats_url, database_url, tmp_path, monkeypatch) as (system, client):
        yield system, Api(client, system)


def box(eid, **props):
    return {"type": "entity.create", "id": eid, "kind": "prop",
            "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}, **props}}


def key(eid, frame, value, path="transform.position"):
    return {"type": "key.set", "id": eid, "path": path, "frame": frame, "value": value}


async def test_commands_reads_hash_and_history(env, unique):
    system, api = env
    await project_with_shot(api, unique, fps=25)
    base = f"/v1/projects/{unique}/shots/s1"
    r = await api.ok("POST", f"{base}/commands", {"command_id": "c1", "ops": [box("cube"), key("cube", 0, [0, 0, 0])]})
    assert r["status"] == "applied"
    first = r["seq"]
    r = await api.ok("POST", f"{base}/commands", {"command_id": "c2", "ops": [key("cube", 24, [2, 0, 0])]})
    # a retried command is appended once
    again = await api.ok("POST", f"{base}/commands", {"command_id": "c2", "ops": [key("cube", 24, [2, 0, 0])]})
    assert again["seq"] == r["seq"] and again.get("duplicate")

    world = await api.ok("GET", f"{base}/world")
    assert world["seq"] == r["seq"] and world["meta"]["fps"] == 25.0
    assert [k["frame"] for k in world["entities"]["cube"]["tracks"]["transform.position"]] == [0.0, 24.0]
    assert world["entities"]["cube"]["tracks"]["transform.position"][0]["by"] == "user:alice"
    old = await api.ok("GET", f"{base}/world", at=first)
    assert [k["frame"] for k in old["entities"]["cube"]["tracks"]["transform.position"]] == [0.0]
    sampled = await api.ok("GET", f"{base}/world", frame=12)
    assert sampled["seq"] == r["seq"] and sampled["frame"] == 12
    assert sampled["entities"]["cube"]["position"][0] == pytest.approx(1.0, abs=0.2)

    h = await api.ok("GET", f"{base}/hash")
    replay = await system.world_at(unique, "s1", r["seq"])
    assert h == {"seq": r["seq"], "state_hash": replay.state_hash()}
    h_old = await api.ok("GET", f"{base}/hash", at=first)
    assert h_old["state_hash"] == (await system.world_at(unique, "s1", first)).state_hash() != h["state_hash"]

    for i in range(5):
        await api.ok("POST", f"{base}/commands", {"command_id": f"k{i}", "ops": [key("cube", 30 + i, [i, 0, 0])]})
    page = await api.ok("GET", f"{base}/history", limit=3)
    assert len(page["entries"]) == 3 and page["next_before"] == page["entries"][0]["seq"]
    older = await api.ok("GET", f"{base}/history", limit=3, before=page["next_before"])
    fwd = await api.ok("GET", f"{base}/history", after=0, limit=100)
    seqs = [e["seq"] for e in fwd["entries"]]
    assert seqs == sorted(seqs) and [e["seq"] for e in older["entries"] + page["entries"]] == seqs[-6:]
    assert fwd["next_after"] is None
    creates = await api.ok("GET", f"{base}/history", op="entity.create")
    assert [e["seq"] for e in creates["entries"]] == [first]
    mine = await api.ok("GET", f"{base}/history", actor="user:alice", entity="cube", limit=1000)
    assert len(mine["entries"]) == 7  # c1, c2 and five keys; the shot's creation touched no entity

    shots = await api.ok("GET", f"/v1/projects/{unique}/shots")
    assert [s["shot"] for s in shots["shots"]] == ["s1"]
    info = await api.ok("GET", f"/v1/projects/{unique}/shots/s1")
    assert info["state_hash"] == (await api.ok("GET", f"{base}/hash"))["state_hash"]


async def test_validation_and_conflicts_name_the_culprit(env, unique):
    system, api = env
    await project_with_shot(api, unique)
    base = f"/v1/projects/{unique}/shots/s1"
    r = await api.client.post(f"{base}/commands", headers={**api.headers, "content-type": "application/json"},
                              content=b'{"command_id": "x", "ops": [{"type": "key.set", "id": "a", "path": '
                                      b'"transform.position", "frame": "zero", "value": [0, 0, 0]}]}')
    assert r.status_code == 422 and r.json()["op"] == 0 and r.json()["field"] == "frame"
    r = await api.command(unique, "s1", [box("a"), key("a", 0, [0, 0])])
    assert r.status_code == 422, r.text
    assert r.json()["op"] == 1 and r.json()["field"] == "value" and "3" in r.json()["reason"]
    r = await api.command(unique, "s1", [{"type": "entity.explode", "id": "a"}])
    assert r.status_code == 422 and r.json()["op"] == 0
    r = await api.command(unique, "s1", [box("a")], expected_seq=0)  # the shot has moved on from empty
    assert r.status_code == 409 and "expected" in r.json()["reason"]
    r = await api.command(unique, "nope", [box("a")])
    assert r.status_code == 404
    r = await api.command(unique, "s1", [box("a")], reason="undo 3")
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = await api.post(f"/v1/projects/{unique}/shots", {"id": "s1"})
    assert r.status_code == 409


async def test_bad_input_is_refused_clearly_and_the_server_keeps_serving(nats_url, database_url, tmp_path,
                                                                         monkeypatch, unique):
    limits = Limits(max_body_bytes=20_000, max_ops=50, rate_per_s=1, burst=40)
    async with http_system(nats_url, database_url, tmp_path, monkeypatch, limits=limits) as (system, client):
        api = Api(client, system)
        await project_with_shot(api, unique)
        base = f"/v1/projects/{unique}/shots/s1/commands"
        raw = {**api.headers, "content-type": "application/json"}
        cases = [
            (b'{"command_id": "x", "ops": [', 400, "malformed JSON"),
            (b"", 400, "empty body"),
            (b'{"command_id": 7, "ops": []}', 422, "command_id"),
            (b'{"command_id": "x", "ops": {}}', 422, "ops"),
            (b'{"command_id": "x", "ops": [], "extra": 1}', 422, "extra"),
            (b'{"command_id": "x", "ops": []}', 422, "at least one op"),
            (b'{"command_id": "x", "ops": [' + b",".join([b'{"type":"track.clear","id":"a","path":"visible"}'] * 51)
             + b"]}", 413, "at most 50 ops"),
            (b'{"command_id": "x", "ops": [], "reason": "' + b"x" * 30_000 + b'"}', 413, "the limit is 20000"),
        ]
        for body, status, words in cases:
            r = await client.post(base, content=body, headers=raw)
            assert r.status_code == status, (body[:60], r.status_code, r.text)
            assert words in r.json()["reason"], r.json()
        # tokens: missing, forged, expired, garbage
        forged = Api(client, system).headers["Authorization"][:-4] + "AAAA"
        expired = system.tokens.issue("alice", ttl_s=1, now=1_000_000)
        for headers, words in [({}, "missing bearer token"), ({"Authorization": forged}, "signature"),
                               ({"Authorization": f"Bearer {expired}"}, "expired"),
                               ({"Authorization": "Bearer not.a.jwt"}, "invalid token"),
                               ({"Authorization": "Basic abc"}, "Bearer")]:
            r = await client.get(f"/v1/projects/{unique}", headers=headers)
            assert r.status_code == 401 and words in r.json()["reason"], r.text
            assert r.headers["www-authenticate"].startswith("Bearer")
        # a query parameter of the wrong type
        r = await api.get(f"/v1/projects/{unique}/shots/s1/world", at="yesterday")
        assert r.status_code == 400 and "at" in r.json()["reason"]
        r = await api.get(f"/v1/projects/{unique}/shots/s1/world", frame="nan")
        assert r.status_code == 422
        # rate: 40 writes pass at once, then 429 with Retry-After; others are not affected
        statuses = [(await api.command(unique, "s1", [box(f"b{i}")])).status_code for i in range(45)]
        assert 429 in statuses and statuses.count(200) >= 30, statuses
        r = await api.command(unique, "s1", [box("late")])
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "rate limit" in r.json()["reason"]
        await system.access.set_member(unique, "bob", "director")
        assert (await api.as_("bob").command(unique, "s1", [box("bobs")])).status_code == 200
        assert (await api.get(f"/v1/projects/{unique}/shots/s1/world")).status_code == 200


async def test_rollback_restores_the_world_and_keeps_history(env, unique):
    system, api = env
    await project_with_shot(api, unique)
    base = f"/v1/projects/{unique}/shots/s1"
    await api.ok("POST", f"{base}/commands", {"command_id": "a", "ops": [
        box("table"), box("cup"), key("cup", 0, [0, 1, 0]), key("cup", 10, [0, 1, 1]),
        {"type": "entity.create", "id": "cam", "kind": "camera"},
        {"type": "relation.add", "id": "aim", "kind": "look_at", "subject": "cam", "object": "cup"},
        {"type": "directive.add", "id": "d1", "agent": "camera", "params": {"subject": "cup", "shot": "MCU"}},
        {"type": "key.set", "id": "table", "path": "transform.rotation", "frame": 0,
         "value": {"euler_deg": [10, 47, 3]}}]})
    n = (await api.ok("POST", f"{base}/commands", {"command_id": "b", "ops": [
        {"type": "entity.set", "id": "cup", "path": "parent", "value": "table"}]}))["seq"]
    at_n = copy.deepcopy((await system.world_at(unique, "s1", n)).world)
    await api.ok("POST", f"{base}/commands", {"command_id": "c", "ops": [
        {"type": "entity.remove", "id": "cam"}, key("cup", 10, [5, 5, 5]), key("cup", 20, [1, 1, 1]),
        {"type": "entity.set", "id": "cup", "path": "parent", "value": None},
        {"type": "entity.set", "id": "table", "path": "parent", "value": "cup"},  # the hierarchy turned around
        {"type": "directive.update", "id": "d1", "params": {"subject": "table"}},
        {"type": "key.set", "id": "table", "path": "transform.rotation", "frame": 0, "value": [0, 0, 0, 1]},
        {"type": "shot.configure", "fps": 30}]})
    assert (await api.command(unique, "s1", [box("stool")])).json()["status"] == "applied"
    before = await api.ok("GET", f"{base}/history", after=0, limit=1000)

    r = await api.ok("POST", f"{base}/rollback", {"command_id": "rb", "to_seq": n})
    assert r["status"] == "applied" and r["to_seq"] == n
    head = (await system.world_at(unique, "s1")).world
    assert same_world(head, at_n) == []  # entities, tracks, relations, directives, meta
    live = await api.ok("GET", f"{base}/world")
    assert set(live["entities"]) == {"cam", "cup", "table"} and live["relations"] == at_n.to_json()["relations"]
    after = await api.ok("GET", f"{base}/history", after=0, limit=1000)
    assert after["entries"][:len(before["entries"])] == before["entries"]  # history never rewritten
    assert after["entries"][-1]["payload"]["reason"] == f"rollback to {n}"
    # nothing left to roll back: still recorded, changes nothing
    again = await api.ok("POST", f"{base}/rollback", {"command_id": "rb2", "to_seq": n})
    assert again["status"] == "applied"
    assert same_world((await system.world_at(unique, "s1")).world, head) == []
    assert (await api.ok("GET", f"{base}/history", after=r["seq"]))["entries"][0]["payload"]["ops"] == [
        {"type": "shot.configure"}]
    r = await api.post(f"{base}/rollback", {"command_id": "rb3", "to_seq": 10**9})
    assert r.status_code == 422 and r.json()["field"] == "to_seq"


async def test_undo_touches_only_the_callers_edits_and_redo_brings_them_back(env, unique):
    system, api = env
    await project_with_shot(api, unique)
    await system.access.set_member(unique, "bob", "layout")
    alice, bob = api, api.as_("bob")
    base = f"/v1/projects/{unique}/shots/s1"
    await alice.ok("POST", f"{base}/commands", {"command_id": "a0", "ops": [box("box"), box("ball")]})
    edit = await alice.ok("POST", f"{base}/commands", {"command_id": "a1", "ops": [
        key("box", 0, [1, 0, 0]), key("box", 10, [2, 0, 0]),
        {"type": "entity.set", "id": "ball", "path": "color", "value": [1, 0, 0]}]})
    await bob.ok("POST", f"{base}/commands", {"command_id": "b1", "ops": [
        key("box", 10, [7, 7, 7]), key("box", 20, [9, 0, 0])]})

    r = await alice.ok("POST", f"{base}/undo", {"command_id": "u1"})
    assert r["status"] == "applied" and r["undone"] == edit["seq"]
    assert r["skipped"] == ["box.transform.position@10"]
    assert sorted(r["restored"]) == ["ball.color", "box.transform.position@0"]
    world = await alice.ok("GET", f"{base}/world")
    keys = {k["frame"]: k for k in world["entities"]["box"]["tracks"]["transform.position"]}
    assert {f: k["value"] for f, k in keys.items()} == {10.0: [7.0, 7.0, 7.0], 20.0: [9.0, 0.0, 0.0]}
    assert {k["by"] for k in keys.values()} == {"user:bob"}  # bob's edits untouched
    assert "color" not in world["entities"]["ball"]["props"]
    # a retried undo request is answered, not applied twice
    assert (await alice.ok("POST", f"{base}/undo", {"command_id": "u1"}))["duplicate"] is True

    r = await alice.ok("POST", f"{base}/redo", {"command_id": "r1"})
    assert r["status"] == "applied" and r["redone"] == edit["seq"]
    world = await alice.ok("GET", f"{base}/world")
    assert world["entities"]["ball"]["props"]["color"] == [1.0, 0.0, 0.0]
    assert world["entities"]["box"]["tracks"]["transform.position"][0]["value"] == [1.0, 0.0, 0.0]
    assert (await alice.post(f"{base}/redo", {"command_id": "r2"})).status_code == 409  # nothing left to redo

    # bob's own undo takes back only his edit; alice's undo chain goes on to her creation
    r = await bob.ok("POST", f"{base}/undo", {"command_id": "bu"})
    assert r["undone"] != edit["seq"]
    world = await alice.ok("GET", f"{base}/world")
    assert [k["frame"] for k in world["entities"]["box"]["tracks"]["transform.position"]] == [0.0, 10.0]
    assert (await alice.ok("POST", f"{base}/undo", {"command_id": "u2"}))["undone"] == edit["seq"]
    r = await alice.ok("POST", f"{base}/undo", {"command_id": "u3"})
    world = await alice.ok("GET", f"{base}/world")
    # the ball goes; the box stays, because bob's undo wrote a key on it after alice created it
    assert set(world["entities"]) == {"box"} and r["skipped"] == ["entity box"]
    first = (await alice.ok("GET", f"{base}/history", after=0, limit=1))["entries"][0]
    assert (await alice.ok("POST", f"{base}/undo", {"command_id": "u4"}))["undone"] == first["seq"]  # the shot
    assert (await alice.post(f"{base}/undo", {"command_id": "u5"})).status_code == 409
    # undo / redo state is read from the log: the reasons say what happened
    hist = await alice.ok("GET", f"{base}/history", actor="alice", after=0, limit=1000)
    reasons = [e["payload"].get("reason", "") for e in hist["entries"]]
    assert [r.split()[0] for r in reasons if r] == ["undo", "redo", "undo", "undo", "undo"]


async def test_an_undo_sent_before_the_edit_is_committed_undoes_that_edit(env, unique, monkeypatch):
    """Sockets see an edit when it is folded, before its audit row is committed; an undo sent at that moment (a
    studio's Ctrl+Z right after the drag showed) must undo that edit, not the one before it."""
    import asyncio

    system, api = env
    await project_with_shot(api, unique)
    base = f"/v1/projects/{unique}/shots/s1"
    await api.ok("POST", f"{base}/commands", {"command_id": "a0", "ops": [box("box")]})
    commit = system.projector.store.commit_batch

    async def slow_commit(*args, **kwargs):
        await asyncio.sleep(0.5)
        return await commit(*args, **kwargs)

    monkeypatch.setattr(system.projector.store, "commit_batch", slow_commit)
    folded_before = (await system.commands.replica.reducer(unique, "s1")).last_seq
    edit = asyncio.create_task(api.ok("POST", f"{base}/commands", {"command_id": "a1", "ops": [
        key("box", 0, [1, 0, 0])]}))
    async with asyncio.timeout(5):
        while (await system.commands.replica.reducer(unique, "s1")).last_seq == folded_before:
            await asyncio.sleep(0.005)
    assert not edit.done()  # folded, not yet committed
    r = await api.ok("POST", f"{base}/undo", {"command_id": "u1"})
    assert r["undone"] == (await edit)["seq"]
    world = await api.ok("GET", f"{base}/world")
    assert "box" in world["entities"] and not world["entities"]["box"]["tracks"]


async def test_fork_copies_the_world_at_n_into_a_new_shot(env, unique):
    system, api = env
    await project_with_shot(api, unique, fps=30, frame_end=200, name="Take 1")
    base = f"/v1/projects/{unique}/shots/s1"
    await api.ok("POST", f"{base}/commands", {"command_id": "a", "ops": [
        box("crate", color=[0.2, 0.3, 0.4]), {"type": "entity.create", "id": "hero", "kind": "character"},
        {"type": "skeleton.set", "id": "hero", "template": "biped"},
        {"type": "key.set", "id": "hero", "path": "joints.l_wrist.rotation", "frame": 5,
         "value": {"euler_deg": [12, -40, 7]}, "interp": "linear"},
        {"type": "relation.add", "id": "hold", "kind": "attached_to", "subject": "crate", "object": "hero",
         "joint": "l_wrist", "offset": [0, 0.1, 0]},
        {"type": "shot.configure", "agents": {"support": "off"}}]})
    n = (await api.ok("POST", f"{base}/commands", {"command_id": "b", "ops": [key("crate", 3, [1, 2, 3])]}))["seq"]
    await api.ok("POST", f"{base}/commands", {"command_id": "c", "ops": [{"type": "entity.remove", "id": "crate"}]})

    r = await api.ok("POST", f"{base}/fork", {"shot": "s1-alt", "at_seq": n}, status=201)
    assert r["status"] == "applied" and r["shot"] == "s1-alt" and r["events"] == 1
    src = (await system.world_at(unique, "s1", n)).world
    fork = (await system.world_at(unique, "s1-alt")).world
    # equal, up to one ulp in a restored quaternion: the reducer's normalisation is not idempotent (core/restore.py)
    assert fork.shot == "s1-alt" and same_world(fork, src) == []
    hist = await api.ok("GET", f"/v1/projects/{unique}/shots/s1-alt/history", after=0)
    assert hist["entries"][0]["payload"]["reason"] == f"fork of {unique}/s1 at {n}"
    assert (await api.post(f"{base}/fork", {"shot": "s1-alt", "at_seq": n, "command_id": "other"})).status_code == 409
    # the fork is a shot like any other
    assert (await api.command(unique, "s1-alt", [key("crate", 9, [0, 0, 0])])).json()["status"] == "applied"


async def test_health_readiness_metrics_and_openapi(env, unique):
    system, api = env
    await project_with_shot(api, unique)
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    r = await api.client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"nats": "ok", "postgres": "ok", "projector": "ok"}
    assert r.json()["lag"][unique] == 0
    metrics = (await api.client.get("/metrics")).text
    assert 'wnm_commands_total{kind="shot",status="applied"} 1.0' in metrics
    assert "wnm_command_seconds_bucket" in metrics and "wnm_http_requests_total" in metrics
    assert 'python_gc_collections_total{generation="2"}' in metrics  # full collections pause the event loop
    schema = (await api.client.get("/schema/openapi.json")).json()
    assert "/v1/projects/{project}/shots/{shot}/commands" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_a_retried_create_answers_with_the_first_verdict(env, unique):
    """A client that lost the answer to an entity.create and retries with the same command_id gets the original
    seq back (not a 422 'already exists'), and the log holds the command once."""
    system, api = env
    await project_with_shot(api, unique)
    base = f"/v1/projects/{unique}/shots/s1"
    cmd = {"command_id": "create-cube", "ops": [box("cube")]}
    first = await api.ok("POST", f"{base}/commands", cmd)
    again = await api.ok("POST", f"{base}/commands", cmd)
    assert again["seq"] == first["seq"] and again["status"] == "applied" and again.get("duplicate") is True
    stale = await api.ok("POST", f"{base}/commands", {**cmd, "expected_seq": 1})
    assert stale["seq"] == first["seq"]
    history = (await api.ok("GET", f"{base}/history"))["entries"]
    assert [e["command_id"] for e in history].count("create-cube") == 1
    other = await api.post(f"{base}/commands", {"command_id": "create-cube-2", "ops": [box("cube")]})
    assert other.status_code == 422 and "already exists" in other.json()["reason"]
