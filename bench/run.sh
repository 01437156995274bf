#!/usr/bin/env bash
# Side-by-side benchmark of this project against PyTorch 1.13 (Debian's python3-torch, a
# benchmark peer only) on this machine, alternating the two in one run; writes BENCHMARKS.md with
# every row and a "targets" section that checks issue 14's targets against this run.
#   bash bench/run.sh            # ROUNDS=3 by default; about 25 minutes on 2 cores (estimated from
#                                # the step rates: not yet run whole): per round about 4.5 minutes
#                                # (MLP, CNN and ResNet rows, the members' ratios on the three
#                                # models, the GEMMs), then the main job (MAINJOB_ROUNDS=1: about
#                                # 3 minutes) and the WideResNet-16-4 rows (WRN_ROUNDS=1: about 5)
#   bash bench/run.sh wrn        # only the WideResNet-16-4 rows, keeping the other measurements
#                                # of bench/results.jsonl
#   QUICK=1 bash bench/run.sh    # a smoke test of the harness (every loop 2 timed steps, 1 round,
#                                # a tiny main job; about 4 minutes): writes BENCHMARKS.md and
#                                # results.jsonl to QUICK_DIR (default /tmp/sam-bench-quick), never
#                                # to the repository
# The parts that BENCHMARKS.md holds after the sharpness section (written by bench/members.sh,
# bench/family2.sh, bench/saf.sh, bench/mpi.sh, ...) are kept as they are.
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
QUICK=${QUICK:-0}
[ "$QUICK" = 1 ] && ROUNDS=${ROUNDS:-1}
ROUNDS=${ROUNDS:-3}
MAINJOB_ROUNDS=${MAINJOB_ROUNDS:-1}
WRN_ROUNDS=${WRN_ROUNDS:-1}
for v in ROUNDS MAINJOB_ROUNDS WRN_ROUNDS; do
  case "${!v}" in '' | *[!0-9]*) echo "bench: $v: want a whole number, got '${!v}'" >&2; exit 2 ;; esac
done
MODE=${1:-all}
case "$MODE" in all | wrn) ;; *) echo "bench: want no argument or 'wrn', got '$MODE'" >&2; exit 2 ;; esac
md=BENCHMARKS.md; keep=bench/results.jsonl
if [ "$QUICK" = 1 ]; then
  q=${QUICK_DIR:-/tmp/sam-bench-quick}
  mkdir -p "$q"
  cp BENCHMARKS.md "$q/BENCHMARKS.md"
  [ "$MODE" = wrn ] && cp bench/results.jsonl "$q/results.jsonl"
  md=$q/BENCHMARKS.md; keep=$q/results.jsonl
