"""What the tests need from the machine, and the one rule for when it is missing.

A test that lacks a tool (pyrender/OSMesa, torch, Node.js and the e2e node_modules, …) does not pass quietly:
a skip fails the run (see ``tests/conftest.py``) unless ``WNM_ALLOW_SKIP=1`` is set, which a developer may do
on a machine without them. CI never sets it, so a CI image that lost a tool goes red instead of green-by-skipping.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

__all__ = ["ALLOW_SKIP_ENV", "skips_allowed", "require_module", "require"]

ALLOW_SKIP_ENV = "WNM_ALLOW_SKIP"


def skips_allowed() -> bool:
    return os.environ.get(ALLOW_SKIP_ENV, "") == "1"


def require(missing: str | None) -> None:
    """Skip the calling test when ``missing`` (why it cannot run) is set; the conftest hook turns that skip into a
    failure unless skips are allowed."""
    if missing:
        pytest.skip(missing)


def require_module(module: str, what: str) -> None:
    require(None if importlib.util.find_spec(module) is not None else f"{module} is not installed ({what})")
