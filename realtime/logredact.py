"""Secrets never reach a log line: ``?token=`` values and bearer credentials are replaced by ``[redacted]``.

Sockets carry their token in the URL (``?token=``, SPEC §6), and uvicorn logs every request and socket with its
full path at ``info``. :func:`install` (called by the composition root that serves HTTP) wraps the log record
factory, so every record — uvicorn's access and error lines, ours, any library's — is redacted when it is made,
whatever handler or formatter later writes it. Arguments are redacted in place (uvicorn's access formatter reads
them as a tuple), the message template too.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["redact", "install", "REDACTED"]

REDACTED = "[redacted]"

_PATTERNS = (
    # ?token=… / &access_token=… in URLs and query strings (up to the next separator)
    (re.compile(r"(?i)\b((?:access_)?token=)[^&\s\"'#;,)]+"), r"\1" + REDACTED),
    # Authorization: Bearer …, authorization=…, ('authorization', b'Bearer …') in dumped headers
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(authorization[\"']?\s*[:=,]\s*(?:b?[\"'])?(?:[A-Za-z]+\s+)?)[^\s\"',)}]+"),
     r"\1" + REDACTED),
)


def redact(text: str) -> str:
    """``text`` with token query values and bearer credentials replaced."""
    low = text.lower()
    if "token" not in low and "bearer" not in low and "authorization" not in low:
        return text
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        try:
            return redact(value.decode()).encode()
        except UnicodeDecodeError:
            return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, (str, bytes, list, tuple)) for v in value):
        return type(value)(_redact_value(v) for v in value)
    return value


_installed: list = []


def install() -> None:
    """Redact every log record from now on (idempotent)."""
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_value(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_value(v) for k, v in record.args.items()}
        return record

    logging.setLogRecordFactory(factory)
    _installed.append(previous)
