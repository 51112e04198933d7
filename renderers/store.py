"""Where finished packs live so the API can serve them: a directory (default) or a NATS object store.

Both stores are first-writer-wins per job id: a pack appears whole or not at all, and a second renderer of the
same job finds it there and does not write it again. Downloads are an uncompressed tar with sorted entries and
zeroed times and owners, so the same pack always downloads as the same bytes.
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


class DirStore:
    """Packs as folders ``<root>/<job_id>/``; temporary folders are dot-prefixed siblings."""

    def __init__(self, root):
        self.root = Path(root)

    def path(self, job_id: str) -> Path:
        return self.root / job_id

    async def exists(self, job_id: str) -> bool:
        return (self.path(job_id) / "manifest.json").is_file()

    async def manifest(self, job_id: str) -> dict | None:
        try:
            return json.loads((self.path(job_id) / "manifest.json").read_text())
        except FileNotFoundError:
            return None

    def write(self, job_id: str, world, seq, state_hash, job, **kw) -> dict:
        """Render and store (blocking; run it in a worker thread). Raises PackExists if already there."""
        return write_pack(world, seq, state_hash, job, self.path(job_id), **kw)

    async def commit(self, job_id: str) -> None:
        return None

    async def tar(self, job_id: str) -> bytes | None:
        if not await self.exists(job_id):
            return None
        return tar_folder(self.path(job_id))


class ObjectStore:
    """Packs as ``<job_id>.tar`` objects in a JetStream object store bucket (rendered in a local temp dir)."""

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

    async def exists(self, job_id: str) -> bool:
        from nats.js.errors import NotFoundError, ObjectNotFoundError

        obs = await self._store()
        try:
            info = await obs.get_info(f"{job_id}.tar")
        except (ObjectNotFoundError, NotFoundError):
            return False
        return not getattr(info, "deleted", False)

    async def manifest(self, job_id: str) -> dict | None:
        data = await self._get(f"{job_id}.manifest.json")
        return None if data is None else json.loads(data)

    def write(self, job_id: str, world, seq, state_hash, job, **kw) -> dict:
        folder = self.scratch / f"wnm-pack-{job_id}-{id(self)}"
        shutil.rmtree(folder, ignore_errors=True)
        manifest = write_pack(world, seq, state_hash, job, folder, **kw)
        self._pending[job_id] = folder
        return manifest

    async def commit(self, job_id: str) -> None:
        folder = self._pending.pop(job_id)
        try:
            if await self.exists(job_id):
                raise PackExists(f"pack {job_id} is already stored")
            obs = await self._store()
            await obs.put(f"{job_id}.manifest.json", (folder / "manifest.json").read_bytes())
            await obs.put(f"{job_id}.tar", tar_folder(folder))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    async def tar(self, job_id: str) -> bytes | None:
        return await self._get(f"{job_id}.tar")
