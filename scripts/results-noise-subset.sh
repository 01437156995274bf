#!/usr/bin/env bash
# Regenerates RESULTS.md's "SAM.md's label-noise setting" table: Fashion-MNIST, 10,000 training
# images, 40% symmetric label noise, MLP 784-512-512-10, SGD momentum 0.9, lr 0.05 with cosine
# decay, batch 128, 100 epochs, ρ ∈ {0, 0.1, 0.3}; seeds given (default 1 2). ~2 minutes a seed.
# STANDARDIZE=false runs it on raw [0,1] pixels, like PyTorch's ToTensor (SAM.md's reference).
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o /tmp/sam-results ./cmd/sam
seeds=(1 2)
[ $# -eq 0 ] || seeds=("$@")
out=$(mktemp -d)
echo "| ρ | seed | test accuracy | train accuracy (on the noisy labels) | wall time (s) |"
echo "|---|---|---|---|---|"
for s in "${seeds[@]}"; do
  for rho in 0 0.1 0.3; do
    d="$out/$rho-$s"
    /tmp/sam-results train --quiet --data fashion-mnist --train-size 10000 --label-noise 0.4 \
      --model mlp --hidden 512,512 --opt sgd --momentum 0.9 --lr 0.05 --schedule cosine \
      --batch-size 128 --epochs 100 --val-fraction 0 --rho "$rho" --seed "$s" \
      --standardize="${STANDARDIZE:-true}" --out "$d" >/dev/null
    acc=$(grep -o '"test_acc": [0-9.e-]*' "$d/summary.json" | awk '{printf "%.2f%%", 100*$2}')
    tr=$(grep -o '"train_acc": [0-9.e-]*' "$d/summary.json" | awk '{printf "%.2f%%", 100*$2}')
    wall=$(grep -o '"wall_seconds": [0-9.e-]*' "$d/summary.json" | awk '{printf "%.0f", $2}')
    echo "| $rho | $s | $acc | $tr | $wall |"
  done
done
rm -rf "$out"
