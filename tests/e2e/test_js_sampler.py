"""The browser's sampler (realtime/studio/js/sample.js) and document decoder (worlddoc.js) give what core gives.

At test time, with fixed seeds, Python draws random shots (tests/e2e/js_sampler_worlds.py), folds them through
the real reducer, samples them with :func:`core.sampling.sample_json` at key frames, beside them, at fractional
frames and far outside the keyed range, and writes worlds, answers and the documents' Yjs updates to a fixture;
Node (tests/e2e/node/js_sampler.mjs) samples the same worlds with sample.js and decodes the updates with a stock
yjs Y.Doc and ``worldFromDoc``. Numbers must agree within 1e-9 (absolute, or relative beyond 1), quaternion
components within 1e-6 (q ≡ −q), and the decoded world must equal Python's exactly.

Needs Node.js and ``npm ci --prefix tests/e2e/node`` (a missing one fails the run, see tests/conftest.py).
"""

from __future__ import annotations

import base64
import json
import random
import subprocess

import numpy as np
import pytest

from core import attributes, camera, levels, light, quat, tracks, transform
from core.sampling import sample_json
from tests.e2e.js_sampler_worlds import frames_for, hand_worlds, random_shot, strategy_shot, world_from_json
from tests.e2e.sync_harness import NODE_DIR, node_binary, node_ready

pytestmark = pytest.mark.skipif(node_ready() is not None, reason=node_ready() or "")

SCRIPT = NODE_DIR / "js_sampler.mjs"


def _case(name: str, shot, rnd: random.Random) -> dict:
    world = shot.world
    return {
        "name": name,
        "world": world.to_json(),
        "samples": [{"frame": f, "expected": sample_json(world, f)} for f in frames_for(world, rnd)],
        "levels": levels.entity_levels(world, _is_chair),
    }


def _is_chair(asset: str) -> bool:
    """The one mesh asset of the level checks (the rest are parametric white boxes)."""
    return asset.startswith("chair")


def _doc(name: str, shot) -> dict:
    return {"name": name, "update": base64.b64encode(shot.reducer.doc.get_update()).decode(),
            "world": shot.world.to_json()}


