"""Renders as a studio runs them: `wnm up` takes a render job over HTTP, a separate `wnm worker render` process
renders it, the API reports progress and serves the pack."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile

import httpx

from realtime import embedded

from .test_http_up import WNM, ROOT, _env, _start, _stop, _until_ready, own_nats  # noqa: F401 (fixture)


async def test_a_render_job_goes_through_the_farm_and_comes_back_as_a_pack(own_nats, database_url, tmp_path):
    port = embedded.free_port()
    env = _env(own_nats, database_url, tmp_path / "data", port)
    proc, lines = await _start(env)
    worker = None
    try:
        token = lines[lines.index(next(x for x in lines if "owner token" in x)) + 1].strip()
        owner = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=owner) as client:
            await _until_ready(client)
            r = await client.post("/v1/projects/default/shots", json={"id": "sh020", "frame_end": 24,
                                                                       "agents": {"collision": "off",
                                                                                  "support": "off",
                                                                                  "bounds": "off"}})
            assert r.status_code == 201, r.text
            r = await client.post("/v1/projects/default/shots/sh020/commands", json={"command_id": "scene", "ops": [
                {"type": "entity.create", "id": "box", "kind": "prop",
                 "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}, "color": [0.9, 0.2, 0.2]}},
                {"type": "entity.create", "id": "cam", "kind": "camera",
                 "props": {"transform.position": [0, 0.5, 4]}}]})
            assert r.json()["status"] == "applied", r.text
            bad = await client.post("/v1/projects/default/shots/sh020/renders", json={"preset": "nope"})
            assert bad.status_code == 422 and "preset" in bad.text
            r = await client.post("/v1/projects/default/shots/sh020/renders", json={
                "preset": "custom", "frames": [0, 12], "resolution": [160, 96], "passes": ["proxy", "depth"]})
            assert r.status_code == 202, r.text
            job_id = r.json()["job_id"]

            worker = await asyncio.create_subprocess_exec(*WNM, "worker", "render", cwd=ROOT, env=env,
                                                          stdout=asyncio.subprocess.DEVNULL,
                                                          stderr=asyncio.subprocess.DEVNULL)
            async with asyncio.timeout(90):
                while True:
                    status = (await client.get(f"/v1/renders/{job_id}")).json()
                    if status["state"] in ("done", "failed"):
                        break
                    await asyncio.sleep(0.3)
            assert status["state"] == "done", status
            manifest = (await client.get(f"/v1/renders/{job_id}/manifest")).json()
            assert manifest["shot"] == "sh020" and manifest["frame_count"] == 2
            pack = await client.get(f"/v1/renders/{job_id}/pack")
            assert pack.status_code == 200
            names = tarfile.open(fileobj=io.BytesIO(pack.content)).getnames()
            assert any(n.endswith("manifest.json") for n in names) and any("depth/" in n for n in names)
            assert json.loads(json.dumps(manifest))["files"]
            stranger = await client.get(f"/v1/renders/{job_id}", headers={"Authorization": "Bearer forged"})
            assert stranger.status_code == 401
    finally:
        if worker is not None:
            worker.terminate()
            await worker.wait()
        assert await _stop(proc) == 0
