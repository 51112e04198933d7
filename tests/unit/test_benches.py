"""The benches run on demand, never in CI, so a refactor can break one unseen (``bench_repair`` lost its ``_edit``
helper that way): every bench's names resolve, each imports and answers ``--help``, and the in-process repair
bench runs a small shot end to end."""

from __future__ import annotations

import asyncio
import builtins
import importlib.util
import subprocess
import symtable
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _unresolved(path: Path) -> set[str]:
    """Names a module reads as globals (at its top level or inside its functions and classes) and never binds."""
    top = symtable.symtable(path.read_text(), str(path), "exec")
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    bound |= set(dir(builtins)) | {"__file__", "__name__", "__doc__"}
    missing = {s.get_name() for s in top.get_symbols() if s.is_referenced() and s.get_name() not in bound}

    def walk(table: symtable.SymbolTable) -> None:
        for child in table.get_children():
            for s in child.get_symbols():
                if s.is_referenced() and (s.is_global() or (s.is_free() and child.get_type() == "class")) \
                        and s.get_name() not in bound:
                    missing.add(s.get_name())
            walk(child)

    walk(top)
    return missing


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_every_name_a_bench_uses_is_defined(path):
    assert _unresolved(path) == set(), f"{path.name} uses names it never defines"


@pytest.mark.parametrize("path", sorted(BENCH.glob("bench_*.py")), ids=lambda p: p.name)
def test_every_bench_imports_and_parses_its_arguments(path):
    """What it imports from the project still exists, and ``--help`` answers (no bench runs here)."""
    r = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "usage:" in r.stdout, r.stderr[-2000:]


def test_the_check_finds_a_missing_helper(tmp_path):
    f = tmp_path / "b.py"
    f.write_text("import os\n\ndef run():\n    return os.sep, _edit(1), len([])\n\nprint(run, _main)\n")
    assert _unresolved(f) == {"_edit", "_main"}


def test_the_repair_bench_runs_a_small_shot():
    spec = importlib.util.spec_from_file_location("bench_repair_under_test", BENCH / "bench_repair.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
        pushed = asyncio.run(mod.run(36, 4, 0))
        keyed = asyncio.run(mod.run(36, 3, 0, keying=40))
    finally:
        del sys.modules[spec.name]
    assert pushed["edits"] == 5 and pushed["repaired"] >= 1 and len(pushed["cpu"]) == 4
    assert keyed["edits"] == 4 and len(keyed["wall"]) == 3
