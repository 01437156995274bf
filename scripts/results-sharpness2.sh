#!/usr/bin/env bash
# Regenerates the "Sharpness toolkit, second edition" section of RESULTS.md (issue 16): SGD and
# SAM on the Fashion-MNIST CNN from the same start (seed 1) at a small budget (10,000 training
# images, 2 epochs, snapshots every 50 steps), then per-tensor Hessian λ_max and trace, GGN vs
# Hessian top eigenvalues, the trajectory of both runs and the barrier between them.
# Usage: bash scripts/results-sharpness2.sh [OUT]   (about 15 CPU-minutes on 1 thread)
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o /tmp/sam-results ./cmd/sam
S=/tmp/sam-results
out=${1:-/tmp/sharpness2}
mkdir -p "$out"
L="--subset 500 --top-k 3 --trace-samples 6 --lanczos-steps 25 --threads 1"
for r in sgd:0 sam:0.05; do
  n=${r%%:*} rho=${r##*:}
  $S train --quiet --data fashion-mnist --model cnn --opt sgd --lr 0.1 --rho "$rho" --train-size 10000 --epochs 2 \
    --snapshot-every 50 --threads 1 --seed 1 --out "$out/$n"
done
for n in sgd sam; do
  $S sharpness --quiet --model "$out/$n/model.safetensors" --by-layer $L --out "$out/$n/hessian"
  $S sharpness --quiet --model "$out/$n/model.safetensors" --curvature ggn $L --out "$out/$n/ggn"
done
$S trajectory "$out/sgd" "$out/sam" --quiet --subset 500 --points 13 --threads 1 --out "$out/trajectory"
$S connect --quiet --model "$out/sgd/model.safetensors" --model2 "$out/sam/model.safetensors" --subset 500 \
  --curve-steps 200 --curve-examples 9000 --points 21 --threads 1 --out "$out/connect"
echo "outputs in $out"
