"""Connecting to NATS the way a long-running service should: reconnect forever once connected, fail fast first.

While disconnected, publishes wait in the client's buffer (2 MiB) and go out on reconnect, after the client has
subscribed again to everything it had subscribed to (the log's ack inbox among them); JetStreamLog's ordered
consumers notice the reconnect and recreate themselves where they were. So a restarted server is used again within
about ``reconnect_time_wait`` of it accepting connections, without restarting the process.

nats-py with ``max_reconnect_attempts=-1`` also retries the *first* connection forever; a process that is started
against a wrong URL should say so instead, so the first connection is bounded by ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import logging
import re

import nats
import nats.errors
from nats.aio.client import Client as NATS

from events.log import LogError

__all__ = ["connect", "redacted"]

log = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """``url`` without user and password, for logs and error messages."""
    return re.sub(r"//[^@/]*@", "//", url)


async def connect(url: str, *, name: str = "wnm", timeout_s: float = 10.0) -> NATS:
    """A NATS client connected to ``url`` (comma-separated for a cluster) that reconnects forever after the first
    connection succeeds. Raises ``LogError`` if no server answers within ``timeout_s``."""
    nc = NATS()
    where = redacted(url)

    async def on_error(e: Exception) -> None:
        log.warning("nats %s: %r", where, e)

    async def on_disconnected() -> None:
        if not nc.is_closed:  # a deliberate close is not worth a warning
            log.warning("nats %s: disconnected", where)

    async def on_reconnected() -> None:
        log.info("nats %s: reconnected", where)

    try:
        await asyncio.wait_for(
            nc.connect(
                servers=[u.strip() for u in url.split(",") if u.strip()],
                name=name,
                connect_timeout=min(2.0, timeout_s),
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                # a server that vanished without closing the connection (a frozen host, a dropped link) is noticed
                # within ping_interval × max_outstanding_pings, not the default 4 minutes
                ping_interval=10,
                max_outstanding_pings=3,
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
            ),
            timeout_s,
        )
    except (asyncio.TimeoutError, OSError, nats.errors.Error) as e:
        try:
            await nc.close()
        except Exception:  # closing a client that never connected; nothing to save
            pass
        raise LogError(f"cannot connect to NATS at {where}: {e!r}") from e
    return nc
