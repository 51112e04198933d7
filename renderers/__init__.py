"""White-box renderers and control packs (SPEC §8), and exports to film pipelines (:mod:`renderers.export`).

Importing this package is cheap: the OpenGL renderer (pyrender, OSMesa or EGL) is imported only by
:mod:`renderers.raster` when a frame is first rendered, and the NATS farm only by :mod:`renderers.farm`.

Public API: :class:`RenderJob` and :func:`plan`; :func:`render_pack` / :func:`write_pack` / :func:`verify_pack`;
:class:`RenderFarm` and its :class:`Worker`; :func:`export` (USD, glTF binary, BVH)."""

from __future__ import annotations

import importlib

_PUBLIC = {
    "RenderJob": "renderers.job",
    "RenderError": "renderers.job",
    "plan": "renderers.job",
    "render_pack": "renderers.pack",
    "write_pack": "renderers.pack",
    "verify_pack": "renderers.pack",
    "RenderFarm": "renderers.farm",
    "Worker": "renderers.farm",
    "export": "renderers.export",
    "ExportError": "renderers.export",
}
"""Each public name and the module that defines it, imported on first use (importing the package stays cheap)."""

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
