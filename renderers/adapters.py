"""Video-model adapters: a control pack in, a video out.

``preview`` encodes the pack's proxy pass (works anywhere, no model); ``http`` posts the pack to a video model
service and writes the video it answers with. Adapters are looked up by name with :func:`adapter`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

__all__ = ["VideoAdapter", "AdapterError", "PreviewAdapter", "HttpAdapter", "adapter"]


class AdapterError(RuntimeError):
    pass


class VideoAdapter(Protocol):
    name: str

    def generate(self, pack: Path, out: Path) -> Path:
        """Make a video from the pack folder ``pack``; write it to ``out`` (an .mp4 path) and return it."""


def _manifest(pack: Path) -> dict:
    try:
        return json.loads((Path(pack) / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise AdapterError(f"{pack} is not a control pack: {e}") from e


class PreviewAdapter:
    """The proxy pass as an MP4 at the pack's fps — what the shot looks like before any model runs."""

    name = "preview"

    def generate(self, pack: Path, out: Path) -> Path:
        import numpy as np
        from PIL import Image

        from .video import encode_mp4

        m = _manifest(pack)
        frames = sorted((Path(pack) / "proxy").glob("*.png"))
        if not frames:
            raise AdapterError(f"{pack} has no proxy pass to preview")
        encode_mp4(out, (np.asarray(Image.open(f).convert("RGB")) for f in frames), m["fps"])
        return Path(out)


class HttpAdapter:
    """POSTs ``multipart/form-data`` with ``manifest`` (JSON), ``prompt`` (text) and ``pack`` (the pack as a
    tar) to ``endpoint``; the service answers ``200`` with the video (``video/mp4``)."""

    name = "http"

    def __init__(self, endpoint: str, *, timeout_s: float = 600.0, headers: dict | None = None, transport=None):
        self.endpoint, self.timeout_s, self.headers, self.transport = endpoint, timeout_s, headers or {}, transport

    def generate(self, pack: Path, out: Path) -> Path:
        import httpx

        from .store import tar_folder

        pack = Path(pack)
        m = _manifest(pack)
        prompt = (pack / "prompt.txt").read_text() if (pack / "prompt.txt").exists() else ""
        files = {"pack": ("pack.tar", tar_folder(pack), "application/x-tar")}
        data = {"manifest": json.dumps(m), "prompt": prompt}
        try:
            with httpx.Client(timeout=self.timeout_s, transport=self.transport, headers=self.headers) as client:
                r = client.post(self.endpoint, data=data, files=files)
        except httpx.HTTPError as e:
            raise AdapterError(f"video service at {self.endpoint} unreachable: {e}") from e
        if r.status_code != 200:
            raise AdapterError(f"video service answered {r.status_code}: {r.text[:300]}")
        if not r.headers.get("content-type", "").startswith("video/"):
            raise AdapterError(f"video service answered {r.headers.get('content-type')!r}, not a video")
        Path(out).write_bytes(r.content)
        return Path(out)


def adapter(name: str, **options) -> VideoAdapter:
    if name == "preview":
        return PreviewAdapter()
    if name == "http":
        if not options.get("endpoint"):
            raise AdapterError("the http adapter needs an endpoint")
        return HttpAdapter(**options)
    raise AdapterError(f"unknown video adapter {name!r}; adapters: preview, http")
