"""The studio's vendored JavaScript is exactly what the lockfile pins (the CI proof of realtime/studio/vendor/).

Every vendored file is listed in ``vendor/LOCK.json`` with its sha256; the packages' versions and integrities
there are those of ``tests/e2e/node/package-lock.json``; and, with the packages installed by ``npm ci`` (which
checks each tarball against the lockfile's integrity), ``python -m realtime.studio_vendor`` reproduces the tree
byte for byte, import map and licences included. Every bare import of the studio's own modules is in the map.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from realtime import studio_vendor as V

MODULES = V.NODE_DIR / "node_modules"


def test_vendored_files_match_their_lock_and_the_lockfile_without_node_modules():
    assert V.check(modules=None) == []


@pytest.mark.skipif(not (MODULES / "three").is_dir() and os.environ.get("WNM_ALLOW_SKIP") == "1",
                    reason="npm ci --prefix tests/e2e/node has not been run")
def test_vendored_tree_is_what_the_pinned_packages_give():
    assert (MODULES / "three").is_dir(), "run `npm ci --prefix tests/e2e/node` first"
    assert V.check() == []


def test_a_changed_byte_is_caught(tmp_path):
    dest = tmp_path / "vendor"
    shutil.copytree(V.VENDOR, dest)
    f = dest / "yjs" / "dist" / "yjs.mjs"
    f.write_bytes(f.read_bytes() + b"\n")
    (dest / "extra.js").write_text("export {}")
    problems = V.check(dest, modules=None)
    assert any("yjs/dist/yjs.mjs: sha256" in p for p in problems)
    assert any("extra.js: vendored but not listed" in p for p in problems)


def test_a_version_other_than_the_lockfiles_is_caught(tmp_path):
    lock = json.loads(V.NODE_DIR.joinpath("package-lock.json").read_text())
    lock["packages"]["node_modules/yjs"]["version"] = "13.6.34"
    bad = tmp_path / "package-lock.json"
    bad.write_text(json.dumps(lock))
    assert any(p.startswith("yjs:") for p in V.check(lockfile=bad, modules=None))


def test_every_bare_import_of_the_studio_is_in_the_import_map():
    imports = json.loads((V.VENDOR / "importmap.json").read_text())["imports"]
    for js in sorted((V.STUDIO / "js").glob("*.js")):
        for spec in re.findall(r"^import[^;]*?from\s*'([^'.][^']*)'", js.read_text(), re.MULTILINE):
            assert spec in imports, f"{js.name} imports {spec!r}, which the import map lacks"
    for spec, url in imports.items():
        assert (V.VENDOR / url.removeprefix(V.URL_PREFIX)).is_file(), spec


def test_licences_name_every_package():
    text = (V.VENDOR / "LICENSES").read_text()
    lock = json.loads((V.VENDOR / "LOCK.json").read_text())
    for pkg, info in lock["packages"].items():
        assert f"{pkg} {info['version']}" in text and info["license"] == "MIT"
