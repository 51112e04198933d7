"""The hashing worker (:mod:`projections.hashing`) is a process of its own that holds none of the server's sockets:
a connection the server closes ends for its peer at once, whatever the worker is doing."""

from __future__ import annotations

import asyncio
import socket
import threading

from projections import hashing
from projections.reducer import ShotReducer, state_hash


def test_a_socket_closed_after_the_worker_started_ends_for_its_peer():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    peer = socket.create_connection(listener.getsockname())
    mine, _ = listener.accept()  # open in this process when the worker starts, as a client's WebSocket is
    hasher = hashing.Hasher()

    async def main():
        doc = ShotReducer("p", "s").doc
        _, digest, _, _ = await hasher.canonical(hashing.Shadow(), doc)
        return digest == state_hash(doc)

    try:
        assert asyncio.run(main())  # the worker is running now
        mine.close()
        listener.close()
        peer.settimeout(5.0)
        assert peer.recv(1) == b""  # end of stream: no copy of the socket is left open elsewhere
        with socket.create_server(("127.0.0.1", port)):  # and no one listens on the port any more
            pass
    finally:
        hasher.close()
        peer.close()


def test_the_worker_is_started_off_the_event_loop_s_thread(monkeypatch):
    """Starting a process (the fork server too, the first time) takes a fifth of a second or more: the loop's
    thread never waits for it. Two hashes asked for at once share the one worker."""
    started_on = []
    real = hashing._started_pool

    def recording():
        started_on.append(threading.get_ident())
        return real()

    monkeypatch.setattr(hashing, "_started_pool", recording)
    hasher = hashing.Hasher()

    async def main():
        doc = ShotReducer("p", "s").doc
        return threading.get_ident(), await asyncio.gather(hasher.canonical(hashing.Shadow(), doc),
                                                           hasher.canonical(hashing.Shadow(), doc))

    try:
        loop_thread, answers = asyncio.run(main())
    finally:
        hasher.close()
    assert len(answers) == 2 and answers[0][1] == answers[1][1]
    assert len(started_on) == 1 and started_on[0] != loop_thread
    assert hasher.counts["workers_started"] == 1


def test_a_worker_that_fails_to_start_is_started_again_on_the_next_call(monkeypatch):
    real, tries = hashing._started_pool, []

    def failing_once():
        tries.append(1)
        if len(tries) == 1:
            raise OSError("no more processes")
        return real()

    monkeypatch.setattr(hashing, "_started_pool", failing_once)
    hasher = hashing.Hasher()

    async def main():
        doc, shadow = ShotReducer("p", "s").doc, hashing.Shadow()
        try:
            await hasher.canonical(shadow, doc)
        except OSError:
            pass
        else:
            raise AssertionError("the first start failed: its hash must fail")
        return (await hasher.canonical(shadow, doc))[1] == state_hash(doc)

    try:
        assert asyncio.run(main())
    finally:
        hasher.close()
    assert len(tries) == 2 and hasher.counts["worker_errors"] == 1
