"""The reduction is the same in every process: a fixed event sequence folded in a subprocess with another
``PYTHONHASHSEED`` gives the state hash it gives here, and both equal the golden hash checked in below.

If the golden hash changes, the reduction of an existing log changed: bump ``REDUCER_VERSION`` (clients holding
older documents must resync) and put the new hash here, with the version it belongs to.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec

from core.ops import decode_ops
from events.envelope import Actor, Event, encode_event
from projections.decode import world_from_doc
from projections.reducer import REDUCER_VERSION, ShotReducer

GOLDEN = {4: ("0758dcbb69ffe7b0df75934a13794ac038a5995804c3d143cd0871302edabdee",
              "594db273d019b96753a2091a0a3f5f4de05197e27955aef78de4e608b8b6fd69")}
"""REDUCER_VERSION → (state hash of the document, sha256 of the world's JSON) after :func:`fixed_events`."""

ROOT = Path(__file__).resolve().parents[2]


def _ops() -> list[list[dict]]:
    """Every op type, rejections among them, and a track re-keyed often enough to be rewritten whole."""
    out: list[list[dict]] = [
        [{"type": "shot.configure", "fps": 25, "frame_start": 0, "frame_end": 240, "resolution": [1920, 1080],
          "name": "Kitchen", "agents": {"camera": "suggest", "collision": "auto"}}],
        [{"type": "entity.create", "id": "table", "kind": "prop", "name": "Table",
          "props": {"geometry": {"primitive": "box", "size": [2, 0.8, 1]}, "transform.position": [0, 0.4, 0]}},
         {"type": "entity.create", "id": "cup", "kind": "prop", "parent": "table",
          "props": {"geometry": {"primitive": "cylinder", "radius": 0.04, "height": 0.1}}}],
        [{"type": "entity.create", "id": "hero", "kind": "character", "name": "Ana"},
         {"type": "skeleton.set", "id": "hero", "template": "biped", "scale": 1.1}],
        [{"type": "entity.create", "id": "cam", "kind": "camera",
          "props": {"camera.focal_length_mm": 50, "transform.position": [0, 1.6, 5]}},
         {"type": "entity.create", "id": "sun", "kind": "light", "props": {"light.type": "sun"}}],
        [{"type": "relation.add", "id": "aim", "kind": "look_at", "subject": "cam", "object": "hero",
          "joint": "head"},
         {"type": "relation.add", "id": "on", "kind": "supports", "subject": "table", "object": "cup"}],
        [{"type": "directive.add", "id": "d1", "agent": "camera",
          "params": {"subject": "hero", "shots": [{"lens": 35, "tags": ["wide"]}], "start": 0}}],
        [{"type": "entity.create", "id": "cup", "kind": "prop"}],  # rejected: exists
        [{"type": "key.set", "id": "cup", "path": "transform.position", "frame": f, "value": [0.1 * f, 0.85, 0],
          "interp": "bezier" if f % 20 else "linear", "out_tangent": [0.01, 0, 0]} for f in range(0, 100, 10)],
        [{"type": "key.set", "id": "hero", "path": "joints.l_elbow.rotation", "frame": 12,
          "value": {"euler_deg": [0, 0, 45]}},
         {"type": "key.set", "id": "hero", "path": "joints.hips.position", "frame": 12, "value": [0, 1, 0.3]}],
        [{"type": "key.set", "id": "sun", "path": "light.intensity", "frame": 0, "value": 3},
         {"type": "key.set", "id": "sun", "path": "light.intensity", "frame": 48, "value": 5, "in_tangent": 0.2}],
        [{"type": "key.remove", "id": "cup", "path": "transform.position", "frame": 30}],
        [{"type": "track.shift", "id": "cup", "path": "transform.position", "by": 2.5, "start": 40, "end": 70}],
        [{"type": "track.shift", "id": "cup", "path": "transform.position", "by": 1e300}],  # rejected: bound
        [{"type": "entity.set", "id": "cup", "path": "color", "value": [0.9, 0.1, 0.1]},
         {"type": "entity.set", "id": "cup", "path": "parent", "value": None},
         {"type": "entity.set", "id": "cam", "path": "name", "value": "A-cam"}],
        [{"type": "directive.update", "id": "d1", "params": {"subject": "cup"}}],
        [{"type": "track.clear", "id": "sun", "path": "light.intensity"}],
        [{"type": "relation.remove", "id": "on"}],
        [{"type": "entity.create", "id": "vase", "kind": "prop"}, {"type": "entity.remove", "id": "vase"}],
        [{"type": "directive.remove", "id": "d1"}],
        # rejected: too deep
        [{"type": "directive.add", "id": "d2", "agent": "camera", "params": {"a": json.loads("[" * 40 + "]" * 40)}}],
    ]
    for i in range(300):  # re-keys of a 10-key track: some of these events rewrite it whole (``compacts``)
        out.append([{"type": "key.set", "id": "cup", "path": "transform.position",
                     "frame": (0.0, 10.0, 20.0, 80.0, 90.0)[i % 5],
                     "value": [i % 13 * 0.1, 0.85, (i % 5) * 0.2], "interp": "linear"}])
    out.append([{"type": "entity.remove", "id": "table"}])
    return out


def fixed_events() -> list[Event]:
    actors = [Actor(kind="user", id="alice"), Actor(kind="agent", id="camera")]
    return [Event(event_id=f"e{i}", command_id=f"c{i}", project="proj", shot="s1", actor=actors[i % 2],
                  ops=decode_ops(json.dumps(ops)), ts=float(i)) for i, ops in enumerate(_ops())]


def fingerprint() -> tuple[str, str, list[bool]]:
    """(state hash, sha256 of the world's JSON, the verdicts) after folding :func:`fixed_events`."""
    r = ShotReducer("proj", "s1")
    verdicts = [r.apply_raw(seq, encode_event(ev)).applied for seq, ev in enumerate(fixed_events(), start=1)]
    assert world_from_doc(r.doc) == r.world
    world = hashlib.sha256(msgspec.json.encode(r.world.to_json())).hexdigest()
    return r.state_hash(), world, verdicts


def test_the_fixed_sequence_exercises_applies_rejections_and_rewrites():
    from unittest import mock

    from projections import reducer

    rewrites = []

    def spy(seq, eid, path, keys):
        hit = compacts(seq, eid, path, keys)
        rewrites.extend([seq] if hit else [])
        return hit

    compacts = reducer.compacts
    with mock.patch("projections.reducer.compacts", spy):
        _, _, verdicts = fingerprint()
    assert len(rewrites) >= 2, rewrites
    assert verdicts.count(False) == 3 and verdicts[6] is False and verdicts[12] is False and verdicts[19] is False
    assert all(verdicts[:6]) and all(verdicts[20:])


def test_a_process_with_another_hash_seed_reduces_to_the_same_state_and_the_golden_hash():
    here = fingerprint()
    code = ("import json, sys; from tests.unit.test_determinism import fingerprint; "
            "h, w, v = fingerprint(); print(json.dumps([h, w, v]))")
    for seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert tuple(json.loads(done.stdout)) == (here[0], here[1], here[2]), seed
    assert REDUCER_VERSION in GOLDEN, f"no golden hash for reducer version {REDUCER_VERSION}: add {here[:2]}"
    assert here[:2] == GOLDEN[REDUCER_VERSION], (
        f"the reduction changed: {here[:2]} != {GOLDEN[REDUCER_VERSION]}; bump REDUCER_VERSION if it must")
