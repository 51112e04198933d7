"""Shared by the studio's browser tests: whether Debian's chromium and playwright-core are here, where screenshots
go, the in-process server fixture and a seed helper."""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec
import pytest

from events.envelope import Command
from tests.e2e.sync_harness import NODE_DIR, REPO, node_binary, serve_sync, settings_for

CHROMIUM = os.environ.get("WNM_CHROMIUM", "/usr/bin/chromium")
OUT = REPO / "out" / "studio"


def browser_ready() -> str | None:
    if node_binary() is None:
        return "node is not installed"
    if not (NODE_DIR / "node_modules" / "playwright-core").is_dir():
        return "run `npm ci --prefix tests/e2e/node` first"
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium, or set WNM_CHROMIUM)"
    return None


skip_without_browser = pytest.mark.skipif(browser_ready() is not None and os.environ.get("WNM_ALLOW_SKIP") == "1",
                                          reason=browser_ready() or "")


def http_base(served) -> str:
    return served.base.replace("ws://", "http://")


def command(command_id: str, ops: list[dict]) -> Command:
    return msgspec.json.decode(json.dumps({"command_id": command_id, "ops": ops}).encode(), type=Command)


@pytest.fixture
async def served(nats_url, database_url, tmp_path):
    async with serve_sync(settings_for(nats_url, database_url, tmp_path)) as s:
        yield s
