"""The studio's vendored JavaScript: pinned copies of three.js, yjs, y-websocket, y-protocols and lib0, taken from
``tests/e2e/node/node_modules`` (installed by ``npm ci`` from the committed ``package-lock.json``).

``python -m realtime.studio_vendor`` refreshes ``realtime/studio/vendor/``: it follows the ES-module imports from the
studio's entry points through the packages' ``exports`` maps, copies exactly the files reached, and writes

* ``vendor/LOCK.json`` — each package's version and lockfile integrity, and each file's sha256;
* ``vendor/importmap.json`` — the import map the page inlines (one entry per bare specifier reached);
* ``vendor/LICENSES`` — each package's licence text.

:func:`check` is the CI proof (``tests/unit/test_studio_vendor.py``): the vendored tree is exactly what this tool
makes from the packages the lockfile pins. Nothing here runs at install time; the vendored files are committed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

__all__ = ["PACKAGES", "ENTRIES", "STUDIO", "VENDOR", "NODE_DIR", "resolve_tree", "vendor", "check", "sha256"]

ROOT = Path(__file__).resolve().parent
STUDIO = ROOT / "studio"
VENDOR = STUDIO / "vendor"
NODE_DIR = ROOT.parent / "tests" / "e2e" / "node"
URL_PREFIX = "/studio/vendor/"

PACKAGES = ("three", "yjs", "y-websocket", "y-protocols", "lib0")
"""The packages the studio may load; a bare import of anything else is an error."""

ENTRIES = ("three", "three/addons/controls/TransformControls.js", "three/addons/controls/OrbitControls.js",
           "yjs", "y-websocket", "y-protocols/awareness", "lib0/encoding", "lib0/decoding")
"""The bare specifiers the studio's own modules import."""

_CONDITIONS = ("browser", "module", "import", "default")
_IMPORT_RE = re.compile(r"^(?:import|export)\b[^;'\"]*?from\s*['\"]([^'\"]+)['\"]|^import\s*['\"]([^'\"]+)['\"]",
                        re.MULTILINE)


class VendorError(RuntimeError):
    """The packages cannot be vendored as asked (a missing package, an unresolvable import, a stale tree)."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pick(target):
    """A package ``exports`` target → a relative path, choosing browser ES-module conditions."""
    if isinstance(target, str):
        return target
    if isinstance(target, dict):
        for cond in _CONDITIONS:
            if cond in target:
                found = _pick(target[cond])
                if found is not None:
                    return found
    return None


def _split(spec: str) -> tuple[str, str]:
    parts = spec.split("/")
    n = 2 if spec.startswith("@") else 1
    return "/".join(parts[:n]), "./" + "/".join(parts[n:]) if len(parts) > n else "."


def _resolve_bare(modules: Path, spec: str) -> tuple[str, str]:
    """``spec`` → (package, path inside it) through the package's ``exports`` (wildcards included)."""
    pkg, sub = _split(spec)
    if pkg not in PACKAGES:
        raise VendorError(f"{spec!r}: package {pkg!r} is not one the studio vendors ({', '.join(PACKAGES)})")
    meta = json.loads((modules / pkg / "package.json").read_text())
    exports = meta.get("exports")
    if exports is None:
        rel = meta.get("module") or meta.get("main") if sub == "." else sub
    elif isinstance(exports, (str, dict)) and sub == "." and (isinstance(exports, str) or not any(
            k.startswith(".") for k in exports)):
        rel = _pick(exports)
    else:
        rel = _pick(exports.get(sub)) if sub in exports else None
        if rel is None:
            for pattern, target in exports.items():
                if "*" in pattern:
                    head, tail = pattern.split("*", 1)
                    if sub.startswith(head) and sub.endswith(tail) and len(sub) >= len(head) + len(tail):
                        star = sub[len(head):len(sub) - len(tail)]
                        t = _pick(target)
                        rel = None if t is None else t.replace("*", star)
                        break
    if not rel:
        raise VendorError(f"{spec!r}: not exported by {pkg}")
    rel = rel[2:] if rel.startswith("./") else rel
    if not (modules / pkg / rel).is_file():
        raise VendorError(f"{spec!r} → {pkg}/{rel}: no such file")
    return pkg, rel


def _imports(text: str) -> list[str]:
    return [a or b for a, b in _IMPORT_RE.findall(text)]


def resolve_tree(modules: Path, entries=ENTRIES) -> tuple[dict[str, str], list[str]]:
    """The import map (bare specifier → URL) and the files (``package/path``) reached from ``entries``."""
    importmap: dict[str, str] = {}
    files: set[str] = set()
    todo = list(entries)
    seen_files: set[str] = set()
    while todo:
        spec = todo.pop()
        if spec.startswith((".", "/")):
            raise VendorError(f"relative import {spec!r} outside a package")
        if spec in importmap:
            continue
        pkg, rel = _resolve_bare(modules, spec)
        importmap[spec] = URL_PREFIX + f"{pkg}/{rel}"
        stack = [f"{pkg}/{rel}"]
        while stack:
            f = stack.pop()
            if f in seen_files:
                continue
            seen_files.add(f)
            files.add(f)
            text = (modules / f).read_text(encoding="utf-8")
            for dep in _imports(text):
                if dep.startswith("."):
                    target = (Path(f).parent / dep).as_posix()
                    target = str(Path(*[p for p in _normalise(target)]))
                    if not (modules / target).is_file():
                        raise VendorError(f"{f}: import {dep!r} → {target}: no such file")
                    stack.append(target)
                else:
                    todo.append(dep)
    return dict(sorted(importmap.items())), sorted(files)


