"""Bad input on the sync socket closes that socket with a code and a reason; everyone else keeps being served."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from pycrdt import Map

from realtime import yprotocol as Y
from realtime.auth import Tokens
from realtime.sync import SyncLimits
from realtime.sync_client import SyncClient
from tests.e2e.sync_harness import add_member, create_shot, cube, serve_sync, settings_for


@pytest.fixture
async def served(nats_url, database_url, tmp_path):
    async with serve_sync(settings_for(nats_url, database_url, tmp_path),
                          SyncLimits(rate_per_s=20, burst=40)) as s:
        yield s


async def closed_with(served, p, s, token, frame=None) -> tuple[int, str]:
    c = await SyncClient.connect(served.base, p, s, token, sync=frame is not None)
    try:
        if frame is not None:
            await c.send_raw(frame)
        return await asyncio.wait_for(asyncio.shield(c.closed), 5)
    finally:
        await c.close()


async def test_bad_frames_close_only_the_sender_with_a_code_and_reason(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    healthy = await SyncClient.connect(served.base, p, s, served.token("owner"))
    await healthy.set_awareness({"user": "owner"})
    rnd = random.Random(1234)
    cases = [
        (b"\x00" * 1_000_001, 1009, "frame is 1000001 bytes; the limit is 1000000"),
        (Y.awareness(b"\x01\x01\x01" + Y.write_bytes(b"x" * 70_000)), 1009, "awareness update is"),
        (b"\x2a\x00\x01", 4400, "unknown message type 42"),
        (b"\x00\x07\x00", 4400, "unknown sync message type 7"),
        (Y.sync_update(bytes(rnd.randrange(256) for _ in range(64))), 4400, "not a Yjs update"),
        (Y.sync_step1(b"\x05\x01"), 4400, "malformed message"),
        (Y.awareness(Y.encode_awareness([Y.AwarenessEntry(1, 1, "{not json")])), 4400, "not JSON"),
        (Y.command_result(b"{}"), 4400, "server to client only"),
        ("a text frame", 4400, "text frame"),
    ]
    cases += [(b"\x00" + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 40))), 4400, "")
              for _ in range(10)]
    for frame, code, words in cases:
        got = await closed_with(served, p, s, served.token("owner"), frame)
        assert got[0] == code and words in got[1], (frame[:20], got)
    # the healthy client was never disturbed: it still edits and still receives
    res = await healthy.command([cube("after")])
    assert res["status"] == "applied"
    await healthy.wait(lambda c: "after" in c.doc.get("entities", type=Map))
    assert not healthy.closed.done()
    await healthy.close()


async def test_tokens_and_membership_are_checked_before_anything_is_served(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    await add_member(served.system, p, "ann", "camera")
    expired = served.tokens.issue("ann", ttl_s=60, now=time.time() - 3600)
    forged = Tokens("not-the-server-secret-at-all-0123456789").issue("ann")
    assert await closed_with(served, p, s, expired) == (4401, "token expired")
    code, reason = await closed_with(served, p, s, forged)
    assert code == 4401 and "signature" in reason
    code, reason = await closed_with(served, p, s, "garbage.token.here")
    assert code == 4401 and "invalid token" in reason
    code, reason = await closed_with(served, p, s, None)
    assert code == 4401 and "missing" in reason
    code, _ = await closed_with(served, p, s, served.token("stranger"))
    assert code == 4404
    code, reason = await closed_with(served, p, "no-such-shot", served.token("ann"))
    assert code == 4404 and "no-such-shot" in reason
    ok = await SyncClient.connect(served.base, p, s, served.token("ann"))
    assert ok.synced.is_set()
    await ok.close()


async def test_a_client_over_the_message_rate_is_closed_with_1013(served, unique):
    p, s = unique, "s1"
    await create_shot(served.system, p, s)
    other = await SyncClient.connect(served.base, p, s, served.token("owner"))
    flood = await SyncClient.connect(served.base, p, s, served.token("owner"))
    for i in range(100):
        if flood.closed.done():
            break
        try:
            await flood.set_awareness({"i": i})
        except Exception:  # the server closed it mid-flood
            break
    code, reason = await asyncio.wait_for(asyncio.shield(flood.closed), 5)
    assert code == 1013 and "rate limit" in reason
    await flood.close()
    res = await other.command([cube("fine")])
    assert res["status"] == "applied" and not other.closed.done()
    await other.close()
