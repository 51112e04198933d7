"""The import rules of STYLE.md, checked on the source (imports inside functions count too):

* ``core/``: the standard library, numpy and msgspec only;
* ``events/``: nothing from ``projections/``, ``realtime/``, ``agents/`` or ``renderers/``;
* ``projections/``: nothing from ``realtime/`` or ``agents/``;
* ``agents/`` and ``renderers/``: nothing from ``realtime/``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "events", "projections", "realtime", "agents", "renderers")

FORBIDDEN = {
    "events": {"projections", "realtime", "agents", "renderers"},
    "projections": {"realtime", "agents"},
    "agents": {"realtime"},
    "renderers": {"realtime"},
}
CORE_ALLOWED_THIRD_PARTY = {"numpy", "msgspec"}


def imports_of(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, top-level module) of every import in the file, at any depth; relative imports resolve to the file's
    own ``package``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, package if node.level else (node.module or "").split(".")[0]))
    return found


def sources(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def test_imports_of_sees_imports_inside_functions(tmp_path):
    pkg = tmp_path / "agents"
    pkg.mkdir()
    f = pkg / "x.py"
    f.write_text("def f():\n    if True:\n        from realtime.cli import main\n    import numpy.linalg as la\n"
                 "from .base import Agent\n")
    assert sorted(imports_of(f, "agents")) == [(3, "realtime"), (4, "numpy"), (5, "agents")]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_from_the_layers_above(package):
    bad = [f"{p.relative_to(ROOT)}:{line} imports {mod}" for p in sources(package)
           for line, mod in imports_of(p, package) if mod in FORBIDDEN[package]]
    assert not bad, "layering broken:\n" + "\n".join(bad)


def test_core_imports_only_the_standard_library_numpy_and_msgspec():
    allowed = set(sys.stdlib_module_names) | CORE_ALLOWED_THIRD_PARTY | {"core", "__future__"}
    bad = [f"{p.relative_to(ROOT)}:{line} imports {mod}" for p in sources("core")
           for line, mod in imports_of(p, "core") if mod not in allowed]
    assert not bad, "core/ must stay pure:\n" + "\n".join(bad)


def test_every_package_is_checked():
    assert all((ROOT / p / "__init__.py").is_file() for p in PACKAGES)
    assert all(sources(p) for p in PACKAGES)
