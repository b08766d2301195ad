#!/usr/bin/env bash
# The device check, for a session that is lent a GPU machine (see the tool library's
# `device` README): the engine's tests on CUDA, the demo job, steady-state figures with
# each speed switch's share, the print-size job, figures to $OUT (a file per part, written
# as it goes). The app against headless on a GPU: benchmarks/app_vs_headless.py (not here).
# `gpu_check.sh tests` runs the tests alone (about 2 minutes), `gpu_check.sh bench` the
# figures alone (about 6 minutes): each fits one device call, with room to rerun one.
#
# That machine has its own torch and no network: the project runs from the source tree.
# What it lacks (textual and the rest of the app's pure-Python packages) travels as wheels in
# .whl (carried; see the device README). Speed figures use random weights: the same
# computation as trained ones, and the 80 MB weight file does not travel.
set -uo pipefail
OUT="${OUT:-/tmp/nst-gpu}"
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site"
fi
# styles/ is installed as the package nst_styles; from the source tree, a link gives it that name.
mkdir -p /tmp/nst-src && ln -sfn "$PWD/styles" /tmp/nst-src/nst_styles
export PYTHONPATH="$PWD:/tmp/nst-src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export NST_TUI_CONFIG_DIR=/tmp/nst-config NST_TUI_STATE_DIR=/tmp/nst-state NST_TUI_RUNS_DIR=/tmp/nst-runs
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.version.cuda)"
  lscpu | grep -E "Model name|^CPU\(s\)"
} > "$OUT/machine.txt" 2>&1

# The engine on CUDA: runs, cancellation, faults, the CUDA-only tests (no host wait per
# step with every optimiser in a CUDA graph, graph and eager alike, the device L-BFGS
# captured, coarse to fine, a real out-of-memory).
if [ "${1:-all}" != bench ]; then
NST_TUI_TEST_DEVICE=cuda timeout 180 python3 -m pytest -q -p no:cacheprovider \
  tests/engine/test_cuda.py tests/engine/test_lbfgs.py tests/engine/test_scales.py \
  tests/engine/test_transfer.py tests/engine/test_run_control.py tests/engine/test_runs.py \
  > "$OUT/tests.txt" 2>&1
echo "tests exit $?" >> "$OUT/tests.txt"
fi
if [ "${1:-all}" = tests ]; then tail -n 8 "$OUT/tests.txt"; exit 0; fi

BENCH="python3 -m nst_tui.cli bench --device cuda"

# What recording a run in its folder costs on the GPU (loss rows each iteration, checkpoints).
timeout 120 python3 benchmarks/recording_overhead.py --device cuda --size 512 --iterations 300 \
  --repeats 2 --checkpoint-every 100 > "$OUT/recording.txt" 2>&1

# The default job (512 px, 200 L-BFGS iterations) as a user runs it, timed end to end.
timeout 60 bash -c 'time python3 -m nst_tui.cli run --demo --device cuda --weights random \
  -o /tmp/demo-gpu.png' > "$OUT/demo.txt" 2>&1

# Steady state (warm-up until the L-BFGS history is full, median of spans), all switches auto.
for optimizer in lbfgs adam; do
  timeout 120 $BENCH --sizes 512 1024 2048 --optimizer $optimizer --iterations 20 --spans 3 \
    > "$OUT/bench-$optimizer.txt" 2>&1
done

# Each switch's share at 512 px: the same job with the switch on and off, alternating.
{
  for switch in "lbfgs cuda_graph=on,off" "adam cuda_graph=on,off" "adam precision=bf16,fp32" \
    "lbfgs precision=fp32,bf16" "adam memory_format=channels_last,contiguous"; do
    set -- $switch
    timeout 60 $BENCH --sizes 512 --optimizer "$1" --compare "$2" --iterations 20 --spans 3
  done
} > "$OUT/switches.txt" 2>&1

# Print size: 2896x2172 with coarse to fine (from 362 px, 5 scales before the last), from
# command to file; then whether 4096x4096 fits, with peak memory.
timeout 150 bash -c 'time python3 -m nst_tui.cli run --demo --device cuda --weights random \
  --size 2896x2172 --min-size 362 --scale-iterations 100 --iterations 100 -o /tmp/print.png' \
  > "$OUT/print.txt" 2>&1
timeout 90 $BENCH --sizes 4096 --set size=4096x4096 --optimizer lbfgs --iterations 3 --spans 1 \
  --warmup 2 > "$OUT/big.txt" 2>&1

# The device L-BFGS's own cost at 512 px against torch's (eager, a sync per step).
timeout 60 python3 benchmarks/lbfgs_overhead.py --device cuda > "$OUT/lbfgs_overhead.txt" 2>&1

tail -n 8 "$OUT"/*.txt
