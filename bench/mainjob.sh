#!/usr/bin/env bash
# The README's main job end to end against the same job in PyTorch (bench/torch_mainjob.py):
#   sam train --data mnist --model mlp --hidden 256,256 --rho 0.05 --epochs 2
# with the built binary (all cores, its default), and the PyTorch script at each thread setting of
# TORCH_THREADS (default "0 1": all cores, as sam train, then one thread, which can be faster for
# batches of 32), alternating, ROUNDS rounds; each run's wall time
# (process start to exit, data loading and evaluation included, measured here) and test accuracy,
# one JSON line per run on stdout, for bench/report.py:
#   {"impl":"mainjob"|"torchmainjob","round":R,"wall_seconds":W,"test_acc":A,"own_seconds":S,...}
# own_seconds is what the program reports itself (sam train's summary wall_seconds: training and
# evaluation; the script's: from after importing torch to the last evaluation).
#   bash bench/mainjob.sh             # ROUNDS=3: a few minutes a round on 2 cores (PyTorch twice)
#   QUICK=1 bash bench/mainjob.sh     # a smoke test: 2,000 training images, 1 epoch, ROUNDS=1
#   SAM=path/to/sam bash bench/mainjob.sh   # time this binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
job=(--epochs 2)
if [ "${QUICK:-0}" = 1 ]; then
  job=(--epochs 1 --train-size 2000)
  ROUNDS=${ROUNDS:-1}
fi
ROUNDS=${ROUNDS:-3}
TORCH_THREADS=${TORCH_THREADS:-0 1}
for th in $TORCH_THREADS; do
  case "$th" in *[!0-9]*) echo "mainjob: TORCH_THREADS: want whole numbers (0 = all cores), got '$th'" >&2; exit 2 ;; esac
done
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "mainjob: ROUNDS: want a whole number ≥ 1, got '$ROUNDS'" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sam=${SAM:-}
if [ -z "$sam" ]; then
  go build -o "$tmp/sam" ./cmd/sam
  sam="$tmp/sam"
fi
[ -x "$sam" ] || { echo "mainjob: SAM: $sam is not an executable" >&2; exit 2; }
now() { date +%s.%N; }
for r in $(seq "$ROUNDS"); do
  echo "mainjob: round $r of $ROUNDS" >&2
  rm -rf "$tmp/run"
  t0=$(now)
  "$sam" train --data mnist --model mlp --hidden 256,256 --rho 0.05 "${job[@]}" --out "$tmp/run" --quiet >&2
  t1=$(now)
  "$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(json.dumps({"impl": "mainjob", "round": int(sys.argv[2]), "wall_seconds": float(sys.argv[4]) - float(sys.argv[3]),
                  "test_acc": s["test_acc"], "own_seconds": s["wall_seconds"], "steps": s["steps"], "epochs": s["epochs"]}))
' "$tmp/run/summary.json" "$r" "$t0" "$t1"
  for th in $TORCH_THREADS; do
    t0=$(now)
    "$PY" bench/torch_mainjob.py "${job[@]}" --threads "$th" > "$tmp/torch.json"
    t1=$(now)
    "$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(json.dumps({"impl": "torchmainjob", "round": int(sys.argv[2]), "wall_seconds": float(sys.argv[4]) - float(sys.argv[3]),
                  "test_acc": s["test_acc"], "own_seconds": s["wall_seconds"], "epochs": s["epochs"], "threads": s["threads"],
                  "torch": s["torch"]}))
' "$tmp/torch.json" "$r" "$t0" "$t1"
  done
done
