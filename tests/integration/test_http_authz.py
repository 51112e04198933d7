"""The authorisation matrix over HTTP: every role × op kind (× entity kind) × own / other project.

In its own project a role's command is applied or refused with 403 naming the op; in a project it is not a member
of, every request is 404 — the same answer as for a project that does not exist."""

from __future__ import annotations

import itertools

import pytest

from .http_helpers import ROLES, Api, http_system

KINDS = {"prop": "p0", "environment": "env0", "character": "hero", "camera": "cam0", "light": "lamp0"}
ROLE_KIND = {"layout": {"prop", "environment"}, "camera": {"camera"}, "lighting": {"light"},
             "motion": {"character"}}
FULL = {"owner", "director", "agent"}


def may_edit(role: str, kind: str) -> bool:
    return role in FULL or kind in ROLE_KIND.get(role, ())


def cases():
    """(label, ops builder (unique suffix → ops), roles allowed)."""
    out = []
    for kind, eid in KINDS.items():
        allowed = {r for r in ROLES if may_edit(r, kind)}
        pos = "transform.position"
        out += [
            (f"entity.create {kind}", lambda u, k=kind: [{"type": "entity.create", "id": f"n{u}", "kind": k}], allowed),
            (f"entity.set {kind}", lambda u, e=eid: [{"type": "entity.set", "id": e, "path": "visible",
                                                      "value": True}], allowed),
            (f"key.set {kind}", lambda u, e=eid: [{"type": "key.set", "id": e, "path": pos, "frame": 1,
                                                   "value": [0, 1, 0]}], allowed),
            (f"key.remove {kind}", lambda u, e=eid: [
                {"type": "key.set", "id": e, "path": "visible", "frame": 7, "value": False},
                {"type": "key.remove", "id": e, "path": "visible", "frame": 7}], allowed),
            (f"track.clear {kind}", lambda u, e=eid: [{"type": "track.clear", "id": e, "path": "color"}], allowed),
            (f"track.shift {kind}", lambda u, e=eid: [{"type": "track.shift", "id": e, "path": pos, "by": 0}],
             allowed),
            (f"entity.remove {kind}", lambda u, k=kind: [{"type": "entity.create", "id": f"x{u}", "kind": k},
                                                         {"type": "entity.remove", "id": f"x{u}"}], allowed),
            (f"relation.add subject {kind}", lambda u, e=eid: [
                {"type": "relation.add", "id": f"r{u}", "kind": "supports", "subject": e,
                 "object": "ground" if e != "ground" else "p0"}], allowed),
            (f"relation.remove subject {kind}", lambda u, e=eid: [
                {"type": "relation.add", "id": f"q{u}", "kind": "supports", "subject": e, "object": "ground"},
                {"type": "relation.remove", "id": f"q{u}"}], allowed),
        ]
    out.append(("skeleton.set character", lambda u: [{"type": "skeleton.set", "id": "hero", "template": "biped"}],
                {r for r in ROLES if may_edit(r, "character")}))
    directive_roles = {"camera": "camera", "lighting": "lighting", "layout": "layout", "motion": "motion",
                       "crowd": None}
    for agent, role in directive_roles.items():
        allowed = FULL | ({role} if role else set())
        out += [
            (f"directive.add {agent}", lambda u, a=agent: [{"type": "directive.add", "id": f"d{u}", "agent": a,
                                                            "params": {"n": 1}}], allowed),
            (f"directive.update {agent}", lambda u, a=agent: [{"type": "directive.update", "id": f"dir-{a}",
                                                               "params": {"n": 2}}], allowed),
            (f"directive.remove {agent}", lambda u, a=agent: [
                {"type": "directive.add", "id": f"t{u}", "agent": a},
                {"type": "directive.remove", "id": f"t{u}"}], allowed),
        ]
    out.append(("shot.configure", lambda u: [{"type": "shot.configure", "fps": 24}], {"owner", "director", "agent"}))
    return out


CASES = cases()


@pytest.fixture
async def studio(nats_url, database_url, tmp_path, monkeypatch, unique):
    async with http_system(nats_url, database_url, tmp_path, monkeypatch) as (system, client):
        owner = Api(client, system, "o-" + unique)
        own, other = unique + "-own", unique + "-other"
        for p in (own, other):
            await owner.ok("POST", "/v1/projects", {"id": p}, status=201)
            await owner.ok("POST", f"/v1/projects/{p}/shots", {"id": "s"}, status=201)
            ops = [{"type": "entity.create", "id": "ground", "kind": "environment"}]
            ops += [{"type": "entity.create", "id": e, "kind": k} for k, e in KINDS.items() if e != "ground"]
            ops += [{"type": "directive.add", "id": f"dir-{a}", "agent": a}
                    for a in ("camera", "lighting", "layout", "motion", "crowd")]
            await owner.ok("POST", f"/v1/projects/{p}/shots/s/commands", {"command_id": "setup", "ops": ops})
        users = {}
        for role in ROLES:
            user = f"{role}-{unique}"
            if role != "owner":
                await owner.ok("POST", f"/v1/projects/{own}/members", {"user": user, "role": role})
            else:
                user = owner.user
            users[role] = Api(client, system, user)
        yield system, owner, users, own, other


