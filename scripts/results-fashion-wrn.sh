#!/usr/bin/env bash
# Regenerates the "Fashion-MNIST with a WideResNet, crop+flip: SGD vs SAM" table of RESULTS.md:
# WRN-DEPTH-WIDTH, SGD with momentum 0.9 and a cosine schedule, L2 5e-4, crop (pad 4) + flip,
# ρ = 0 (SGD) and ρ = 0.05 (SAM), seeds 1 and 2, test error on the official 10,000 test images.
# The budget is set by the environment (defaults below: a CPU budget, far from the paper's):
#   DEPTH=10 WIDTH=1 EPOCHS=3 TRAIN_SIZE=10000 THREADS=1 bash scripts/results-fashion-wrn.sh
# Needs Fashion-MNIST: apt-get install dataset-fashion-mnist (or SAM_FASHION_MNIST_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
DEPTH=${DEPTH:-10} WIDTH=${WIDTH:-1} EPOCHS=${EPOCHS:-3} TRAIN_SIZE=${TRAIN_SIZE:-10000} THREADS=${THREADS:-1}
go build -o /tmp/sam-results-wrn ./cmd/sam
out=$(mktemp -d)
echo "| model | ρ | seed | test error | wall time (s) |"
echo "|---|---|---|---|---|"
for rho in 0 0.05; do
  for s in 1 2; do
    d="$out/$rho-$s"
    /tmp/sam-results-wrn train --quiet --data fashion-mnist --model wrn --depth "$DEPTH" --width "$WIDTH" \
      --opt sgd --momentum 0.9 --lr 0.05 --schedule cosine --l2 5e-4 --batch-size 128 --epochs "$EPOCHS" \
      --train-size "$((TRAIN_SIZE + TRAIN_SIZE / 9))" --augment crop,flip --rho "$rho" --seed "$s" \
      --threads "$THREADS" --out "$d" >/dev/null
    err=$(grep -o '"test_acc": [0-9.e-]*' "$d/summary.json" | awk '{printf "%.2f%%", 100*(1-$2)}')
    wall=$(grep -o '"wall_seconds": [0-9.e-]*' "$d/summary.json" | awk '{printf "%.0f", $2}')
    echo "| WRN-$DEPTH-$WIDTH | $rho | $s | $err | $wall |"
  done
done
rm -rf "$out"
