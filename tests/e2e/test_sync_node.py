"""A stock Yjs client — the npm packages yjs + y-websocket + ws, unpatched — against the sync socket.

Needs Node.js and ``npm ci --prefix tests/e2e/node``: without them these tests fail, saying what is missing
(``WNM_ALLOW_SKIP=1`` makes them skip instead, for a machine without Node; CI never sets it).
"""

from __future__ import annotations

import pytest
from pycrdt import Map

from realtime.sync_client import SyncClient
from tests.e2e.sync_harness import NodeClient, add_member, create_shot, cube, node_ready, serve_sync, settings_for

pytestmark = pytest.mark.skipif(node_ready() is not None, reason=node_ready() or "")


@pytest.fixture
async def served(nats_url, database_url, tmp_path):
    async with serve_sync(settings_for(nats_url, database_url, tmp_path)) as s:
        yield s


async def test_stock_yjs_client_syncs_and_sees_another_clients_command_arrive(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    await add_member(served.system, p, "ann", "layout")
    await add_member(served.system, p, "nod", "layout")
    async with await SyncClient.connect(served.base, p, s, served.token("ann")) as ann:
        await ann.command([cube("before", 2.0)])
        node = await NodeClient.start(served.base, p, s, served.token("nod"))
        try:
            await node.expect("synced")
            await node.send(op="wait_entity", id="before")  # in the initial sync
            await node.expect("entity", id="before")

            # another client's command arrives at the stock client as a Yjs update
            await node.send(op="wait_entity", id="cube")
            res = await ann.command([cube("cube", 1.0)])
            assert res["status"] == "applied"
            await node.expect("entity", id="cube")
            await node.send(op="dump")
            dump = await node.expect("dump")
            assert dump["doc"]["meta"]["head_seq"] == res["seq"]
            assert dump["doc"]["entities"]["cube"]["props"]["transform.position"] == [1.0, 0.0, 0.0]
            assert dump["doc"]["entities"]["cube"]["kind"] == "prop"

            # the stock client sends a command (type 100) and reads its result (type 101)
            await node.send(op="command", command={"command_id": "node-1", "ops": [cube("from-node", 3.0)]})
            result = await node.expect("result", command_id="node-1")
            assert result["status"] == "applied" and result["seq"] > res["seq"]
            await ann.wait(lambda c: "from-node" in c.doc.get("entities", type=Map))
            # a refused one comes back as a result too, and the socket stays open
            await node.send(op="command", command={"command_id": "node-2", "ops": [
                {"type": "entity.create", "id": "cam", "kind": "camera"}]})
            refused = await node.expect("result", command_id="node-2")
            assert refused["status"] == "rejected" and refused["status_code"] == 403

            # awareness both ways, and cleared when the stock client goes
            await node.send(op="awareness", state={"user": {"name": "Nod"}, "selected": "cube"})
            await ann.wait(lambda c: {"user": {"name": "Nod", "id": "nod"}, "selected": "cube"} in c.awareness.values())
            await ann.set_awareness({"user": {"name": "Ann"}})
            await node.expect("awareness", states={str(ann.doc.client_id): {"user": {"name": "Ann", "id": "ann"}}})
            assert not any(e["ev"] == "closed" for e in node.events)
        finally:
            await node.stop()
        await ann.wait(lambda c: {"user": {"name": "Nod", "id": "nod"}, "selected": "cube"} not in c.awareness.values())


async def test_stock_client_is_closed_with_a_reason_for_a_bad_token_and_does_not_retry(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    node = await NodeClient.start(served.base, p, s, "not-a-token")
    try:
        closed = await node.expect("closed")
        assert closed["code"] == 4401 and "invalid token" in closed["reason"]
    finally:
        await node.stop()
    assert sum(1 for e in node.events if e["ev"] == "closed") == 1  # 44xx: the stock client stops reconnecting
