"""Serving HTTP from ``wnm up`` and the ``wnm token`` command (both registered in :mod:`realtime.cli`).

``serve(system)`` runs uvicorn on ``settings.host:settings.port`` beside the projector; on a fresh install (no
memberships at all) it first creates the project ``default`` with the local user as owner and prints a token for
them, and the studio's address that signs them in. ``wnm token create --project P --user U --role R [--ttl-days N]
[--scopes a,b]`` works directly against PostgreSQL: it creates the project if needed, sets the membership and prints
a token for U.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys

from .bootstrap import DEFAULT_PROJECT

__all__ = ["serve", "add_token_command", "studio_address", "DEFAULT_PROJECT"]


def _local_user() -> str:
    from .auth import USER_RE

    user = os.environ.get("USER") or "owner"
    return user if USER_RE.match(user) else "owner"


async def serve(system) -> None:
    """Serve the app until cancelled (``wnm up`` cancels it on SIGINT / SIGTERM)."""
    import uvicorn

    from . import logredact
    from .app import create_app
    from .bootstrap import first_start_token

    logredact.install()  # sockets carry ?token= in the URL, which uvicorn logs at info
    token = await first_start_token(system, _local_user())
    if token is not None:
        print(f"wnm up: first start — project {DEFAULT_PROJECT!r} created, owner {_local_user()}; "
              f"owner token (valid a year):\n{token}", flush=True)

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):  # `wnm up` owns the signals
            yield

    settings = system.settings
    server = _Server(uvicorn.Config(create_app(system), host=settings.host, port=settings.port,
                                    log_level=os.environ.get("WNM_LOG_LEVEL", "warning"), lifespan="on",
                                    http="httptools",
                                    ws_max_size=16 << 20))
    if token is not None:
        print(f"wnm up: sign in as the owner at {studio_address(settings.host, settings.port, token)}", flush=True)
    print(f"wnm up: the studio is at {studio_address(settings.host, settings.port)}", flush=True)
    print(f"wnm up: HTTP on http://{settings.host}:{settings.port} (OpenAPI at /schema)", flush=True)
    serving = asyncio.ensure_future(_guarded(server, settings))
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        # a graceful stop: sockets are closed with 1001 and the app's shutdown hooks run before `wnm up` closes
        # the connections underneath
        server.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(serving, 15)
        raise
    if not server.started:
        raise ServeError(f"could not serve HTTP on {settings.host}:{settings.port}")


def studio_address(host: str, port: int, token: str | None = None) -> str:
    """The studio's address for a browser on this machine (``&token=`` signs in, then leaves the address bar)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, f"[{host}]" if ":" in host else host)
    query = f"?project={DEFAULT_PROJECT}&token={token}" if token else ""
    return f"http://{shown}:{port}/{query}"


class ServeError(RuntimeError):
    """The HTTP server could not start (the port is taken, …); `wnm up` stops cleanly and says so."""


async def _guarded(server, settings) -> None:
    # uvicorn ends a failed start with SystemExit, which asyncio lets escape the event loop (no clean shutdown)
    try:
        await server.serve()
    except SystemExit:
        raise ServeError(f"could not serve HTTP on {settings.host}:{settings.port}; see the message above") from None


def port_free(host: str, port: int) -> str | None:
    """None if ``host:port`` can be listened on, else why not."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind((host, port))
        except OSError as e:
            return e.strerror or str(e)
    return None


def add_token_command(sub) -> None:
    from .access import ROLES, SCOPES

    token = sub.add_parser("token", help="tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="make U a member of P with role R and print a token for U")
    create.add_argument("--project", required=True)
    create.add_argument("--user", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--scopes", default=None, help=f"agents only: comma-separated from {','.join(SCOPES)}")
    create.add_argument("--ttl-days", type=float, default=30.0)
    create.set_defaults(func=cmd_token_create)


def cmd_token_create(args) -> int:
    import asyncpg

    from core.values import check_id
    from projections.migrate import migrate

    from .access import PgAccess, check_scopes
    from .auth import Tokens, check_user, secret_for
    from .bootstrap import resolve_endpoints
    from .cli import _settings

    try:
        check_id(args.project, "project")
        check_user(args.user)
        scopes = None if args.scopes is None else check_scopes([s for s in args.scopes.split(",") if s])
        if scopes is not None and args.role != "agent":
            raise ValueError("--scopes applies only to --role agent")
        if args.ttl_days <= 0:
            raise ValueError("--ttl-days must be > 0")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    settings = resolve_endpoints(_settings(args))

    async def go() -> None:
        pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
        try:
            await migrate(pool)
            access = PgAccess(pool)
            await access.create_project(args.project, "", args.user)
            await access.set_member(args.project, args.user, args.role, scopes, added_by="wnm token create")
        finally:
            await pool.close()

    asyncio.run(go())
    print(Tokens(secret_for(settings)).issue(args.user, ttl_s=args.ttl_days * 86400))
    return 0
