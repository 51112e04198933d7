"""One socket's commands (message type 100), pipelined: each is decoded, checked and sent to the log in the order
it arrived while the verdicts of earlier ones are still coming; the results (type 101) go back to that socket in
the same order. A command that fails validation while earlier ones of the socket are in flight is checked once more
after they are applied (it may build on them: create, then key). A refusal becomes a result built from
:func:`realtime.errors.error_body`, never a closed socket.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import Counter
from typing import Awaitable, Callable

import msgspec

from events.envelope import Command
from events.verdicts import CommandError, Result

from . import yprotocol as Y
from .commands import decode_command
from .errors import ApiError, BadRequest, Forbidden, RateLimited, error_body

__all__ = ["CommandPipeline", "Submit"]

log = logging.getLogger(__name__)

Submit = Callable[..., Awaitable["Result | Awaitable[Result]"]]
"""``submit(principal, project, shot, command)``: returns once the command is appended — its ``Result`` when already
known (a retry), else an awaitable of it; raises ``CommandError`` (or ``PermissionError``) for a refusal."""


class _CommandId(msgspec.Struct):
    command_id: object = None


class CommandPipeline:
    """The commands of one :class:`~realtime.sync_room.Connection` (``conn.send`` takes the result frames);
    ``counts`` gets ``commands_applied`` / ``commands_rejected``. At most ``limit`` commands wait; more are refused
    with 429 at once."""

    def __init__(self, conn, submit: Submit, counts: Counter, limit: int):
        self.conn, self.submit, self.counts, self.limit = conn, submit, counts, limit
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._loop())

    def put(self, payload: bytes) -> None:
        if self.queue.qsize() >= self.limit:
            self.conn.send(_refusal(_command_id(payload), RateLimited(
                f"more than {self.limit} commands waiting on this socket", retry_after_s=1.0)))
            return
        self.queue.put_nowait(payload)

    def cancel(self) -> None:
        self.task.cancel()

    async def _loop(self) -> None:
        conn = self.conn
        room = conn.room
        pending: asyncio.Queue = asyncio.Queue()
        idle = asyncio.Event()
        idle.set()
        in_flight = [0]
        sender = asyncio.get_running_loop().create_task(self._send_verdicts(pending, idle, in_flight))
        try:
            while True:
                payload = await self.queue.get()
                try:
                    command = decode_command(payload)
                    try:
                        got = await self.submit(conn.principal, room.project, room.shot, command)
                    except CommandError as e:
                        if e.kind != "invalid" or idle.is_set():
                            raise
                        await idle.wait()
                        got = await self.submit(conn.principal, room.project, room.shot, command)
                except asyncio.CancelledError:
                    raise
                except PermissionError as e:
                    item = (None, _refusal(_command_id(payload), Forbidden(str(e))))
                except RecursionError:  # JSON nested deeper than msgspec decodes: the client's error
                    item = (None, _refusal(_command_id(payload), BadRequest("invalid command: JSON nested too deeply")))
                except Exception as e:
                    item = (None, _refusal(_command_id(payload), e))
                else:
                    item = (command, got)  # the verdict's awaitable is awaited in order by _send_verdicts
                in_flight[0] += 1
                idle.clear()
                pending.put_nowait(item)
        finally:
            sender.cancel()
            while not pending.empty():
                _, got = pending.get_nowait()
                if inspect.iscoroutine(got):
                    got.close()
                elif isinstance(got, asyncio.Future):
                    got.cancel()

    async def _send_verdicts(self, pending: asyncio.Queue, idle: asyncio.Event, in_flight: list[int]) -> None:
        conn = self.conn
        while True:
            command, got = await pending.get()
            if command is None:
                frame = got
            else:
                try:
                    result = got if isinstance(got, Result) else await got
                except asyncio.CancelledError:
                    raise
                except PermissionError as e:
                    frame = _refusal(command.command_id, Forbidden(str(e)))
                except Exception as e:
                    frame = _refusal(command.command_id, e)
                else:
                    self.counts["commands_" + result.status] += 1
                    frame = Y.command_result(_encoder.encode({"command_id": command.command_id,
                                                              **result.to_json()}))
            conn.send(frame)
            in_flight[0] -= 1
            if in_flight[0] == 0:
                idle.set()


_encoder = msgspec.json.Encoder()
_command_id_decoder = msgspec.json.Decoder(_CommandId)


def _command_id(payload: bytes) -> str | None:
    """The command id of a payload that may not decode as a command (so a refusal can still name it)."""
    try:
        cid = _command_id_decoder.decode(payload).command_id
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    return cid if isinstance(cid, str) else None


def _refusal(command_id: str | None, exc: BaseException) -> bytes:
    """A command result for a command refused before (or instead of) reaching the log:
    ``{command_id, seq: null, status: "rejected", status_code, error, reason, op?, field?}``."""
    body = error_body(exc)
    if body["status_code"] >= 500 and not isinstance(exc, ApiError):
        log.error("sync: command %r failed: %s: %s", command_id, type(exc).__name__, exc,
                  exc_info=body["status_code"] == 500)
    return Y.command_result(_encoder.encode({"command_id": command_id, "seq": None, "status": "rejected", **body}))
