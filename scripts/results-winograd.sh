#!/usr/bin/env bash
# Regenerates the "Winograd convolutions learn the same models" table of RESULTS.md: the same
# seeded runs with --conv direct and --conv winograd, side by side: the Fashion-MNIST CNN of
# issue 3 (SAM, 3 epochs) and a WideResNet-10-2 with crop+flip on a 5,555-image subset (SGD
# with momentum and SAM, 2 epochs), test loss and accuracy on the official 10,000 test images
# and the wall time on all cores.
#   bash scripts/results-winograd.sh       # about 10 minutes on 2 cores
# Needs Fashion-MNIST: apt-get install dataset-fashion-mnist (or SAM_FASHION_MNIST_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o /tmp/sam-results-wino ./cmd/sam
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
row() { # name conv flags...
  local name=$1 conv=$2 d="$out/$1-$2"
  shift 2
  /tmp/sam-results-wino train --quiet --data fashion-mnist --conv "$conv" --seed 1 --out "$d" "$@" >/dev/null
  python3 - "$d/summary.json" "$name" "$conv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("| %s | `--conv %s` | %.4f | %.2f%% | %.0f |" % (sys.argv[2], sys.argv[3], s["test_loss"], 100 * s["test_acc"], s["wall_seconds"]))
PY
}
echo "| run | convolutions | test loss | test accuracy | wall time (s) |"
echo "|---|---|---|---|---|"
for conv in direct winograd; do
  row "CNN, SAM ρ = 0.05, 3 epochs" "$conv" --model cnn --rho 0.05 --epochs 3
done
for rho in 0 0.05; do
  for conv in direct winograd; do
    row "WRN-10-2, crop+flip, ρ = $rho, 2 epochs of 4,999 images" "$conv" --model wrn --depth 10 --width 2 --opt sgd \
      --momentum 0.9 --lr 0.05 --schedule cosine --l2 5e-4 --batch-size 128 --epochs 2 --train-size 5555 \
      --augment crop,flip --rho "$rho"
  done
done
