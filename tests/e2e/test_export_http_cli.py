"""Exports as a pipeline fetches them: `wnm up` serves GET …/export.{usda,usdc,usdz,glb,bvh}, `wnm export` writes
the same files from the command line; bad requests get a clear refusal."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from realtime import embedded

from .test_http_up import ROOT, WNM, _env, _start, _stop, _until_ready, own_nats  # noqa: F401 (fixture)

pxr = pytest.importorskip("pxr")

SCENE = [
    {"type": "entity.create", "id": "alice", "kind": "character", "props": {"transform.position": [0, 0, 0]}},
    {"type": "skeleton.set", "id": "alice", "template": "biped"},
    {"type": "key.set", "id": "alice", "path": "joints.l_elbow.rotation", "frame": 0, "value": [0, 0, 0, 1]},
    {"type": "key.set", "id": "alice", "path": "joints.l_elbow.rotation", "frame": 12,
     "value": [0, -0.7071068, 0, 0.7071068]},
    {"type": "entity.create", "id": "box", "kind": "prop",
     "props": {"geometry": {"primitive": "box", "size": [1, 1, 1]}, "transform.position": [2, 0, 0]}},
    {"type": "entity.create", "id": "cam", "kind": "camera", "props": {"transform.position": [0, 1.5, 5]}},
    {"type": "entity.create", "id": "lamp", "kind": "light",
     "props": {"light.type": "spot", "light.cone_deg": 40, "transform.position": [0, 3, 2]}},
]


async def _cli(env, *args) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*WNM, *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, out.decode(), err.decode()


async def test_exports_over_http_and_the_command_line(own_nats, database_url, tmp_path):  # noqa: F811
    from pxr import Usd

    from renderers.export.usd import validate_stage

    port = embedded.free_port()
    env = _env(own_nats, database_url, tmp_path / "data", port)
    proc, lines = await _start(env)
    try:
        token = lines[lines.index(next(x for x in lines if "owner token" in x)) + 1].strip()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            await _until_ready(client)
            r = await client.post("/v1/projects/default/shots", json={
                "id": "sh1", "frame_end": 12, "agents": {"collision": "off", "support": "off", "bounds": "off"}})
            assert r.status_code == 201, r.text
            r = await client.post("/v1/projects/default/shots/sh1/commands", json={"command_id": "scene",
                                                                                   "ops": SCENE})
            assert r.json()["status"] == "applied", r.text
            first = r.json()["seq"]
            r = await client.post("/v1/projects/default/shots/sh1/commands", json={"command_id": "move", "ops": [
                {"type": "entity.set", "id": "box", "path": "transform.position", "value": [3, 0, 0]}]})
            head = r.json()["seq"]
            base = "/v1/projects/default/shots/sh1"

            r = await client.get(f"{base}/export.usda")
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].startswith("model/vnd.usda")
            assert r.headers["x-wnm-seq"] == str(head)
            p = tmp_path / "head.usda"
            p.write_bytes(r.content)
            assert validate_stage(p) == []
            stage = Usd.Stage.Open(str(p))
            meta = stage.GetRootLayer().customLayerData["wnm"]
            assert meta["seq"] == head and meta["state_hash"] == r.headers["x-wnm-state-hash"]
            hash_at_head = (await client.get(f"{base}/hash")).json()["state_hash"]
            assert meta["state_hash"] == hash_at_head

            r = await client.get(f"{base}/export.glb", params={"at": first})
            assert r.status_code == 200 and r.content[:4] == b"glTF"
            import pygltflib

            doc = pygltflib.GLTF2.load_from_bytes(r.content)
            assert doc.asset.extras["seq"] == first
            box = next(n for n in doc.nodes if (n.extras or {}).get("wnm_id") == "box")
            assert box.translation == [2.0, 0.0, 0.0]              # the world at `first`, before the move

            r = await client.get(f"{base}/export.bvh", params={"entity": "alice"})
            assert r.status_code == 200 and r.text.startswith("HIERARCHY\nROOT hips")
            for fmt in ("usdc", "usdz"):
                r = await client.get(f"{base}/export.{fmt}", params={"entity": "box"})
                assert r.status_code == 200 and len(r.content) > 100

            bad = {
                "export.obj": (404, "unknown export format 'obj'"),
                "export.bvh?entity=box": (422, "is a prop"),
                "export.bvh": (422, "name it with entity"),
                f"export.usda?at={head + 1000}": (422, "beyond the head"),
                "export.glb?entity=nobody": (422, "no entity 'nobody'"),
            }
            for path, (status, reason) in bad.items():
                r = await client.get(f"{base}/{path}")
                assert r.status_code == status and reason in r.json()["reason"], (path, r.text)
            r = await client.get(f"{base}/levels")
            assert r.status_code == 200, r.text
            lv = r.json()
            assert lv["seq"] == head and lv["entities"]["alice"]["level"] == "L2"
            assert lv["entities"]["box"]["lacks"] == ["a mesh asset with materials"]
            assert sum(lv["counts"].values()) == 4
            schema = (await client.get("/v1/schema/world")).json()
            assert set(schema["levels"]) == {"L0", "L1", "L2", "L3", "L4"} and "EntityL3" in schema["$defs"]
            assert (await client.get(f"{base}/levels", params={"at": head + 1000})).status_code == 422
            r = await client.get(f"{base}/export.usda", headers={"Authorization": "Bearer forged"})
            assert r.status_code == 401
            r = await client.get("/v1/projects/nowhere/shots/sh1/export.usda")
            assert r.status_code == 404

        rc, out, err = await _cli(env, "token", "create", "--project", "default", "--user", "vic", "--role",
                                  "viewer")
        assert rc == 0, err
        viewer = out.strip().splitlines()[-1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                     headers={"Authorization": f"Bearer {viewer}"}) as client:
            r = await client.get(f"{base}/export.glb")
            assert r.status_code == 200, r.text                # a viewer may read, so may export

        target = tmp_path / "shot.usdz"
        rc, out, err = await _cli(env, "export", "--project", "default", "--shot", "sh1", "--format", "usdz",
                                  "--at", str(first), str(target))
        assert rc == 0, err
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["seq"] == first and summary["bytes"] == target.stat().st_size > 100
        assert validate_stage(target) == []
        rc, out, err = await _cli(env, "export", "--project", "default", "--shot", "sh1", "--format", "bvh",
                                  "--entity", "alice", str(tmp_path))
        assert rc == 0, err
        written = tmp_path / f"default-sh1-{head}-alice.bvh"
        assert written.read_text().startswith("HIERARCHY")
        for args, reason in [(["--format", "glb", "--at", str(head + 1000)], "is not an offset"),
                             (["--format", "bvh", "--entity", "cam"], "is a camera"),
                             (["--format", "glb", "--shot", "nope"], "no shot default/nope")]:
            argv = ["export", "--project", "default", "--shot", "sh1", *args, str(tmp_path / "x.out")]
            if "--shot" in args:
                argv = ["export", "--project", "default", *args, str(tmp_path / "x.out")]
            rc, out, err = await _cli(env, *argv)
            assert rc == 1 and reason in err, (args, err)
        rc, out, err = await _cli(env, "export", "--project", "default", "--shot", "sh1", "--format", "obj",
                                  str(tmp_path / "x.obj"))
        assert rc == 2 and "invalid choice" in err

        # import: the usdc of sh1 becomes shot sh2; a corrupt file and a colliding import change nothing
        rc, out, err = await _cli(env, "import", "--project", "default", "--shot", "sh2", str(target))
        assert rc == 0, err
        assert json.loads(out.strip().splitlines()[-1])["entities"] == 4
        corrupt = tmp_path / "corrupt.usda"
        corrupt.write_text("#usda 1.0\n(\n nonsense\n")
        rc, out, err = await _cli(env, "import", "--project", "default", "--shot", "sh3", str(corrupt))
        assert rc == 1 and "cannot read" in err
        rc, out, err = await _cli(env, "import", "--project", "default", "--shot", "sh1", str(target))
        assert rc == 1 and "already has entities" in err
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            world = (await client.get("/v1/projects/default/shots/sh2/world")).json()
            assert sorted(world["entities"]) == ["alice", "box", "cam", "lamp"]
            assert world["entities"]["box"]["props"]["transform.position"] == [2.0, 0.0, 0.0]
            assert (await client.get("/v1/projects/default/shots/sh3")).status_code == 404
            assert (await client.get(f"{base}/hash")).json()["seq"] == head
    finally:
        assert await _stop(proc) == 0
