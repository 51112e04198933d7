"""``POST …/import``: a USD or glTF scene (the request body) goes into an existing shot as the caller, whole or
not at all — an export of one shot imported into another gives the same entities; a file the shot cannot take
(ids it already has, bytes that are no scene) is a 422 naming ``file`` and appends nothing; a viewer may not."""

from __future__ import annotations

import pytest

from .http_helpers import Api, http_system, project_with_shot

pytest.importorskip("pxr")

SCENE = [
    {"type": "entity.create", "id": "crate", "kind": "prop",
     "props": {"geometry": {"primitive": "box", "size": [1, 0.5, 0.8]}, "transform.position": [1, 0, 2]}},
    {"type": "entity.create", "id": "alice", "kind": "character"},
    {"type": "skeleton.set", "id": "alice", "template": "biped"},
    {"type": "entity.create", "id": "cam", "kind": "camera", "props": {"transform.position": [0, 1.6, 6]}},
]


@pytest.fixture
async def env(nats_url, database_url, tmp_path, monkeypatch):
    async with http_system(nats_url, database_url, tmp_path, monkeypatch) as (system, client):
        yield system, Api(client, system)


@pytest.mark.parametrize("fmt", ["glb", "usda"])
async def test_an_export_imported_into_another_shot_gives_its_entities(env, unique, fmt):
    system, api = env
    await project_with_shot(api, unique)
    await api.ok("POST", f"/v1/projects/{unique}/shots", {"id": "s2"}, status=201)
    await api.ok("POST", f"/v1/projects/{unique}/members", {"user": "vic", "role": "viewer"})
    r = await api.command(unique, "s1", SCENE)
    assert r.json()["status"] == "applied", r.text
    exported = await api.get(f"/v1/projects/{unique}/shots/s1/export.{fmt}")
    assert exported.status_code == 200
    url = f"/v1/projects/{unique}/shots/s2/import"

    r = await api.as_("vic").post(url, content=exported.content, params={"name": f"s1.{fmt}"})
    assert r.status_code == 403, r.text
    r = await api.post(url, content=b"not a scene at all", params={"name": "junk.bin"})
    assert (r.status_code, r.json().get("field")) == (422, "file"), r.text
    head = (await api.ok("GET", f"/v1/projects/{unique}/shots/s2/history"))["entries"]

    got = (await api.post(url, content=exported.content, params={"name": f"s1.{fmt}"}))
    assert got.status_code == 200, got.text
    assert got.json()["entities"] >= 3 and got.json()["events"] >= 1
    world = await api.ok("GET", f"/v1/projects/{unique}/shots/s2/world")
    assert {"crate", "alice", "cam"} <= set(world["entities"])
    assert world["entities"]["alice"]["kind"] == "character"
    history = (await api.ok("GET", f"/v1/projects/{unique}/shots/s2/history"))["entries"]
    new = [e for e in history if e["seq"] not in {h["seq"] for h in head}]
    assert len(new) == got.json()["events"] and max(e["seq"] for e in new) == got.json()["seq"]
    assert all((e["actor_kind"], e["actor_id"], e["status"]) == ("user", "alice", "applied") for e in new)

    again = await api.post(url, content=exported.content, params={"name": f"s1.{fmt}"})
    assert (again.status_code, again.json().get("field")) == (422, "file"), again.text
    assert "already has entities" in again.json()["reason"]
    assert len((await api.ok("GET", f"/v1/projects/{unique}/shots/s2/history"))["entries"]) == len(history)
