#!/usr/bin/env bash
# The "SAM family, part 2" table of RESULTS.md: Momentum-SAM, RWP, Lookbehind-SAM and bSAM (issue
# 15 part 2) at the shared budget of scripts/results-variants.sh (MLP 784-256-256-10, defaults:
# Adam, lr 0.0005, batch 32, 2 epochs) on mnist and fashion-mnist, with the base optimizer and
# SAM beside them; seeds given (default 1 2 3). Prints the table's rows.
# Usage: bash scripts/results-family2.sh [seeds...]   (MEMBERS="rwp bsam" runs only those rows)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/sam" ./cmd/sam
seeds=(1 2 3)
[ $# -eq 0 ] || seeds=("$@")
names=(${MEMBERS:-sgd-rho0 sam msam msam-rho0.3 rwp lookbehind lookbehind-adaptive bsam})
declare -A flags=(
  [sgd-rho0]="--rho 0"
  [sam]="--rho 0.05"
  [msam]="--variant msam --rho 0.05"
  [msam-rho0.3]="--variant msam --rho 0.3"
  [rwp]="--variant rwp --rho 0.01"
  [lookbehind]="--variant lookbehind --rho 0.05"
  [lookbehind-adaptive]="--variant lookbehind --rho 0.05 --lookbehind-adaptive 1"
  [bsam]="--variant bsam --opt sgd --lr 0.02 --rho 0.01 --bsam-n 54000"
)
echo "| data | member | flags | test accuracy, mean ± std over seeds ${seeds[*]} | seconds per run |"
echo "|---|---|---|---|---|"
for data in mnist fashion-mnist; do
  for v in "${names[@]}"; do
    accs=(); walls=()
    for s in "${seeds[@]}"; do
      d="$bin/$data-$v-$s"
      "$bin/sam" train --quiet --data "$data" --epochs 2 --seed "$s" --out "$d" ${flags[$v]} >/dev/null
      accs+=("$(grep -o '"test_acc": [0-9.e-]*' "$d/summary.json" | awk '{print 100*$2}')")
      walls+=("$(grep -o '"wall_seconds": [0-9.e-]*' "$d/summary.json" | awk '{print $2}')")
    done
    stats=$(printf '%s\n' "${accs[@]}" | awk '{s+=$1; ss+=$1*$1; n++} END {m=s/n; v=(n>1)?(ss-n*m*m)/(n-1):0; if (v<0) v=0; printf "%.2f%% ± %.2f", m, sqrt(v)}')
    wall=$(printf '%s\n' "${walls[@]}" | awk '{s+=$1; n++} END {printf "%.1f", s/n}')
    echo "| $data | $v | \`${flags[$v]}\` | $stats | $wall |"
  done
done
