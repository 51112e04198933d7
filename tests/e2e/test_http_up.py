"""`wnm up` as a user starts it: HTTP on a port, an owner token on first start, `wnm token create` for others,
tokens that survive a restart, readiness, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from realtime import embedded

ROOT = Path(__file__).resolve().parents[2]
WNM = [sys.executable, "-m", "realtime.cli"]


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory):
    """A NATS of its own: `wnm up` projects every stream it finds, and a shared server holds many."""
    with embedded.nats_server(tmp_path_factory.mktemp("nats-up")) as url:
        yield url


def _env(nats_url, database_url, data_dir, port):
    return {**os.environ, "WNM_NATS_URL": nats_url, "WNM_DATABASE_URL": database_url, "WNM_DATA_DIR": str(data_dir),
            "WNM_PORT": str(port), "USER": "studio-owner", "PYTHONUNBUFFERED": "1"}


async def _start(env) -> tuple[asyncio.subprocess.Process, list[str]]:
    proc = await asyncio.create_subprocess_exec(*WNM, "up", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    lines: list[str] = []
    async with asyncio.timeout(60):
        while True:
            line = (await proc.stdout.readline()).decode()
            assert line, f"wnm up exited: {lines}"
            lines.append(line.rstrip("\n"))
            if "HTTP on" in line:
                break
    return proc, lines


async def _stop(proc) -> int:
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        await proc.communicate()
    return proc.returncode


async def _until_ready(client, timeout=30.0):
    async with asyncio.timeout(timeout):
        while True:
            try:
                r = await client.get("/readyz")
                if r.status_code == 200:
                    return r.json()
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def test_wnm_up_serves_http_with_tokens_that_survive_a_restart(own_nats, database_url, tmp_path):
    port = embedded.free_port()
    env = _env(own_nats, database_url, tmp_path / "data", port)
    proc, lines = await _start(env)
    try:
        token = lines[lines.index(next(x for x in lines if "owner token" in x)) + 1].strip()
        owner = {"Authorization": f"Bearer {token}"}
        assert f"wnm up: sign in as the owner at http://127.0.0.1:{port}/?project=default&token={token}" in lines
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await _until_ready(client)
            studio = await client.get("/")  # the studio, served from the package
            assert studio.status_code == 200 and '<script type="importmap">' in studio.text
            assert (await client.get("/v1/projects", headers=owner)).json()["projects"] == [
                {"id": "default", "name": "Default project", "role": "owner"}]
            r = await client.post("/v1/projects/default/shots", json={"id": "sh010", "fps": 24}, headers=owner)
            assert r.status_code == 201, r.text
            r = await client.post("/v1/projects/default/shots/sh010/commands", headers=owner, json={
                "command_id": "c1", "ops": [{"type": "entity.create", "id": "cam", "kind": "camera"}]})
            assert r.json()["status"] == "applied"
            assert (await client.get("/v1/projects/default/shots/sh010/world")).status_code == 401

            # a token for someone else, made beside the running server
            made = await asyncio.create_subprocess_exec(
                *WNM, "token", "create", "--project", "default", "--user", "vic", "--role", "viewer", cwd=ROOT,
                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(made.communicate(), 60)
            assert made.returncode == 0, err.decode()
            viewer = {"Authorization": f"Bearer {out.decode().strip()}"}
            world = await client.get("/v1/projects/default/shots/sh010/world", headers=viewer)
            assert world.status_code == 200 and "cam" in world.json()["entities"]
            r = await client.post("/v1/projects/default/shots/sh010/commands", headers=viewer, json={
                "command_id": "c2", "ops": [{"type": "entity.remove", "id": "cam"}]})
            assert r.status_code == 403
            assert "wnm_commands_total" in (await client.get("/metrics")).text
            assert (await client.get("/schema/openapi.json")).status_code == 200
        assert await _stop(proc) == 0
        proc = None

        proc, lines = await _start(env)
        assert not any("owner token" in x for x in lines)  # only on first start
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await _until_ready(client)
            r = await client.get("/v1/projects/default/shots/sh010/hash", headers=owner)
            assert r.status_code == 200 and r.json()["seq"] == 2
        assert await _stop(proc) == 0
        proc = None
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
