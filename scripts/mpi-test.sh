#!/usr/bin/env bash
# The data-parallel tests: builds sam and the test binaries of dist, train and cmd/sam with
# -tags mpi (cgo, the MPI C library through pkg-config mpi) and runs the multi-rank tests (the
# MPI ones) under mpirun -np 2, then kills a 2-rank sam train after a checkpoint and checks that
# the resumed run writes the uninterrupted run's model. Without MPI it prints why and exits 0 (.ci/run installs
# openmpi-bin libopenmpi-dev pkg-config when it is root with apt).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mpirun >/dev/null 2>&1 || ! pkg-config --exists mpi 2>/dev/null; then
  echo "mpi: skipped: no mpirun or no pkg-config mpi (apt-get install openmpi-bin libopenmpi-dev pkg-config)"
  exit 0
fi
np=${NP:-2}
mpirun=(mpirun --oversubscribe -np "$np")
[ "$(id -u)" = 0 ] && mpirun+=(--allow-run-as-root)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CGO_ENABLED=1
go vet -tags mpi ./dist ./train ./cmd/sam
go build -tags mpi -o "$tmp/sam" ./cmd/sam
for p in dist train cmd/sam; do
  go test -c -tags mpi -o "$tmp/${p//\//_}.test" "./$p"
done
for p in dist train cmd/sam; do
  echo "mpi: $p under ${mpirun[*]}"
  (cd "$p" && timeout 300 "${mpirun[@]}" "$tmp/${p//\//_}.test" -test.run MPI -test.v 2>&1 | grep -E '^(--- |PASS|FAIL|ok|panic)|mpi_test' | sort -u) \
    || { echo "mpi: $p failed"; exit 1; }
done
# Kill and resume: a 2-rank run of the BatchNorm ResNet with dropout-free SGD, killed (mpirun
# passes SIGTERM on; data-parallel ranks die at once) some time after its first checkpoint, and
# resumed under mpirun, writes the uninterrupted run's model file byte for byte (weights, the
# ranks' averaged BatchNorm statistics, config); one process refuses that checkpoint in one line.
args=(train --data digits --model resnet --batch-size 64 --steps 300 --opt sgd --momentum 0.9 --lr 0.05 --threads 1 --quiet --seed 3)
"${mpirun[@]}" "$tmp/sam" "${args[@]}" --out "$tmp/ref" >/dev/null
"${mpirun[@]}" "$tmp/sam" "${args[@]}" --checkpoint-every 10 --out "$tmp/ck" >/dev/null 2>"$tmp/ck.err" &
pid=$!
until [ -f "$tmp/ck/checkpoint.safetensors" ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
sleep 0.3 # some steps more: the kill lands between two checkpoints, or during one
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" && { echo "mpi: the run to kill ended by itself (exit 0): make it longer"; exit 1; }
[ -f "$tmp/ck/model.safetensors" ] && { echo "mpi: the killed run wrote its model"; exit 1; }
[ -f "$tmp/ck/checkpoint.safetensors" ] || { echo "mpi: the killed run left no checkpoint"; cat "$tmp/ck.err"; exit 1; }
set +e
one=$("$tmp/sam" train --resume "$tmp/ck" --quiet 2>&1 >/dev/null)
code=$?
set -e
if [ "$code" != 2 ] || [ "$(printf '%s\n' "$one" | wc -l)" != 1 ] || ! grep -q -- '--resume: the checkpoint holds a run on 2 ranks' <<<"$one"; then
  echo "mpi: one process resuming the 2-rank checkpoint: exit $code, $one"; exit 1
fi
"${mpirun[@]}" "$tmp/sam" train --resume "$tmp/ck" --threads 1 >/dev/null 2>"$tmp/resume.err"
at=$(grep -o 'resuming .* at step [0-9]*' "$tmp/resume.err" | grep -o '[0-9]*$')
cmp "$tmp/ref/model.safetensors" "$tmp/ck/model.safetensors" \
  || { echo "mpi: the resumed 2-rank run's model differs from the uninterrupted run's"; exit 1; }
[ -f "$tmp/ck/checkpoint.safetensors" ] && { echo "mpi: the finished run's checkpoint is still there"; exit 1; }
echo "mpi: killed after the checkpoint of step $at, resumed on 2 ranks: model.safetensors identical to the uninterrupted run's"
# A -tags mpi binary started without a launcher is one process.
"$tmp/sam" train --data digits --epochs 1 --quiet --out "$tmp/one" >/dev/null
grep -q '"ranks"' "$tmp/one/summary.json" && { echo "mpi: a plain start recorded ranks"; exit 1; }
echo "mpi: ok"
