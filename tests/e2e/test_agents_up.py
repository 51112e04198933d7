"""The agents as people meet them: through a running `wnm up` over HTTP. They run in a supervised child process:
a layout directive builds its room with a report, a chair pushed into a table is freed with causation, and a
killed agents process is replaced and repeats no repair."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import httpx

from realtime import embedded

from .test_http_up import _env, _start, _stop, _until_ready

BOX = lambda w, h, d: {"primitive": "box", "size": [w, h, d]}  # noqa: E731
ROOM = {"type": "directive.add", "id": "lr", "agent": "layout", "params": {"recipe": {
    "kind": "indoor", "room": {"size": [6, 5]}, "openings": [{"type": "door", "wall": "south"}],
    "objects": [{"id": "sofa", "text": "a comfy couch", "against": "west"},
                {"id": "table", "asset": "coffee_table", "in_front_of": "sofa"},
                {"id": "tv", "text": "television", "against": "east"}]}}}


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if b"agents" in f.read():
                        out.append(int(entry))
    return out


async def _until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        got = await check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_agents_work_through_a_running_wnm_up_and_survive_being_killed(database_url, tmp_path):
    with embedded.nats_server(tmp_path / "nats") as nats_url:
        port = embedded.free_port()
        proc, lines = await _start(_env(nats_url, database_url, tmp_path / "data", port))
        try:
            token = lines[lines.index(next(x for x in lines if "owner token" in x)) + 1].strip()
            owner = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=owner) as client:
                await _until_ready(client)
                shots = "/v1/projects/default/shots"

                async def command(shot, *ops):
                    r = await client.post(f"{shots}/{shot}/commands",
                                          json={"command_id": uuid.uuid4().hex, "ops": list(ops)})
                    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
                    return r.json()["seq"]

                # layout: the directive alone builds the room, and the directive carries the agent's report
                assert (await client.post(shots, json={"id": "room"})).status_code == 201
                await command("room", ROOM)

                async def room_built():
                    w = (await client.get(f"{shots}/room/world")).json()
                    report = w["directives"]["lr"]["params"].get("report")
                    return w if report and len(w["entities"]) >= 4 else None

                world = await _until(room_built, 90, "the layout agent's room")
                assert world["directives"]["lr"]["params"]["report"]["status"] == "done"
                built = " ".join(world["entities"])
                assert all(f"lr.{what}" in built for what in ("sofa", "table", "tv")), built

                # collision: a chair pushed into a table is freed, caused by the push
                assert (await client.post(shots, json={"id": "s1"})).status_code == 201
                await command("s1", {"type": "entity.create", "id": "table", "kind": "prop",
                                     "props": {"geometry": BOX(1.2, 0.75, 0.8)}},
                              {"type": "entity.create", "id": "chair", "kind": "prop",
                               "props": {"geometry": BOX(0.5, 0.9, 0.5), "transform.position": [2, 0, 0]}})

                async def repair_of(seq):
                    h = (await client.get(f"{shots}/s1/history", params={"actor": "agent:collision"})).json()
                    return [e for e in h["entries"] if e["causation"] == seq] or None

                push = await command("s1", {"type": "entity.set", "id": "chair", "path": "transform.position",
                                            "value": [0.3, 0, 0]})
                started = time.monotonic()
                repairs = await _until(lambda: repair_of(push), 20, "the collision repair")
                print(f"chair freed {time.monotonic() - started:.2f} s after the push")
                assert repairs[0]["status"] == "applied"

                # kill -9 the agents process: another takes its place, resumes, and repeats nothing
                (first,) = await _until(lambda: _async(_children(proc.pid)), 20, "the agents process")
                os.kill(first, 9)
                await _until(lambda: _async([p for p in _children(proc.pid) if p != first]), 30,
                             "a new agents process")
                push2 = await command("s1", {"type": "entity.set", "id": "chair", "path": "transform.position",
                                             "value": [-0.3, 0, 0.1]})
                await _until(lambda: repair_of(push2), 90, "the repair after the restart")
                h = (await client.get(f"{shots}/s1/history", params={"limit": 1000})).json()["entries"]
                ids = [e["command_id"] for e in h]
                assert len(ids) == len(set(ids)), "an agent published a command twice"
                assert len([e for e in h if e["causation"] == push]) == len(repairs)

                # the agents' state and lag are reported (not a reason to be unready)
                async def caught_up():
                    body = (await client.get("/readyz")).json()
                    lag = body.get("agents", {}).get("lag", {}).get("collision", {})
                    return body if lag.get("default") == 0 else None

                ready = await _until(caught_up, 30, "the collision agent's lag to reach 0")
                assert ready["agents"]["process"]["running"] and ready["agents"]["process"]["restarts"] >= 1
                text = (await client.get("/metrics")).text
                assert 'wnm_agents_lag{agent="collision",project="default"} 0.0' in text
                assert "wnm_agents_running 1.0" in text
        finally:
            assert await _stop(proc) == 0
        assert _children(proc.pid) == []


async def _async(value):
    return value
