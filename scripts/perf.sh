#!/usr/bin/env bash
# Measures resim side by side with SimPy and Ciw on identical queueing workloads and
# writes docs/PERFORMANCE.md. See docs/PERFORMANCE.md for what is measured and how.
#
#   scripts/perf.sh                 # full run (about 25-30 minutes on the 2-core machine)
#   PEER_REPS=1 PEER_REPLICATIONS=2 DURATION_MMCK=600 DURATION_NETWORK=120 \
#     MEM_SMALL=1000000 MEM_LARGE=10000000 SKIP_BENCH=1 OUT=target/perf-smoke DOC=target/perf-smoke.md \
#     scripts/perf.sh               # a quick smoke run that leaves docs/ alone
#
# Steps:
#   1. a virtualenv under target/peers-venv with benches/peers/requirements.txt;
#   2. resim in release (the binary is copied to target/perf/resim so that a concurrent
#      rebuild cannot change it in the middle of the measurements);
#   3. `cargo bench --bench engine` (criterion; its log goes to target/perf/bench.txt);
#   4. for each workload (benches/peers/{mmck,network}.yaml): resim with --jobs 1, SimPy
#      and Ciw on the same simulated duration and rates, interleaved (resim, SimPy, resim,
#      Ciw, resim, ...), so that every peer invocation has a resim run on either side;
#   5. peak RSS of resim for 10^7 and 10^9 arrivals (M/M/4/50 at 64/s, 1 replication);
#   6. 2-job scaling: `resim run` of 8 replications and `resim sweep` of 4 points x 2
#      replications, each alternating --jobs 1 and --jobs 2 (1, 2, 1, ..., 2, 1) so that
#      every --jobs 2 run has a --jobs 1 run on either side, with a probe before and after
#      of how many cores the shared machine gives two CPU-bound processes;
#   7. an instruction profile of one M/M/4/50 replication (callgrind, when installed);
#   8. benches/peers/report.py checks agreement and writes the document.
# Raw outputs stay in target/perf/.
set -euo pipefail
cd "$(dirname "$0")/.."

PEER_REPS=${PEER_REPS:-5}                 # invocations of each peer script per workload
PEER_REPLICATIONS=${PEER_REPLICATIONS:-2} # replications per invocation (each one is timed)
RESIM_REPS=$((2 * PEER_REPS + 1))         # resim invocations per workload: one before each peer's, one at the end
RESIM_REPLICATIONS=${RESIM_REPLICATIONS:-$((PEER_REPS * PEER_REPLICATIONS))}
DURATION_MMCK=${DURATION_MMCK:-7200}      # simulated seconds = the bench constant (2h)
DURATION_NETWORK=${DURATION_NETWORK:-1800} # = the bench constant (30m)
MEM_SMALL=${MEM_SMALL:-10000000}          # arrivals of the memory runs
MEM_LARGE=${MEM_LARGE:-1000000000}       # 10^9: about 2.5 minutes
SCALING_REPS=${SCALING_REPS:-9}          # --jobs 2 runs of each kind (and one more --jobs 1)
SCALING_DURATION=${SCALING_DURATION:-36000} # per replication (10h: ~4.6e6 events)
SKIP_BENCH=${SKIP_BENCH:-0}
DOC=${DOC:-docs/PERFORMANCE.md}

OUT=${OUT:-target/perf}                   # raw outputs (wiped at the start)
VENV=target/peers-venv
PEERS=benches/peers
rm -rf "$OUT"
mkdir -p "$OUT"
CMDS="$OUT/commands.txt"
: > "$CMDS"
cat /proc/loadavg > "$OUT/loadavg-start.txt"

# Logs a command (as it can be pasted) to commands.txt, then runs it.
run() {
  printf '%q ' "$@" | sed 's/ $//' >> "$CMDS"
  echo >> "$CMDS"
  "$@"
}

echo "== virtualenv ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$PEERS/requirements.txt"
"$VENV/bin/pip" freeze --disable-pip-version-check > "$OUT/pip-freeze.txt"
PY="$VENV/bin/python"

if [ ! -x /usr/bin/time ]; then
  echo "== installing GNU time"
  (apt-get update -qq && apt-get install -y -qq time) >/dev/null
fi

echo "== building resim (release)"
cargo build --release --quiet
cp "${CARGO_TARGET_DIR:-target}/release/resim" "$OUT/resim"
BIN="$OUT/resim"
git rev-parse HEAD > "$OUT/git-rev.txt" 2>/dev/null || echo unknown > "$OUT/git-rev.txt"
git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | wc -l > "$OUT/git-dirty.txt" || echo 0 > "$OUT/git-dirty.txt"

