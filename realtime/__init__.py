"""The server: the composition root (:mod:`realtime.bootstrap`), the command service (the one write path),
authorisation (:mod:`realtime.policy`), the HTTP routes and the Yjs socket, the studio it serves, health and
metrics, the embedded servers, and the ``wnm`` CLI. The one place errors become statuses: :mod:`realtime.errors`.

Public API: :func:`open_system` / :func:`services` (build a running system), :func:`create_app` (the litestar
app), :class:`CommandService`, :class:`Settings`, :func:`main` (the CLI)."""

from __future__ import annotations

import importlib

_PUBLIC = {
    "System": "realtime.bootstrap",
    "open_system": "realtime.bootstrap",
    "services": "realtime.bootstrap",
    "create_app": "realtime.app",
    "CommandService": "realtime.commands",
    "Settings": "realtime.settings",
    "main": "realtime.cli",
}
"""Each public name and the module that defines it, imported on first use (importing the package stays cheap)."""

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
