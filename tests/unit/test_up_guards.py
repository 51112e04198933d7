"""`wnm up` refuses, with a reason, what would break a running instance: a taken port, a shared data folder."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from realtime import embedded
from realtime.bootstrap import _data_dir_lock, endpoints_file, services
from realtime.http_serve import ServeError, _guarded, port_free
from realtime.settings import Settings


def test_a_second_instance_on_one_data_folder_is_refused(tmp_path):
    with _data_dir_lock(tmp_path):
        with pytest.raises(SystemExit, match="another `wnm up` is running with the data folder"):
            with _data_dir_lock(tmp_path):
                pass
    with _data_dir_lock(tmp_path):  # released on exit
        pass


def test_a_taken_port_is_named():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert "in use" in port_free("127.0.0.1", port)
    assert port_free("127.0.0.1", port) is None


def test_uvicorns_exit_on_a_failed_start_becomes_an_error():
    class Failing:
        async def serve(self):
            raise SystemExit(3)

    with pytest.raises(ServeError, match="could not serve HTTP on 127.0.0.1:1"):
        asyncio.run(_guarded(Failing(), Settings(port=1)))


def test_the_endpoints_file_of_another_instance_is_left_alone(tmp_path):
    settings = Settings(data_dir=tmp_path, nats_url="nats://a:4222", database_url="postgresql://a/db")
    with services(settings):
        endpoints_file(settings).write_text(json.dumps({"nats_url": "nats://b:4222"}))  # another instance's
    assert json.loads(endpoints_file(settings).read_text()) == {"nats_url": "nats://b:4222"}
    with services(settings):
        assert endpoints_file(settings).exists()
    assert not endpoints_file(settings).exists()


def test_the_embedded_servers_are_handed_over_for_supervision_and_stopped_on_exit(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url="postgresql://a/db")  # NATS embedded, PostgreSQL not
    children: list = []
    with services(settings, children) as resolved:
        [nats] = children
        assert nats.alive() and resolved.nats_url == nats.url
        assert "sync_interval: always" in (tmp_path / "nats" / "nats.conf").read_text()
        pid = nats.proc.pid
    assert not nats.alive() and not nats.record_path.exists()
    assert embedded.record_of(pid) is None
