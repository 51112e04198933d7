"""Awareness across server instances: one core-NATS subject per shot, ``wnm.aw.<project>.<shot>``.

Awareness is ephemeral (SPEC §5): it never touches JetStream. Each instance subscribes to the subjects of the shots
it has sockets for and publishes what its own clients send. A message is a 9-byte envelope and a payload::

    kind (1 byte: 0 update, 1 query) | origin instance id (8 bytes) | awareness update (kind 0) or nothing (kind 1)

An instance ignores its own messages, and relays only what its own sockets may say (their own client ids, bounded,
``user.id`` from the token: :meth:`realtime.presence.ShotPresence.accept_local`); a receiving instance drops entries
for ids that a socket of its own, or a third instance, holds (:meth:`~realtime.presence.ShotPresence.accept_remote`), so
ownership holds across instances. ``query`` asks the other instances of a shot to publish the states of their
clients (sent when an instance opens a shot, so its first client sees everyone at once instead of after the next
15-second renewal).
"""

from __future__ import annotations

import logging
import os
from typing import Awaitable, Callable

from nats.aio.client import Client as NATS

from events.log import subject_token

__all__ = ["AwarenessBus", "UPDATE", "QUERY", "subject_for_awareness"]

log = logging.getLogger(__name__)

UPDATE, QUERY = 0, 1

OnRemote = Callable[[str, str, int, bytes, bytes], Awaitable[None]]
"""``on_remote(project, shot, kind, payload, origin)`` for every message from another instance (``origin``: its
8-byte id)."""


def subject_for_awareness(project: str, shot: str) -> str:
    return f"wnm.aw.{subject_token(project)}.{subject_token(shot)}"


class AwarenessBus:
    """Publishes and receives awareness for the shots this instance serves. The caller owns ``nc``."""

    def __init__(self, nc: NATS, on_remote: OnRemote):
        self.nc, self.on_remote = nc, on_remote
        self.origin = os.urandom(8)
        self._subs: dict[tuple[str, str], object] = {}
        self.dropped = 0  # malformed or undeliverable messages

    async def join(self, project: str, shot: str) -> None:
        """Start receiving ``shot``'s awareness and ask the other instances for their clients' states."""
        key = (project, shot)
        if key in self._subs:
            return
        subject = subject_for_awareness(project, shot)

        async def on_msg(msg) -> None:
            data = msg.data
            if len(data) < 9 or data[1:9] == self.origin:
                return
            try:
                await self.on_remote(project, shot, data[0], data[9:], bytes(data[1:9]))
            except Exception:  # a bad message from one instance must not stop the subscription
                self.dropped += 1
                log.exception("awareness from %s dropped", subject)

        self._subs[key] = await self.nc.subscribe(subject, cb=on_msg)
        await self._publish(project, shot, QUERY, b"")

    async def leave(self, project: str, shot: str) -> None:
        sub = self._subs.pop((project, shot), None)
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:  # the connection may be closing; the server drops the interest with it
                log.debug("unsubscribe from %s/%s failed", project, shot, exc_info=True)

    async def publish(self, project: str, shot: str, update: bytes) -> None:
        await self._publish(project, shot, UPDATE, update)

    async def _publish(self, project: str, shot: str, kind: int, payload: bytes) -> None:
        try:
            await self.nc.publish(subject_for_awareness(project, shot), bytes((kind,)) + self.origin + payload)
        except Exception as e:  # presence is best-effort: a NATS hiccup must not close anyone's socket
            self.dropped += 1
            log.warning("awareness publish for %s/%s failed: %r", project, shot, e)

    async def close(self) -> None:
        for key in list(self._subs):
            await self.leave(*key)
