"""From the log to what is read (SPEC §5): the reducer that folds events into a shot's pycrdt document and
world, the projector that follows every project and commits audit rows, catalogue, snapshots and checkpoints, replay
at any offset, and the PostgreSQL store with its in-memory twin.

Public API: :class:`ShotReducer` and :data:`REDUCER_VERSION`; :class:`Projector`; :func:`world_at` /
:func:`rebuild`; the :class:`ProjectionStore` port, :class:`MemoryStore` and :class:`PgStore`."""

from __future__ import annotations

import importlib

_PUBLIC = {
    "ShotReducer": "projections.reducer",
    "REDUCER_VERSION": "projections.reducer",
    "Outcome": "projections.reducer",
    "canonical_update": "projections.reducer",
    "Projector": "projections.projector",
    "ProjectHalted": "projections.projector",
    "ShotUnavailable": "projections.projector",
    "world_at": "projections.replay",
    "rebuild": "projections.replay",
    "plain_world_at": "projections.replay",
    "ProjectionStore": "projections.store",
    "MemoryStore": "projections.store",
    "AuditEntry": "projections.store",
    "StoreError": "projections.store",
    "PgStore": "projections.pgstore",
}
"""Each public name and the module that defines it, imported on first use (importing the package stays cheap)."""

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