def _normalise(path: str) -> list[str]:
    out: list[str] = []
    for part in path.split("/"):
        if part == "..":
            out.pop()
        elif part not in ("", "."):
            out.append(part)
    return out


def _lock_packages(lockfile: Path) -> dict[str, dict]:
    lock = json.loads(lockfile.read_text())["packages"]
    out = {}
    for pkg in PACKAGES:
        entry = lock.get(f"node_modules/{pkg}")
        if entry is None:
            raise VendorError(f"{pkg} is not in {lockfile}")
        out[pkg] = {"version": entry["version"], "integrity": entry["integrity"], "license": entry.get("license")}
    return out


def _licence_text(modules: Path, pkg: str) -> str:
    for name in ("LICENSE", "LICENSE.md", "LICENSE.txt", "license"):
        p = modules / pkg / name
        if p.is_file():
            return p.read_text(encoding="utf-8")
    raise VendorError(f"{pkg}: no licence file")


def build(modules: Path, lockfile: Path) -> dict[str, bytes]:
    """Every file of the vendored tree (relative path → bytes), made from ``modules`` pinned by ``lockfile``."""
    packages = _lock_packages(lockfile)
    for pkg, info in packages.items():
        installed = json.loads((modules / pkg / "package.json").read_text())["version"]
        if installed != info["version"]:
            raise VendorError(f"{pkg} {installed} is installed but the lockfile pins {info['version']}: npm ci")
    importmap, files = resolve_tree(modules)
    out = {f: (modules / f).read_bytes() for f in files}
    lock = {"packages": packages,
            "files": {f: hashlib.sha256(b).hexdigest() for f, b in sorted(out.items())}}
    out["LOCK.json"] = (json.dumps(lock, indent=1, sort_keys=True) + "\n").encode()
    out["importmap.json"] = (json.dumps({"imports": importmap}, indent=1) + "\n").encode()
    licences = [f"The studio vendors these npm packages, unmodified, at the versions tests/e2e/node/package-lock.json "
                f"pins:\n"]
    licences += [f"  {pkg} {info['version']} — {info['license']}" for pkg, info in packages.items()]
    for pkg in PACKAGES:
        licences.append(f"\n\n==== {pkg} {packages[pkg]['version']} ====\n\n{_licence_text(modules, pkg)}")
    out["LICENSES"] = ("\n".join(licences)).encode()
    return out


def vendor(modules: Path = NODE_DIR / "node_modules", dest: Path = VENDOR,
           lockfile: Path = NODE_DIR / "package-lock.json") -> int:
    tree = build(modules, lockfile)
    if dest.exists():
        shutil.rmtree(dest)
    for rel, data in tree.items():
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return len(tree)


def tree_on_disk(dest: Path = VENDOR) -> dict[str, bytes]:
    return {p.relative_to(dest).as_posix(): p.read_bytes() for p in sorted(dest.rglob("*")) if p.is_file()}


def check(dest: Path = VENDOR, lockfile: Path = NODE_DIR / "package-lock.json",
          modules: Path | None = NODE_DIR / "node_modules") -> list[str]:
    """What is wrong with the vendored tree (empty when nothing): every file listed in ``LOCK.json`` with its
    sha256, nothing unlisted, the versions and integrities those of ``lockfile``; with ``modules``, also exactly the
    tree :func:`build` makes from the installed packages."""
    problems: list[str] = []
    lock = json.loads((dest / "LOCK.json").read_text())
    on_disk = tree_on_disk(dest)
    listed = lock["files"]
    for rel, digest in listed.items():
        data = on_disk.get(rel)
        if data is None:
            problems.append(f"{rel}: listed in LOCK.json but missing")
        elif hashlib.sha256(data).hexdigest() != digest:
            problems.append(f"{rel}: sha256 differs from LOCK.json")
    for rel in on_disk:
        if rel not in listed and rel not in ("LOCK.json", "importmap.json", "LICENSES"):
            problems.append(f"{rel}: vendored but not listed in LOCK.json")
    try:
        pinned = _lock_packages(lockfile)
    except VendorError as e:
        return problems + [str(e)]
    for pkg, info in pinned.items():
        if lock["packages"].get(pkg) != info:
            problems.append(f"{pkg}: LOCK.json has {lock['packages'].get(pkg)}, package-lock.json {info}")
    if modules is not None:
        try:
            fresh = build(modules, lockfile)
        except VendorError as e:
            return problems + [str(e)]
        for rel in sorted(set(fresh) | set(on_disk)):
            if fresh.get(rel) != on_disk.get(rel):
                problems.append(f"{rel}: differs from what the pinned packages give (python -m realtime.studio_vendor)")
    return problems


if __name__ == "__main__":
    n = vendor()
    print(f"vendored {n} files into {VENDOR}", file=sys.stderr)
