"""The asset library over HTTP, for the studio's layout console (SPEC §6 has the studio use the API like any client).

| route | answer |
|---|---|
| ``GET /v1/assets?q=&k=&support=&category=`` | ``{assets: [{id, name, category, dims, support, geometry, color, score?, matched?}]}`` — with ``q``, the ``k`` (default 8, at most 50) best by text retrieval (:mod:`agents.assets.retrieval`), best first; without, the whole catalogue by id |

``geometry`` is the white-box value a layout places for the asset (``agents.assets.catalog.geometry_for``). Any
signed-in user may search. The first search of a process loads the embedding model (seconds), off the event loop.
"""

from __future__ import annotations

import asyncio

from litestar import get
from litestar.params import FromQuery

from .errors import Invalid
from .http_common import User

__all__ = ["ROUTES"]

K_MAX = 50


def _asset_json(a, hit=None) -> dict:
    from agents.assets.catalog import geometry_for

    d = {"id": a.id, "name": a.name, "category": a.category, "dims": list(a.dims), "support": a.support,
         "geometry": geometry_for(a.primitive, a.dims), "color": list(a.color)}
    if hit is not None:
        d["score"] = round(hit.score, 6)
        d["matched"] = hit.matched
    return d


@get("/v1/assets", summary="Search the asset library by text (or list it)")
async def search_assets(user: User, q: FromQuery[str | None] = None, k: FromQuery[int] = 8,
                        support: FromQuery[str | None] = None, category: FromQuery[str | None] = None) -> dict:
    from agents.assets.catalog import CATALOG
    from agents.assets.retrieval import builtin_index

    if not 1 <= k <= K_MAX:
        raise Invalid(f"k must be within 1–{K_MAX}, got {k}", field="k")
    if q is None or not q.strip():
        return {"assets": [_asset_json(a) for a in sorted(CATALOG, key=lambda a: a.id)
                           if category is None or a.category == category]}
    if len(q) > 200:
        raise Invalid("q must be at most 200 characters", field="q")
    try:
        hits = await asyncio.to_thread(builtin_index().search, q, k, None, support, category)
    except ValueError as e:
        raise Invalid(str(e), field="support") from None
    return {"assets": [_asset_json(h.asset, h) for h in hits]}


ROUTES = [search_assets]
