"""Command ids over HTTP, against real NATS JetStream and PostgreSQL: scoped to their shot, one rule for every
write route (422 naming ``command_id``), a reused id with another command refused with 409 and never applied."""

from __future__ import annotations

import pytest

from tests.integration.http_helpers import Api, http_system, project_with_shot

BOX = {"primitive": "box", "size": [1, 1, 1]}


def box(eid: str) -> dict:
    return {"type": "entity.create", "id": eid, "kind": "prop", "props": {"geometry": BOX}}


@pytest.fixture
async def api(nats_url, database_url, tmp_path, monkeypatch):
    async with http_system(nats_url, database_url, tmp_path, monkeypatch) as (system, client):
        yield Api(client, system)


def cmd_path(p: str, s: str) -> str:
    return f"/v1/projects/{p}/shots/{s}/commands"


async def test_the_same_id_on_two_shots_applies_both(api, unique):
    p = unique
    await project_with_shot(api, p, "s1")
    await api.ok("POST", f"/v1/projects/{p}/shots", {"id": "s2"}, status=201)
    a = await api.ok("POST", cmd_path(p, "s1"), {"command_id": "same", "ops": [box("a")]})
    b = await api.ok("POST", cmd_path(p, "s2"), {"command_id": "same", "ops": [box("b")]})
    assert a["status"] == b["status"] == "applied" and "duplicate" not in b and a["seq"] != b["seq"]
    world = await api.ok("GET", f"/v1/projects/{p}/shots/s2/world")
    assert "b" in world["entities"]


async def test_a_reused_id_with_other_ops_is_409_and_a_retry_is_a_duplicate(api, unique):
    p = unique
    await project_with_shot(api, p, "s1")
    first = await api.ok("POST", cmd_path(p, "s1"), {"command_id": "c1", "ops": [box("a")]})
    again = await api.ok("POST", cmd_path(p, "s1"), {"command_id": "c1", "ops": [box("a")]})
    assert (again["seq"], again["status"], again.get("duplicate")) == (first["seq"], "applied", True)
    for ops in ([box("other")], [{"type": "entity.remove", "id": "ghost"}]):
        r = await api.post(cmd_path(p, "s1"), {"command_id": "c1", "ops": ops})
        assert r.status_code == 409, r.text
        assert "already used for a different command" in r.json()["reason"] and r.json()["field"] == "command_id"
    world = await api.ok("GET", f"/v1/projects/{p}/shots/s1/world")
    assert "other" not in world["entities"]
    bob = api.as_("bob")
    await api.ok("POST", f"/v1/projects/{p}/members", {"user": "bob", "role": "director"})
    r = await bob.post(cmd_path(p, "s1"), {"command_id": "c1", "ops": [box("a")]})
    assert r.status_code == 409, r.text  # the same ops from someone else are not a retry


@pytest.mark.parametrize("cid", ["", " c1", "c1 ", "x\r\ny", "\u0000", "x" * 5000, "café"])
async def test_bad_ids_are_422_naming_command_id_on_every_write_route(api, unique, cid):
    p = unique
    await project_with_shot(api, p, "s1")
    base = f"/v1/projects/{p}/shots/s1"
    for path, body in ((f"{base}/commands", {"command_id": cid, "ops": [box("a")]}),
                       (f"{base}/rollback", {"command_id": cid, "to_seq": 0}),
                       (f"{base}/undo", {"command_id": cid}),
                       (f"{base}/redo", {"command_id": cid}),
                       (f"{base}/fork", {"command_id": cid, "shot": "s9"}),
                       (f"/v1/projects/{p}/shots", {"id": "s8", "command_id": cid})):
        r = await api.post(path, body)
        assert r.status_code == 422 and r.json().get("field") == "command_id", (path, r.status_code, r.text)
    world = await api.ok("GET", f"{base}/world")
    assert world["entities"] == {}


async def test_a_retried_rollback_is_a_duplicate_and_its_id_cannot_roll_elsewhere(api, unique):
    p = unique
    await project_with_shot(api, p, "s1")
    base = f"/v1/projects/{p}/shots/s1"
    start = (await api.ok("POST", cmd_path(p, "s1"), {"command_id": "c1", "ops": [box("a")]}))["seq"]
    await api.ok("POST", cmd_path(p, "s1"), {"command_id": "c2", "ops": [box("b")]})
    first = await api.ok("POST", f"{base}/rollback", {"command_id": "rb", "to_seq": start})
    again = await api.ok("POST", f"{base}/rollback", {"command_id": "rb", "to_seq": start})
    assert (again["seq"], again.get("duplicate")) == (first["seq"], True)
    r = await api.post(f"{base}/rollback", {"command_id": "rb", "to_seq": 0})
    assert r.status_code == 409, r.text
    world = await api.ok("GET", f"{base}/world")
    assert set(world["entities"]) == {"a"}
