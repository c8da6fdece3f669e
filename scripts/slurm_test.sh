#!/usr/bin/env bash
# A sharded Grow on a real Slurm: starts a single-node cluster on localhost
# (munged, slurmctld, slurmd; Debian's slurm-wlm and munge are installed
# when absent), trains a tiny policy on the embedded toy task, submits a
# 3-task job array of `restlm grow --shard` and a `restlm merge` job that
# depends on it (afterok), waits, and requires the merged grown set to
# equal one process's `restlm grow`. Then the whole loop (2 Grows) through
# examples/slurm/submit.sh must end with the evaluations and grown sets of
# one process's `restlm run`. Stops every daemon it started, by PID.
#
#   scripts/slurm_test.sh [RESTLM_BINARY]     # default: cargo's target dir/release/restlm
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
if [ -z "${1:-}" ]; then source scripts/target_dir.sh; fi
RESTLM=$(realpath "${1:-$TARGET_DIR/release/restlm}")
[ -x "$RESTLM" ] || { echo "no restlm binary at $RESTLM (cargo build --release)"; exit 1; }
t0=$(date +%s.%N)
elapsed() { echo "$(date +%s.%N) - $t0" | bc; }

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
    echo "installing Debian's slurm-wlm and munge"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq slurm-wlm munge > /dev/null
fi
command -v bc > /dev/null || elapsed() { echo "$(( $(date +%s) - ${t0%.*} ))"; }

D=$(mktemp -d /tmp/restlm-slurm.XXXXXX)
chmod 755 "$D"
pids=()
cleanup() {
    local rc=$?
    for p in "${pids[@]}"; do
        kill "$p" 2> /dev/null || true
    done
    # slurmstepd can linger a moment after a job ends.
    for _ in $(seq 50); do
        alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2> /dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
    if [ $rc != 0 ]; then
        echo "--- slurmctld.log"; tail -20 "$D/slurmctld.log" 2> /dev/null || true
        echo "--- slurmd.log"; tail -20 "$D/slurmd.log" 2> /dev/null || true
        for f in "$D"/job-*.out; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
    fi
    $SUDO rm -rf "$D"
    exit $rc
}
trap cleanup EXIT

# munge: its own key and socket, run as the munge user.
mkdir -m 755 "$D/munge"
$SUDO dd if=/dev/urandom of="$D/munge/munge.key" bs=1 count=1024 status=none
$SUDO chown -R munge:munge "$D/munge"
$SUDO chmod 400 "$D/munge/munge.key"
as_munge=(runuser -u munge --); [ -n "$SUDO" ] && as_munge=(sudo -u munge)
"${as_munge[@]}" /usr/sbin/munged --socket="$D/munge/munge.sock" \
    --key-file="$D/munge/munge.key" --pid-file="$D/munge/munged.pid" \
    --log-file="$D/munge/munged.log" --seed-file="$D/munge/munged.seed"
for _ in $(seq 50); do [ -s "$D/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$D/munge/munged.pid")")

host=$(hostname -s)
user=$(id -un)
mkdir -p "$D/state" "$D/spool"
export SLURM_CONF="$D/slurm.conf"
cat > "$SLURM_CONF" << EOF
ClusterName=restlm-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.sock
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
$SUDO env SLURM_CONF="$SLURM_CONF" /usr/sbin/slurmctld -c -i
$SUDO env SLURM_CONF="$SLURM_CONF" /usr/sbin/slurmd -N "$host"
for _ in $(seq 100); do [ -s "$D/slurmctld.pid" ] && [ -s "$D/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$D/slurmctld.pid")" "$(cat "$D/slurmd.pid")")
for _ in $(seq 100); do
    sinfo -h -o %t 2> /dev/null | grep -qE '^(idle|mix|alloc)' && break
    sleep 0.2
done
sinfo -h -o "%P %t %c" | grep -q idle || { echo "the Slurm node did not come up"; sinfo; exit 1; }
echo "slurm up in $(elapsed) s"

