"""Settings, read once by the entry point and passed into the composition root (nothing reads them at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    nats_url: str | None = None
    database_url: str | None = None
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8000
    snapshot_every: int = 1000
    shot_idle_s: float = 600.0  # a shot untouched this long is unloaded from memory (reloaded on next use)
    duplicate_window_s: float = 2 * 3600
    outcome_timeout_s: float = 10.0
    secret: str | None = None
    follow_all_projects: bool = True
    nats_sync_always: bool = True  # the embedded NATS fsyncs every write before acknowledging it
    agents_nice: int = 19  # the agents child's CPU priority below the server's (agents.process.NICE)
    agents_idle: bool = True  # the agents child in the SCHED_IDLE class: preempted whenever the server wants a core

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)
        values = dict(
            nats_url=env.get("WNM_NATS_URL") or None,
            database_url=env.get("WNM_DATABASE_URL") or None,
            data_dir=Path(env.get("WNM_DATA_DIR", "var")),
            host=env.get("WNM_HOST", "127.0.0.1"),
            port=int(env.get("WNM_PORT", "8000")),
            snapshot_every=int(env.get("WNM_SNAPSHOT_EVERY", "1000")),
            shot_idle_s=float(env.get("WNM_SHOT_IDLE_S", "600")),
            secret=env.get("WNM_SECRET") or None,
            follow_all_projects=env.get("WNM_FOLLOW_ALL_PROJECTS", "1") not in ("0", "false", "no"),
            nats_sync_always=_sync_always(env.get("WNM_NATS_SYNC") or "always"),
            agents_nice=_nice(env.get("WNM_AGENTS_NICE") or "19"),
            agents_idle=_sched_idle(env.get("WNM_AGENTS_SCHED") or "idle"),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _sync_always(value: str) -> bool:
    """``WNM_NATS_SYNC``: ``always`` fsyncs every write before its ack; ``interval`` leaves it to JetStream's timer
    (every 2 minutes: a power cut may lose acknowledged events)."""
    if value not in ("always", "interval"):
        raise ValueError(f"WNM_NATS_SYNC must be 'always' or 'interval', got {value!r}")
    return value == "always"


def _sched_idle(value: str) -> bool:
    """``WNM_AGENTS_SCHED``: ``idle`` runs the agents child in Linux's SCHED_IDLE class (the default), ``normal``
    at its ``nice`` level only."""
    if value not in ("idle", "normal"):
        raise ValueError(f"WNM_AGENTS_SCHED must be 'idle' or 'normal', got {value!r}")
    return value == "idle"


def _nice(value: str) -> int:
    """``WNM_AGENTS_NICE``: how far below the server the agents child is scheduled, 0 (same priority) to 19."""
    try:
        n = int(value)
    except ValueError:
        n = -1
    if not 0 <= n <= 19:
        raise ValueError(f"WNM_AGENTS_NICE must be an integer from 0 to 19, got {value!r}")
    return n