async def test_every_role_by_every_op_kind_in_own_and_other_projects(studio):
    system, owner, users, own, other = studio
    seen = []
    for (label, build, allowed), role in itertools.product(CASES, ROLES):
        api = users[role]
        u = f"{len(seen)}"
        r = await api.command(own, "s", build(u))
        if role in allowed:
            assert r.status_code == 200 and r.json()["status"] == "applied", (role, label, r.text)
        else:
            assert r.status_code == 403, (role, label, r.status_code, r.text)
            body = r.json()
            assert body["error"] == "forbidden" and role in body["reason"]
            assert body.get("op") is not None or role == "viewer"
        if role != "owner":  # the owner of both projects is the one user who is a member of "other"
            r = await api.command(other, "s", build(u + "o"))
            assert r.status_code == 404 and r.json()["reason"] == f"no project {other!r}", (role, label, r.text)
        seen.append((label, role, r.status_code))
    assert len(seen) == len(CASES) * len(ROLES)


async def test_reads_need_membership_and_restores_are_authorised_per_op(studio):
    system, owner, users, own, other = studio
    for role, api in users.items():
        for path in ("world", "hash", "history"):
            assert (await api.get(f"/v1/projects/{own}/shots/s/{path}")).status_code == 200, (role, path)
            if role != "owner":
                r = await api.get(f"/v1/projects/{other}/shots/s/{path}")
                assert r.status_code == 404 and r.json()["reason"] == f"no project {other!r}"
        if role != "owner":
            assert (await api.get(f"/v1/projects/{other}")).status_code == 404
            assert (await api.get("/v1/projects/never-made")).json()["reason"] == "no project 'never-made'"
    # rollback is a command like any other: the camera artist may not roll props back
    cam, layout = users["camera"], users["layout"]
    r = await layout.command(own, "s", [{"type": "key.set", "id": "p0", "path": "visible", "frame": 3,
                                         "value": False}])
    seq = r.json()["seq"]
    r = await cam.post(f"/v1/projects/{own}/shots/s/rollback", {"command_id": "rb-cam", "to_seq": seq - 1})
    assert r.status_code == 403 and "prop 'p0'" in r.json()["reason"]
    assert (await layout.post(f"/v1/projects/{own}/shots/s/undo", {"command_id": "u"})).json()["status"] == "applied"
    r = await users["viewer"].post(f"/v1/projects/{own}/shots/s/undo", {"command_id": "u2"})
    assert r.status_code == 403
    r = await cam.post(f"/v1/projects/{own}/shots/s/fork", {"shot": "cam-take"})
    assert r.status_code == 403  # a fork configures a shot and creates every kind of entity
    assert (await users["director"].post(f"/v1/projects/{own}/shots/s/fork", {"shot": "take2"})).status_code == 201
    assert (await cam.post(f"/v1/projects/{own}/shots", {"id": "s9"})).status_code == 403


async def test_members_are_managed_by_owners_only_and_agents_can_be_scoped(studio):
    system, owner, users, own, other = studio
    for role, api in users.items():
        r = await api.post(f"/v1/projects/{own}/members", {"user": "zed", "role": "viewer"})
        assert r.status_code == (200 if role == "owner" else 403), (role, r.text)
    r = await owner.post(f"/v1/projects/{own}/members", {"user": "zed", "role": "emperor"})
    assert r.status_code == 422 and r.json()["field"] == "role"
    r = await owner.post(f"/v1/projects/{own}/members", {"user": owner.user, "role": "viewer"})
    assert r.status_code == 409  # the last owner cannot step down
    bot = users["agent"]
    await owner.ok("POST", f"/v1/projects/{own}/members", {"user": bot.user, "role": "agent", "scopes": ["camera"]})
    ok = await bot.command(own, "s", [{"type": "entity.set", "id": "cam0", "path": "visible", "value": False}])
    assert ok.status_code == 200
    no = await bot.command(own, "s", [{"type": "entity.set", "id": "cam0", "path": "visible", "value": True},
                                      {"type": "entity.set", "id": "lamp0", "path": "visible", "value": False}])
    assert no.status_code == 403 and no.json()["op"] == 1
    # removing a member revokes access at once, whatever their token says
    r = await owner.client.delete(f"/v1/projects/{own}/members/{bot.user}", headers=owner.headers)
    assert r.status_code == 204
    assert (await bot.get(f"/v1/projects/{own}/shots/s/world")).status_code == 404
    listing = await owner.ok("GET", f"/v1/projects/{own}/members")
    assert bot.user not in {m["user"] for m in listing["members"]}
    assert {p["id"] for p in (await owner.ok("GET", "/v1/projects"))["projects"]} == {own, other}
    assert (await users["camera"].ok("GET", "/v1/projects"))["projects"] == [{"id": own, "name": "",
                                                                             "role": "camera"}]
