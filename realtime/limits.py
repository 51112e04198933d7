"""Limits on what one client may send: request / frame size, ops per command, and a token-bucket rate.

Every limit fails with its own clear error (413 for size and op count, 429 with ``Retry-After`` for rate), mapped
in :mod:`realtime.errors`. A :class:`RateLimiter` keeps one bucket per key (a user over HTTP; the socket helper
keys it per connection) and forgets idle keys, so it cannot grow without bound.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from events.envelope import MAX_OPS

from .errors import RateLimited, TooLarge

__all__ = ["Limits", "TokenBucket", "RateLimiter", "check_size", "check_ops"]


@dataclass(frozen=True)
class Limits:
    """``max_body_bytes``: an HTTP request body; ``max_frame_bytes``: one WebSocket frame; ``max_ops``: ops in one
    command; ``rate_per_s`` / ``burst``: sustained and peak writes (commands, rollbacks, …) per user over HTTP and
    messages per socket connection."""

    max_body_bytes: int = 1_000_000
    max_frame_bytes: int = 1_000_000
    max_ops: int = MAX_OPS
    rate_per_s: float = 50.0
    burst: int = 200

    @classmethod
    def from_env(cls, env: dict[str, str]) -> "Limits":
        """``WNM_MAX_BODY_BYTES``, ``WNM_MAX_FRAME_BYTES``, ``WNM_MAX_OPS``, ``WNM_RATE_PER_S``, ``WNM_RATE_BURST``."""
        d = cls()
        return cls(
            max_body_bytes=int(env.get("WNM_MAX_BODY_BYTES", d.max_body_bytes)),
            max_frame_bytes=int(env.get("WNM_MAX_FRAME_BYTES", d.max_frame_bytes)),
            max_ops=min(MAX_OPS, int(env.get("WNM_MAX_OPS", d.max_ops))),
            rate_per_s=float(env.get("WNM_RATE_PER_S", d.rate_per_s)),
            burst=int(env.get("WNM_RATE_BURST", d.burst)),
        )


class TokenBucket:
    """Holds up to ``burst`` tokens, refilled at ``rate`` per second. ``take(n)`` returns 0.0 when the tokens were
    taken, else the seconds until they would be there (and takes nothing)."""

    __slots__ = ("rate", "burst", "tokens", "stamp", "clock")

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst ≥ 1, got {rate}, {burst}")
        self.rate, self.burst, self.clock = float(rate), float(burst), clock
        self.tokens = float(burst)
        self.stamp = clock()

    def take(self, n: float = 1.0) -> float:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= n:
            self.tokens -= n
            return 0.0
        return (n - self.tokens) / self.rate


class RateLimiter:
    """One :class:`TokenBucket` per key; ``check(key)`` raises :class:`RateLimited` when the key is over its rate."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.max_keys, self.clock = rate, burst, max_keys, clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def check(self, key: str, n: float = 1.0) -> None:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        wait = bucket.take(n)
        if wait:
            raise RateLimited(f"rate limit exceeded: at most {self.rate:g} requests/s (burst {self.burst:g}); "
                              f"retry in {wait:.2f}s", retry_after_s=wait)


def check_size(size: int, limit: int, what: str = "request body") -> None:
    if size > limit:
        raise TooLarge(f"{what} is {size} bytes; the limit is {limit}")


def check_ops(n_ops: int, limits: Limits) -> None:
    if n_ops > limits.max_ops:
        raise TooLarge(f"a command may carry at most {limits.max_ops} ops, got {n_ops}")
