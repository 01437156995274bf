#!/usr/bin/env bash
# The data-parallel tests: builds sam and the test binaries of dist, train and cmd/sam with
# -tags mpi (cgo, the MPI C library through pkg-config mpi) and runs the multi-rank tests (the
# MPI ones) under mpirun -np 2. Without MPI it prints why and exits 0 (.ci/run installs
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
# A -tags mpi binary started without a launcher is one process.
"$tmp/sam" train --data digits --epochs 1 --quiet --out "$tmp/one" >/dev/null
grep -q '"ranks"' "$tmp/one/summary.json" && { echo "mpi: a plain start recorded ranks"; exit 1; }
echo "mpi: ok"
