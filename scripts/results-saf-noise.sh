#!/usr/bin/env bash
# SAF under SAM.md's label-noise setting, with the flags of scripts/results-members-noise.sh
# (Fashion-MNIST, 10,000 training images, 40% symmetric label noise, MLP 784-512-512-10, SGD
# momentum 0.9, lr 0.05 with cosine decay, batch 128, 100 epochs), for the base optimizer, SAM
# (ρ = 0.1, that script's ρ) and SAF at the authors' defaults (λ = 0.3, τ = 5, E = 2, from
# epoch 6), seeds given (default 1 2). JOBS runs at a time (default 2), one thread each.
# Prints one markdown row per run kind: mean ± std of the test accuracy over the seeds and the
# mean training accuracy on the noisy labels (memorisation).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/sam
go build -o "$bin" ./cmd/sam
seeds=(1 2)
[ $# -eq 0 ] || seeds=("$@")
out=$(mktemp -d)
kinds=(${KINDS:-base sam saf})
run() { # kind seed
  local v=$1 s=$2 flags
  case "$v" in
    base) flags="--rho 0" ;;
    sam) flags="--rho 0.1" ;;
    *) flags="--variant $v" ;;
  esac
  "$bin" train --quiet --threads 1 --data fashion-mnist --train-size 10000 --label-noise 0.4 \
    --model mlp --hidden 512,512 --opt sgd --momentum 0.9 --lr 0.05 --schedule cosine \
    --batch-size 128 --epochs "${EPOCHS:-100}" --val-fraction 0 --seed "$s" $flags --out "$out/$v-$s" >/dev/null 2>"$out/$v-$s.err" \
    || echo "$v seed $s failed: $(cat "$out/$v-$s.err")" >&2
}
export -f run; export bin out
for v in "${kinds[@]}"; do for s in "${seeds[@]}"; do echo "$v $s"; done; done |
  xargs -P "${JOBS:-2}" -n 2 bash -c 'run "$0" "$1"'
echo "| run | flags | test accuracy (mean ± std over seeds ${seeds[*]}) | train accuracy on the noisy labels |"
echo "|---|---|---|---|"
for v in "${kinds[@]}"; do
  accs=() trs=()
  for s in "${seeds[@]}"; do
    f="$out/$v-$s/summary.json"
    [ -f "$f" ] || continue
    accs+=("$(grep -o '"test_acc": [0-9.e-]*' "$f" | awk '{print 100*$2}')")
    trs+=("$(grep -o '"train_acc": [0-9.e-]*' "$f" | awk '{print 100*$2}')")
  done
  [ ${#accs[@]} -gt 0 ] || continue
  case "$v" in base) f="--rho 0" ;; sam) f="--rho 0.1" ;; *) f="--variant $v" ;; esac
  stats=$(printf '%s\n' "${accs[@]}" | awk '{s+=$1; ss+=$1*$1; n++} END {m=s/n; v=(n>1)?(ss-n*m*m)/(n-1):0; if (v<0) v=0; printf "%.2f%% ± %.2f", m, sqrt(v)}')
  tr=$(printf '%s\n' "${trs[@]}" | awk '{t+=$1; n++} END {printf "%.2f%%", t/n}')
  echo "| $v | \`$f\` | $stats | $tr |"
done
rm -rf "$out"
