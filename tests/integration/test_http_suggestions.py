"""Suggest mode over HTTP: a proposal changes nothing until a person accepts it; accepting applies exactly its ops,
as that person and with that person's rights; dismissing closes it."""

from __future__ import annotations

import pytest

from agents.suggestions import Suggestion
from core import ops as O

from .http_helpers import Api, http_system, project_with_shot


@pytest.fixture
async def env(nats_url, database_url, tmp_path, monkeypatch):
    async with http_system(nats_url, database_url, tmp_path, monkeypatch) as (system, client):
        yield system, Api(client, system)


async def test_accepting_a_suggestion_applies_exactly_its_ops_as_the_person(env, unique):
    system, api = env
    await project_with_shot(api, unique)
    base = f"/v1/projects/{unique}/shots/s1"
    created = await api.ok("POST", f"{base}/commands", {"command_id": "c1", "ops": [
        {"type": "entity.create", "id": "table", "kind": "prop",
         "props": {"geometry": {"primitive": "box", "size": [1, 0.75, 1]}}}]})
    for user, role in (("vic", "viewer"), ("lee", "layout")):
        await api.ok("POST", f"/v1/projects/{unique}/members", {"user": user, "role": role})

    from realtime.bootstrap import agent_stores

    store = agent_stores(system)[1]
    proposal = Suggestion(id=f"collision.{created['seq']}.0", project=unique, shot="s1", agent="collision",
                          trigger_seq=created["seq"], reason="moved table 0.40 m +x: intersected chair at frame 0",
                          ops=[O.EntitySet(id="table", path="transform.position", value=[0.4, 0, 0])])
    await store.propose(proposal)
    listed = await api.ok("GET", f"{base}/suggestions")
    assert [s["id"] for s in listed["suggestions"]] == [proposal.id]
    before = await api.ok("GET", f"{base}/hash")

    viewer = await api.as_("vic").post(f"{base}/suggestions/{proposal.id}/accept")
    assert viewer.status_code == 403
    assert (await api.ok("GET", f"{base}/hash")) == before  # nothing changed

    res = await api.as_("lee").post(f"{base}/suggestions/{proposal.id}/accept")
    assert res.status_code == 200 and res.json()["status"] == "applied", res.text
    world = await api.ok("GET", f"{base}/world")
    assert world["entities"]["table"]["props"]["transform.position"] == [0.4, 0.0, 0.0]
    entry = (await api.ok("GET", f"{base}/history", limit=1))["entries"][-1]
    assert entry["actor_id"] == "lee" and entry["causation"] == created["seq"]
    assert entry["payload"]["ops"] == [{"type": "entity.set", "id": "table", "path": "transform.position",
                                        "value": [0.4, 0, 0]}]

    again = await api.as_("lee").post(f"{base}/suggestions/{proposal.id}/dismiss")
    assert again.status_code == 409


async def test_unknown_suggestions_and_strangers_get_clear_errors(env, unique):
    system, api = env
    await project_with_shot(api, unique)
    base = f"/v1/projects/{unique}/shots/s1"
    assert (await api.post(f"{base}/suggestions/nope/accept")).status_code == 404
    assert (await api.as_("mallory").get(f"{base}/suggestions")).status_code == 404
    assert (await api.get(f"{base}/suggestions", status="weird")).status_code == 422
