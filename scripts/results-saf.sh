#!/usr/bin/env bash
# The SAF and MESA rows of RESULTS.md (issue 15 part 2): SAF and MESA at the shared budget of
# scripts/results-variants.sh (MLP 784-256-256-10, defaults: Adam, lr 0.0005, batch 32, 2 epochs)
# on mnist and fashion-mnist, with the base optimizer beside it; seeds given (default 1 2 3).
# Two epochs leave no room for the authors' E = 2 and start epoch 5, so the rows use E = 1 from
# the second epoch on (--saf-epochs 1 --saf-start 0): the term acts in epoch 2 only; MESA's rows
# start in epoch 2 as well (--mesa-start 0).
# Usage: bash scripts/results-saf.sh [seeds...]   (MEMBERS="mesa" runs only those rows)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/sam" ./cmd/sam
seeds=(1 2 3)
[ $# -eq 0 ] || seeds=("$@")
names=(${MEMBERS:-sgd-rho0 saf saf-lambda0.8 mesa mesa-decay0.999})
declare -A flags=(
  [sgd-rho0]="--rho 0"
  [saf]="--variant saf --saf-epochs 1 --saf-start 0"
  [saf-lambda0.8]="--variant saf --saf-epochs 1 --saf-start 0 --saf-lambda 0.8"
  [mesa]="--variant mesa --mesa-start 0"
  [mesa-decay0.999]="--variant mesa --mesa-start 0 --mesa-decay 0.999"
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
