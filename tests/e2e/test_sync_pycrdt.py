"""The sync socket with a pycrdt client over a real server (uvicorn, NATS JetStream, PostgreSQL)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from pycrdt import Doc, Map

from realtime import yprotocol as Y
from realtime.sync_client import SyncClient
from tests.e2e.sync_harness import add_member, create_shot, cube, serve_sync, settings_for


@pytest.fixture
async def served(nats_url, database_url, tmp_path):
    async with serve_sync(settings_for(nats_url, database_url, tmp_path)) as s:
        yield s


def entities(c: SyncClient) -> Map:
    return c.doc.get("entities", type=Map)


def server_doc(served, project, shot) -> Doc:
    return served.system.projector.reducer(project, shot).doc


async def test_pycrdt_client_receives_another_clients_command_as_a_yjs_update(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    await add_member(served.system, p, "ann", "layout")
    await add_member(served.system, p, "vic", "viewer")
    async with await SyncClient.connect(served.base, p, s, served.token("ann")) as ann, \
            await SyncClient.connect(served.base, p, s, served.token("vic")) as vic:
        assert "cube" not in entities(vic)
        res = await ann.command([cube("cube", 1.5)], command_id="c-1")
        assert res["status"] == "applied" and res["command_id"] == "c-1" and res["seq"] > 0
        await vic.wait(lambda c: "cube" in entities(c))
        props = entities(vic)["cube"]["props"]
        assert list(props["transform.position"]) == [1.5, 0.0, 0.0]
        # the client holds exactly the server's document: the same full update, byte for byte
        await vic.wait(lambda c: c.doc.get("meta", type=Map)["head_seq"] == res["seq"])
        theirs = hashlib.sha256(vic.doc.get_update()).hexdigest()
        assert theirs == served.system.projector.reducer(p, s).state_hash()


async def test_a_retried_command_id_is_applied_once_and_reported_as_a_duplicate(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    async with await SyncClient.connect(served.base, p, s, served.token("owner")) as c:
        await c.command([cube("a")])
        key = {"type": "key.set", "id": "a", "path": "transform.position", "frame": 12, "value": [0, 1, 0]}
        first = await c.command([key], command_id="same")
        again = await c.command([key], command_id="same")
        assert first["status"] == "applied"
        assert again["seq"] == first["seq"] and again.get("duplicate") is True
        history = await served.system.store.history(p, s, limit=100)
        assert sum(1 for h in history if h.command_id == "same") == 1


async def test_viewer_syncs_but_its_commands_are_refused_with_a_result_not_a_close(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    await add_member(served.system, p, "vic", "viewer")
    async with await SyncClient.connect(served.base, p, s, served.token("vic")) as vic, \
            await SyncClient.connect(served.base, p, s, served.token("owner")) as owner:
        res = await vic.command([cube("nope")], command_id="v-1")
        assert res["status"] == "rejected" and res["status_code"] == 403 and res["seq"] is None
        assert "viewer" in res["reason"]
        await owner.command([cube("yes")])
        await vic.wait(lambda c: "yes" in entities(c))  # still open and still synced
        assert "nope" not in entities(vic) and not vic.closed.done()


async def test_invalid_command_gets_a_422_result_naming_the_field(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    async with await SyncClient.connect(served.base, p, s, served.token("owner")) as c:
        bad = await c.command([{"type": "entity.create", "id": "x", "kind": "prop",
                                "props": {"transform.scale": [0, 1, 1]}}], command_id="bad-1")
        assert bad["status"] == "rejected" and bad["status_code"] == 422 and bad["command_id"] == "bad-1"
        await c.send_raw(Y.command(b'{"command_id": "j", "ops": "not a list"}'))
        garbled = await c.command([cube("ok")])  # the socket keeps working after a malformed command
        assert garbled["status"] == "applied" and not c.closed.done()


async def test_updates_a_client_sends_are_never_applied(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    async with await SyncClient.connect(served.base, p, s, served.token("owner")) as c:
        before = served.system.projector.reducer(p, s).state_hash()
        local = Doc()
        local["entities"] = ents = Map()
        ents["rogue"] = Map({"kind": "prop"})
        await c.send_raw(Y.sync_update(local.get_update()))
        await c.wait(lambda c: c.denied, timeout=5)
        assert "read-only" in c.denied[0]
        res = await c.command([cube("legit")])  # still connected, still editing by command
        assert res["status"] == "applied"
        reducer = served.system.projector.reducer(p, s)
        assert "rogue" not in reducer.world.entities and "legit" in reducer.world.entities
        assert reducer.state_hash() != before


async def test_awareness_is_relayed_and_cleared_when_a_client_disconnects(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    await add_member(served.system, p, "vic", "viewer")
    watcher = await SyncClient.connect(served.base, p, s, served.token("vic"))
    dragger = await SyncClient.connect(served.base, p, s, served.token("owner"))
    try:
        await dragger.set_awareness({"user": {"id": "vic", "name": "O"}, "dragging": "cube"})
        me = dragger.doc.client_id
        # user.id is the token's user, whatever the client wrote (SPEC §5)
        await watcher.wait(lambda c: c.awareness.get(me) == {"user": {"id": "owner", "name": "O"},
                                                             "dragging": "cube"})
        # a client arriving later is told who is there at once
        late = await SyncClient.connect(served.base, p, s, served.token("vic"))
        await late.wait(lambda c: me in c.awareness)
        await dragger.close()
        await watcher.wait(lambda c: me not in c.awareness)
        await late.wait(lambda c: me not in c.awareness)
        await late.close()
    finally:
        await watcher.close()


async def test_a_document_from_another_reducer_version_is_told_to_resync(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    stale = Doc(client_id=2**32 + 12345)  # a server client id of some other reducer version
    stale["meta"] = Map({"head_seq": 1})
    c = await SyncClient.connect(served.base, p, s, served.token("owner"), doc=stale, sync=False)
    code, reason = await asyncio.wait_for(c.closed, 5)
    assert code == 4410 and "resync" in reason
    await c.close()
    fresh = await SyncClient.connect(served.base, p, s, served.token("owner"))
    assert fresh.synced.is_set()
    await fresh.close()


async def test_reconnecting_with_the_document_it_holds_gets_only_what_it_missed(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    a = await SyncClient.connect(served.base, p, s, served.token("owner"))
    await a.command([cube("one")])
    await a.wait(lambda c: "one" in entities(c))
    doc = a.doc
    await a.close()
    b = await SyncClient.connect(served.base, p, s, served.token("owner"))
    await b.command([cube("two")])
    await b.close()
    back = await SyncClient.connect(served.base, p, s, served.token("owner"), doc=doc)
    await back.wait(lambda c: "two" in entities(c))
    assert hashlib.sha256(back.doc.get_update()).hexdigest() == served.system.projector.reducer(p, s).state_hash()
    await back.close()


async def test_pipelined_commands_keep_their_order_and_may_build_on_each_other(served, unique):
    """Commands sent back to back without waiting: each may use what the one before created (it is checked again
    once those are applied), results come back in the order sent, and a bad one is refused without stopping the
    rest."""
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    async with await SyncClient.connect(served.base, p, s, served.token("owner")) as c:
        order: list[str] = []
        futures = []
        for i in range(20):
            ops = [cube(f"b{i}")] if i % 2 == 0 else [
                {"type": "key.set", "id": f"b{i - 1}", "path": "transform.position", "frame": 0, "value": [i, 0, 0]}]
            if i == 11:
                ops = [{"type": "key.set", "id": "nobody", "path": "transform.position", "frame": 0,
                        "value": [0, 0, 0]}]
            fut = await c.send_command(ops, command_id=f"p{i}")
            fut.add_done_callback(lambda f: order.append(f.result()["command_id"]))
            futures.append(fut)
        results = [await asyncio.wait_for(f, 10) for f in futures]
    assert order == [f"p{i}" for i in range(20)]
    assert [r["status"] for r in results] == ["rejected" if i == 11 else "applied" for i in range(20)]
    assert results[11]["status_code"] == 422 and "unknown entity 'nobody'" in results[11]["reason"]
    seqs = [r["seq"] for r in results if r["status"] == "applied"]
    assert seqs == sorted(seqs)
