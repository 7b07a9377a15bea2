#!/usr/bin/env bash
# Mutation testing of the state machines, the theory and the event queue (issue 30):
# cargo-mutants changes one operator, constant or function body at a time and runs the
# library's unit tests; a mutant the tests still pass ("missed") is behaviour nothing
# checks. Not run in CI: the whole set is about 1,300 mutants, hours on two cores. Re-run
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
# Two jobs, each in its own copy of the tree; a mutant that makes a test loop is cut off.
cargo mutants -j 2 --no-shuffle --timeout 180 --output "$OUT" "${args[@]}" -- --lib || true
python3 scripts/mutants_report.py "$OUT/mutants.out" > docs/MUTATION.md
echo "wrote docs/MUTATION.md"
