#!/usr/bin/env bash
# Regenerates the "Tuning ρ under label noise" table of RESULTS.md (issue 6, item 5): a
# ρ sweep (validation split) for the Fashion-MNIST MLP with 0% and 40%
# symmetric label noise. About 10 minutes on 2 cores.
# Usage: bash scripts/results-noise-sweep.sh [OUTDIR]   (default runs/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs}
go build -o /tmp/sam-results ./cmd/sam
for noise in 0 0.4; do
  /tmp/sam-results sweep --quiet --data fashion-mnist --model mlp --hidden 256,256 \
    --opt sgd --momentum 0.9 --lr 0.05 --schedule cosine --batch-size 128 --epochs 30 \
    --rho 0,0.05,0.1,0.3 --seeds 2 --val-fraction 0.1 --label-noise "$noise" --workers 2 \
    --out "$out/sweep-fashion-noise$noise"
done
