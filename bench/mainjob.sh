#!/usr/bin/env bash
# The README's main job end to end against the same job in PyTorch (bench/torch_mainjob.py):
#   sam train --data mnist --model mlp --hidden 256,256 --rho 0.05 --epochs 2
# with the built binary (all cores, its default), and the PyTorch script at each thread setting of
# TORCH_THREADS (default "0 1": all cores, as sam train, then one thread, which can be faster for
# batches of 32), alternating, ROUNDS rounds; each run's wall time
# (process start to exit, data loading and evaluation included, measured here), peak resident
# memory and test accuracy, one JSON line per run on stdout, for bench/report.py:
#   {"impl":"mainjob"|"torchmainjob","round":R,"wall_seconds":W,"max_rss_mb":M,"test_acc":A,"own_seconds":S,...}
# own_seconds is what the program reports itself (sam train's summary wall_seconds: training and
# evaluation; the script's: from after importing torch to the last evaluation).
#   bash bench/mainjob.sh             # ROUNDS=3: about 2 minutes a round on 2 cores (PyTorch twice;
#                                     # at 1 thread its job took 26 s here, test accuracy 97.63%)
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
# timed OUT CMD...: runs CMD (its stdout to stderr), writes {"wall_seconds","max_rss_mb"} of it to OUT.
timed() {
  "$PY" -c '
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[2:], stdout=sys.stderr).returncode
wall = time.perf_counter() - t
if rc:
    sys.exit("mainjob: %s exited with status %d" % (sys.argv[2], rc))
json.dump({"wall_seconds": wall, "max_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}, open(sys.argv[1], "w"))
' "$@"
}
for r in $(seq "$ROUNDS"); do
  echo "mainjob: round $r of $ROUNDS" >&2
  rm -rf "$tmp/run"
  timed "$tmp/t.json" "$sam" train --data mnist --model mlp --hidden 256,256 --rho 0.05 "${job[@]}" --out "$tmp/run" --quiet
  "$PY" -c '
import json, sys
s, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[3]))
print(json.dumps({"impl": "mainjob", "round": int(sys.argv[2]), **t,
                  "test_acc": s["test_acc"], "own_seconds": s["wall_seconds"], "steps": s["steps"], "epochs": s["epochs"]}))
' "$tmp/run/summary.json" "$r" "$tmp/t.json"
  for th in $TORCH_THREADS; do
    timed "$tmp/t.json" "$PY" bench/torch_mainjob.py "${job[@]}" --threads "$th" --out "$tmp/torch.json"
    "$PY" -c '
import json, sys
s, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[3]))
print(json.dumps({"impl": "torchmainjob", "round": int(sys.argv[2]), **t,
                  "test_acc": s["test_acc"], "own_seconds": s["wall_seconds"], "epochs": s["epochs"], "threads": s["threads"],
                  "torch": s["torch"]}))
' "$tmp/torch.json" "$r" "$tmp/t.json"
  done
done
