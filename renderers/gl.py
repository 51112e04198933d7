"""Choosing the OpenGL platform before pyrender is imported.

PyOpenGL reads ``PYOPENGL_PLATFORM`` once, when it is first imported, so the choice is made here, once per
process: ``osmesa`` (CPU, llvmpipe; Debian package ``libosmesa6``) unless EGL is asked for (a GPU machine).
A later call asking for the other platform raises instead of silently rendering with the first one.
"""

from __future__ import annotations

import os
import sys

__all__ = ["RendererUnavailable", "pyrender_module", "platform"]

_platform: str | None = None


class RendererUnavailable(RuntimeError):
    """pyrender or the OpenGL platform cannot be loaded on this machine."""


def platform() -> str | None:
    """The platform this process chose (``osmesa`` or ``egl``), or None before the first render."""
    return _platform


def pyrender_module(egl: bool = False):
    """Import pyrender for offscreen rendering on OSMesa (default) or EGL and return the module."""
    global _platform
    want = "egl" if egl else "osmesa"
    if _platform is not None and _platform != want:
        raise RendererUnavailable(f"this process already renders with {_platform}; start another for {want}")
    if _platform is None:
        if "OpenGL" in sys.modules and os.environ.get("PYOPENGL_PLATFORM") != want:
            raise RendererUnavailable(f"PyOpenGL was imported before the renderer chose {want!r}")
        os.environ["PYOPENGL_PLATFORM"] = want
        if want == "osmesa":
            os.environ.setdefault("GALLIUM_DRIVER", "llvmpipe")
        _platform = want
    try:
        import pyrender
    except Exception as e:  # ImportError, or OpenGL failing to find libOSMesa / libEGL
        raise RendererUnavailable(f"cannot load pyrender with {want}: {e}") from e
    return pyrender
