#!/usr/bin/env bash
# Regenerates the committed artefacts: the scenario JSON Schema and the sample reports
# of every example scenario (reports/<name>/: report.json, report.html, charts/, timeseries.csv,
# events.jsonl and summary.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
# The binary cargo just built, wherever CARGO_TARGET_DIR puts it.
bin=${CARGO_TARGET_DIR:-target}/release/resim
"$bin" schema > schema/scenario.schema.json
# Examples one folder down keep their imported files beside them: reports/<folder>-<name>.
for f in scenarios/*.yaml scenarios/*/*.yaml; do
  rel=${f#scenarios/}
  name=${rel%.yaml}
  name=${name//\//-}
  # The run replaces reports/<name>/ whole: the summary goes in once it is there.
  "$bin" run "$f" --out "reports/$name" | grep -v ' wall (' > "reports/.$name.summary.txt"
  mv "reports/.$name.summary.txt" "reports/$name/summary.txt"
done
# One sweep, for its charts: the metastability map of the surge's size and duration.
rm -rf reports/metastability-sweep/sweep
"$bin" sweep scenarios/metastability-sweep.yaml --out reports/metastability-sweep/sweep --quiet
echo "regenerated schema/ and reports/"
