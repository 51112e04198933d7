"""White-box bodies and levels over HTTP (SPEC §7.2): ``GET /v1/templates`` serves every template's joints and
body volumes to any signed-in user; the sampled world (``GET …/world?frame=``) reports each entity's level, and
``GET …/levels`` agrees with it."""

from __future__ import annotations

import pytest

from core.bodies import template_json
from core.templates import TEMPLATES

from .http_helpers import Api, http_system, project_with_shot


@pytest.fixture
async def env(nats_url, database_url, tmp_path, monkeypatch):
    async with http_system(nats_url, database_url, tmp_path, monkeypatch) as (system, client):
        yield system, Api(client, system)


async def test_templates_serve_joints_and_volumes_to_a_signed_in_user(env):
    system, api = env
    got = await api.ok("GET", "/v1/templates")
    assert set(got["templates"]) == set(TEMPLATES)
    for name in TEMPLATES:
        assert got["templates"][name] == template_json(name)       # the one definition, as data
    biped = {v["name"]: v for v in got["templates"]["biped"]["volumes"]}
    assert biped["head"]["shape"] == "ellipsoid" and biped["l_foot"]["shape"] == "box"
    assert set(got["shapes"]) >= {"capsule", "ellipsoid", "box"}
    # a user with no project may read it; no token, or a forged one, may not
    assert (await api.as_("stranger").get("/v1/templates")).status_code == 200
    assert (await api.client.get("/v1/templates")).status_code == 401
    r = await api.client.get("/v1/templates", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401


async def test_the_sampled_world_reports_each_entitys_level(env, unique):
    system, api = env
    await project_with_shot(api, unique)
    base = f"/v1/projects/{unique}/shots/s1"
    await api.ok("POST", f"{base}/commands", {"command_id": "scene", "ops": [
        {"type": "entity.create", "id": "alice", "kind": "character"},
        {"type": "skeleton.set", "id": "alice", "template": "biped"},
        {"type": "entity.create", "id": "ghost", "kind": "character"},
        {"type": "entity.create", "id": "bare", "kind": "prop"},
        {"type": "entity.create", "id": "crate", "kind": "prop", "props": {"geometry": {"asset": "scan-77"}}},
        {"type": "entity.create", "id": "cam", "kind": "camera"},
    ]})
    sampled = await api.ok("GET", f"{base}/world", frame=0)
    got = {eid: e["level"] for eid, e in sampled["entities"].items()}
    assert got == {"alice": "L2", "ghost": "L1", "bare": "L0", "crate": "L3", "cam": "L1"}
    levels = await api.ok("GET", f"{base}/levels")
    assert {eid: e["level"] for eid, e in levels["entities"].items()} == got
    assert levels["counts"] == {"L0": 1, "L1": 2, "L2": 1, "L3": 1, "L4": 0}
