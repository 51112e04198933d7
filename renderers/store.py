"""Where finished packs live so the API can serve them: a directory (default) or a NATS object store.

Packs are named ``<project>/<job_id>`` (:func:`renderers.job.pack_name`; both parts follow the id rule, so a name
never leaves the store). Both stores are first-writer-wins per name: a pack appears whole or not at all, and a
second renderer of the same job finds it there and does not write it again. Downloads are an uncompressed tar with
sorted entries and zeroed times and owners, so the same pack always downloads as the same bytes.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

from .pack import PackExists, write_pack

__all__ = ["DirStore", "ObjectStore", "tar_folder", "untar"]


def tar_folder(folder) -> bytes:
    folder = Path(folder)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder).as_posix()
            data = path.read_bytes()
            info = tarfile.TarInfo(rel)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def untar(data: bytes, dest) -> Path:
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(dest, filter="data")
    return dest


def _checked(name: str) -> str:
    """A pack name: ``<project>/<job_id>`` of two ids (refused otherwise, so no name points outside the store)."""
    from core.values import ID_RE

    parts = name.split("/")
    if len(parts) != 2 or not all(ID_RE.match(p) for p in parts):
        raise ValueError(f"pack name {name!r} is not <project>/<job_id>")
    return name


class DirStore:
    """Packs as folders ``<root>/<project>/<job_id>/``; temporary folders are dot-prefixed siblings."""

    def __init__(self, root):
        self.root = Path(root)

    def path(self, name: str) -> Path:
        return self.root / _checked(name)

    async def exists(self, name: str) -> bool:
        return (self.path(name) / "manifest.json").is_file()

    async def manifest(self, name: str) -> dict | None:
        try:
            return json.loads((self.path(name) / "manifest.json").read_text())
        except FileNotFoundError:
            return None

    def write(self, name: str, world, seq, state_hash, job, **kw) -> dict:
        """Render and store (blocking; run it in a worker thread). Raises PackExists if already there."""
        return write_pack(world, seq, state_hash, job, self.path(name), **kw)

    async def commit(self, name: str) -> None:
        return None

    async def tar(self, name: str) -> bytes | None:
        if not await self.exists(name):
            return None
        return tar_folder(self.path(name))


class ObjectStore:
    """Packs as ``<project>/<job_id>.tar`` objects in a JetStream object store bucket (rendered in a local temp dir)."""

    def __init__(self, js, bucket: str, scratch=None):
        self.js, self.bucket = js, bucket
        self.scratch = Path(scratch or tempfile.gettempdir())
        self._obs = None
        self._pending: dict[str, Path] = {}

    async def _store(self):
        if self._obs is None:
            try:
                self._obs = await self.js.object_store(self.bucket)
            except Exception:
                self._obs = await self.js.create_object_store(self.bucket)
        return self._obs

    async def _get(self, name: str) -> bytes | None:
        from nats.js.errors import NotFoundError, ObjectNotFoundError

        obs = await self._store()
        try:
            return (await obs.get(name)).data
        except (ObjectNotFoundError, NotFoundError):
            return None

    async def exists(self, name: str) -> bool:
        from nats.js.errors import NotFoundError, ObjectNotFoundError

        obs = await self._store()
        try:
            info = await obs.get_info(f"{_checked(name)}.tar")
        except (ObjectNotFoundError, NotFoundError):
            return False
        return not getattr(info, "deleted", False)

    async def manifest(self, name: str) -> dict | None:
        data = await self._get(f"{_checked(name)}.manifest.json")
        return None if data is None else json.loads(data)

    def write(self, name: str, world, seq, state_hash, job, **kw) -> dict:
        folder = self.scratch / f"wnm-pack-{_checked(name).replace('/', '--')}-{id(self)}"
        shutil.rmtree(folder, ignore_errors=True)
        manifest = write_pack(world, seq, state_hash, job, folder, **kw)
        self._pending[name] = folder
        return manifest

    async def commit(self, name: str) -> None:
        folder = self._pending.pop(name)
        try:
            if await self.exists(name):
                raise PackExists(f"pack {name} is already stored")
            obs = await self._store()
            await obs.put(f"{name}.manifest.json", (folder / "manifest.json").read_bytes())
            await obs.put(f"{name}.tar", tar_folder(folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    async def tar(self, name: str) -> bytes | None:
        return await self._get(f"{_checked(name)}.tar")
