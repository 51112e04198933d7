"""The studio's pure JavaScript modules (command builders, roles, Euler angles against sample.js, the pack reader)
under Node's test runner: ``node --test tests/e2e/node/studio_units.test.mjs``."""

from __future__ import annotations

import subprocess

from tests.e2e.sync_harness import NODE_DIR, node_binary


def test_studio_js_units_pass_under_nodes_test_runner():
    node = node_binary()
    assert node is not None, "node is not installed"
    run = subprocess.run([node, "--test", "studio_units.test.mjs"], cwd=NODE_DIR, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "# pass 8" in run.stdout and "# fail 0" in run.stdout