# A tiny policy on the embedded toy task, and one process's Grow.
W="$D/work"
mkdir -p "$W"
cat > "$W/rest.toml" << EOF
seed = 7
device = "cpu"
[data]
task = "toy"
task_train = 60
task_eval = 8
max_prompt_tokens = 24
[model]
d_model = 64
d_ff = 160
max_seq_len = 64
[tokenizer]
vocab_size = 320
[sft]
steps = 20
[sample]
temperature = 1.0
max_new_tokens = 24
batch_size = 12
[improve]
steps = 5
[eval]
samples = 1
[rest]
samples_per_prompt = 3
grow_steps = 2
thresholds = [10.0, 20.0]
EOF
cd "$W"
"$RESTLM" --config rest.toml sft --out policy > sft.log 2>&1
"$RESTLM" --config rest.toml grow --policy policy --out single.jsonl > single.log 2>&1
echo "policy and single-process Grow in $(elapsed) s"

# The array and the merge that waits for it.
cat > grow.sbatch << EOF
#!/bin/bash
#SBATCH --job-name=restlm-grow
#SBATCH --output=$D/job-grow-%a.out
#SBATCH --cpus-per-task=1
exec "$RESTLM" --config "$W/rest.toml" grow --policy "$W/policy" --out "$W/shards" --shard
EOF
cat > merge.sbatch << EOF
#!/bin/bash
#SBATCH --job-name=restlm-merge
#SBATCH --output=$D/job-merge.out
exec "$RESTLM" merge --dir "$W/shards" --out "$W/merged.jsonl"
EOF
array=$(sbatch --parsable --array=0-2 grow.sbatch)
merge=$(sbatch --parsable --dependency="afterok:${array%%;*}" merge.sbatch)
echo "submitted array $array and merge $merge (afterok) at $(elapsed) s"
for _ in $(seq 600); do
    [ -z "$(squeue -h -o %i 2> /dev/null)" ] && break
    sleep 0.2
done
[ -z "$(squeue -h -o %i)" ] || { echo "jobs still queued after 120 s"; squeue; exit 1; }
[ -f "$W/merged.jsonl" ] || { echo "the merge job wrote nothing"; exit 1; }
echo "array and merge done at $(elapsed) s"
cat "$D/job-merge.out"
if cmp -s single.jsonl merged.jsonl; then
    echo "OK: the merged grown set of 3 shards equals one process's ($(wc -l < merged.jsonl) rows)"
else
    echo "FAIL: merged grown set differs from one process's"
    diff <(head -c 2000 single.jsonl) <(head -c 2000 merged.jsonl) || true
    exit 1
fi

# The whole loop: one process, then SFT/Improve jobs and Grow arrays.
t1=$(elapsed)
"$RESTLM" --config rest.toml run --run-dir "$W/local" > local.log 2>&1
echo "one-process run in $(echo "$(elapsed) - $t1" | bc 2> /dev/null || echo "?") s"
t1=$(elapsed)
RESTLM="$RESTLM" GROW_SBATCH="--cpus-per-task=1" \
    "$REPO/examples/slurm/submit.sh" rest.toml "$W/cluster" 3 > /dev/null
for _ in $(seq 1500); do
    [ -z "$(squeue -h -o %i 2> /dev/null)" ] && break
    sleep 0.2
done
[ -z "$(squeue -h -o %i)" ] || { echo "loop jobs still queued after 300 s"; squeue; exit 1; }
for f in "$W"/cluster/slurm-*.out; do cp "$f" "$D/job-$(basename "$f")"; done
echo "the loop on Slurm (3 drivers, 2 Grow arrays of 3) took $(echo "$(elapsed) - $t1" | bc 2> /dev/null || echo "?") s"
state_evals() {
    python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))['evals']))" "$1/state.json"
}
for g in 1 2; do
    cmp -s "$W/local/grow/g$g.jsonl" "$W/cluster/grow/g$g.jsonl" \
        || { echo "FAIL: grown set $g differs between the cluster and one process"; exit 1; }
done
if [ "$(state_evals "$W/local")" = "$(state_evals "$W/cluster")" ] \
    && [ -n "$(state_evals "$W/cluster")" ]; then
    echo "OK: the loop on Slurm ends with one process's evaluations and grown sets"
else
    echo "FAIL: evaluations differ"; state_evals "$W/local"; state_evals "$W/cluster"; exit 1
fi
