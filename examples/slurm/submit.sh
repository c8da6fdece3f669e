#!/usr/bin/env bash
# Submits the ReST loop to Slurm (see driver.sbatch):
#
#   examples/slurm/submit.sh CONFIG RUN_DIR SHARDS
#
# Environment: RESTLM (default: restlm on PATH), GROW_SBATCH (sbatch
# options for each Grow shard, e.g. "--gres=gpu:1 --time=1:00:00"),
# DRIVER_SBATCH (for the SFT/Improve jobs). Paths must be on storage every
# node sees. Re-submitting after a failure continues the same run.
set -euo pipefail
[ $# = 3 ] || { echo "usage: $0 CONFIG RUN_DIR SHARDS"; exit 2; }
export CONFIG=$(realpath "$1") RUN=$(realpath -m "$2") SHARDS=$3
export RESTLM=$(realpath "$(command -v "${RESTLM:-restlm}")")
export DRIVER=$(realpath "$(dirname "$0")/driver.sbatch")
export GROW_SBATCH=${GROW_SBATCH:-} DRIVER_SBATCH=${DRIVER_SBATCH:-}
mkdir -p "$RUN"
# A re-submission merges whatever shards a cancelled Grow had finished
# only once all are there; the driver simply continues the run.
sbatch --parsable --output="$RUN/slurm-driver-%j.out" $DRIVER_SBATCH "$DRIVER"
