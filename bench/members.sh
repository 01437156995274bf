#!/usr/bin/env bash
# Step time of every SAM-family setting as a multiple of the base optimizer's step, measured
# side by side: R rounds (default 7) of each setting in turn, best round of each kept (a busy
# machine only slows runs). Usage: bash bench/members.sh [MODEL_FLAGS...]
# e.g. bash bench/members.sh --model mlp --hidden 256,256   or   --model cnn
set -euo pipefail
cd "$(dirname "$0")/.."
R=${ROUNDS:-7}
STEPS=${STEPS:-40}
bin=$(mktemp -d)/sam
go build -o "$bin" ./cmd/sam
model=("$@"); [ ${#model[@]} -eq 0 ] && model=(--model mlp --hidden 256,256)
declare -a names=(base sam asam usam samon gsam "m=32" "ascent-steps=3" looksam esam)
declare -a flags=("--rho 0" "--rho 0.05" "--rho 0.5 --adaptive" "--rho 0.05 --variant usam" "--rho 0.05 --variant samon"
  "--rho 0.05 --variant gsam" "--rho 0.05 --m 32" "--rho 0.05 --ascent-steps 3" "--rho 0.05 --variant looksam" "--rho 0.05 --variant esam")
declare -A best
for r in $(seq "$R"); do
  for i in "${!names[@]}"; do
    sps=$("$bin" bench "${model[@]}" --batch 128 --opt sgd --threads "${THREADS:-1}" --steps "$STEPS" ${flags[$i]} | sed 's/.*"steps_per_sec":\([0-9.]*\).*/\1/')
    b=${best[$i]:-0}
    best[$i]=$(awk -v a="$sps" -v b="$b" 'BEGIN{print (a>b)?a:b}')
  done
done
echo "| setting | flags | steps/s | × base step |"
echo "|---|---|---|---|"
for i in "${!names[@]}"; do
  awk -v n="${names[$i]}" -v f="${flags[$i]}" -v s="${best[$i]}" -v b="${best[0]}" 'BEGIN{printf "| %s | `%s` | %.1f | %.2f |\n", n, f, s, b/s}'
done
