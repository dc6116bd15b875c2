#!/usr/bin/env bash
# What has been built for a GPU but not yet measured on one, as one prepared run for a lent GPU
# (an estimated 5-10 minutes on an H100, not yet run on one). Each step has its own time limit, and a
# step that fails does not stop the others. Writes one file per step into OUT_DIR and prints a summary
# line per step.
#
#   DC_DATA_ROOT=/path/with/mnist.npz bash benchmarks/gpu_checks.sh OUT_DIR [--quick]
#
# --quick: the smallest settings (checks the script itself; on a machine without CUDA the CUDA-only
# steps run on the CPU or are skipped, as each script decides).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash benchmarks/gpu_checks.sh OUT_DIR [--quick]}
quick=${2:-}
mkdir -p "$out"
device=$(python -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
if [ "$quick" = "--quick" ]; then
  bench_args=(--quick --repeat 1); budget=dm_iterations=2,eval_epochs=2; syncs=(--iterations 5 --batch-real 16)
  paper_budget=dm_iterations=2,eval_epochs=2,num_nets=2
else
  bench_args=(--repeat 3); budget=dm_iterations=300,batch_real=64,eval_epochs=100; syncs=()
  paper_budget=dm_iterations=500,eval_epochs=100
fi

step() {  # step NAME LIMIT_S COMMAND...: run it, keep its output, say how it ended
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$out/$name.out" 2>&1
  echo "$name: exit $? after $((SECONDS - start)) s -> $out/$name.out"
}

nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
# 1. The tests of the transfers, DM and batched DM, CUDA-only ones included (graphs give compile's set,
#    batched sets equal sets alone, no host sync in DM), which are skipped where there is no GPU.
step cuda_tests 240 python -m pytest -p no:nbval -o addopts="" -q -rs tests/test_transfer.py \
  tests/test_dm_sets.py tests/test_distribution_matching.py
# 2. DM's hot path on this device: all classes together, several sets in one pass, CUDA graphs.
step bench_dm 300 python benchmarks/bench.py --device "$device" --only-dm "${bench_args[@]}"
# 3. Blocking against non-blocking copies of the draws (prints one line and exits 0 without CUDA).
step host_syncs 180 python benchmarks/host_syncs.py "${syncs[@]}"
# 4. Jobs per hour inline and with one warm worker on this GPU, with its utilisation.
step jobs_throughput 420 python benchmarks/jobs_throughput.py --device "$device" --workers 1 \
  --budget "$budget" --skip-projection
# 5. Two paper-profile DM jobs (MNIST, thesis settings but K = 500 and 100 epochs) against the cost model's
#    H100 projection of the same jobs: how far the README's projected GPU-hours are off on this card.
step calibration 240 python benchmarks/jobs_throughput.py --device "$device" --skip-measure --skip-projection \
  --calibrate 2 --budget "$paper_budget"
