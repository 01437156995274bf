#!/usr/bin/env bash
# Regenerates the "WSAM, GCSAM, FriendlySAM, VaSSO, Fisher SAM" table of RESULTS.md: each of
# these members at the shared budget of scripts/results-variants.sh (MLP 784-256-256-10, the
# README's defaults: Adam, learning rate 0.0005, batch 32, 2 epochs) on mnist and fashion-mnist,
# next to the base optimizer and SAM, seeds given (default 1 2 3). Fashion-MNIST needs Debian's
# dataset-fashion-mnist. Usage: bash scripts/results-members-fam1.sh [seeds...]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/sam
go build -o "$bin" ./cmd/sam
seeds=(1 2 3)
[ $# -eq 0 ] || seeds=("$@")
out=$(mktemp -d)
names=(sgd-rho0 sam wsam wsam-coupled gcsam gcsam-descent friendlysam vasso fishersam)
declare -A flags=(
  [sgd-rho0]="--rho 0"
  [sam]="--rho 0.05"
  [wsam]="--variant wsam --rho 0.05"
  [wsam-coupled]="--variant wsam --rho 0.05 --wsam-decouple 0"
  [gcsam]="--variant gcsam --rho 0.05"
  [gcsam-descent]="--variant gcsam --rho 0.05 --gcsam-descent 1"
  [friendlysam]="--variant friendlysam --rho 0.05"
  [vasso]="--variant vasso --rho 0.05"
  [fishersam]="--variant fishersam --rho 0.05"
)
echo "| data | member | flags (defaults otherwise) | test accuracy, mean ± std over seeds ${seeds[*]} | seconds per run |"
echo "|---|---|---|---|---|"
for data in mnist fashion-mnist; do
  for v in "${names[@]}"; do
    accs=(); walls=()
    for s in "${seeds[@]}"; do
      d="$out/$data-$v-$s"
      "$bin" train --quiet --data "$data" --epochs 2 --seed "$s" --out "$d" ${flags[$v]} >/dev/null
      accs+=("$(grep -o '"test_acc": [0-9.e-]*' "$d/summary.json" | awk '{print 100*$2}')")
      walls+=("$(grep -o '"wall_seconds": [0-9.e-]*' "$d/summary.json" | awk '{print $2}')")
    done
    stats=$(printf '%s\n' "${accs[@]}" | awk '{s+=$1; ss+=$1*$1; n++} END {m=s/n; v=(n>1)?(ss-n*m*m)/(n-1):0; if (v<0) v=0; printf "%.2f%% ± %.2f", m, sqrt(v)}')
    wall=$(printf '%s\n' "${walls[@]}" | awk '{s+=$1; n++} END {printf "%.1f", s/n}')
    echo "| $data | $v | \`${flags[$v]}\` | $stats | $wall |"
  done
done
rm -rf "$out" "$(dirname "$bin")"
