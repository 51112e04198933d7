"""The path and hold agents in `wnm up` (its agent child process): a path directive sent over HTTP is answered by
the agent's keys and report; moving a crate into the route over HTTP is answered by a re-plan caused by it; a
bad directive gets its failed report."""

from __future__ import annotations

import asyncio

import httpx

from realtime import embedded

from .test_http_up import _env, _start, _stop, _until_ready, own_nats  # noqa: F401 (fixture)

CRATES = [(0.0, 5.0), (-3.2, 9.0), (3.2, 9.0), (0.0, 13.0), (-4.0, 16.0), (4.0, 17.5)]
SCENE = [{"type": "entity.create", "id": "alice", "kind": "character", "props": {"transform.position": [0, 0, 0]}},
         {"type": "skeleton.set", "id": "alice", "template": "biped"}] + [
    {"type": "entity.create", "id": f"crate-{i}", "kind": "prop",
     "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}, "transform.position": [x, 0, z]}}
    for i, (x, z) in enumerate(CRATES)]


async def _report(client, base, directive, want=lambda r: True, timeout=60.0):
    async with asyncio.timeout(timeout):
        while True:
            world = (await client.get(f"{base}/world")).json()
            rep = world["directives"].get(directive, {}).get("params", {}).get("report")
            if rep is not None and want(rep):
                return world, rep
            await asyncio.sleep(0.2)


async def test_path_directives_over_http(own_nats, database_url, tmp_path):  # noqa: F811
    port = embedded.free_port()
    env = _env(own_nats, database_url, tmp_path / "data", port)
    proc, lines = await _start(env)
    try:
        token = lines[lines.index(next(x for x in lines if "owner token" in x)) + 1].strip()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            await _until_ready(client)
            r = await client.post("/v1/projects/default/shots", json={"id": "walk", "frame_end": 600})
            assert r.status_code == 201, r.text
            base = "/v1/projects/default/shots/walk"
            r = await client.post(f"{base}/commands", json={"command_id": "scene", "ops": SCENE + [
                {"type": "directive.add", "id": "w", "agent": "path",
                 "params": {"entity": "alice", "goal": [0, 24], "start": 0, "end": 480}},
                {"type": "directive.add", "id": "bad", "agent": "path",
                 "params": {"entity": "alice", "goal": [0, 5], "start": 0}}]})
            assert r.json()["status"] == "applied", r.text
            world, rep = await _report(client, base, "w")
            assert rep["status"] == "done" and rep["arrival_frame"] == 480, rep
            keys = world["entities"]["alice"]["tracks"]["transform.position"]
            assert keys[-1]["frame"] == 480 and keys[-1]["by"] == "agent:path"
            _, bad = await _report(client, base, "bad")
            assert bad["status"] == "failed" and "inside obstacle crate-0" in bad["reason"]

            sampled = (await client.get(f"{base}/world", params={"frame": 200})).json()
            x, _, z = sampled["entities"]["alice"]["position"]
            r = await client.post(f"{base}/commands", json={"command_id": "block", "ops": [
                {"type": "entity.set", "id": "crate-5", "path": "transform.position", "value": [x, 0, z]}]})
            assert r.json()["status"] == "applied", r.text
            moved = r.json()["seq"]
            _, rep = await _report(client, base, "w", lambda r: "replanned_after" in r)
            assert rep["replanned_after"] == {"seq": moved, "entity": "crate-5"} and rep["status"] == "done"
            history = (await client.get(f"{base}/history", params={"actor": "agent:path"})).json()
            entries = history["entries"] if isinstance(history, dict) else history
            assert any(e.get("causation") == moved for e in entries), entries
    finally:
        assert await _stop(proc) == 0
