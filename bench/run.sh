#!/usr/bin/env bash
# Side-by-side benchmark of this project against PyTorch 1.13 (Debian's python3-torch, a
# benchmark peer only) on this machine, alternating the two in one run; writes BENCHMARKS.md.
#   bash bench/run.sh            # ROUNDS=3 by default; about 8 minutes on 2 cores (ROUNDS=5: 13)
#   bash bench/run.sh wrn        # only the WideResNet-16-4 rows (WRN_ROUNDS=1: about 5 minutes),
#                                # keeping the other measurements of bench/results.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3 # Debian's Python, where python3-torch installs
# PyTorch needs an optimised BLAS to be a fair peer: Debian's torch otherwise runs on the
# reference BLAS (about 15× slower here).
if ! "$PY" -c "import torch" 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  echo "bench: installing Debian's python3-torch and OpenBLAS (a benchmark peer, not a dependency)" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-pthread >/dev/null
fi
ROUNDS=${ROUNDS:-3}
MODE=${1:-all}
out=$(mktemp -d)
go build -o "$out/sam" ./cmd/sam
go build -o "$out/gemm" ./bench/gemm
res="$out/results.jsonl"
tag() { sed "s/^{/{\"impl\":\"$1\",\"round\":$2,/" >> "$res"; }
# WideResNet-16-4 on synthetic 32×32×3 images, batch 32 (a CPU-sized batch for this model), both
# implementations; then the project's SAM step with and without crop+flip+cutout.
wrn_round() {
  for rho in 0 0.05; do
    for th in 1 2; do
      "$out/sam" bench --model wrn --depth 16 --width 4 --image 32x32x3 --batch 32 --opt sgd --lr 0.01 --rho "$rho" --threads "$th" --steps 3 | tag wrn "$1"
      "$PY" bench/torch_bench.py --model wrn-16-4 --batch 32 --rho "$rho" --threads "$th" --steps 3 | tag torchwrn "$1"
    done
  done
  # Alternating, three times: interference on this VM only slows runs, the best of each counts.
  for _ in 1 2 3; do
    for a in "" "--augment crop,flip,cutout"; do
      "$out/sam" bench --model wrn --depth 16 --width 4 --image 32x32x3 --batch 32 --opt sgd --lr 0.01 --rho 0.05 --steps 3 $a | tag wrnaug "$1"
    done
  done
  # The augmentation alone: crop+flip+cutout of a batch of 128 images of 3×32×32 (all cores).
  go test ./train -run '^$' -bench '^BenchmarkAugment$' -benchtime 200x | awk '/^BenchmarkAugment/ {printf "{\"batch\":128,\"ns_per_batch\":%s}\n", $3}' | tag augbatch "$1"
  # Whole SAM steps of WRN-10-1 (batch 32), alternating with and without augmentation step by step.
  go test ./train -run '^$' -bench '^BenchmarkAugmentOverhead$' -benchtime 20x |
    awk '/^BenchmarkAugmentOverhead/ {for (i = 3; i < NF; i++) v[$(i+1)] = $i; printf "{\"plain_us\":%s,\"augmented_us\":%s,\"overhead_pct\":%s}\n", v["plain-µs"], v["augmented-µs"], v["overhead-%"]}' | tag augstep "$1"
}
if [ "$MODE" = wrn ]; then
  ROUNDS=0
  grep -v '"impl":"\(wrn\|torchwrn\|wrnaug\|augbatch\|augstep\)"' bench/results.jsonl | grep -v '"scope":"wrn"' > "$res" || true
else
  "$PY" bench/report.py /dev/null --machine | sed 's/^{/{"impl":"machine","scope":"all","round":0,/' >> "$res"
fi
for r in $(seq "$ROUNDS"); do
  echo "bench: round $r of $ROUNDS" >&2
  for model in mlp cnn; do
    steps=1000; extra=(--hidden 256,256)
    [ "$model" = cnn ] && { steps=20; extra=(); }
    for rho in 0 0.05; do
      for th in 1 2; do
        "$out/sam" bench --model "$model" "${extra[@]}" --batch 128 --opt sgd --lr 0.01 --rho "$rho" --threads "$th" --steps "$steps" | tag go "$r"
        "$PY" bench/torch_bench.py --model "$model" --batch 128 --rho "$rho" --threads "$th" --steps "$steps" | tag torch "$r"
      done
    done
  done
  # The first run after PyTorch's CNN runs was slow in most rounds (the system reclaiming its
  # memory, we think): settle and warm up before the variants' rows, which share one baseline.
  sleep 3
  "$out/sam" bench --model mlp --hidden 256,256 --batch 128 --opt sgd --lr 0.01 --steps 1500 --rho 0 >/dev/null
  for v in "--rho 0" "--rho 0.05" "--variant usam --rho 0.05" "--rho 0.05 --ascent-steps 3" "--variant gsam --rho 0.05" \
    "--variant looksam --rho 0.05 --looksam-k 5" "--variant esam --rho 0.05 --esam-beta 0.6 --esam-gamma 0.5" \
    "--variant esam --rho 0.05 --esam-beta 0.6 --esam-gamma 1" "--variant samon --rho 0.05" \
    "--adaptive --rho 0.5" "--rho 0.05 --m 32"; do
    "$out/sam" bench --model mlp --hidden 256,256 --batch 128 --opt sgd --lr 0.01 --steps 1500 $v \
      | sed "s|^{|{\"flags\":\"$v\",|" | tag variant "$r"
  done
  for v in "--rho 0" "--rho 0.05" "--variant looksam --rho 0.05 --looksam-k 5" "--variant esam --rho 0.05 --esam-beta 0.6 --esam-gamma 0.5"; do
    "$out/sam" bench --model cnn --batch 128 --opt sgd --lr 0.01 --steps 30 $v \
      | sed "s|^{|{\"flags\":\"$v\",|" | tag cnnvariant "$r"
  done
  "$out/gemm" -n 1024 -reps 5 | tag gemm "$r"
  for th in 1 2; do
    "$PY" -c "
import json, time, torch
torch.set_num_threads($th)
a = torch.randn(1024, 1024); b = torch.randn(1024, 1024); a @ b
best = 0
for _ in range(5):
    t = time.perf_counter(); a @ b; best = max(best, 2 * 1024**3 / (time.perf_counter() - t) / 1e9)
print(json.dumps({'n': 1024, 'threads': $th, 'gflops': best}))" | tag torchgemm "$r"
  done
done
"$PY" bench/report.py /dev/null --machine | sed 's/^{/{"impl":"machine","scope":"wrn","round":0,/' >> "$res"
for r in $(seq "${WRN_ROUNDS:-1}"); do
  echo "bench: WideResNet round $r" >&2
  wrn_round "$r"
done
"$PY" bench/report.py "$res" > BENCHMARKS.md
[ -f bench/mpi.md ] && { echo; cat bench/mpi.md; } >> BENCHMARKS.md # the data-parallel section (bash bench/mpi.sh)
cp "$res" bench/results.jsonl
echo "bench: wrote BENCHMARKS.md and its raw measurements, bench/results.jsonl" >&2
rm -rf "$out"
