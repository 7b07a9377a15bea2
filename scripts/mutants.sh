#!/usr/bin/env bash
# Mutation testing of the state machines, the theory and the event queue (issue 30):
# cargo-mutants changes one operator, constant or function body at a time and runs the
# tests; a mutant the tests still pass ("missed") is behaviour nothing checks. Not run in
# CI: the whole scope is about 2,900 mutants, 6 to 8 a minute in two lanes on two cores.
# Re-run it when src/policy/, src/theory/ or src/engine/queue.rs change.
#
#   scripts/mutants.sh                          # every file in scope
#   scripts/mutants.sh src/policy/outlier/mod.rs    # just these files
#
# Per file, two phases: the unit tests of the file's module on every mutant, then the
# survivors again with every unit test and the conformance suite (the resilience
# libraries' own tests, ported). It
# stops and resumes: a file whose phase finished is skipped, a phase cut short goes on
# from where it was (`--iterate`). Two lanes run side by side, each in its own git
# worktree and target folder, mutating its worktree in place so builds stay incremental.
#
# Writes mutants.out/records/FILE/p{1,2}/ (cargo-mutants' own records) and the table of
# docs/MUTATION.md (`python3 scripts/mutants_report.py` merges every record).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked --version 27.1.0
if [ $# -gt 0 ]; then
  files=("$@")
else
  files=(src/policy/*.rs src/policy/*/*.rs src/theory/*.rs src/engine/queue.rs)
fi
OUT=${MUTANTS_OUT:-$root/mutants.out}
mkdir -p "$OUT"

# The unit tests need no optimisation and no debug info. At opt-level 0 a mutant rebuilds
# in about 5 s; at opt-level 1 it took 40 s, because the engine inlines the policies into
# many codegen units that all rebuild. Two unit tests that read a corpus of cut files take
# 15 of the 17 s the unit tests need at opt-level 0 and touch nothing in scope: skipped.
# `--cargo-arg=--lib` keeps the build to the library's test binary: without it every
# mutant also relinks the integration tests, the benches and the CLI.
export CARGO_PROFILE_TEST_OPT_LEVEL=0 CARGO_PROFILE_TEST_DEBUG=0 CARGO_PROFILE_DEV_DEBUG=0 \
  CARGO_PROFILE_TEST_INCREMENTAL=true
common=(--in-place --no-shuffle --baseline skip --build-timeout 300 --cargo-arg=--lib)
skip=(--skip calibrate::tests_read::no_cut_or_corrupted_file_makes_a_reader_panic
  --skip scenario::samples::tests::more_than_the_limit_is_refused_without_reading_on)

# One phase of one file, resumable: a cut-short record is kept as part-N/ and the rest
# tested with --iterate (which skips what an earlier record caught or found unviable).
# FILTER names the unit tests to run ("" for all of them).
phase() { # DIR FILTER cargo-mutants-args...
  local dir=$1 filter=$2
  shift 2
  [ -f "$dir.done" ] && return 0
  local resume=()
  if [ -d "$dir/mutants.out" ]; then
    cp -r "$dir/mutants.out" "$dir/part-$(find "$dir" -maxdepth 1 -name 'part-*' | wc -l)"
    resume=(--iterate)
  fi
  mkdir -p "$dir"
  cargo mutants "${common[@]}" "${resume[@]}" "$@" --output "$dir" -- -- $filter "${skip[@]}" >"$dir/log.txt" 2>&1 || true
  git checkout -q -- src
  if grep -q 'mutants tested' "$dir/log.txt"; then touch "$dir.done"; fi
}

# Phase 1 runs the tests of the file's own module tree (src/policy/retry/budget.rs ->
# policy::retry): most mutants fall there in a second, where the whole library's tests
# take ten under two lanes. Phase 2 runs every unit test, so a file's score does not
# depend on where its tests live.
unit_tests() { # FILE
  local m=${1#src/}
  m=${m%.rs}
  m=${m%/mod}
  case "$m" in
    theory/* | engine/*) m=${m%%/*} ;;
    policy/*/*) m=${m%/*} ;;
  esac
  echo "${m//\//::}::"
}

lane() { # NAME FILE...
  local name=$1
  shift
  local tree=$OUT/worktree-$name
  [ -d "$tree" ] || git worktree add -q --detach "$tree" HEAD
  (
    cd "$tree"
    git checkout -q -- src && git checkout -q --detach "$(git -C "$root" rev-parse HEAD)"
    export CARGO_TARGET_DIR=$OUT/target-$name
    # The first build is a whole one (minutes): done here, outside the mutants' timeout.
    cargo test --lib --no-run -q 2>&1 | tail -n 1
    for f in "$@"; do
      local base=$OUT/records/${f//\//_}
      # Tests committed since the run began count from the next file on.
      git checkout -q --detach "$(git -C "$root" rev-parse HEAD)"
      echo "$(date +%T) lane $name: $f"
      # A hang is cut at 10x a phase's usual time: 2 s for a module's tests, 6 s for all.
      phase "$base/p1" "$(unit_tests "$f")" --file "$f" --timeout 20
      if [ -s "$base/p1/mutants.out/missed.txt" ]; then
        # Phase 2 takes only the survivors: --iterate skips what is caught or unviable, so
        # the timeouts are entered as caught in its copy of phase 1's record.
        if [ ! -d "$base/p2" ]; then
          mkdir -p "$base/p2" && cp -r "$base/p1/mutants.out" "$base/p2/mutants.out"
          cat "$base/p1/mutants.out/timeout.txt" >>"$base/p2/mutants.out/caught.txt"
        fi
        phase "$base/p2" "" --file "$f" --cargo-arg=--test=conformance --timeout 60
      fi
    done
  )
}

# Split the files between two lanes by their number of mutants, largest first.
mapfile -t order < <(for f in "${files[@]}"; do
  case "$f" in */tests.rs) continue ;; esac
  echo "$(cargo mutants --list --file "$f" 2>/dev/null | wc -l) $f"
done | sort -rn)
# Each file's number of mutants (this run's files replace their earlier rows).
{
  printf '%s\n' "${order[@]}"
  [ -f "$OUT/listing.txt" ] && cat "$OUT/listing.txt"
} | awk '!seen[$2]++' | sort -rn >"$OUT/listing.new" && mv "$OUT/listing.new" "$OUT/listing.txt"
lanes=(0 0)
a=()
b=()
for row in "${order[@]}"; do
  n=${row%% *}
  f=${row#* }
  if [ "${lanes[0]}" -le "${lanes[1]}" ]; then a+=("$f") && lanes[0]=$((lanes[0] + n)); else b+=("$f") && lanes[1]=$((lanes[1] + n)); fi
done
echo "mutants: ${lanes[0]} in lane a, ${lanes[1]} in lane b"
[ ${#a[@]} -gt 0 ] && lane a "${a[@]}" &
[ ${#b[@]} -gt 0 ] && lane b "${b[@]}" &
wait
# Every record in the order it was made, so that a later outcome of a mutant wins.
records=()
for base in "$OUT"/records/*; do
  for p in p1 p2; do
    for ((i = 0; ; i++)); do
      [ -d "$base/$p/part-$i" ] || break
      records+=("$base/$p/part-$i")
    done
    [ -d "$base/$p/mutants.out" ] && records+=("$base/$p/mutants.out")
  done
done
python3 scripts/mutants_report.py --listing "$OUT/listing.txt" --reasons docs/mutation-survivors.tsv \
  "${records[@]}" >"$OUT/table.md"
echo "wrote $OUT/table.md: the table and the missed mutants, with their reasons, for docs/MUTATION.md"
