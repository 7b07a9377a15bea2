#!/usr/bin/env bash
# Scale measurement: how resim's speed, memory and output grow with the number of
# services, on the same number of events at every size.
#
# Builds the release binary, generates call graphs of each size, runs each once with
# `resim run --jobs 1` under `/usr/bin/time -v`, and prints a markdown table: services,
# instances, events, events/s (from the run's own summary line), peak RSS, output folder
# size and wall time.
#
# Graphs:
#   microservices  `resim init --topology microservices --services N` (Alibaba-shaped,
#                  ~2e7 events at every size)
#   layered        issue 26's layered graph: 5 layers, 3 instances per service, 2 calls per
#                  service with a 500ms timeout and one retry, power-of-two balancing,
#                  400 requests/s over the first layer for 600s (~1.5e7 events at any size)
#
# Usage: scripts/scale.sh [--sizes 10,100,1000,5000,20000] [--graphs microservices,layered]
#                         [--seed S] [--work DIR] [--keep]
# Memory: about 0.65 GB at 20,000 services (docs/PERFORMANCE.md, section 7); the runs pass
# --max-memory so the pre-run estimate (up to 2x over) never refuses them.
set -euo pipefail

sizes="10,100,1000,5000,20000"
graphs="microservices,layered"
seed=1
work=""
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --graphs) graphs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scale.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="${work:-$target/scale}"
mkdir -p "$work"
[[ -x /usr/bin/time ]] || { echo "scale.sh: needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }

echo "building the release binary..." >&2
(cd "$root" && cargo build --release --quiet)
resim="$target/release/resim"

# Issue 26's layered graph with `n` services (as /work/scale/layered.py writes it).
layered() {
  local n=$1 layers=5 per l i k t
  per=$(( n / layers )); (( per < 1 )) && per=1
  printf 'name: layered-%s\nduration: 600s\nwarmup: 0s\nreplications: 1\nseed: %s\nservices:\n' "$n" "$seed"
  for (( l = 0; l < layers; l++ )); do
    for (( i = 0; i < per; i++ )); do
      printf '  s%s-%s:\n    instances: 3\n    load_balancer: power_of_two\n    servers: 4\n    capacity: 64\n' "$l" "$i"
      printf '    service_time: { exponential: { mean: 2ms } }\n'
      if (( l + 1 < layers )); then
        printf '    calls:\n'
        for (( k = 0; k < 2; k++ )); do
          t=$(( (i * 2 + k) % per ))
          printf '      - { to: s%s-%s, timeout: 500ms, retry: { max_attempts: 2 } }\n' "$(( l + 1 ))" "$t"
        done
      fi
    done
  done
  printf 'workloads:\n'
  for (( i = 0; i < per; i++ )); do
    printf '  - { name: w%s, target: s0-%s, arrivals: { poisson: { rate: %s/s } } }\n' \
      "$i" "$i" "$(awk -v p="$per" 'BEGIN { printf "%.6f", 400 / p }')"
  done
}

# Writes graph `kind` with `n` services to `file`.
generate() {
  local kind=$1 n=$2 file=$3
  case "$kind" in
    microservices) "$resim" init --topology microservices --services "$n" --seed "$seed" --force "$file" >/dev/null ;;
    layered) layered "$n" >"$file" ;;
    *) echo "scale.sh: unknown graph $kind (microservices or layered)" >&2; exit 2 ;;
  esac
}

human() { numfmt --to=iec --suffix=B --format='%.1f' "$1"; }

printf '| graph | services | instances | events | events/s | peak RSS | output | wall |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
IFS=',' read -r -a kinds <<<"$graphs"
IFS=',' read -r -a ns <<<"$sizes"
for kind in "${kinds[@]}"; do
  for n in "${ns[@]}"; do
    file="$work/$kind-$n.yaml" out="$work/out-$kind-$n" log="$work/$kind-$n.log" timing="$work/$kind-$n.time"
    generate "$kind" "$n" "$file"
    services=$(grep -c '^  [^ -].*:$' "$file")
    instances=$(awk '/^    instances:/ { s += $2 } END { print s }' "$file")
    echo "running $kind at $n services..." >&2
    if ! /usr/bin/time -v -o "$timing" "$resim" run "$file" --jobs 1 --max-memory 16GB --out "$out" >"$log" 2>&1; then
      echo "scale.sh: the run of $file failed; see $log" >&2
      printf '| %s | %s | %s | failed | | | | |\n' "$kind" "$services" "$instances"
      continue
    fi
    # The run's own line: "1.813e7 events in 2.98s wall (6.09e6 events/s over all threads)".
    summary=$(grep -E '^[0-9.e+]+ events in ' "$log" | tail -1)
    events=$(awk '{ print $1 }' <<<"$summary")
    rate=$(sed -E 's/.*\(([0-9.e+]+) events\/s.*/\1/' <<<"$summary")
    rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$timing")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$timing")
    size=$(du -sb "$out" | awk '{ print $1 }')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$kind" "$services" "$instances" "$events" "$rate" \
      "$(human $(( rss_kb * 1024 )))" "$(human "$size")" "$wall"
    (( keep )) || rm -rf "$out"
  done
done
