"""Importing people's own assets: GLB / OBJ → a mesh in metres, Y up, pivot at the bottom centre, stored durably
and findable by the same text retrieval as the built-in library.

Normalisation (:func:`normalise`):

- the file is read with trimesh and flattened to one mesh (a scene's nodes are baked in);
- ``up="z"`` turns a Z-up file to Y up (−90° about X);
- scale to metres: an explicit ``unit`` (``m``, ``cm``, ``mm``, ``in``, ``ft``) wins; else the file's own unit
  when trimesh reports one (glTF is metres by specification); else, for unit-less files such as most OBJ, a
  largest extent above 50 is read as centimetres and above 5000 as millimetres (furniture and buildings are
  never 50 m… in a file without units, and 50 cm is rarely written as 0.5 m in one that is in cm);
- the mesh is moved so the bottom centre of its bounding box is the origin; its bounding box is the asset's
  canonical ``dims`` (w, h, d).

Storage: PostgreSQL, table ``assets`` (``migrations/004_assets.sql``) holding the describing text, dims, support
type and the normalised mesh as binary glTF — the same database as the projections, so one backup holds both.
:class:`MemoryAssetStore` is the in-memory twin with the same interface. :func:`load_index` builds an
:class:`~agents.assets.retrieval.AssetIndex` over the built-in catalogue plus every stored import.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from core import values

from .catalog import BY_ID, CATALOG, CATEGORIES, SUPPORTS, Asset
from .retrieval import AssetIndex, Embedder

__all__ = ["AssetImportError", "UNITS", "ImportedAsset", "normalise", "make_asset", "AssetStore",
           "MemoryAssetStore", "PgAssetStore", "import_asset", "load_index"]

UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}
FORMATS = ("glb", "gltf", "obj")
MAX_BYTES = 64 * 1024 * 1024


class AssetImportError(ValueError):
    """A file or description that cannot become an asset; the message says why."""


@dataclass(frozen=True)
class ImportedAsset:
    asset: Asset            # source == "import"; dims are the normalised bounding box
    mesh_glb: bytes         # the normalised mesh
    source_format: str
    scale: float            # source units → metres
    sha256: str
    created_by: str | None = None


def normalise(data: bytes, file_type: str, unit: str | None = None, up: str = "y"):
    """Read ``data`` (a ``glb``/``gltf``/``obj`` file) → (trimesh.Trimesh in metres, Y up, ground pivot; scale).

    Raises :class:`AssetImportError` for an unreadable or empty file, an unknown unit or a degenerate mesh.
    """
    import trimesh

    if file_type not in FORMATS:
        raise AssetImportError(f"file type must be one of {list(FORMATS)}, got {file_type!r}")
    if unit is not None and unit not in UNITS:
        raise AssetImportError(f"unit must be one of {sorted(UNITS)}, got {unit!r}")
    if up not in ("y", "z"):
        raise AssetImportError(f"up must be 'y' or 'z', got {up!r}")
    if not data or len(data) > MAX_BYTES:
        raise AssetImportError(f"the file must hold 1 byte to {MAX_BYTES} bytes")
    try:
        loaded = trimesh.load(io.BytesIO(data), file_type=file_type, force="mesh", process=True)
    except Exception as e:  # trimesh raises many kinds for a bad file
        raise AssetImportError(f"could not read the {file_type} file: {e}") from e
    mesh = loaded
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.vertices) == 0 or len(mesh.faces) == 0:
        raise AssetImportError("the file holds no triangles")
    if not np.isfinite(mesh.vertices).all():
        raise AssetImportError("the mesh has non-finite vertices")
    if up == "z":
        mesh.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))
    if unit is not None:
        scale = UNITS[unit]
    elif file_type in ("glb", "gltf"):
        scale = 1.0
    elif getattr(mesh, "units", None) in UNITS:
        scale = UNITS[mesh.units]
    else:
        largest = float(mesh.extents.max())
        scale = 0.001 if largest > 5000 else 0.01 if largest > 50 else 1.0
    mesh.apply_scale(scale)
    lo, hi = mesh.bounds
    mesh.apply_translation([-(lo[0] + hi[0]) / 2, -lo[1], -(lo[2] + hi[2]) / 2])
    if (mesh.extents <= 0).any():
        raise AssetImportError(f"the mesh is flat in some axis (extents {mesh.extents.tolist()} m); "
                               "give it some thickness")
    return mesh, scale


def make_asset(asset_id: str, name: str, dims, *, category: str = "props", support: str = "floor",
               synonyms=(), description: str = "", color=(0.8, 0.8, 0.8)) -> Asset:
    """Check an import's describing fields and build its :class:`Asset`."""
    try:
        values.check_id(asset_id, "asset id")
    except ValueError as e:
        raise AssetImportError(str(e)) from None
    if asset_id in BY_ID:
        raise AssetImportError(f"asset id {asset_id!r} is a built-in asset")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise AssetImportError("name must be a non-empty string of at most 200 characters")
    if category not in CATEGORIES:
        raise AssetImportError(f"category must be one of {list(CATEGORIES)}")
    if support not in SUPPORTS:
        raise AssetImportError(f"support must be one of {list(SUPPORTS)}")
    try:
        c = values.rgb(list(color), "color")
    except ValueError as e:
        raise AssetImportError(str(e)) from None
    return Asset(asset_id, name.strip(), category, tuple(round(float(x), 6) for x in dims), support,
                 tuple(s.strip() for s in synonyms if s and s.strip()), description.strip(), "box", tuple(c),
                 source="import")


