#!/usr/bin/env bash
# RESULTS.md's "Every member under 40% label noise" table: SAM.md's label-noise setting
# (Fashion-MNIST, 10,000 training images, 40% symmetric label noise, MLP 784-512-512-10, SGD
# momentum 0.9, lr 0.05 with cosine decay, batch 128, 100 epochs) for the base optimizer and every
# member of the SAM family (`sam variants`) at its default settings and ρ = RHO (default 0.1),
# seeds given (default 1 2); MEMBERS="a b" runs only those. Two members need other flags here:
# RWP's ρ is its noise's std relative to each filter's norm (σ = 0.01, as in its RESULTS rows:
# 0.1 diverges), and bSAM is its own optimizer (no --momentum; its β₁ plays that part).
# JOBS runs at a time (default 2), one thread each; ~40 s a run on an idle core. Prints one markdown row per member: mean ± std of the test accuracy over the seeds,
# and the mean training accuracy on the noisy labels (memorisation).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/sam
go build -o "$bin" ./cmd/sam
seeds=(1 2)
[ $# -eq 0 ] || seeds=("$@")
rho=${RHO:-0.1}
out=$(mktemp -d)
members=(base $("$bin" variants --markdown | sed -n 's/^| `\([a-z0-9-]*\)` |.*/\1/p'))
[ -z "${MEMBERS:-}" ] || read -r -a members <<<"$MEMBERS"
run() { # member seed
  local v=$1 s=$2 flags="--momentum 0.9 --rho $(rhoOf "$1") --variant $1"
  case $v in
  base) flags="--momentum 0.9 --rho 0" ;;
  bsam) flags="--rho $rho --variant bsam" ;;
  esac
  "$bin" train --quiet --threads 1 --data fashion-mnist --train-size 10000 --label-noise 0.4 \
    --model mlp --hidden 512,512 --opt sgd --lr 0.05 --schedule cosine \
    --batch-size 128 --epochs "${EPOCHS:-100}" --val-fraction 0 --seed "$s" $flags --out "$out/$v-$s" >/dev/null 2>"$out/$v-$s.err" \
    || echo "$v seed $s failed: $(cat "$out/$v-$s.err")" >&2
}
rhoOf() { if [ "$1" = rwp ]; then echo 0.01; else echo "$rho"; fi; }
export -f run rhoOf; export bin rho out
for v in "${members[@]}"; do for s in "${seeds[@]}"; do echo "$v $s"; done; done |
  xargs -P "${JOBS:-2}" -n 2 bash -c 'run "$0" "$1"'
echo "| member | ρ | test accuracy (mean ± std over seeds ${seeds[*]}) | train accuracy on the noisy labels |"
echo "|---|---|---|---|"
for v in "${members[@]}"; do
  accs=() trs=()
  for s in "${seeds[@]}"; do
    f="$out/$v-$s/summary.json"
    [ -f "$f" ] || continue
    accs+=("$(grep -o '"test_acc": [0-9.e-]*' "$f" | awk '{print $2}')")
    trs+=("$(grep -o '"train_acc": [0-9.e-]*' "$f" | awk '{print $2}')")
  done
  r=$(rhoOf "$v"); [ "$v" = base ] && r=0
  printf '%s\n' "${accs[@]}" | awk -v v="$v" -v r="$r" -v tr="$(printf '%s\n' "${trs[@]}" | awk '{t+=$1} END {print t/NR}')" \
    '{s+=$1; ss+=$1*$1; n++} END {m=s/n; sd=(n>1)?sqrt((ss-n*m*m)/(n-1)):0; printf "| %s | %s | %.2f%% ± %.2f | %.2f%% |\n", v, r, 100*m, 100*sd, 100*tr}'
done
rm -rf "$out"
