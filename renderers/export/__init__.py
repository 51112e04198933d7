"""Exports of a world at an offset to film pipelines (SPEC §8): USD (``usda``, ``usdc``, ``usdz``), binary glTF
(``glb``) and BVH (one character).

:func:`export` samples the world at every frame of its shot (:mod:`renderers.export.scene`) and writes one file's
bytes. Pure: no I/O beyond a temporary folder usd-core needs; loading the world at an offset is the caller's.
usd-core and pygltflib are imported only by the format that needs them.
"""

from __future__ import annotations

from .scene import ExportError, ExportScene, build_scene

__all__ = ["FORMATS", "MEDIA_TYPES", "ExportError", "ExportScene", "build_scene", "export", "check_format"]

FORMATS = ("usda", "usdc", "usdz", "glb", "bvh")

MEDIA_TYPES = {
    "usda": "model/vnd.usda",
    "usdc": "model/vnd.usd",
    "usdz": "model/vnd.usdz+zip",
    "glb": "model/gltf-binary",
    "bvh": "application/x-bvh",
}


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}", "format")
    return fmt


def export(world, fmt: str, *, seq: int, state_hash: str, entity: str | None = None, progress=None) -> bytes:
    """The bytes of ``world`` (a :class:`core.world.World` at offset ``seq`` with ``state_hash``) as ``fmt``.

    ``entity`` restricts the export to one entity (required for ``bvh``: a character with a skeleton).
    ``progress(done, total)`` is called as the work advances (sampling, then writing), ``total`` = 2 × entities.
    Raises ExportError (a ValueError) for a request that cannot be met.
    """
    check_format(fmt)

    def stage(offset):
        if progress is None:
            return None
        return lambda done, total: progress(offset * total + done, 2 * total)

    scene = build_scene(world, seq=seq, state_hash=state_hash, entity=entity, bvh=fmt == "bvh", progress=stage(0))
    if fmt == "bvh":
        from .bvh import bvh_bytes

        return bvh_bytes(scene, entity, progress=None if progress is None else lambda d, t: progress(2, 2))
    if fmt == "glb":
        from .gltf import glb_bytes

        return glb_bytes(scene, progress=stage(1))
    from .usd import usd_bytes

    return usd_bytes(scene, fmt, progress=stage(1))
