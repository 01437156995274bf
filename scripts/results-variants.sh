#!/usr/bin/env bash
# Regenerates the "SAM variants" table of RESULTS.md: every variant on the README's main job
# (MLP 784-256-256-10, defaults, 2 epochs) on mnist and fashion-mnist, seeds given (default 1 2 3).
# Usage: bash scripts/results-variants.sh [seeds...]
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o /tmp/sam-results ./cmd/sam
seeds=(1 2 3)
[ $# -eq 0 ] || seeds=("$@")
out=$(mktemp -d)
declare -A flags=(
  [sgd-rho0]="--rho 0"
  [sam]="--rho 0.05"
  [usam]="--variant usam --rho 0.05"
  [multistep-k3]="--rho 0.05 --ascent-steps 3"
  [gsam]="--variant gsam --rho 0.05 --gsam-alpha 0.1"
  [looksam-k5]="--variant looksam --rho 0.05 --looksam-k 5"
  [looksam-k5-a0.3]="--variant looksam --rho 0.05 --looksam-k 5 --looksam-alpha 0.3"
  [esam]="--variant esam --rho 0.05 --esam-beta 0.6 --esam-gamma 0.5"
  [esam-swp-only]="--variant esam --rho 0.05 --esam-beta 0.6 --esam-gamma 1"
  [samon]="--variant samon --rho 0.05"
  [asam]="--adaptive --rho 0.5"
)
echo "| data | variant | flags | test accuracy, mean ± std over seeds ${seeds[*]} | seconds per run |"
echo "|---|---|---|---|---|"
for data in mnist fashion-mnist; do
  for v in sgd-rho0 sam usam multistep-k3 gsam looksam-k5 looksam-k5-a0.3 esam esam-swp-only samon asam; do
    accs=(); walls=()
    for s in "${seeds[@]}"; do
      d="$out/$data-$v-$s"
      /tmp/sam-results train --quiet --data "$data" --epochs 2 --seed "$s" --out "$d" ${flags[$v]} >/dev/null
      accs+=("$(grep -o '"test_acc": [0-9.e-]*' "$d/summary.json" | awk '{print 100*$2}')")
      walls+=("$(grep -o '"wall_seconds": [0-9.e-]*' "$d/summary.json" | awk '{print $2}')")
    done
    stats=$(printf '%s\n' "${accs[@]}" | awk '{s+=$1; ss+=$1*$1; n++} END {m=s/n; v=(n>1)?(ss-n*m*m)/(n-1):0; if (v<0) v=0; printf "%.2f%% ± %.2f", m, sqrt(v)}')
    wall=$(printf '%s\n' "${walls[@]}" | awk '{s+=$1; n++} END {printf "%.1f", s/n}')
    echo "| $data | $v | \`${flags[$v]}\` | $stats | $wall |"
  done
done
rm -rf "$out"
