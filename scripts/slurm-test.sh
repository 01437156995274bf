#!/usr/bin/env bash
# The Slurm launchers on a real scheduler: submits deploy/slurm/train-mpi.sbatch (2 ranks under
# srun --mpi=pmix) and deploy/slurm/sweep.sbatch (a 2-task job array and its merge job) with
# sbatch, waits for them and checks their outputs. Uses a running Slurm, or starts the one-node
# ../shared/tools/slurm-local (root with apt; SLURM_LOCAL names another) and stops it after.
# Without either it prints why and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
SLURM_LOCAL=${SLURM_LOCAL:-$repo/../shared/tools/slurm-local}
started=
if ! sinfo -h -o %t 2>/dev/null | grep -q .; then
  if [ -x "$SLURM_LOCAL" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    "$SLURM_LOCAL" start || { echo "slurm: skipped: $SLURM_LOCAL start failed"; exit 0; }
    started=1
  else
    echo "slurm: skipped: no running Slurm, and no $SLURM_LOCAL to start one (needs root and apt)"
    exit 0
  fi
fi
tmp=$(mktemp -d /tmp/sam-slurm.XXXXXX)
cleanup() {
  rm -rf "$tmp"
  if [ -n "$started" ]; then "$SLURM_LOCAL" stop; fi
}
trap cleanup EXIT
fail() { echo "slurm: FAIL: $*"; for f in "$tmp"/*.out; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }

# 1. train-mpi.sbatch: one model on 2 ranks (needs the MPI build).
if command -v mpirun >/dev/null 2>&1 && pkg-config --exists mpi 2>/dev/null; then
  CGO_ENABLED=1 go build -tags mpi -o "$tmp/sam-mpi" ./cmd/sam
  SAM="$tmp/sam-mpi" OUT="$tmp/dp" DATA=digits \
    TRAIN_ARGS="--hidden 32 --opt sgd --momentum 0.9 --lr 0.05 --batch-size 64 --epochs 2 --dist-eps global" \
    timeout 300 sbatch --wait --chdir="$tmp" --mem-per-cpu=1G --time=10 "$repo/deploy/slurm/train-mpi.sbatch" >/dev/null \
    || fail "train-mpi.sbatch"
  log=$(ls "$tmp"/sam-train-mpi-*.out)
  grep -q "^sam-train-mpi: 2 ranks" "$log" || fail "train-mpi.sbatch: no 2-rank header in $log"
  grep -q "outputs in $tmp/dp" "$log" || fail "train-mpi.sbatch: no result in $log"
  [ "$(grep -c 'outputs in' "$log")" = 1 ] || fail "train-mpi.sbatch: more than rank 0 printed"
  grep -q '"ranks": 2' "$tmp/dp/summary.json" && grep -q '"dist_eps": "global"' "$tmp/dp/summary.json" \
    || fail "train-mpi.sbatch: summary.json does not record 2 ranks, global"
  acc=$(grep -o '"test_acc": [0-9.]*' "$tmp/dp/summary.json" | grep -o '[0-9.]*$')
  awk -v a="$acc" 'BEGIN { exit !(a > 0.85) }' || fail "train-mpi.sbatch: test accuracy $acc"
  echo "slurm: train-mpi.sbatch ok (2 ranks under srun --mpi=pmix, test accuracy $acc)"
else
  echo "slurm: train-mpi.sbatch skipped: no MPI (apt-get install openmpi-bin libopenmpi-dev pkg-config)"
fi

# 2. sweep.sbatch: a 2-task array sized for a small node, then the merge job it queues.
CGO_ENABLED=0 go build -o "$tmp/sam" ./cmd/sam
SAM="$tmp/sam" OUT="$tmp/sweep" DATA=digits MERGE_MEM=1G \
  SWEEP_ARGS="--hidden 16 --opt sgd --lr 0.1 --epochs 2 --rho 0,0.05 --seeds 1 --val-fraction 0.2" \
  timeout 300 sbatch --wait --chdir="$tmp" --array=0-1 --cpus-per-task=1 --mem=1G --time=10 "$repo/deploy/slurm/sweep.sbatch" >/dev/null \
  || fail "sweep.sbatch"
for _ in $(seq 120); do
  [ -s "$tmp/sweep/results.json" ] && ! squeue -h -n sam-sweep-merge | grep -q . && break
  sleep 1
done
[ -s "$tmp/sweep/results.csv" ] && [ -s "$tmp/sweep/report.md" ] && [ -s "$tmp/sweep/rho.png" ] \
  || fail "sweep.sbatch: the merge wrote no results"
for sh in 0 1; do
  grep -q "shard $sh/2 done" "$tmp"/sam-sweep-*_"$sh".out || fail "sweep.sbatch: array task $sh did not finish its shard"
done
rows=$(tail -n +2 "$tmp/sweep/results.csv" | wc -l)
[ "$rows" -ge 2 ] || fail "sweep.sbatch: results.csv has $rows rows, want one per ρ (2)"
echo "slurm: sweep.sbatch ok (2 array tasks, merge job, $rows rows in results.csv)"