def _primitives(rnd: np.random.Generator) -> dict:
    """Direct checks of the building blocks whose edge cases random shots reach rarely: removing scale and shear
    (including mirrored matrices), decomposition, colour temperature across its range, Euler orders."""
    mats = []
    for i in range(40):
        m = np.eye(4)
        m[:3, :3] = rnd.normal(size=(3, 3)) if i % 2 else \
            transform.compose(np.zeros(3), quat.normalize(rnd.normal(size=4)), rnd.uniform(0.2, 3, 3))[:3, :3]
        m[:3, 3] = rnd.uniform(-5, 5, 3)
        mats.append(m)
    rigid = [{"m": m.tolist(), "expected": transform.rigid(m).tolist()} for m in mats]
    decomposed = []
    for m in mats[::2]:
        p, q, s = transform.decompose(m)
        decomposed.append({"m": m.tolist(), "position": p.tolist(), "rotation": q.tolist(), "scale": s.tolist()})
    kelvins = [1000.0, 1500.5, 2700.0, 6504.0, 12000.0, 40000.0] + rnd.uniform(1000, 40000, 10).tolist()
    temperature = [{"k": k, "rgb": light.temperature_to_rgb(k).tolist()} for k in kelvins]
    euler = []
    for order in ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"):
        angles = rnd.uniform(-180, 180, 3).tolist()
        euler.append({"angles": angles, "order": order, "q": quat.from_euler_deg(angles, order).tolist()})
    project = []
    for _ in range(12):
        res = [int(x) for x in rnd.choice([[1280, 720], [640, 480], [720, 1280], [7, 3]])]
        K = camera.intrinsics(rnd.uniform(8, 300), res, rnd.uniform(5, 70, 2))
        cam = transform.compose(rnd.uniform(-5, 5, 3), quat.normalize(rnd.normal(size=4)))
        w2c = camera.world_to_camera(cam)
        ahead = cam[:3, 3] - cam[:3, 2] * rnd.uniform(1, 20, (20, 1)) + rnd.normal(size=(20, 3))
        uv, depth = camera.project(K, w2c, ahead, return_depth=True)
        project.append({"K": K.tolist(), "w2c": w2c.tolist(), "resolution": res, "points": ahead.tolist(),
                        "uv": uv.tolist(), "depth": depth.tolist()})
    slerps = []
    for i in range(30):
        a = quat.normalize(rnd.normal(size=4))
        b = [quat.normalize(rnd.normal(size=4)), -a, quat.normalize(a + rnd.normal(size=4) * 1e-7)][i % 3]
        u = float(rnd.uniform(0, 1))
        slerps.append({"a": a.tolist(), "b": list(map(float, b)), "u": u, "q": quat.slerp(a, b, u).tolist()})
    slopes = []
    for n in (1, 2, 3, 5, 9):
        t = np.cumsum(rnd.uniform(0.1, 10, n))
        v = rnd.normal(size=(n, 3)) * 5
        v[n // 2] = v[max(n // 2 - 1, 0)]  # a repeated value: flat there
        slopes.append({"t": t.tolist(), "v": v.tolist(), "m": tracks.auto_slopes(t, v).tolist()})
    registry = {p: {"type": s.type, "kinds": sorted(s.kinds), "animatable": s.animatable, "default": s.default}
                for p, s in attributes.ATTRIBUTES.items()}
    return {"rigid": rigid, "decompose": decomposed, "temperature": temperature, "euler": euler,
            "project": project, "slerp": slerps, "auto_slopes": slopes, "registry": registry}


def _slopes(cases: list[dict]) -> list[dict]:
    """The slopes each numeric track's segments use (core.tracks' own), for keySlopes."""
    out = []
    for c in cases[:12]:
        for e in c["world"]["entities"].values():
            for path, keys in e["tracks"].items():
                if len(keys) < 2 or tracks.track_kind(path) != "numeric":
                    continue
                built = world_from_json({"meta": c["world"]["meta"], "relations": {},
                                         "entities": {"x": {**e, "tracks": {path: keys}}}}).entities["x"].tracks[path]
                t = tracks._key_frames(built)
                v = np.array([k.value for k in built], dtype=np.float64).reshape(len(built), -1)
                m0, m1 = tracks._segment_slopes(built, t, v, tracks._codes(built))
                out.append({"keys": keys, "m0": m0.tolist(), "m1": m1.tolist()})
    return out


def _fixture(seed: int, n_random: int, n_strategy: int, hand: bool = True) -> dict:
    rnd = random.Random(seed)
    cases, docs = [], []
    for i in range(n_random):
        shot = random_shot(seed * 1000 + i)
        assert shot.applied > 5
        cases.append(_case(f"random-{seed}-{i}", shot, rnd))
        docs.append(_doc(f"random-{seed}-{i}", shot))
    for i in range(n_strategy):
        shot = strategy_shot(seed * 1000 + i)
        cases.append(_case(f"strategy-{seed}-{i}", shot, rnd))
        docs.append(_doc(f"strategy-{seed}-{i}", shot))
    for name, d, raises in hand_worlds(seed) if hand else []:
        if raises:
            with pytest.raises(ValueError, match="cycle"):
                sample_json(world_from_json(d), 0.0)
            cases.append({"name": name, "world": d, "samples": [{"frame": 0.0, "error": True}]})
        else:
            world = world_from_json(d)
            cases.append({"name": name, "world": d, "samples": [{"frame": f, "expected": sample_json(world, f)}
                                                                for f in frames_for(world, rnd)],
                          "levels": levels.entity_levels(world, _is_chair)})
    return {"cases": cases, "docs": docs, "slopes": _slopes(cases), "streams": _streams(seed, n_strategy),
            "primitives": _primitives(np.random.default_rng(seed))}


def _streams(seed: int, n: int) -> list[dict]:
    """Shots as a client receives them, one event's update at a time, with the world after each (for watchWorld)."""
    out = []
    for i in range(min(n, 3)):
        shot = strategy_shot(seed * 1000 + 500 + i, n=120, record=True)
        out.append({"name": f"stream-{seed}-{i}",
                    "updates": [base64.b64encode(u).decode() for u, _ in shot.updates],
                    "worlds": [w for _, w in shot.updates]})
    return out


def _run_node(fixture: dict, tmp_path) -> dict:
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps(fixture))
    proc = subprocess.run([node_binary(), str(SCRIPT), str(path)], capture_output=True, text=True, timeout=300,
                          cwd=NODE_DIR)
    lines = proc.stdout.strip().splitlines()
    assert lines, f"node printed nothing (rc {proc.returncode}): {proc.stderr[-3000:]}"
    report = json.loads(lines[-1])
    report["rc"] = proc.returncode
    report["stderr"] = proc.stderr
    return report


