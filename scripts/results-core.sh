#!/usr/bin/env bash
# Regenerates the "Core: MNIST and Fashion-MNIST in 2 epochs" table of RESULTS.md:
# the README's main job (defaults, 2 epochs) with SAM (rho 0.05) and without (rho 0), seeds 1-3.
# Usage: bash scripts/results-core.sh [seeds...]   (about 20 s per run on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o /tmp/sam-results ./cmd/sam
seeds=("${@:-1 2 3}")
[ $# -gt 0 ] || seeds=(1 2 3)
out=$(mktemp -d)
echo "| data | rho | seed | test accuracy | wall time (s) |"
echo "|---|---|---|---|---|"
for data in mnist fashion-mnist; do
  for rho in 0 0.05; do
    for s in "${seeds[@]}"; do
      d="$out/$data-$rho-$s"
      /tmp/sam-results train --quiet --data "$data" --model mlp --hidden 256,256 --rho "$rho" --epochs 2 --seed "$s" --out "$d" >/dev/null
      acc=$(grep -o '"test_acc": [0-9.e-]*' "$d/summary.json" | awk '{printf "%.2f%%", 100*$2}')
      wall=$(grep -o '"wall_seconds": [0-9.e-]*' "$d/summary.json" | awk '{printf "%.1f", $2}')
      echo "| $data | $rho | $s | $acc | $wall |"
    done
  done
done
rm -rf "$out"
