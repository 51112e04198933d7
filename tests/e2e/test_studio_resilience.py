"""The studio across a server restart and a 4410 (tests/e2e/node/studio_restart.cjs in Debian's chromium): the
open page reconnects and resyncs by itself, without a reload."""

from __future__ import annotations

import asyncio
import json

from realtime import gateway
from tests.e2e.studio_harness import CHROMIUM, browser_ready, command, http_base, skip_without_browser
from tests.e2e.sync_harness import NODE_DIR, create_shot, node_binary, serve_sync, settings_for

pytestmark = skip_without_browser


async def test_the_page_comes_back_by_itself_after_a_server_restart(nats_url, database_url, tmp_path, unique,
                                                                     monkeypatch):
    why = browser_ready()
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
            seed = command("c1", [
                {"type": "entity.create", "id": "before", "kind": "prop"}])
            assert (await gateway.submit_as(served.system, "ann", p, s, seed)).status == "applied"
            config = {"base": http_base(served), "project": p, "shot": s, "token": served.token("ann"),
                      "chromium": CHROMIUM}
            proc = await asyncio.create_subprocess_exec(
                node_binary(), str(NODE_DIR / "studio_restart.cjs"), json.dumps(config), cwd=NODE_DIR,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert json.loads(line)["ev"] == "ready", line
        # the server is down (its sockets closed with 1001); a new one starts on the same port
        await asyncio.sleep(1.0)
        async with serve_sync(settings) as served:
            after = command("c2", [
                {"type": "entity.create", "id": "after", "kind": "prop"}])
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
