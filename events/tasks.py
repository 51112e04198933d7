"""Stopping the background tasks of a long-running service (log readers, projectors, agents)."""

from __future__ import annotations

import asyncio

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(*tasks: asyncio.Task | None) -> None:
    """Cancel every task, then wait for each to finish; what a task raises while it stops is its own business."""
    live = [t for t in tasks if t is not None]
    for t in live:
        t.cancel()
    for t in live:
        try:
            await t
        except (asyncio.CancelledError, Exception):
            pass