if [ "$SKIP_BENCH" != 1 ]; then
  echo "== cargo bench --bench engine (criterion)"
  # A failed bench (e.g. src/ mid-edit) is reported as not measured, not fatal.
  run cargo bench --bench engine > "$OUT/bench.txt" 2>&1 || echo "   cargo bench failed: see $OUT/bench.txt"
  mkdir -p "$OUT/criterion"
  for d in target/criterion/*/replication target/criterion/event_queue/*; do
    # Only what this run measured (a failed bench leaves older results behind).
    [ "$d/new/estimates.json" -nt "$OUT/loadavg-start.txt" ] || continue
    name=$(echo "${d#target/criterion/}" | tr / _)
    cp "$d/new/estimates.json" "$OUT/criterion/$name.estimates.json"
    cp "$d/new/benchmark.json" "$OUT/criterion/$name.benchmark.json"
  done
fi

echo "== side by side: resim, SimPy, Ciw"
# resim runs between the peers' invocations (resim, SimPy, resim, Ciw, ..., resim), so
# that each peer invocation is bracketed by a resim run on either side: the ratio of a
# peer invocation's rate to its two neighbours' is then taken at the same machine speed.
resim_side() {
  local w=$1 dur=$2 r=$3
  run "$BIN" run "$PEERS/$w.yaml" --jobs 1 --replications "$RESIM_REPLICATIONS" --seed "$r" \
    --set "duration=${dur}s" --out "$OUT/resim-$w-$r" > "$OUT/resim-$w-$r.txt"
  echo "   resim $w #$r: $(grep ' wall (' "$OUT/resim-$w-$r.txt")"
}
for w in mmck network; do
  case $w in mmck) dur=$DURATION_MMCK ;; network) dur=$DURATION_NETWORK ;; esac
  n=1
  resim_side "$w" "$dur" "$n"
  for r in $(seq 1 "$PEER_REPS"); do
    for tool in simpy ciw; do
      run "$PY" "$PEERS/${tool}_models.py" "$w" --duration "$dur" --replications "$PEER_REPLICATIONS" \
        --seed "$r" --out "$OUT/$tool-$w-$r.json"
      echo "   $tool $w #$r: $("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.3e events in %.1fs (%.3e events/s)" % (d["events"], d["wall_s"], d["events_per_s"]))' "$OUT/$tool-$w-$r.json")"
      n=$((n + 1))
      resim_side "$w" "$dur" "$n"
    done
  done
done

echo "== peak memory (M/M/4/50 at 64/s, 1 replication)"
for n in "$MEM_SMALL" "$MEM_LARGE"; do
  dur=$((n / 64))
  run /usr/bin/time -v "$BIN" run "$PEERS/mmck.yaml" --jobs 1 --replications 1 --set "duration=${dur}s" \
    --out "$OUT/mem-$n" > "$OUT/mem-$n.txt" 2> "$OUT/mem-$n.time"
  echo "   $n arrivals: $(grep 'Maximum resident' "$OUT/mem-$n.time")"
done

echo "== 2-job scaling (replications of one run; points of a sweep)"
run "$PY" "$PEERS/cpu_probe.py" 2 > "$OUT/cpu-probe-before.json"
echo "   cpu probe: $(cat "$OUT/cpu-probe-before.json")"
# One timed process of `resim run` (8 replications) or `resim sweep` (4 points x 2
# replications) with --jobs $2; raw output in scale-$1-j$2-$3.*.
scale() {
  local what=$1 j=$2 r=$3 name="$OUT/scale-$1-j$2-$3"
  if [ "$what" = run ]; then
    run /usr/bin/time -v "$BIN" run "$PEERS/mmck.yaml" --jobs "$j" --replications 8 \
      --set "duration=${SCALING_DURATION}s" --out "$name" > "$name.txt" 2> "$name.time"
  else
    run /usr/bin/time -v "$BIN" sweep "$PEERS/mmck.yaml" --jobs "$j" --replications 2 \
      --param services.api.servers=4..7 --set "duration=${SCALING_DURATION}s" --out "$name" > "$name.txt" 2> "$name.time"
  fi
  echo "   $what --jobs $j #$r: $(grep 'Elapsed' "$name.time")"
}
# --jobs 1 and --jobs 2 alternate, starting and ending with --jobs 1: each --jobs 2 run is
# judged against the mean of the --jobs 1 runs just before and after it, so a drift of the
# shared machine's speed weighs on both sides alike; the speed-up is the median of those.
for what in run sweep; do
  for r in $(seq 1 "$SCALING_REPS"); do
    scale "$what" 1 "$r"
    scale "$what" 2 "$r"
  done
  scale "$what" 1 $((SCALING_REPS + 1))
done

run "$PY" "$PEERS/cpu_probe.py" 2 > "$OUT/cpu-probe-after.json"
echo "   cpu probe: $(cat "$OUT/cpu-probe-after.json")"

# Instruction counts are exact and immune to the shared machine's noise, so the profile
# of where the loop's work goes is taken with callgrind (skipped without valgrind).
if command -v valgrind > /dev/null && command -v callgrind_annotate > /dev/null; then
  echo "== profile (callgrind, M/M/4/50, one 1 h replication)"
  run valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "$BIN" run "$PEERS/mmck.yaml" \
    --jobs 1 --replications 1 --set duration=3600s --out "$OUT/callgrind-run" > "$OUT/callgrind-run.txt" 2> "$OUT/callgrind.log"
  callgrind_annotate --auto=no "$OUT/callgrind.out" > "$OUT/callgrind.txt" 2>/dev/null
else
  echo "== profile skipped (no valgrind)"
fi
cat /proc/loadavg > "$OUT/loadavg-end.txt"
echo "== report"
"$PY" "$PEERS/report.py" --dir "$OUT" --doc "$DOC" \
  --peer-reps "$PEER_REPS" --peer-replications "$PEER_REPLICATIONS" \
  --resim-reps "$RESIM_REPS" --resim-replications "$RESIM_REPLICATIONS" \
  --duration mmck="$DURATION_MMCK" --duration network="$DURATION_NETWORK" \
  --mem "$MEM_SMALL" --mem "$MEM_LARGE" --scaling-reps "$SCALING_REPS" --scaling-duration "$SCALING_DURATION"
echo "wrote $DOC"
