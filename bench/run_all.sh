#!/usr/bin/env bash
# Runs every benchmark, one after another (none may share the machine with another), and keeps
# each one's output in bench-results/<name>.txt. Build first: cmake --build build.
# Every binary runs its PyTorch counterpart in the same run, on the same threads.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} SEEKFORGE_THREADS=${SEEKFORGE_THREADS:-2}
export SEEKFORGE_SOURCE_DIR=$PWD
mkdir -p bench-results
for b in membw_bench gemm_bench attention_bench rowops_bench embedding_bench train_vs_torch; do
  echo "== $b"
  ./build/$b | tee "bench-results/$b.txt"
done
