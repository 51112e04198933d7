"""Render jobs belong to their project (issue: a member of only B read A's job; B's render with A's job id came
back as A's job and was never queued; a job id "../../x" answered 500). Against real NATS and PostgreSQL, through
the application with its guards; no worker is needed: jobs stay queued."""

from __future__ import annotations

import pytest

from renderers.farm import FarmConfig, RenderFarm
from renderers.job import RenderJob, job_key, pack_name
from renderers.store import DirStore
from tests.integration.http_helpers import Api, http_system, project_with_shot

RENDER = {"frames": [0.0], "resolution": [64, 48], "passes": ["proxy"]}


@pytest.fixture
async def env(nats_url, database_url, tmp_path, monkeypatch, unique):
    cfg = FarmConfig(prefix=f"WNM_RENDER_{unique}")
    farm = await RenderFarm.connect(nats_url, config=cfg, root=tmp_path / "packs")
    try:
        async with http_system(nats_url, database_url, tmp_path, monkeypatch) as (system, client):
            client._transport.app.state.render_farm = farm  # the app's startup hook is not run by this client
            yield Api(client, system), farm
    finally:
        for delete in (lambda: farm.js.delete_key_value(cfg.status_bucket), lambda: farm.js.delete_stream(cfg.stream)):
            try:
                await delete()
            except Exception:  # noqa: BLE001 - best-effort cleanup of a shared server
                pass
        await farm.close()


async def test_a_job_is_found_only_by_members_of_its_project(env, unique):
    api, farm = env
    a, b = f"{unique}-a", f"{unique}-b"
    await project_with_shot(api, a, "s1")
    bob = api.as_("bob")
    await project_with_shot(bob, b, "s1")
    r = await api.post(f"/v1/projects/{a}/shots/s1/renders", {**RENDER, "job_id": "take1"})
    assert r.status_code == 202, r.text
    assert (r.json()["project"], r.json()["job_id"], r.json()["state"]) == (a, "take1", "queued")
    for path in ("/v1/renders/take1", "/v1/renders/take1/manifest", "/v1/renders/take1/pack",
                 f"/v1/projects/{a}/renders/take1", f"/v1/projects/{a}/renders/take1/pack"):
        got = await bob.get(path)
        assert got.status_code == 404, (path, got.status_code, got.text)
        assert "queued" not in got.text and "s1" not in got.text  # nothing of the job leaks
    mine = (await api.ok("GET", "/v1/renders/take1"))
    assert (mine["project"], mine["shot"]) == (a, "s1")
    assert (await api.ok("GET", f"/v1/projects/{a}/renders/take1"))["job_id"] == "take1"
    early = await api.get(f"/v1/projects/{a}/renders/take1/pack")
    assert early.status_code == 409 and early.json()["error"] == "conflict"


async def test_the_same_job_id_in_another_project_is_another_job_and_is_queued(env, unique):
    api, farm = env
    a, b = f"{unique}-a", f"{unique}-b"
    await project_with_shot(api, a, "s1")
    bob = api.as_("bob")
    await project_with_shot(bob, b, "s2")
    assert (await api.post(f"/v1/projects/{a}/shots/s1/renders", {**RENDER, "job_id": "take1"})).status_code == 202
    r = await bob.post(f"/v1/projects/{b}/shots/s2/renders", {**RENDER, "job_id": "take1"})
    assert r.status_code == 202, r.text
    assert (r.json()["project"], r.json()["shot"], r.json()["state"]) == (b, "s2", "queued")
    info = await farm.js.stream_info(farm.config.stream)
    assert info.state.messages == 2  # both jobs are on the queue
    assert (await bob.get("/v1/renders/take1")).json()["project"] == b
    retry = await bob.post(f"/v1/projects/{b}/shots/s2/renders", {**RENDER, "job_id": "take1"})
    assert retry.status_code == 202 and (await farm.js.stream_info(farm.config.stream)).state.messages == 2


async def test_an_id_in_two_of_my_projects_is_asked_per_project(env, unique):
    api, farm = env
    a, b = f"{unique}-a", f"{unique}-b"
    await project_with_shot(api, a, "s1")
    await project_with_shot(api, b, "s1")
    for p in (a, b):
        assert (await api.post(f"/v1/projects/{p}/shots/s1/renders", {**RENDER, "job_id": "t"})).status_code == 202
    both = await api.get("/v1/renders/t")
    assert both.status_code == 409 and "/v1/projects/<project>/renders/t" in both.json()["reason"]
    assert (await api.ok("GET", f"/v1/projects/{b}/renders/t"))["project"] == b


@pytest.mark.parametrize("job_id", ["../../x", "..", "a/b", "", " x", "x" * 65, "\u0000"])
async def test_a_bad_job_id_is_422_naming_the_field(env, unique, job_id):
    api, _ = env
    await project_with_shot(api, unique, "s1")
    r = await api.post(f"/v1/projects/{unique}/shots/s1/renders", {**RENDER, "job_id": job_id})
    if job_id == "":  # no id: the server picks one
        assert r.status_code == 202, r.text
        return
    assert r.status_code == 422 and r.json()["field"] == "job_id", r.text


async def test_reads_of_malformed_ids_are_refused(env, unique):
    api, _ = env
    await project_with_shot(api, unique, "s1")
    for path in ("/v1/renders/..%2F..%2Fx", "/v1/renders/%2E%2E", f"/v1/projects/{unique}/renders/..%2Fx/pack",
                 "/v1/renders/x%00y"):
        r = await api.get(path)
        assert r.status_code in (400, 404), (path, r.status_code, r.text)  # 400: the route guard's id rule


def test_keys_and_pack_names_are_scoped_and_safe(tmp_path):
    assert job_key("a.b", "j.1") == "a=b/j=1" != job_key("a", "b.j.1")
    store = DirStore(tmp_path)
    assert store.path(pack_name("p", "j")) == tmp_path / "p" / "j"
    for bad in ("../x", "p/../../x", "/etc/x", "p/j/k"):
        with pytest.raises(ValueError):
            store.path(bad)
    RenderJob(project="p", shot="s", job_id="ok")  # the struct itself is plain; checks are in check_request
