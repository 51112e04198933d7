"""Binary glTF exports pass the Khronos glTF validator (npm ``gltf-validator``) with 0 errors and 0 warnings.

Needs Node.js and ``npm ci --prefix tests/e2e/node`` (skipped, saying so, when node is missing).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from renderers.export import export
from tests.unit.test_export_world import rich_world

NODE_DIR = Path(__file__).parent / "node"

_SCRIPT = """
const fs = require('fs');
const v = require(process.argv[1]);
v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[2])), {maxIssues: 0}).then(r => {
  process.stdout.write(JSON.stringify(r.issues));
}).catch(e => { process.stderr.write(String(e)); process.exit(2); });
"""


def _why_not() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (the glTF validator runs on Node.js)"
    if not (NODE_DIR / "node_modules" / "gltf-validator").is_dir():
        return "run `npm ci --prefix tests/e2e/node` first (gltf-validator)"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")


def validate(path: Path) -> dict:
    out = subprocess.run(["node", "-e", _SCRIPT, str(NODE_DIR / "node_modules" / "gltf-validator"), str(path)],
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("entity", [None, "alice", "key", "cam_a"])
def test_glb_passes_the_khronos_validator(tmp_path, entity):
    p = tmp_path / "shot.glb"
    p.write_bytes(export(rich_world(), "glb", seq=9, state_hash="h", entity=entity))
    issues = validate(p)
    assert (issues["numErrors"], issues["numWarnings"]) == (0, 0), issues["messages"]


def test_the_validator_does_catch_a_broken_file(tmp_path):
    """The check above can fail: a GLB whose binary chunk is cut short is reported as an error."""
    data = export(rich_world(), "glb", seq=9, state_hash="h")
    p = tmp_path / "cut.glb"
    p.write_bytes(data[: len(data) - 4096])
    assert validate(p)["numErrors"] > 0
