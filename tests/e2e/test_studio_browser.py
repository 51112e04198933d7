"""The studio served at ``GET /``, driven in Debian's chromium by playwright-core (tests/e2e/node/studio.cjs):
two people on one shot see each other's keys, drags (as ghosts) and rollbacks; a drag commits exactly one command;
a viewer cannot edit; a bad token goes back to sign-in; no console errors and no failed requests. Screenshots of the
viewport and timeline are written under ``out/studio/`` (the path is printed).

Needs Node.js, ``npm ci --prefix tests/e2e/node`` and ``/usr/bin/chromium`` (Debian's ``chromium`` package); without
them these tests fail saying what is missing (``WNM_ALLOW_SKIP=1`` skips instead).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import httpx
import msgspec
import pytest

from events.envelope import Command
from realtime import gateway
from tests.e2e.sync_harness import NODE_DIR, REPO, add_member, create_shot, node_binary, serve_sync, settings_for

CHROMIUM = os.environ.get("WNM_CHROMIUM", "/usr/bin/chromium")
OUT = REPO / "out" / "studio"


def _browser_ready() -> str | None:
    if node_binary() is None:
        return "node is not installed"
    if not (NODE_DIR / "node_modules" / "playwright-core").is_dir():
        return "run `npm ci --prefix tests/e2e/node` first"
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium, or set WNM_CHROMIUM)"
    return None


pytestmark = pytest.mark.skipif(_browser_ready() is not None and os.environ.get("WNM_ALLOW_SKIP") == "1",
                                reason=_browser_ready() or "")


@pytest.fixture
async def served(nats_url, database_url, tmp_path):
    async with serve_sync(settings_for(nats_url, database_url, tmp_path)) as s:
        yield s


def _http(served) -> str:
    return served.base.replace("ws://", "http://")


async def test_the_studio_is_served_from_the_package_with_its_favicon_and_vendored_modules(served):
    async with httpx.AsyncClient(base_url=_http(served), timeout=10) as client:
        page = await client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        importmap = json.loads(page.text.split('<script type="importmap">')[1].split("</script>")[0])
        assert importmap["imports"]["three"] == "/studio/vendor/three/build/three.module.js"
        for url in [*importmap["imports"].values(), "/studio/js/main.js", "/studio/studio.css"]:
            r = await client.get(url)
            assert r.status_code == 200, url
        icon = await client.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
        assert (await client.get("/studio/js/nothing-here.js")).status_code == 404


async def test_two_people_co_edit_a_shot_in_the_browser(served, unique):
    why = _browser_ready()
    assert why is None, why
    p, s = unique, "s1"
    await create_shot(served.system, p, s, owner="ann")
    await add_member(served.system, p, "bob", "director")
    await add_member(served.system, p, "vic", "viewer")
    seed = msgspec.json.decode(json.dumps({"command_id": "seed", "ops": [
        {"type": "entity.create", "id": "cube", "kind": "prop",
         "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}, "transform.position": [0, 0, 0]}},
        {"type": "key.set", "id": "cube", "path": "transform.position", "frame": 0, "value": [0, 0, 0]},
        {"type": "key.set", "id": "cube", "path": "transform.position", "frame": 48, "value": [2, 0, 0]},
        {"type": "entity.create", "id": "cam", "kind": "camera", "props": {"transform.position": [0, 1.5, 6]}},
        {"type": "entity.create", "id": "key", "kind": "light",
         "props": {"light.type": "spot", "light.intensity": 500, "transform.position": [2, 3, 2]}},
        {"type": "entity.create", "id": "hero", "kind": "character", "props": {"transform.position": [-2, 0, -1]}},
        {"type": "skeleton.set", "id": "hero", "template": "biped"},
    ]}).encode(), type=Command)
    res = await gateway.submit_as(served.system, "ann", p, s, seed)
    assert res.status == "applied", res
    if OUT.exists():
        shutil.rmtree(OUT)
    print(f"studio screenshots: {OUT}")
    config = {"base": _http(served), "project": p, "shot": s, "seed_seq": res.seq, "out": str(OUT),
              "chromium": CHROMIUM,
              "tokens": {"a": served.token("ann"), "b": served.token("bob"), "viewer": served.token("vic")}}
    proc = await asyncio.create_subprocess_exec(node_binary(), str(NODE_DIR / "studio.cjs"), json.dumps(config),
                                                cwd=NODE_DIR, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    events = [json.loads(line) for line in stdout.decode().splitlines() if line.startswith("{")]
    print("\n".join(json.dumps(e) for e in events))
    assert proc.returncode == 0 and events[-1]["ev"] == "done", (events[-3:], stderr.decode()[-3000:])
    got = {e["ev"]: e for e in events}
    assert got["http_entity_visible_ms"]["ms"] <= 1000
    assert got["key_visible_in_other_ms"]["ms"] <= 1000
    assert got["drag"]["ghost_during_drag"]
    # the server's side of the drag: one applied event by ann, a key on cube at the page's frame
    entries = await served.system.store.history(p, s, actor="ann", op="key.set", limit=100)
    drags = [e for e in entries if e.payload["ops"] == [got["drag"]["op"]] and not e.payload.get("reason")]  # not the redo
    assert len(drags) == 1 and drags[0].status == "applied"
    for name in ("viewport-A.png", "timeline-A.png", "viewport-ghost-B.png", "studio-A.png", "graph-B.png"):
        assert (OUT / name).stat().st_size > 5000, name


@pytest.mark.slow
async def test_scrubbing_a_big_shot_is_measured(served, unique):
    """50 characters × 30 joints × 240 keys scrubbed frame by frame in headless chromium: prints the per-frame cost
    (sampling, viewport, timeline) and the frames per second it allows. A measurement, bounded loosely."""
    why = _browser_ready()
    assert why is None, why
    p, s = unique, "s1"
    await create_shot(served.system, p, s, owner="ann")
    seed = msgspec.json.decode(json.dumps({"command_id": "seed", "ops": [
        {"type": "entity.create", "id": "hero", "kind": "character"},
        {"type": "skeleton.set", "id": "hero", "template": "biped"}]}).encode(), type=Command)
    assert (await gateway.submit_as(served.system, "ann", p, s, seed)).status == "applied"
    config = {"base": _http(served), "project": p, "shot": s, "token": served.token("ann"), "chromium": CHROMIUM,
              "characters": 50, "joints": 30, "keys": 240}
    proc = await asyncio.create_subprocess_exec(node_binary(), str(NODE_DIR / "studio_scrub.cjs"), json.dumps(config),
                                                cwd=NODE_DIR, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 240)
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    print(json.dumps(result))
    assert proc.returncode == 0 and result["ev"] == "scrub", (result, stderr.decode()[-2000:])
    assert result["errors"] == [] and result["characters"] == 50 and result["keys"] == 240
    assert result["fps_from_mean"] > 5  # the figure itself goes into the notes; this only catches a collapse


async def test_the_page_comes_back_by_itself_after_a_server_restart(nats_url, database_url, tmp_path, unique,
                                                                     monkeypatch):
    why = _browser_ready()
    assert why is None, why
    from tests.e2e import sync_harness

    port = sync_harness.free_port()
    monkeypatch.setattr(sync_harness, "free_port", lambda: port)  # the restarted server listens where the page was
    settings = settings_for(nats_url, database_url, tmp_path)
    p, s = unique, "s1"
    proc = None
    try:
        async with serve_sync(settings) as served:
            await create_shot(served.system, p, s, owner="ann")
            seed = msgspec.json.decode(json.dumps({"command_id": "c1", "ops": [
                {"type": "entity.create", "id": "before", "kind": "prop"}]}).encode(), type=Command)
            assert (await gateway.submit_as(served.system, "ann", p, s, seed)).status == "applied"
            config = {"base": _http(served), "project": p, "shot": s, "token": served.token("ann"),
                      "chromium": CHROMIUM}
            proc = await asyncio.create_subprocess_exec(
                node_binary(), str(NODE_DIR / "studio_restart.cjs"), json.dumps(config), cwd=NODE_DIR,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert json.loads(line)["ev"] == "ready", line
        # the server is down (its sockets closed with 1001); a new one starts on the same port
        await asyncio.sleep(1.0)
        async with serve_sync(settings) as served:
            after = msgspec.json.decode(json.dumps({"command_id": "c2", "ops": [
                {"type": "entity.create", "id": "after", "kind": "prop"}]}).encode(), type=Command)
            assert (await gateway.submit_as(served.system, "ann", p, s, after)).status == "applied"
            proc.stdin.write(b"restarted\n")
            await proc.stdin.drain()
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
            result = json.loads(stdout.decode().strip().splitlines()[-1])
            print(json.dumps(result))
            assert proc.returncode == 0 and result["ev"] == "done", (result, stderr.decode()[-2000:])
            assert result["listed"] == ["after", "before"] and result["after_4410"] == ["after", "before"]
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_render_is_followed_and_viewed_and_the_studios_lens_matches_its_instance_pass(
        database_url, tmp_path_factory, unique):
    """A render requested in the studio goes through a real `wnm worker render`; the page follows it and shows its
    passes; looking through the same camera in the studio covers the pack's instance silhouettes (IoU ≥ 0.98)."""
    why = _browser_ready()
    assert why is None, why
    from realtime import embedded
    from tests.e2e.sync_harness import PYTHON, env_for_subprocess

    data = tmp_path_factory.mktemp("render-data")
    with embedded.nats_server(tmp_path_factory.mktemp("nats-render")) as nats:  # its own work queue
        async with serve_sync(settings_for(nats, database_url, data)) as served:
            p, s = unique, "s1"
            await create_shot(served.system, p, s, owner="ann")
            scene = msgspec.json.decode(json.dumps({"command_id": "scene", "ops": [
                {"type": "shot.configure", "agents": {"collision": "off", "support": "off", "bounds": "off"}},
                {"type": "entity.create", "id": "box", "kind": "prop",
                 "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}, "transform.position": [-0.6, 0, 0],
                           "transform.rotation": {"euler_deg": [0, 30, 0], "order": "XYZ"}}},
                {"type": "entity.create", "id": "ball", "kind": "prop",
                 "props": {"geometry": {"primitive": "sphere", "radius": 0.4}, "transform.position": [0.9, 0.2, -0.5]}},
                {"type": "entity.create", "id": "cam", "kind": "camera",
                 "props": {"transform.position": [0.3, 1.2, 4], "camera.focal_length_mm": 30,
                           "transform.rotation": {"euler_deg": [-12, 0, 0], "order": "XYZ"}}}]}).encode(), type=Command)
            res = await gateway.submit_as(served.system, "ann", p, s, scene)
            assert res.status == "applied", res
            worker = await asyncio.create_subprocess_exec(
                PYTHON, "-m", "realtime.cli", "worker", "render", cwd=REPO,
                env=env_for_subprocess(WNM_NATS_URL=nats, WNM_DATABASE_URL=database_url, WNM_DATA_DIR=str(data)),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            try:
                config = {"base": _http(served), "project": p, "shot": s, "token": served.token("ann"),
                          "chromium": CHROMIUM, "out": str(OUT)}
                OUT.mkdir(parents=True, exist_ok=True)
                proc = await asyncio.create_subprocess_exec(
                    node_binary(), str(NODE_DIR / "studio_render.cjs"), json.dumps(config), cwd=NODE_DIR,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                stdout, stderr = await asyncio.wait_for(proc.communicate(), 180)
            finally:
                worker.terminate()
                await worker.wait()
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    print(json.dumps(result))
    assert proc.returncode == 0 and result["ev"] == "render", (result, stderr.decode()[-2000:])
    assert result["passes"] == ["proxy", "depth", "normal", "instance", "pose"]
    assert "done 2/2" in result["status"]
    assert result["problems"] == []
    assert result["pack_pixels"] > 1000
    assert result["iou"] >= 0.98, result
