"""From the log to what is read (SPEC §5): the reducer that folds events into a shot's pycrdt document and
world, the projector that follows every project and commits audit rows, catalogue, snapshots and checkpoints, replay
at any offset, and the PostgreSQL store with its in-memory twin.

Public API: :class:`ShotReducer` and :data:`REDUCER_VERSION`; :class:`Projector`; :func:`world_at` /
:func:`rebuild`; the :class:`ProjectionStore` port, :class:`MemoryStore` and :class:`PgStore`."""

from core.public import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "projections.reducer": ["ShotReducer", "REDUCER_VERSION", "Outcome", "canonical_update"],
    "projections.projector": ["Projector", "ProjectHalted", "ShotUnavailable"],
    "projections.replay": ["world_at", "rebuild", "plain_world_at"],
    "projections.store": ["ProjectionStore", "MemoryStore", "AuditEntry", "StoreError"],
    "projections.pgstore": ["PgStore"],
})
