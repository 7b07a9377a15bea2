#!/usr/bin/env bash
# Mutation testing of the state machines, the theory and the event queue (issue 30):
# cargo-mutants changes one operator, constant or function body at a time and runs the
# library's unit tests; a mutant the tests still pass ("missed") is behaviour nothing
# checks. Not run in CI: the whole set is about 3,000 mutants, about 4 hours on two cores. Re-run
# it when src/policy/, src/theory/ or src/engine/queue.rs change.
#
#   scripts/mutants.sh                          # every file in scope
#   scripts/mutants.sh src/policy/outlier.rs    # just these files
#
# Writes mutants.out/ (cargo-mutants' own record) and docs/MUTATION.md (caught / missed /
# timeouts / unviable per file, and every missed mutant).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked --version 27.1.0
if [ $# -gt 0 ]; then
  files=("$@")
else
  files=(src/policy/*.rs src/policy/*/*.rs src/theory/*.rs src/engine/queue.rs)
fi
args=()
for f in "${files[@]}"; do
  case "$f" in */tests.rs) continue ;; esac
  args+=(--file "$f")
done
OUT=${MUTANTS_OUT:-mutants.out}
# The unit tests need no optimisation (2 s at opt-level 1, against the test profile's 3)
# and no debug info; incremental builds then rebuild a mutant in about 5 s instead of 50.
# `--cargo-arg=--lib` keeps the build phase to the library's test binary: without it every
# mutant also relinks the integration tests, benches and the CLI.
export CARGO_PROFILE_TEST_OPT_LEVEL=1 CARGO_PROFILE_TEST_DEBUG=0 CARGO_PROFILE_DEV_DEBUG=0 \
  CARGO_PROFILE_TEST_INCREMENTAL=true
# Two jobs, each in its own copy of the tree; a mutant that makes a test loop is cut off
# (the unmutated tests take about 2 s).
cargo mutants -j 2 --no-shuffle --timeout 30 --build-timeout 300 --cargo-arg=--lib \
  --output "$OUT" "${args[@]}" || true
python3 scripts/mutants_report.py "$OUT/mutants.out" > docs/MUTATION.md
echo "wrote docs/MUTATION.md"
