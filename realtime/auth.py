"""Bearer tokens: HS256 JWTs (PyJWT) that name a user; what the user may do is in :mod:`realtime.access`.

A token carries ``sub`` (the user id), ``iat``, ``exp`` and ``iss`` = "wnm". Memberships are checked on every
request, so removing a member takes effect at once; a token is only an identity. The secret is ``WNM_SECRET``, or
when unset one generated once and kept in ``<data_dir>/secret`` (mode 0600) so tokens survive restarts.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

import jwt

from .errors import Unauthorized

__all__ = ["Tokens", "USER_RE", "check_user", "secret_for", "bearer_token", "DEFAULT_TTL_S"]

USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
DEFAULT_TTL_S = 30 * 86400
VERIFIED_CACHE = 10_000
"""Tokens remembered as verified (the dict is emptied when full: a few hundred bytes each)."""
_ISSUER = "wnm"


def check_user(user: object) -> str:
    if not isinstance(user, str) or not USER_RE.match(user):
        raise ValueError(f"user id {user!r} must match {USER_RE.pattern}")
    return user


class Tokens:
    """Issues and verifies tokens with one secret. ``leeway_s`` tolerates clock skew on ``exp`` / ``iat``.

    A token that verified is remembered with its ``exp`` (up to :data:`VERIFIED_CACHE` of them), so a client's
    next request skips the signature check: whether a token verifies depends only on it, the secret and the clock,
    and the clock can only end its validity, at ``exp`` — which the remembered entry is still checked against.
    Refusals are not remembered."""

    def __init__(self, secret: str, leeway_s: float = 5.0):
        if not secret or len(secret) < 32:
            raise ValueError("the token secret (WNM_SECRET) must be at least 32 characters")
        self._secret, self.leeway_s = secret, leeway_s
        self._verified: dict[str, tuple[str, float]] = {}  # token → (user, exp)

    def issue(self, user: str, ttl_s: float = DEFAULT_TTL_S, now: float | None = None) -> str:
        check_user(user)
        if ttl_s <= 0:
            raise ValueError("a token's lifetime must be > 0")
        iat = int(time.time() if now is None else now)
        claims = {"sub": user, "iat": iat, "exp": iat + int(ttl_s), "iss": _ISSUER}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> str:
        """The user a token names; raises :class:`Unauthorized` saying why not (expired, forged, malformed)."""
        known = self._verified.get(token)
        if known is not None:
            if time.time() <= known[1] + self.leeway_s:
                return known[0]
            del self._verified[token]
        user, exp = self._check(token)
        if len(self._verified) >= VERIFIED_CACHE:
            self._verified.clear()
        self._verified[token] = (user, exp)
        return user

    def _check(self, token: str) -> tuple[str, float]:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], issuer=_ISSUER, leeway=self.leeway_s,
                                options={"require": ["sub", "exp", "iat", "iss"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("invalid token: signature does not verify") from None
        except jwt.MissingRequiredClaimError as e:
            raise Unauthorized(f"invalid token: {e}") from None
        except jwt.InvalidTokenError as e:
            raise Unauthorized(f"invalid token: {e}") from None
        try:
            return check_user(claims["sub"]), float(claims["exp"])
        except (ValueError, TypeError) as e:
            raise Unauthorized(f"invalid token: {e}") from None


def secret_for(settings) -> str:
    """``settings.secret``, or the secret kept in ``<data_dir>/secret`` (created on first use)."""
    if settings.secret:
        return settings.secret
    path = Path(settings.data_dir) / "secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value


def bearer_token(authorization: str | None, query_token: str | None = None) -> str:
    """The token of a request: ``Authorization: Bearer <t>``, else ``?token=<t>`` (for sockets, which browsers
    cannot give headers). Raises :class:`Unauthorized` when there is none."""
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization header must be 'Bearer <token>'")
        return token.strip()
    if query_token:
        return query_token
    raise Unauthorized("missing bearer token (Authorization: Bearer <token>, or ?token= on sockets)")
