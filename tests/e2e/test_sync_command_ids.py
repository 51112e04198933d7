"""Command ids over the sync socket follow the same rule as over HTTP, and are scoped to their shot."""

from __future__ import annotations

import asyncio
import json

import pytest

from realtime import yprotocol as Y
from realtime.sync import SyncLimits
from realtime.sync_client import SyncClient
from tests.e2e.sync_harness import create_shot, cube, serve_sync, settings_for


@pytest.fixture
async def served(nats_url, database_url, tmp_path):
    async with serve_sync(settings_for(nats_url, database_url, tmp_path), SyncLimits(rate_per_s=200, burst=400)) as s:
        yield s


async def raw_command(c: SyncClient, cid: str, ops: list) -> dict:
    fut = c._pending[cid] = asyncio.get_running_loop().create_future()
    await c.send_raw(Y.command(json.dumps({"command_id": cid, "ops": ops}).encode()))
    return await asyncio.wait_for(fut, 10)


async def test_bad_ids_are_refused_naming_the_field_and_nothing_is_appended(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    async with await SyncClient.connect(served.base, p, s, served.token("owner")) as c:
        before = await served.system.log.last_seq(p, s)
        for i, cid in enumerate(["", "", "", " c", "c ", "x" * 5000, "x\r\ny", "\u0000"]):
            res = await raw_command(c, cid, [cube(f"b{i}")])
            assert (res["status"], res["status_code"], res.get("field")) == ("rejected", 422, "command_id"), res
            assert res["seq"] is None
        assert await served.system.log.last_seq(p, s) == before
        assert (await c.command([cube("ok")]))["status"] == "applied"  # the socket serves on


async def test_an_id_is_scoped_to_its_shot_and_a_reuse_with_other_ops_is_409(served, unique):
    p = unique
    await create_shot(served.system, p, "s1")
    await create_shot(served.system, p, "s2")
    async with await SyncClient.connect(served.base, p, "s1", served.token("owner")) as one, \
            await SyncClient.connect(served.base, p, "s2", served.token("owner")) as two:
        a = await one.command([cube("a")], command_id="same")
        b = await two.command([cube("b")], command_id="same")
        assert a["status"] == b["status"] == "applied" and not b.get("duplicate") and a["seq"] != b["seq"]
        assert "b" in served.system.projector.reducer(p, "s2").world.entities
        reused = await one.command([cube("c")], command_id="same")
        assert (reused["status"], reused["status_code"]) == ("rejected", 409)
        assert "already used for a different command" in reused["reason"]
        assert "c" not in served.system.projector.reducer(p, "s1").world.entities
