"""Tokens never reach the log: with ``WNM_LOG_LEVEL=info`` uvicorn logs every request and socket with its path,
and sockets carry ``?token=`` in it. A real ``wnm up``; its whole output is checked."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import httpx

from realtime.access import PgAccess
from realtime.auth import Tokens
from realtime.logredact import REDACTED, install, redact
from realtime.sync_client import SyncClient
from tests.e2e.sync_harness import SECRET, WnmUp


async def test_socket_and_http_tokens_are_redacted_in_wnm_up_output(nats_url, database_url, tmp_path, unique):
    up = WnmUp(nats_url, database_url, tmp_path, WNM_LOG_LEVEL="info")
    await up.start()
    try:
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
        try:  # alice owns a project of her own (wnm up has migrated the database)
            await PgAccess(pool).create_project(unique, "", "alice")
        finally:
            await pool.close()
        token = Tokens(SECRET).issue("alice", ttl_s=3600)
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=up.http, headers=auth, timeout=30) as http:
            r = await http.post(f"/v1/projects/{unique}/shots", json={"id": "s1"})
            assert r.status_code == 201, r.text
            assert (await http.get(f"/v1/projects/{unique}/shots?token={token}&x=1")).status_code == 200
        async with await SyncClient.connect(up.base, unique, "s1", token) as c:
            assert (await c.command([{"type": "entity.create", "id": "b", "kind": "prop"}]))["status"] == "applied"
        await asyncio.sleep(0.5)
    finally:
        await up.stop()
    out = up.log_tail(1_000_000)
    assert token not in out and token.split(".")[-1] not in out
    assert f"WebSocket /v1/projects/{unique}/shots/s1/sync?token={REDACTED}" in out, out[-3000:]
    assert f"GET /v1/projects/{unique}/shots?token={REDACTED}&x=1" in out, out[-3000:]


def test_records_are_redacted_whatever_handler_writes_them():
    install()
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(self.format(record))

    logger = logging.getLogger("test.redaction")
    logger.propagate = False
    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)
    logger.info('%s - "WebSocket %s" [accepted]', ("127.0.0.1", 5), "/v1/p/sync?token=abc.def-ghi")
    logger.info("headers %r", [(b"authorization", b"Bearer s3cret")])
    logger.info("Authorization: Basic dXNlcjpwYXNz and token=xyz")
    assert seen == ['(\'127.0.0.1\', 5) - "WebSocket /v1/p/sync?token=[redacted]" [accepted]',
                    "headers [(b'authorization', b'Bearer [redacted]')]",
                    "Authorization: Basic [redacted] and token=[redacted]"]
    assert redact("token_count=3 tokens=4") == "token_count=3 tokens=4"
