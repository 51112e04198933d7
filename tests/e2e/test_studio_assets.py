"""The studio's asset search (tests/e2e/node/studio_assets.cjs in Debian's chromium) over ``GET /v1/assets``: text
retrieval finds a sofa for "couch", and adding it as a layout user puts the asset's white-box geometry in the shot.
Slow: the first search of a process loads the embedding model (about 30 s here)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.e2e.studio_harness import CHROMIUM, browser_ready, http_base, served, skip_without_browser  # noqa: F401
from tests.e2e.sync_harness import NODE_DIR, add_member, create_shot, node_binary

pytestmark = skip_without_browser


async def test_the_asset_route_lists_the_catalogue_and_refuses_bad_input(served, unique):
    token = served.token("ann")
    async with httpx.AsyncClient(base_url=http_base(served), timeout=10,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        listed = (await client.get("/v1/assets")).json()["assets"]
        assert len(listed) > 20 and [a["id"] for a in listed] == sorted(a["id"] for a in listed)
        sofa = next(a for a in listed if a["id"] == "sofa")
        assert sofa["geometry"]["primitive"] in ("box", "cylinder", "sphere") and len(sofa["dims"]) == 3
        assert (await client.get("/v1/assets?q=chair&k=0")).status_code == 422
        assert (await client.get("/v1/assets", headers={"Authorization": "Bearer nope"})).status_code == 401


@pytest.mark.slow
async def test_a_layout_user_finds_an_asset_by_text_and_adds_it(served, unique):
    why = browser_ready()
    assert why is None, why
    p, s = unique, "s1"
    await create_shot(served.system, p, s, owner="ann")
    await add_member(served.system, p, "lay", "layout")
    await add_member(served.system, p, "bob", "director")
    config = {"base": http_base(served), "project": p, "shot": s, "chromium": CHROMIUM, "query": "couch",
              "expect": "sofa", "tokens": {"a": served.token("lay"), "b": served.token("bob")}}
    proc = await asyncio.create_subprocess_exec(node_binary(), str(NODE_DIR / "studio_assets.cjs"), json.dumps(config),
                                                cwd=NODE_DIR, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 150)
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    print(json.dumps(result))
    assert proc.returncode == 0 and result["ev"] == "done", (result, stderr.decode()[-2000:])
    assert result["hits"][0] == "sofa" and result["geometry"]["primitive"] == "box"
