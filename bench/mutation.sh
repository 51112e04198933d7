#!/usr/bin/env bash
# Mutation testing of core/ and projections/reducer.py with mutmut (config: [tool.mutmut] in pyproject.toml).
# On demand only, never part of the default test run: it is slow (about 1 s per mutant on 2 cores).
#
#   bash bench/mutation.sh                      # every mutant of core/ and projections/reducer.py (hours)
#   bash bench/mutation.sh 'core.tracks.*' 'core.quat.*' 'projections.reducer.*'   # a time-boxed subset
#
# mutmut writes a mutants/ tree next to the sources, so the run happens in a scratch copy of the tracked files
# ($WNM_MUTATION_DIR, default /tmp/wnm-mutation); the survivors are printed at the end and kept in
# $WNM_MUTATION_DIR/survivors.txt (`cd $WNM_MUTATION_DIR && mutmut show NAME` shows one mutant's diff).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${WNM_PYTHON:-$root/.venv/bin/python}"
[ -x "$py" ] || py="$(command -v python3)"
work="${WNM_MUTATION_DIR:-/tmp/wnm-mutation}"
rm -rf "$work"
mkdir -p "$work"
(cd "$root" && git ls-files -z | xargs -0 cp --parents -t "$work")
cd "$work"
export PYTHONPATH="$work/mutants${PYTHONPATH:+:$PYTHONPATH}"
# every mutant reruns the property tests that cover it: a quarter of their examples (tests/unit/strategies.py)
export WNM_EXAMPLES_DIVISOR="${WNM_EXAMPLES_DIVISOR:-4}"
# and stops at its first failing example, unshrunk (tests/conftest.py): shrinking took minutes per killed mutant
export WNM_MUTATION=1
# the suite fails a run that skips a test (tests/conftest.py); one test of the selection skips by design here, and
# mutmut's first run (its stats) must pass
export WNM_ALLOW_SKIP=1
# debug output: pytest's own errors are shown (and each mutant's tests as they run). mutmut's first run (its
# stats) now and then fails to import the tests package while loading tests/conftest.py (cause not found); a second
# run in the same copy goes on from there
sed -i 's/^\[tool.mutmut\]$/[tool.mutmut]\ndebug = true/' pyproject.toml
run() { "$py" -m mutmut run --max-children "${WNM_MUTATION_JOBS:-2}" "$@"; }
run "$@" || { echo "mutmut run failed; running it once more"; run "$@"; }
"$py" -m mutmut results > results.txt || true
grep -E ': (survived|no tests|timeout|suspicious)' results.txt > survivors.txt || true
echo "--- surviving mutants ($(wc -l < survivors.txt)) — details: cd $work && $py -m mutmut show NAME"
cat survivors.txt
