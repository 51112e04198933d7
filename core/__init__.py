"""The pure world model (SPEC §3): entities, tracks and interpolation, skeletons and their white-box bodies,
cameras and lenses, lights, sampling, the transactional edit of a world by ops, and the pure solvers agents use
(IK, gaits). Standard library, numpy and msgspec only.

Public API: the :class:`World` and its parts; ops (:data:`Op`, :func:`decode_ops`); :func:`check` / :func:`apply`
an edit; :func:`sample` / :func:`sample_json` a world at frames; :func:`diff` two worlds (restores);
:func:`body_of` / :func:`place` a character's body; :func:`entity_levels` (SPEC §7.2)."""

from core.public import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "core.world": ["World", "Entity", "Relation", "Directive", "Key"],
    "core.ops": ["Op", "decode_ops", "encode_ops"],
    "core.edit": ["OpError", "check", "apply"],
    "core.sampling": ["WorldSample", "sample", "sample_json"],
    "core.restore": ["diff", "revert", "describe"],
    "core.bodies": ["Body", "body_of", "place", "body_bounds", "body_centre", "body_radius"],
    "core.levels": ["entity_levels"],
})