fi
# steps N: the number of steps of a loop, N, or 2 with QUICK=1 (sam bench warms up with 3 more).
steps() { if [ "$QUICK" = 1 ]; then echo 2; else echo "$1"; fi; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/sam" ./cmd/sam
go build -o "$out/gemm" ./bench/gemm
res="$out/results.jsonl"
tag() { sed "s/^{/{\"impl\":\"$1\",\"round\":$2,/" >> "$res"; }
# WideResNet-16-4 on synthetic 32×32×3 images, batch 32 (a CPU-sized batch for this model), both
# implementations; then the project's SAM step with and without crop+flip+cutout.
wrn_round() {
  local s augs=3 bt=200 st=20
  s=$(steps 6) # 6 timed steps: with 3, SAM ÷ SGD varied by ±0.04 from run to run
  [ "$QUICK" = 1 ] && { augs=1; bt=2; st=2; }
  for rho in 0 0.05; do
    for th in 1 2; do
      "$out/sam" bench --model wrn --depth 16 --width 4 --image 32x32x3 --batch 32 --opt sgd --lr 0.01 --rho "$rho" --threads "$th" --steps "$s" | tag wrn "$1"
      "$out/sam" bench --model wrn --depth 16 --width 4 --image 32x32x3 --batch 32 --opt sgd --lr 0.01 --rho "$rho" --threads "$th" --steps "$s" --conv winograd | tag wrnwino "$1"
      "$PY" bench/torch_bench.py --model wrn-16-4 --batch 32 --rho "$rho" --threads "$th" --steps "$s" | tag torchwrn "$1"
    done
  done
  # Alternating, three times: interference on this VM only slows runs, the best of each counts.
  for _ in $(seq $augs); do
    for a in "" "--augment crop,flip,cutout"; do
      "$out/sam" bench --model wrn --depth 16 --width 4 --image 32x32x3 --batch 32 --opt sgd --lr 0.01 --rho 0.05 --steps "$s" $a | tag wrnaug "$1"
    done
  done
  # The augmentation alone: crop+flip+cutout of a batch of 128 images of 3×32×32 (all cores).
  go test ./train -run '^$' -bench '^BenchmarkAugment$' -benchtime ${bt}x | awk '/^BenchmarkAugment/ {printf "{\"batch\":128,\"ns_per_batch\":%s}\n", $3}' | tag augbatch "$1"
  # Whole SAM steps of WRN-10-1 (batch 32), alternating with and without augmentation step by step.
  go test ./train -run '^$' -bench '^BenchmarkAugmentOverhead$' -benchtime ${st}x |
    awk '/^BenchmarkAugmentOverhead/ {for (i = 3; i < NF; i++) v[$(i+1)] = $i; printf "{\"plain_us\":%s,\"augmented_us\":%s,\"overhead_pct\":%s}\n", v["plain-µs"], v["augmented-µs"], v["overhead-%"]}' | tag augstep "$1"
}
# The members whose step time issue 14 bounds (and two cheaper ones for reference), each as a
# multiple of the base step of the same round, on the MLP, the CNN and the ResNet.
members=("--rho 0" "--rho 0.05" "--rho 0.05 --ascent-steps 3" "--variant gsam --rho 0.05" "--adaptive --rho 0.5"
  "--variant usam --rho 0.05" "--variant samon --rho 0.05" "--rho 0.05 --m 32"
  "--variant looksam --rho 0.05 --looksam-k 5" "--variant esam --rho 0.05 --esam-beta 0.6 --esam-gamma 0.5")
if [ "$MODE" = wrn ]; then
  ROUNDS=0
  grep -v '"impl":"\(wrn\|wrnwino\|torchwrn\|wrnaug\|augbatch\|augstep\)"' "$keep" | grep -v '"scope":"wrn"' > "$res" || true
else
  "$PY" bench/report.py /dev/null --machine | sed 's/^{/{"impl":"machine","scope":"all","round":0,/' >> "$res"
fi
for r in $(seq "$ROUNDS"); do
  echo "bench: round $r of $ROUNDS" >&2
  for model in mlp cnn resnet; do
    case $model in
      mlp) n=$(steps 1000); extra=(--hidden 256,256); textra=() ;;
      cnn) n=$(steps 20); extra=(); textra=() ;;
      resnet) n=$(steps 10); extra=(--width 1 --blocks 1); textra=("${extra[@]}") ;;
    esac
    for rho in 0 0.05; do
      for th in 1 2; do
        "$out/sam" bench --model "$model" "${extra[@]}" --batch 128 --opt sgd --lr 0.01 --rho "$rho" --threads "$th" --steps "$n" --roofline | tag go "$r"
        "$PY" bench/torch_bench.py --model "$model" "${textra[@]}" --batch 128 --rho "$rho" --threads "$th" --steps "$n" | tag torch "$r"
        if [ "$model" != mlp ]; then # the 3×3 convolutions as Winograd F(4×4,3×3) as well
          "$out/sam" bench --model "$model" "${extra[@]}" --batch 128 --opt sgd --lr 0.01 --rho "$rho" --threads "$th" --steps "$n" --roofline --conv winograd | tag gowino "$r"
        fi
      done
    done
  done
  # The first run after PyTorch's CNN runs was slow in most rounds (the system reclaiming its
  # memory, we think): settle and warm up before the members' rows, which share one baseline.
  sleep 3
  "$out/sam" bench --model mlp --hidden 256,256 --batch 128 --opt sgd --lr 0.01 --steps "$(steps 1500)" --rho 0 >/dev/null
  for model in mlp cnn resnet; do
    case $model in
      mlp) n=$(steps 1500); extra=(--hidden 256,256) ;;
      cnn) n=$(steps 30); extra=() ;;
      resnet) n=$(steps 10); extra=(--width 1 --blocks 1) ;;
    esac
    for v in "${members[@]}"; do
      "$out/sam" bench --model "$model" "${extra[@]}" --batch 128 --opt sgd --lr 0.01 --steps "$n" $v \
        | sed "s|^{|{\"flags\":\"$v\",|" | tag member "$r"
    done
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
# The README's main job end to end (bench/mainjob.sh prints its rows with impl and round).
if [ "$MODE" = all ] && [ "$MAINJOB_ROUNDS" -gt 0 ]; then
  echo "bench: the main job, $MAINJOB_ROUNDS round(s)" >&2
  SAM="$out/sam" ROUNDS=$MAINJOB_ROUNDS QUICK=$QUICK PY=$PY bash bench/mainjob.sh >> "$res"
fi
"$PY" bench/report.py /dev/null --machine | sed 's/^{/{"impl":"machine","scope":"wrn","round":0,/' >> "$res"
for r in $(seq "$WRN_ROUNDS"); do
  echo "bench: WideResNet round $r" >&2
  wrn_round "$r"
done
touch "$md"
QUICK=$QUICK "$PY" bench/report.py "$res" --keep "$md" > "$out/B.md"
mv "$out/B.md" "$md"
cp "$res" "$keep"
echo "bench: wrote $md and its raw measurements, $keep" >&2
