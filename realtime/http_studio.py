"""The studio: the browser client served at ``GET /`` (SPEC §6), from files inside this package.

``GET /`` is ``studio/index.html`` with the import map of the vendored packages inlined (Chromium does not load an
import map from ``src``); ``/studio/…`` serves the page's modules, styles and the vendored packages
(:mod:`realtime.studio_vendor`); ``/favicon.ico`` the icon. Nothing is built at install time. The page itself signs
in with a token and then speaks only the public API and the sync socket.
"""

from __future__ import annotations

import json
from litestar import Response, get
from litestar.static_files import create_static_files_router

from .studio_vendor import STUDIO, VENDOR

__all__ = ["ROUTES", "studio_html"]

_MARK = "<!-- importmap -->"


def studio_html() -> str:
    """The page, with the import map inlined where ``index.html`` marks it (read per request: two small files,
    and an edited page is served at once)."""
    page = (STUDIO / "index.html").read_text(encoding="utf-8")
    if _MARK not in page:
        raise RuntimeError(f"{STUDIO / 'index.html'} has no {_MARK} marker")
    importmap = json.loads((VENDOR / "importmap.json").read_text(encoding="utf-8"))
    tag = '<script type="importmap">\n' + json.dumps(importmap, indent=1) + "\n</script>"
    return page.replace(_MARK, tag)


@get("/", include_in_schema=False, media_type="text/html")
async def studio_page() -> Response:
    return Response(studio_html(), media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


@get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    return Response((STUDIO / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                    headers={"Cache-Control": "max-age=86400"})


ROUTES = [studio_page, favicon,
          create_static_files_router(path="/studio", directories=[STUDIO], include_in_schema=False,
                                     cache_control=None)]
