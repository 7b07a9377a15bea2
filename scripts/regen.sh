#!/usr/bin/env bash
# Regenerates the committed artefacts: the scenario JSON Schema and the sample reports
# of every example scenario (reports/<name>/: report.json, report.html, charts/, timeseries.csv,
# events.jsonl and summary.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/resim
"$bin" schema > schema/scenario.schema.json
for f in scenarios/*.yaml; do
  name=$(basename "$f" .yaml)
  mkdir -p "reports/$name"
  "$bin" run "$f" --out "reports/$name" | grep -v ' wall (' > "reports/$name/summary.txt.tmp"
  mv "reports/$name/summary.txt.tmp" "reports/$name/summary.txt"
done
echo "regenerated schema/ and reports/"
