"""The render farm against real NATS JetStream, with worker processes started like ``wnm worker render``."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from renderers.farm import FarmConfig, RenderFarm
from renderers.job import RenderJob, pack_name
from renderers.pack import verify_pack

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pyrender") is None, reason="pyrender not installed")

ROOT = Path(__file__).resolve().parents[2]
LOADER = "renderers.demo:load_world"


def demo_loader(project, shot, seq):
    from renderers.demo import load_world

    return load_world(project, shot, seq)


@pytest.fixture
async def farm(nats_url, unique, tmp_path):
    cfg = FarmConfig(prefix=f"WNM_RENDER_{unique}", ack_wait_s=3.0, heartbeat_s=0.3, max_deliver=4)
    f = await RenderFarm.connect(nats_url, config=cfg, root=tmp_path / "packs", load_world=demo_loader)
    yield f
    for bucket in (cfg.status_bucket, cfg.object_bucket):
        try:
            await f.js.delete_key_value(bucket) if bucket == cfg.status_bucket else await f.js.delete_object_store(bucket)
        except Exception:
            pass
    await f.js.delete_stream(cfg.stream)
    await f.close()


def start_worker(nats_url, farm, *extra) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "renderers.cli", "--nats", nats_url, "--load-world", LOADER, "worker", "render",
           "--prefix", farm.config.prefix, "--ack-wait", str(farm.config.ack_wait_s), *extra]
    if "--object-store" not in extra:
        cmd += ["--root", str(farm.store.root)]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def worker_name(proc) -> str:
    return json.loads(proc.stdout.readline())["worker"]


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def small_job(**kw):
    base = dict(project="demo", shot="s1", seq=1, frames=[0.0, 24.0], resolution=(128, 96))
    base.update(kw)
    return RenderJob(**base)


async def test_two_worker_processes_render_the_same_offset_to_the_same_hash(farm, nats_url):
    a = await farm.submit(small_job())
    b = await farm.submit(small_job())
    assert a["job_id"] != b["job_id"] and a["state"] == "queued"
    workers = [start_worker(nats_url, farm, "--max-jobs", "1") for _ in range(2)]
    try:
        names = {worker_name(w) for w in workers}
        ra, rb = await asyncio.gather(farm.wait("demo", a["job_id"], 120), farm.wait("demo", b["job_id"], 120))
    finally:
        for w in workers:
            stop(w)
    assert ra["state"] == rb["state"] == "done"
    assert {ra["worker"], rb["worker"]} == names  # each process rendered one
    assert ra["pack_sha256"] == rb["pack_sha256"]
    ma = json.loads((farm.store.path(pack_name("demo", a["job_id"])) / "manifest.json").read_text())
    mb = json.loads((farm.store.path(pack_name("demo", b["job_id"])) / "manifest.json").read_text())
    assert ma["files"] == mb["files"] and ma["seq"] == 1


async def test_a_worker_killed_mid_job_leaves_it_to_another(farm, nats_url):
    job = await farm.submit(small_job(frames=[f / 5 for f in range(240)], resolution=(256, 192)))
    first = start_worker(nats_url, farm)
    try:
        name = worker_name(first)
        for _ in range(600):
            rec = await farm.status("demo", job["job_id"])
            if rec["state"] == "running" and (rec.get("frames_done") or 0) >= 2:
                break
            await asyncio.sleep(0.1)
        assert rec["worker"] == name and rec["frames_done"] < 240
    finally:
        first.kill()
        first.wait()
    second = start_worker(nats_url, farm)
    try:
        other = worker_name(second)
        done = await farm.wait("demo", job["job_id"], 180)
    finally:
        stop(second)
    assert done["state"] == "done" and done["worker"] == other and done["attempt"] == 2
    packs = [p for p in (farm.store.root / "demo").iterdir() if not p.name.startswith(".")]
    assert packs == [farm.store.path(pack_name("demo", job["job_id"]))]
    assert verify_pack(packs[0]) == []
    info = await farm.js.stream_info(farm.config.stream)
    assert info.state.messages == 0  # acked once, nothing left queued


async def test_http_submit_status_and_download(farm, nats_url, tmp_path):
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from realtime.http_renders import render_router
    from renderers.store import untar

    async def connect(app):  # the farm connection lives in the application's event loop, as in the server
        app.state.render_farm = await RenderFarm.connect(nats_url, config=farm.config, root=farm.store.root,
                                                         load_world=demo_loader)

    async def close(app):
        await app.state.render_farm.close()

    app = Litestar(route_handlers=[render_router()], on_startup=[connect], on_shutdown=[close])
    worker = start_worker(nats_url, farm, "--max-jobs", "1")
    try:
        async with AsyncTestClient(app) as client:
            bad = await client.post("/v1/projects/demo/shots/s1/renders", json={"preset": "sora"})
            assert bad.status_code == 422 and "unknown preset" in bad.text
            bad = await client.post("/v1/projects/demo/shots/s1/renders", json={"frames": [0.0, 999.0]})
            assert bad.status_code == 422 and "outside the shot" in bad.text
            bad = await client.post("/v1/projects/demo/shots/s1/renders", json={"resolution": [9000, 9000]})
            assert bad.status_code == 422 and "too large" in bad.text
            r = await client.post("/v1/projects/demo/shots/s1/renders",
                                  json={"frames": [0.0, 12.0], "resolution": [96, 64], "passes": ["proxy", "depth"]})
            assert r.status_code == 202
            job_id = r.json()["job_id"]
            early = await client.get(f"/v1/renders/{job_id}/pack")
            assert early.status_code in (200, 409)
            for _ in range(600):
                status = (await client.get(f"/v1/renders/{job_id}")).json()
                if status["state"] in ("done", "failed"):
                    break
                await asyncio.sleep(0.1)
            assert status["state"] == "done" and status["progress"] == 1.0
            tar = await client.get(f"/v1/renders/{job_id}/pack")
            assert tar.status_code == 200 and tar.headers["content-type"] == "application/x-tar"
            manifest = (await client.get(f"/v1/renders/{job_id}/manifest")).json()
            assert (await client.get("/v1/renders/nope")).status_code == 404
    finally:
        stop(worker)
    untar(tar.content, tmp_path / "got")
    assert verify_pack(tmp_path / "got") == [] and manifest["passes"] == ["proxy", "depth"]


async def test_packs_can_live_in_the_nats_object_store(farm, nats_url, unique):
    from renderers.store import ObjectStore

    worker = start_worker(nats_url, farm, "--object-store", "--max-jobs", "1")
    try:
        rec = await farm.submit(small_job(passes=["instance"]))
        done = await farm.wait("demo", rec["job_id"], 120)
    finally:
        stop(worker)
    assert done["state"] == "done"
    store = ObjectStore(farm.js, farm.config.object_bucket)
    assert await store.exists(pack_name("demo", rec["job_id"]))
    assert (await store.manifest(pack_name("demo", rec["job_id"])))["pack_sha256"] == done["pack_sha256"]
    assert len(await store.tar(pack_name("demo", rec["job_id"]))) > 0
