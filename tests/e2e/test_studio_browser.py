"""The studio served at ``GET /``, driven in Debian's chromium by playwright-core (tests/e2e/node/studio.cjs):
two people on one shot see each other's keys, drags (as ghosts), graph edits and rollbacks; each edit commits exactly
one command; a viewer cannot edit; a bad token goes back to sign-in; no console errors and no failed requests.
Screenshots of the viewport, timeline, curves and graph are written under ``out/studio/`` (the path is printed).

Needs Node.js, ``npm ci --prefix tests/e2e/node`` and ``/usr/bin/chromium`` (Debian's ``chromium`` package); without
them these tests fail saying what is missing (``WNM_ALLOW_SKIP=1`` skips instead).
"""

from __future__ import annotations

import asyncio
import json
import shutil

import httpx
import pytest

from realtime import gateway
from tests.e2e.studio_harness import (CHROMIUM, OUT, browser_ready, command, http_base, served,  # noqa: F401
                                      skip_without_browser)
from tests.e2e.sync_harness import NODE_DIR, add_member, create_shot, node_binary

pytestmark = skip_without_browser


async def test_the_studio_is_served_from_the_package_with_its_favicon_and_vendored_modules(served):
    async with httpx.AsyncClient(base_url=http_base(served), timeout=10) as client:
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
    why = browser_ready()
    assert why is None, why
    p, s = unique, "s1"
    await create_shot(served.system, p, s, owner="ann")
    await add_member(served.system, p, "bob", "director")
    await add_member(served.system, p, "vic", "viewer")
    seed = command("seed", [
        {"type": "entity.create", "id": "cube", "kind": "prop",
         "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}, "transform.position": [0, 0, 0]}},
        {"type": "key.set", "id": "cube", "path": "transform.position", "frame": 0, "value": [0, 0, 0]},
        {"type": "key.set", "id": "cube", "path": "transform.position", "frame": 48, "value": [2, 0, 0]},
        {"type": "entity.create", "id": "cam", "kind": "camera", "props": {"transform.position": [0, 1.5, 6]}},
        {"type": "entity.create", "id": "key", "kind": "light",
         "props": {"light.type": "spot", "light.intensity": 500, "transform.position": [2, 3, 2]}},
        {"type": "entity.create", "id": "hero", "kind": "character", "props": {"transform.position": [-2, 0, -1]}},
        {"type": "skeleton.set", "id": "hero", "template": "biped"},
    ])
    res = await gateway.submit_as(served.system, "ann", p, s, seed)
    assert res.status == "applied", res
    if OUT.exists():
        shutil.rmtree(OUT)
    print(f"studio screenshots: {OUT}")
    config = {"base": http_base(served), "project": p, "shot": s, "seed_seq": res.seq, "out": str(OUT),
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
    why = browser_ready()
    assert why is None, why
    p, s = unique, "s1"
    await create_shot(served.system, p, s, owner="ann")
    seed = command("seed", [
        {"type": "entity.create", "id": "hero", "kind": "character"},
        {"type": "skeleton.set", "id": "hero", "template": "biped"}])
    assert (await gateway.submit_as(served.system, "ann", p, s, seed)).status == "applied"
    config = {"base": http_base(served), "project": p, "shot": s, "token": served.token("ann"), "chromium": CHROMIUM,
              "characters": 50, "joints": 30, "keys": 240}
    proc = await asyncio.create_subprocess_exec(node_binary(), str(NODE_DIR / "studio_scrub.cjs"), json.dumps(config),
                                                cwd=NODE_DIR, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 240)
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    print(json.dumps(result))
    assert proc.returncode == 0 and result["ev"] == "scrub", (result, stderr.decode()[-2000:])
    assert result["errors"] == [] and result["characters"] == 50 and result["keys"] == 240
    assert result["bodies"]  # characters drawn as their white-box bodies (GET /v1/templates)
    assert result["fps_from_mean"] > 5  # the figure itself goes into the notes; this only catches a collapse
