"""The server: the composition root (:mod:`realtime.bootstrap`), the command service (the one write path),
authorisation (:mod:`realtime.policy`), the HTTP routes and the Yjs socket, the studio it serves, health and
metrics, the embedded servers, and the ``wnm`` CLI. The one place errors become statuses: :mod:`realtime.errors`.

Public API: :func:`open_system` / :func:`services` (build a running system), :func:`create_app` (the litestar
app), :class:`CommandService`, :class:`Settings`, :func:`main` (the CLI)."""

from core.public import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {
    "realtime.bootstrap": ["System", "open_system", "services"],
    "realtime.app": ["create_app"],
    "realtime.commands": ["CommandService"],
    "realtime.settings": ["Settings"],
    "realtime.cli": ["main"],
})
