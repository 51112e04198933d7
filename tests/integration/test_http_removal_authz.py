"""Over HTTP: a layout user's removal of a prop that a camera looks at (or a character is parented to) is refused
with 403 naming them, and changes nothing."""

from __future__ import annotations

from tests.integration.http_helpers import Api, http_system, project_with_shot

BOX = {"geometry": {"primitive": "box", "size": [1, 1, 1]}}


async def test_layout_removal_that_would_change_a_camera_and_a_character_is_refused(nats_url, database_url, tmp_path,
                                                                                  monkeypatch, unique):
    async with http_system(nats_url, database_url, tmp_path, monkeypatch) as (system, client):
        api = Api(client, system)
        p = unique
        await project_with_shot(api, p, "s1")
        await api.ok("POST", f"/v1/projects/{p}/members", {"user": "lay", "role": "layout"})
        r = await api.command(p, "s1", [
            {"type": "entity.create", "id": "table", "kind": "prop", "props": BOX},
            {"type": "entity.create", "id": "stool", "kind": "prop", "props": BOX},
            {"type": "entity.create", "id": "cam", "kind": "camera"},
            {"type": "entity.create", "id": "bob", "kind": "character", "parent": "stool"},
            {"type": "relation.add", "id": "aim", "kind": "look_at", "subject": "cam", "object": "table"}])
        assert r.json()["status"] == "applied", r.text
        lay = api.as_("lay")
        for target, other in (("table", "cam"), ("stool", "bob")):
            r = await lay.command(p, "s1", [{"type": "entity.remove", "id": target}])
            assert r.status_code == 403, r.text
            assert r.json()["entities"] == [other] and repr(other) in r.json()["reason"]
        world = await api.ok("GET", f"/v1/projects/{p}/shots/s1/world")
        assert {"table", "stool", "cam", "bob"} <= set(world["entities"]) and "aim" in world["relations"]
        assert world["entities"]["bob"]["parent"] == "stool"
        r = await api.command(p, "s1", [{"type": "relation.remove", "id": "aim"}])
        assert r.json()["status"] == "applied"
        assert (await lay.command(p, "s1", [{"type": "entity.remove", "id": "table"}])).json()["status"] == "applied"