class AssetStore(Protocol):
    async def put(self, item: ImportedAsset) -> None: ...
    async def get(self, asset_id: str) -> ImportedAsset | None: ...
    async def list(self) -> list[ImportedAsset]: ...
    async def delete(self, asset_id: str) -> bool: ...


class MemoryAssetStore:
    """The in-memory twin of :class:`PgAssetStore`."""

    def __init__(self):
        self._items: dict[str, ImportedAsset] = {}

    async def put(self, item: ImportedAsset) -> None:
        self._items[item.asset.id] = item

    async def get(self, asset_id: str) -> ImportedAsset | None:
        return self._items.get(asset_id)

    async def list(self) -> list[ImportedAsset]:
        return [self._items[k] for k in sorted(self._items)]

    async def delete(self, asset_id: str) -> bool:
        return self._items.pop(asset_id, None) is not None


class PgAssetStore:
    """Imports in PostgreSQL (``assets`` table); ``pool`` is an asyncpg pool or connection, migrated already."""

    _COLUMNS = ("id, name, category, support, synonyms, description, dims, color, source_format, scale, mesh_glb, "
                "sha256, created_by")

    def __init__(self, pool):
        self._pool = pool

    async def put(self, item: ImportedAsset) -> None:
        a = item.asset
        await self._pool.execute(
            f"INSERT INTO assets ({self._COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category, "
            "support = EXCLUDED.support, synonyms = EXCLUDED.synonyms, description = EXCLUDED.description, "
            "dims = EXCLUDED.dims, color = EXCLUDED.color, source_format = EXCLUDED.source_format, "
            "scale = EXCLUDED.scale, mesh_glb = EXCLUDED.mesh_glb, sha256 = EXCLUDED.sha256, "
            "created_by = EXCLUDED.created_by",
            a.id, a.name, a.category, a.support, list(a.synonyms), a.description, list(a.dims), list(a.color),
            item.source_format, item.scale, item.mesh_glb, item.sha256, item.created_by)

    @staticmethod
    def _from(r) -> ImportedAsset:
        a = Asset(r["id"], r["name"], r["category"], tuple(r["dims"]), r["support"], tuple(r["synonyms"]),
                  r["description"], "box", tuple(r["color"]), source="import")
        return ImportedAsset(a, bytes(r["mesh_glb"]), r["source_format"], r["scale"], r["sha256"], r["created_by"])

    async def get(self, asset_id: str) -> ImportedAsset | None:
        r = await self._pool.fetchrow(f"SELECT {self._COLUMNS} FROM assets WHERE id = $1", asset_id)
        return None if r is None else self._from(r)

    async def list(self) -> list[ImportedAsset]:
        return [self._from(r) for r in await self._pool.fetch(f"SELECT {self._COLUMNS} FROM assets ORDER BY id")]

    async def delete(self, asset_id: str) -> bool:
        return (await self._pool.execute("DELETE FROM assets WHERE id = $1", asset_id)) != "DELETE 0"


async def import_asset(store: AssetStore, data: bytes, file_type: str, asset_id: str, name: str, *,
                       unit: str | None = None, up: str = "y", category: str = "props", support: str = "floor",
                       synonyms=(), description: str = "", color=(0.8, 0.8, 0.8),
                       created_by: str | None = None) -> ImportedAsset:
    """Normalise a GLB/OBJ file, store it, and return the stored record (replacing one with the same id)."""
    mesh, scale = normalise(data, file_type, unit, up)
    asset = make_asset(asset_id, name, mesh.extents.tolist(), category=category, support=support,
                       synonyms=synonyms, description=description, color=color)
    glb = mesh.export(file_type="glb")
    item = ImportedAsset(asset, glb, file_type, float(scale), hashlib.sha256(glb).hexdigest(), created_by)
    await store.put(item)
    return item


async def load_index(store: AssetStore, embedder: Embedder | None = None) -> AssetIndex:
    """An index over the built-in catalogue and every stored import (imports found by the same text search)."""
    index = AssetIndex(CATALOG, embedder)
    for item in await store.list():
        index.add(replace(item.asset))
    return index
