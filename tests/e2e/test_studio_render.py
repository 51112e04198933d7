"""Renders from the studio with a real render worker (tests/e2e/node/studio_render.cjs in Debian's chromium), and
the studio's look-through against the pack's instance pass."""

from __future__ import annotations

import asyncio
import json

from realtime import gateway
from tests.e2e.studio_harness import CHROMIUM, OUT, browser_ready, command, http_base, skip_without_browser
from tests.e2e.sync_harness import NODE_DIR, REPO, create_shot, node_binary, serve_sync, settings_for

pytestmark = skip_without_browser


async def test_a_render_is_followed_and_viewed_and_the_studios_lens_matches_its_instance_pass(
        database_url, tmp_path_factory, unique):
    """A render requested in the studio goes through a real `wnm worker render`; the page follows it and shows its
    passes; looking through the same camera in the studio covers the pack's instance silhouettes (IoU ≥ 0.98)."""
    why = browser_ready()
    assert why is None, why
    from realtime import embedded
    from tests.e2e.sync_harness import PYTHON, env_for_subprocess

    data = tmp_path_factory.mktemp("render-data")
    with embedded.nats_server(tmp_path_factory.mktemp("nats-render")) as nats:  # its own work queue
        async with serve_sync(settings_for(nats, database_url, data)) as served:
            p, s = unique, "s1"
            await create_shot(served.system, p, s, owner="ann")
            scene = command("scene", [
                {"type": "shot.configure", "agents": {"collision": "off", "support": "off", "bounds": "off"}},
                {"type": "entity.create", "id": "box", "kind": "prop",
                 "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}, "transform.position": [-0.6, 0, 0],
                           "transform.rotation": {"euler_deg": [0, 30, 0], "order": "XYZ"}}},
                {"type": "entity.create", "id": "ball", "kind": "prop",
                 "props": {"geometry": {"primitive": "sphere", "radius": 0.4}, "transform.position": [0.9, 0.2, -0.5]}},
                {"type": "entity.create", "id": "cam", "kind": "camera",
                 "props": {"transform.position": [0.3, 1.2, 4], "camera.focal_length_mm": 30,
                           "transform.rotation": {"euler_deg": [-12, 0, 0], "order": "XYZ"}}}])
            res = await gateway.submit_as(served.system, "ann", p, s, scene)
            assert res.status == "applied", res
            worker = await asyncio.create_subprocess_exec(
                PYTHON, "-m", "realtime.cli", "worker", "render", cwd=REPO,
                env=env_for_subprocess(WNM_NATS_URL=nats, WNM_DATABASE_URL=database_url, WNM_DATA_DIR=str(data)),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            try:
                config = {"base": http_base(served), "project": p, "shot": s, "token": served.token("ann"),
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
