"""White-box renderers and control packs (SPEC §8), and exports to film pipelines (:mod:`renderers.export`).

Importing this package is cheap: the OpenGL renderer (pyrender, OSMesa or EGL) is imported only by
:mod:`renderers.raster` when a frame is first rendered, and the NATS farm only by :mod:`renderers.farm`.

Public API: :class:`RenderJob` and :func:`plan`; :func:`render_pack` / :func:`write_pack` / :func:`verify_pack`;
:class:`RenderFarm` and its :class:`Worker`; :func:`export` (USD, glTF binary, BVH)."""

from core.public import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "renderers.job": ["RenderJob", "RenderError", "plan"],
    "renderers.pack": ["render_pack", "write_pack", "verify_pack"],
    "renderers.farm": ["RenderFarm", "Worker"],
    "renderers.export": ["export", "ExportError"],
})
