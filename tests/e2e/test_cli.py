"""The `wnm` command line as a studio engineer uses it: `wnm up` running, then shot/apply/world/hash/history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

WNM = [sys.executable, "-m", "realtime.cli"]


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory):
    """A NATS of its own: `wnm up` projects every stream it finds, and a shared server may hold many."""
    from realtime import embedded

    with embedded.nats_server(tmp_path_factory.mktemp("nats-cli")) as url:
        yield url


@pytest.fixture
def env(own_nats, database_url, tmp_path):
    e = dict(os.environ)
    e.update(WNM_NATS_URL=own_nats, WNM_DATABASE_URL=database_url, WNM_DATA_DIR=str(tmp_path / "var"),
             WNM_PORT=str(_free_port()), USER="alice")
    return e


def _free_port() -> int:
    from realtime.embedded import free_port

    return free_port()


@pytest.fixture
def up(env):
    proc = subprocess.Popen(WNM + ["up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "projector running" in line:
            break
    else:
        proc.kill()
        pytest.fail("wnm up did not start:\n" + "".join(lines))
    if proc.poll() is not None:
        pytest.fail("wnm up exited:\n" + "".join(lines) + proc.stdout.read())
    yield proc
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def wnm(env, *args, input=None, check=True):
    p = subprocess.run(WNM + list(args), env=env, capture_output=True, text=True, input=input, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"wnm {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


COMMANDS = [
    {"command_id": "c1", "ops": [{"type": "entity.create", "id": "table", "kind": "prop",
                                   "props": {"geometry": {"primitive": "box", "size": [1.2, 0.75, 0.8]}}}]},
    {"command_id": "c2", "ops": [{"type": "key.set", "id": "table", "path": "transform.position", "frame": 0,
                                   "value": [0, 0, 0], "interp": "linear"}]},
    {"command_id": "c3", "ops": [{"type": "key.set", "id": "table", "path": "transform.position", "frame": 48,
                                   "value": [2, 0, 0]}]},
    {"command_id": "c4", "ops": [{"type": "key.set", "id": "chair", "path": "transform.position", "frame": 0,
                                   "value": [0, 0, 0]}]},
]


def test_shot_apply_world_hash_history(up, env, unique, tmp_path):
    p = wnm(env, "shot", "create", "--project", unique, "--shot", "s1", "--fps", "25", "--frames", "0:96")
    assert json.loads(p.stdout) == {"seq": 1, "status": "applied"}
    again = wnm(env, "shot", "create", "--project", unique, "--shot", "s1", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr

    f = tmp_path / "edits.jsonl"
    f.write_text("\n".join(json.dumps(c) for c in COMMANDS) + "\nnot json\n")
    p = wnm(env, "apply", "--project", unique, "--shot", "s1", str(f), check=False)
    assert p.returncode == 1
    assert "applied 3, rejected 2" in p.stdout
    assert "unknown entity 'chair'" in p.stdout and "line 5" in p.stdout

    # retrying the same file appends nothing new (command ids are idempotent)
    wnm(env, "apply", "--project", unique, "--shot", "s1", str(f), check=False)

    world = json.loads(wnm(env, "world", "--project", unique, "--shot", "s1").stdout)
    assert world["seq"] == 4 and world["meta"]["fps"] == 25.0
    assert [k["frame"] for k in world["entities"]["table"]["tracks"]["transform.position"]] == [0.0, 48.0]
    early = json.loads(wnm(env, "world", "--project", unique, "--shot", "s1", "--at", "2").stdout)
    assert early["seq"] == 2 and early["entities"]["table"]["tracks"] == {}

    h_head = wnm(env, "hash", "--project", unique, "--shot", "s1").stdout.strip()
    h_at3 = wnm(env, "hash", "--project", unique, "--shot", "s1", "--at", "3").stdout.strip()
    assert len(h_head) == 64 and h_head != h_at3

    # history waits (--wait, default 10 s) for the projection to catch up with the log: complete at once
    p = wnm(env, "history", "--project", unique, "--shot", "s1")
    hist = [json.loads(line) for line in p.stdout.splitlines()]
    assert [h["seq"] for h in hist] == [1, 2, 3, 4] and "warning" not in p.stderr
    assert {h["status"] for h in hist} == {"applied"}
    assert {h["actor_id"] for h in hist} == {"alice"}


def test_apply_checks_command_ids_as_every_path_does(up, env, unique, tmp_path):
    wnm(env, "shot", "create", "--project", unique, "--shot", "s1")
    box = {"type": "entity.create", "id": "b", "kind": "prop"}
    lines = [{"command_id": cid, "ops": [box]} for cid in ("", " c1", "x\r\ny", "\u0000", "x" * 5000)]
    lines += [{"command_id": "c1", "ops": [box]},
              {"command_id": "c1", "ops": [{**box, "id": "other"}]}]  # the same id, another command
    f = tmp_path / "ids.jsonl"
    f.write_text("\n".join(json.dumps(c) for c in lines))
    p = wnm(env, "apply", "--project", unique, "--shot", "s1", str(f), check=False)
    assert p.returncode == 1 and "applied 1, rejected 6" in p.stdout, p.stdout
    assert p.stdout.count("command_id") >= 6 and "already used for a different command" in p.stdout
    world = json.loads(wnm(env, "world", "--project", unique, "--shot", "s1").stdout)
    assert set(world["entities"]) == {"b"}


def test_sampled_world_gives_matrices(up, env, unique, tmp_path):
    wnm(env, "shot", "create", "--project", unique, "--shot", "s")
    f = tmp_path / "e.jsonl"
    f.write_text("\n".join(json.dumps(c) for c in COMMANDS[:3]))
    wnm(env, "apply", "--project", unique, "--shot", "s", str(f))
    out = json.loads(wnm(env, "world", "--project", unique, "--shot", "s", "--frame", "24").stdout)
    table = out["entities"]["table"]
    assert out["frame"] == 24 and out["seq"] == 4
    assert table["position"] == pytest.approx([1.0, 0.0, 0.0])  # linear from 0 → 2 m over 48 frames
    assert table["matrix"][0][3] == pytest.approx(1.0)
    assert table["level"] == "L2"                             # a rigid prop with a geometry (SPEC §7.2)


def test_cli_without_services_says_how_to_start_them(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.startswith("WNM_")}
    e["WNM_DATA_DIR"] = str(tmp_path / "nowhere")
    p = wnm(e, "hash", "--project", "p", "--shot", "s", check=False)
    assert p.returncode != 0 and "wnm up" in p.stderr


def test_bad_ids_are_refused_by_the_parser(env):
    p = wnm(env, "hash", "--project", "bad id!", "--shot", "s", check=False)
    assert p.returncode == 2 and "must match" in p.stderr


def test_assets_import_and_search(env, tmp_path):
    import trimesh

    obj = tmp_path / "rack.obj"
    obj.write_text(trimesh.exchange.obj.export_obj(trimesh.creation.box(extents=[50, 120, 30])))
    p = wnm(env, "assets", "import", str(obj), "--id", "shoe-rack-t", "--name", "shoe rack", "--unit", "cm")
    assert "0.500 × 1.200 × 0.300 m" in p.stdout
    hits = wnm(env, "assets", "search", "a rack to keep shoes", "-k", "3").stdout.splitlines()
    assert hits[0].split("\t")[0] == "shoe-rack-t"
    bad = wnm(env, "assets", "import", str(tmp_path / "missing.glb"), "--id", "x", check=False)
    assert bad.returncode == 2 and "no such file" in bad.stderr


def test_history_says_when_the_projection_is_behind(env, unique):
    # no `wnm up`: the log takes the shot, nothing projects it
    wnm(env, "shot", "create", "--project", unique, "--shot", "s")
    t0 = time.monotonic()
    p = wnm(env, "history", "--project", unique, "--shot", "s", "--wait", "0.3")
    assert p.stdout == "" and time.monotonic() - t0 >= 0.3
    assert "the projection is at seq 0, the log at 1; is `wnm up` running?" in p.stderr


def test_checks_name_a_shot_or_project_that_is_not_there(env, unique):
    wnm(env, "shot", "create", "--project", unique, "--shot", "s")
    missing = [(unique, "nope", f"no shot {unique}/nope"), (unique + "-x", "s", f"no project {unique}-x")]
    for project, shot, says in missing:
        p = wnm(env, "check", "determinism", "--project", project, "--shot", shot, "--frames", "0:2", check=False)
        assert p.returncode == 2 and f"error: {says}" in p.stderr and "Traceback" not in p.stderr


def test_commands_on_a_project_that_is_not_there_say_so(env, unique, tmp_path):
    cmds = tmp_path / "cmds.jsonl"
    cmds.write_text(json.dumps(COMMANDS[0]) + "\n")
    missing = unique + "-typo"
    for argv in (["apply", "--project", missing, "--shot", "s", str(cmds)],
                 ["world", "--project", missing, "--shot", "s"],
                 ["hash", "--project", missing, "--shot", "s"],
                 ["history", "--project", missing, "--shot", "s", "--wait", "0"]):
        p = wnm(env, *argv, check=False)
        assert p.returncode == 1, argv
        assert f"error: no project {missing!r}" in p.stderr and "Traceback" not in p.stderr, (argv, p.stderr)


def test_a_second_up_says_why_it_cannot_start(up, env):
    from realtime.embedded import wait_port

    wait_port(int(env["WNM_PORT"]), 30, up)  # the first one serves HTTP a moment after its projector runs
    p = subprocess.run(WNM + ["up"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert f"cannot serve HTTP on 127.0.0.1:{env['WNM_PORT']}" in p.stderr
    assert up.poll() is None  # the first one keeps serving, and the CLI still finds it
    assert (Path(env["WNM_DATA_DIR"]) / "endpoints.json").exists()
