#!/usr/bin/env bash
# Step time of SAF and MESA (issue 15 part 2) as a multiple of the base optimizer's step:
# `sam bench` on the MLP 784-256-256-10, batch 128, plain SGD, with SAM beside them. sam bench
# repeats one batch, so with --saf-epochs 1 --saf-start 0 (MESA: --mesa-start 0) every timed
# step carries the trajectory term. Each row runs right after its base, ROUNDS times; the ratio
# is the median of those pairs. Prints the BENCHMARKS.md rows; the raw JSON lines go to
# bench/saf.jsonl.
#   ROUNDS=5 bash bench/saf.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/sam" ./cmd/sam
# passes per step | flags; the first row is the base step.
rows=(
  "1|--rho 0"
  "2|--rho 0.05"
  "1|--variant saf --saf-epochs 1 --saf-start 0"
  "1|--variant saf --saf-lambda 0"
  "1 + 1 forward|--variant mesa --mesa-start 0"
)
raw=bench/saf.jsonl
: > "$raw"
bench() { # round, role, flags
  "$bin/sam" bench --model mlp --hidden 256,256 --batch 128 --opt sgd --lr 0.01 --steps 500 $3 |
    sed "s|^{|{\"round\":$1,\"role\":\"$2\",\"flags\":\"$3\",|" >> "$raw"
}
for r in $(seq "$ROUNDS"); do
  echo "bench: round $r of $ROUNDS" >&2
  for row in "${rows[@]:1}"; do
    bench "$r" base "--rho 0"
    bench "$r" row "${row#*|}"
  done
done
python3 - "$raw" "$ROUNDS" "${rows[@]}" <<'PY'
import json, statistics, sys
raw, rounds, rows = sys.argv[1], sys.argv[2], [r.split("|", 1) for r in sys.argv[3:]]
runs = [json.loads(line) for line in open(raw)]
print(f"| flags | passes per step | steps/s (best) | step time ÷ base step (median of {rounds} paired runs) |")
print("|---|---|---|---|")
for passes, f in rows:
    best = max(d["steps_per_sec"] for d in runs if d["flags"] == f)
    ratios = [b["steps_per_sec"] / d["steps_per_sec"] for b, d in zip(runs, runs[1:])
              if d["role"] == "row" and b["role"] == "base" and d["flags"] == f]
    ratio = statistics.median(ratios) if ratios else 1.0
    print(f"| `--opt sgd {f}` | {passes} | {best:.1f} | {ratio:.2f} |")
PY