def _coverage(fixture: dict) -> dict:
    """What the drawn shots hold, so a generator change that stops covering something fails loudly."""
    seen = {"interp": set(), "kinds": set(), "relations": set(), "joint_relations": 0, "joint_keys": 0,
            "tangents": 0, "light_types": set(), "frames_outside": 0}
    for c in fixture["cases"]:
        w = c["world"]
        for e in w["entities"].values():
            seen["kinds"].add(e["kind"])
            if "light.type" in e["props"]:
                seen["light_types"].add(e["props"]["light.type"])
            for path, keys in e["tracks"].items():
                seen["joint_keys"] += path.startswith("joints.") * len(keys)
                for k in keys[:-1]:
                    seen["interp"].add(k["interp"])
                    seen["tangents"] += k["interp"] == "bezier" and "out_tangent" in k
        for r in w["relations"].values():
            seen["relations"].add(r["kind"])
            seen["joint_relations"] += "joint" in r
        seen["frames_outside"] += sum(s["frame"] < -100 or s["frame"] > 1000 for s in c["samples"])
    return seen


def _check(fixture: dict, tmp_path) -> None:
    cov = _coverage(fixture)
    assert cov["interp"] == {"constant", "linear", "bezier", "auto"}, cov
    assert cov["kinds"] == {"prop", "environment", "character", "camera", "light"}, cov
    assert cov["relations"] >= {"attached_to", "look_at"}, cov
    assert cov["joint_relations"] > 0 and cov["joint_keys"] > 20 and cov["tangents"] > 5, cov
    report = _run_node(fixture, tmp_path)
    assert report["rc"] == 0 and report["failed"] == 0, \
        f"{report['failed']} mismatches of {report['checked']} checks; first ones:\n" + \
        json.dumps(report["failures"][:8], indent=1)[:6000] + report["stderr"][-2000:]
    assert report["checked"] > 100_000


def test_js_sampler_matches_core(tmp_path):
    _check(_fixture(seed=13, n_random=16, n_strategy=5), tmp_path)


@pytest.mark.slow
def test_js_sampler_matches_core_many_worlds(tmp_path):
    for seed in (101, 102):
        _check(_fixture(seed=seed, n_random=80, n_strategy=30), tmp_path)


def test_the_suite_catches_a_wrong_answer(tmp_path):
    """One number off by 1e-8 (relative) in one answer is reported: the comparison is not vacuous."""
    fixture = _fixture(seed=7, n_random=3, n_strategy=0, hand=False)
    fixture["docs"] = fixture["docs"][:1]
    sample = fixture["cases"][0]["samples"][0]["expected"]
    eid = sorted(sample["entities"])[0]
    row = sample["entities"][eid]["matrix"][0]
    row[3] += 1e-8 * max(1.0, abs(row[3]))
    report = _run_node(fixture, tmp_path)
    assert report["rc"] == 1 and report["failed"] >= 1
    assert any(f["where"].endswith(f"entities.{eid}.matrix[0][3]") for f in report["failures"]), report["failures"]
