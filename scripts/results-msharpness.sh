#!/usr/bin/env bash
# Regenerates the "m-sharpness's chunks side by side" table of RESULTS.md: the same seeded
# m-sharpness runs (--m 32 at batch 128) on one thread and on two, where the chunks run side by
# side on forks of the model; the weights' SHA-256 (the same file on both), the test accuracy and
# the wall time. The MNIST MLP of the README's main job and the Fashion-MNIST CNN of issue 3.
#   bash scripts/results-msharpness.sh     # about 2 minutes on 2 cores
# Needs Fashion-MNIST: apt-get install dataset-fashion-mnist (or SAM_FASHION_MNIST_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o /tmp/sam-results-msharp ./cmd/sam
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
row() { # name threads flags...
  local name=$1 th=$2 d="$out/$RANDOM"
  shift 2
  /tmp/sam-results-msharp train --quiet --seed 1 --threads "$th" --out "$d" "$@" >/dev/null
  python3 - "$d" "$name" "$th" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
s = json.load(open(d + "/summary.json"))
h = hashlib.sha256(open(d + "/model.safetensors", "rb").read()).hexdigest()[:16]
print("| %s | %s | `%s` | %.2f%% | %.1f |" % (sys.argv[2], sys.argv[3], h, 100 * s["test_acc"], s["wall_seconds"]))
PY
}
echo "| run | threads | model.safetensors SHA-256 | test accuracy | wall time (s) |"
echo "|---|---|---|---|---|"
for th in 1 2; do
  row "MNIST MLP 256-256, Adam, SAM ρ = 0.05, --m 32, batch 128, 2 epochs" "$th" --data mnist --model mlp \
    --hidden 256,256 --rho 0.05 --m 32 --batch-size 128 --epochs 2
done
for th in 1 2; do
  row "Fashion-MNIST CNN, Adam, SAM ρ = 0.05, --m 32, batch 128, 1 epoch" "$th" --data fashion-mnist --model cnn \
    --rho 0.05 --m 32 --batch-size 128 --epochs 1
done
