#!/usr/bin/env bash
# Step time of the SAM-family members of issue 15 part 2 as a multiple of the base optimizer's
# step, all run side by side in one script: `sam bench` on the MLP 784-256-256-10, batch 128,
# plain SGD (Momentum-SAM needs a momentum, so it and its two references run with
# --momentum 0.9). Each row runs right after its base, ROUNDS times; the ratio is the median of
# those pairs. Prints the BENCHMARKS.md table; the raw JSON lines go to bench/family2.jsonl.
#   ROUNDS=3 bash bench/family2.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/sam" ./cmd/sam
# group | passes per step | flags; each group's first row is its base step.
rows=(
  "sgd|1|--rho 0"
  "sgd|2|--rho 0.05"
  "sgd|2 (independent)|--variant rwp --rho 0.05"
  "sgd|k + 1 = 3|--variant lookbehind --rho 0.05"
  "sgd|k + 1 = 2|--variant lookbehind --rho 0.05 --lookbehind-k 1 --lookbehind-alpha 1"
  "sgd|2|--variant bsam --rho 0.05"
  "momentum|1|--momentum 0.9 --rho 0"
  "momentum|2|--momentum 0.9 --rho 0.05"
  "momentum|1|--momentum 0.9 --variant msam --rho 0.05"
)
raw=bench/family2.jsonl
: > "$raw"
bench() { # round, role, flags
  "$bin/sam" bench --model mlp --hidden 256,256 --batch 128 --opt sgd --lr 0.01 --steps 500 $3 |
    sed "s|^{|{\"round\":$1,\"role\":\"$2\",\"flags\":\"$3\",|" >> "$raw"
}
for r in $(seq "$ROUNDS"); do
  echo "bench: round $r of $ROUNDS" >&2
  for row in "${rows[@]}"; do
    IFS='|' read -r group passes f <<< "$row"
    case "$f" in
      "--rho 0" | "--momentum 0.9 --rho 0") base=$f ;;
      *) bench "$r" base "$base"; bench "$r" row "$f" ;; # each row right after its base: a pair
    esac
  done
done
# Each row's ratio is the median over rounds of (base steps/s ÷ row steps/s) within a pair of
# runs one right after the other, which is steadier on a loaded machine than the ratio of two
# best-of figures; steps/s is the best over all runs of those flags.
python3 - "$raw" "$ROUNDS" "${rows[@]}" <<'PY'
import json, statistics, sys
raw, rounds, rows = sys.argv[1], sys.argv[2], [r.split("|", 2) for r in sys.argv[3:]]
runs = [json.loads(line) for line in open(raw)]
print(f"| flags | passes per step | steps/s (best) | step time ÷ base step (median of {rounds} paired runs) |")
print("|---|---|---|---|")
for group, passes, f in rows:
    best = max(d["steps_per_sec"] for d in runs if d["flags"] == f)
    ratios = [b["steps_per_sec"] / d["steps_per_sec"] for b, d in zip(runs, runs[1:])
              if d["role"] == "row" and b["role"] == "base" and d["flags"] == f]
    ratio = statistics.median(ratios) if ratios else 1.0
    print(f"| `--opt sgd {f}` | {passes} | {best:.1f} | {ratio:.2f} |")
PY
