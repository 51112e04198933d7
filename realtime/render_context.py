"""What the renderer's commands need from the rest of the system: worlds at offsets and the entities a range of
events touched. The renderer calls these from worker threads, so each call runs on its own event loop with its own
connections (a render needs a handful of them; a connection per call is cheap next to a frame)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from contextlib import aclosing
from pathlib import Path

from core import ops as O
from events.envelope import decode_event
from events.jetstream import JetStreamLog
from events.log import UnknownProject
from projections.pgstore import PgStore
from projections.replay import world_at
from renderers.job import RenderError

from .settings import Settings

__all__ = ["RenderContext"]


def _in_fresh_loop(coro):
    """Run ``coro`` to completion on a new event loop in another thread (safe from inside a running loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class RenderContext:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.nats_url = settings.nats_url
        self.render_root = Path(settings.data_dir) / "packs"

    def load_world(self, project: str, shot: str, seq: int | None):
        """(World, seq, state_hash) of the shot at ``seq`` (head when None)."""
        return _in_fresh_loop(self._load(project, shot, seq))

    async def _load(self, project, shot, seq):
        log = await JetStreamLog.connect(self.settings.nats_url)
        store = await PgStore.open(self.settings.database_url, max_size=2)
        try:
            r = await world_at(log, store, project, shot, seq)
        except UnknownProject:
            raise RenderError(f"no project {project}") from None
        finally:
            await store.close()
            await log.close()
        if r.last_seq == 0:
            raise RenderError(f"no shot {project}/{shot}")
        return r.world, r.world.head_seq, r.state_hash()

    def touched(self, project: str, shot: str, after_seq: int, upto_seq: int) -> set[str] | None:
        """Entity ids the events in (after_seq, upto_seq] touched; None when one of them re-configured the shot."""
        return _in_fresh_loop(self._touched(project, shot, after_seq, upto_seq))

    async def _touched(self, project, shot, after_seq, upto_seq):
        log = await JetStreamLog.connect(self.settings.nats_url)
        ids: set[str] = set()
        try:
            async with aclosing(log.read(project, shot, after=after_seq, until=upto_seq)) as events:
                async for stored in events:
                    try:
                        event = decode_event(stored.data)
                    except Exception:  # noqa: BLE001 - an undecodable event touched nothing
                        continue
                    for op in event.ops:
                        if isinstance(op, O.ShotConfigure):
                            return None
                        ids.update(O.op_entity_ids(op))
        finally:
            await log.close()
        return ids
