"""The authorisation matrix over the sync socket: every role × op kind (the HTTP matrix's cases) sent as command
messages. In its own project a role's command is applied or answered with a 403 result naming the op (the socket
stays open); a socket to a project the user is not a member of is closed with 4404."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from realtime.sync_client import SyncClient
from tests.e2e.sync_harness import add_member, create_shot, serve_sync, settings_for
from tests.integration.http_helpers import ROLES
from tests.integration.test_http_authz import CASES, KINDS


@pytest.fixture
async def served(nats_url, database_url, tmp_path):
    async with serve_sync(settings_for(nats_url, database_url, tmp_path)) as s:
        yield s


async def test_every_role_by_every_op_kind_over_the_socket(served, unique):
    own, other = unique + "-own", unique + "-other"
    for p in (own, other):
        await create_shot(served.system, p, "s")
    async with await SyncClient.connect(served.base, own, "s", served.token("owner")) as setup:
        ops = [{"type": "entity.create", "id": "ground", "kind": "environment"}]
        ops += [{"type": "entity.create", "id": e, "kind": k} for k, e in KINDS.items() if e != "ground"]
        ops += [{"type": "directive.add", "id": f"dir-{a}", "agent": a}
                for a in ("camera", "lighting", "layout", "motion", "crowd")]
        assert (await setup.command(ops, command_id="setup"))["status"] == "applied"
    users = {role: ("owner" if role == "owner" else f"{role}-{unique}") for role in ROLES}
    for role, user in users.items():
        if role != "owner":
            await add_member(served.system, own, user, role)
    sockets = {role: await SyncClient.connect(served.base, own, "s", served.token(user))
               for role, user in users.items()}
    try:
        checked = 0
        for n, ((label, build, allowed), role) in enumerate(itertools.product(CASES, ROLES)):
            res = await sockets[role].command(build(f"w{n}"), command_id=f"{role}-{n}")
            if role in allowed:
                assert res["status"] == "applied", (role, label, res)
            else:
                assert res["status"] == "rejected" and res["status_code"] == 403, (role, label, res)
                assert res["seq"] is None and role in res["reason"]
            checked += 1
        assert checked == len(CASES) * len(ROLES)
        assert all(not c.closed.done() for c in sockets.values())  # refusals never closed a socket
    finally:
        for c in sockets.values():
            await c.close()
    for role, user in users.items():
        if role == "owner":
            continue  # the one user who is a member of both projects
        c = await SyncClient.connect(served.base, other, "s", served.token(user), sync=False)
        try:
            code, _ = await asyncio.wait_for(asyncio.shield(c.closed), 5)
        finally:
            await c.close()
        assert code == 4404, role
