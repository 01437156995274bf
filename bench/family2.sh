#!/usr/bin/env bash
# Step time of the SAM-family members of issue 15 part 2 as a multiple of the base optimizer's
# step, all run side by side in one script: `sam bench` on the MLP 784-256-256-10, batch 128,
# plain SGD (Momentum-SAM needs a momentum, so it and its two references run with
# --momentum 0.9), best steps/s of ROUNDS rounds (interference on a shared machine only slows
# runs). Prints the BENCHMARKS.md table; the raw JSON lines go to bench/family2.jsonl.
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
for r in $(seq "$ROUNDS"); do
  echo "bench: round $r of $ROUNDS" >&2
  for row in "${rows[@]}"; do
    IFS='|' read -r group passes f <<< "$row"
    "$bin/sam" bench --model mlp --hidden 256,256 --batch 128 --opt sgd --lr 0.01 --steps 1000 $f |
      sed "s|^{|{\"round\":$r,\"group\":\"$group\",\"flags\":\"$f\",|" >> "$raw"
  done
done
echo "| flags | passes per step | steps/s (best of $ROUNDS) | step time ÷ base step |"
echo "|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r group passes f <<< "$row"
  best=$(grep -F "\"flags\":\"$f\"," "$raw" | grep -o '"steps_per_sec":[0-9.]*' | cut -d: -f2 | sort -g | tail -1)
  [ "$f" = "--rho 0" ] || [ "$f" = "--momentum 0.9 --rho 0" ] && base=$best
  awk -v f="$f" -v p="$passes" -v s="$best" -v b="$base" 'BEGIN {printf "| `--opt sgd %s` | %s | %.1f | %.2f |\n", f, p, s, b/s}'
done
