"""The pure world model (SPEC §3): entities, tracks and interpolation, skeletons and their white-box bodies,
cameras and lenses, lights, sampling, the transactional edit of a world by ops, and the pure solvers agents use
(IK, gaits). Standard library, numpy and msgspec only.

Public API: the :class:`World` and its parts; ops (:data:`Op`, :func:`decode_ops`); :func:`check` / :func:`apply`
an edit; :func:`sample` / :func:`sample_json` a world at frames; :func:`diff` two worlds (restores);
:func:`body_of` / :func:`place` a character's body; :func:`entity_levels` (SPEC §7.2)."""

from __future__ import annotations

import importlib

_PUBLIC = {
    "World": "core.world",
    "Entity": "core.world",
    "Relation": "core.world",
    "Directive": "core.world",
    "Key": "core.world",
    "Op": "core.ops",
    "decode_ops": "core.ops",
    "encode_ops": "core.ops",
    "OpError": "core.edit",
    "check": "core.edit",
    "apply": "core.edit",
    "WorldSample": "core.sampling",
    "sample": "core.sampling",
    "sample_json": "core.sampling",
    "diff": "core.restore",
    "revert": "core.restore",
    "describe": "core.restore",
    "Body": "core.bodies",
    "body_of": "core.bodies",
    "place": "core.bodies",
    "body_bounds": "core.bodies",
    "body_centre": "core.bodies",
    "body_radius": "core.bodies",
    "entity_levels": "core.levels",
}
"""Each public name and the module that defines it, imported on first use (importing the package stays cheap)."""

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
