"""A projector process for the kill -9 test: follows one project of a real JetStream log into real PostgreSQL
until it is killed.

    python -m tests.integration.projector_proc NATS_URL DATABASE_URL PROJECT [--snapshot-every N]
        [--batch-max N] [--event-delay SECONDS]

``--event-delay`` slows it down (a listener sleeps that long per projected event) so a test can kill it mid-stream.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from events.jetstream import JetStreamLog
from projections.pgstore import PgStore
from projections.projector import Projector


async def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("nats_url")
    ap.add_argument("database_url")
    ap.add_argument("project")
    ap.add_argument("--snapshot-every", type=int, default=100)
    ap.add_argument("--batch-max", type=int, default=50)
    ap.add_argument("--event-delay", type=float, default=0.0)
    args = ap.parse_args(argv)

    store = await PgStore.open(args.database_url, max_size=2)
    log = await JetStreamLog.connect(args.nats_url, name="projector-proc", heartbeat_s=1.0)
    projector = Projector(log, store, snapshot_every=args.snapshot_every, batch_max=args.batch_max,
                          retry_max_s=0.2)
    if args.event_delay > 0:
        async def slow(*_):
            await asyncio.sleep(args.event_delay)

        projector.add_listener(slow)
    projector.watch_project(args.project)
    print("started", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await projector.stop()
        await log.close()
        await store.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(sys.argv[1:]))
