#!/bin/bash
# A resim sweep as a Slurm job array: each array task runs one shard of the points into a
# shared folder, and a dependent job merges them into sweep.csv / sweep.json.
#
#   bash scripts/slurm-sweep.sh     # submits itself as the array, then the merge after it
#
# Adjust SCENARIO, PARAMS, OUT and the array size (--array=0-(N-1)) to your sweep. The
# output folder must be on a file system every node sees. A failed task can be rerun
# alone: the same command with --resume skips the points it already finished.
#SBATCH --job-name=resim-sweep
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --output=resim-sweep-%A_%a.log
set -euo pipefail

SCENARIO=${SCENARIO:-scenarios/mmck-basic.yaml}
OUT=${OUT:-out/slurm-sweep}
RESIM=${RESIM:-resim}
read -r -a PARAMS <<< "${PARAMS:---param services.api.servers=2..9 --set duration=10m --set replications=4}"

if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
  # Not inside the array yet: submit it, then the merge to run when every task succeeded.
  array=$(sbatch --parsable "$0")
  sbatch --dependency="afterok:${array}" --job-name=resim-merge --output=resim-merge-%j.log \
    --wrap="$RESIM merge $OUT"
  echo "submitted array $array; the merged sweep will be in $OUT/sweep.csv"
  exit 0
fi

"$RESIM" sweep "$SCENARIO" "${PARAMS[@]}" --out "$OUT" --quiet --resume \
  --jobs "${SLURM_CPUS_PER_TASK:-1}" \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}"
