"""White-box renderers and control packs (SPEC §8).

Importing this package is cheap: the OpenGL renderer (pyrender, OSMesa or EGL) is imported only by
:mod:`renderers.raster` when a frame is first rendered, and the NATS farm only by :mod:`renderers.farm`.
"""

__all__: list[str] = []
