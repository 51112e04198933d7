"""POST /v1/projects/{p}/shots/{s}/ik on real NATS and PostgreSQL: a hand put on a target at a frame lands within
a millimetre, through the command path (history, roles); unreachable targets and bad input are refused clearly
with nothing applied."""

from __future__ import annotations

import numpy as np
import pytest

from .http_helpers import Api, http_system, project_with_shot


@pytest.fixture
async def env(nats_url, database_url, tmp_path, monkeypatch):
    async with http_system(nats_url, database_url, tmp_path, monkeypatch) as (system, client):
        yield system, Api(client, system)


async def test_ik_keys_a_chain_so_the_hand_reaches_the_target(env, unique):
    system, api = env
    await project_with_shot(api, unique)
    base = f"/v1/projects/{unique}/shots/s1"
    await api.ok("POST", f"{base}/commands", {"command_id": "c1", "ops": [
        {"type": "entity.create", "id": "bob", "kind": "character", "props": {"transform.position": [1, 0, 2]}},
        {"type": "skeleton.set", "id": "bob", "template": "biped"}]})
    target = [0.9, 1.3, 2.4]
    r = await api.ok("POST", f"{base}/ik", {"command_id": "ik1", "entity": "bob", "joint": "r_hand",
                                            "target": target, "frame": 12})
    assert r["status"] == "applied" and r["reached"] and r["error_m"] < 1e-3
    assert r["chain"] == ["r_shoulder", "r_elbow", "r_wrist"]
    sampled = await api.ok("GET", f"{base}/world", frame=12)
    hand = np.array(sampled["entities"]["bob"]["joints"]["r_hand"])[:3, 3]
    assert np.linalg.norm(hand - target) < 1e-3
    history = await api.ok("GET", f"{base}/history", entity="bob")
    assert history["entries"][-1]["command_id"] == "ik1"

    # out of reach: 422 saying how close it gets, nothing applied
    head = (await api.ok("GET", f"{base}/hash"))["seq"]
    r = await api.post(f"{base}/ik", {"command_id": "ik2", "entity": "bob", "joint": "r_hand",
                                      "target": [5.0, 1.3, 2.4], "frame": 12})
    assert r.status_code == 422 and r.json()["field"] == "target" and r.json()["reached"] is False
    assert "cannot reach" in r.json()["reason"]
    assert (await api.ok("GET", f"{base}/hash"))["seq"] == head

    for body, field in (({"entity": "ghost", "joint": "r_hand"}, "entity"),
                        ({"entity": "bob", "joint": "r_tentacle"}, "joint"),
                        ({"entity": "bob", "joint": "r_hand", "chain": ["l_elbow"]}, "chain")):
        r = await api.post(f"{base}/ik", {"command_id": "ik3", "target": target, "frame": 3, **body})
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    r = await api.post(f"{base}/ik", {"command_id": "ik4", "entity": "bob", "joint": "r_hand", "target": [1, 2],
                                      "frame": 3})
    assert r.status_code == 422
    assert (await api.ok("GET", f"{base}/hash"))["seq"] == head

    # roles apply: a viewer may not, a camera operator may not key a character
    owner = api
    for user, role in (("vic", "viewer"), ("cam", "camera")):
        await owner.ok("POST", f"/v1/projects/{unique}/members", {"user": user, "role": role})
        r = await api.as_(user).post(f"{base}/ik", {"command_id": f"ik-{user}", "entity": "bob", "joint": "r_hand",
                                                    "target": target, "frame": 20})
        assert r.status_code == 403, r.text
