#!/usr/bin/env bash
# The device check, in parts: one device call per part, each well inside 4 minutes (so that
# a part can be run again in the same session), each writing 2-3 files to $OUT and
# overwriting them on a rerun. Run them in this order: the headline figures come first.
#
#   bash benchmarks/gpu_check.sh headline      steady-state ms/iteration at 512x342, 512x512 and
#                                              1024x1024, L-BFGS and Adam (bf16), graph on and
#                                              off, with `graphing` and the loss's fall
#   bash benchmarks/gpu_check.sh capture       captures beside a thread doing CUDA syncs, two
#                                              runs capturing at once, the calibration racing a
#                                              run, an empty graph, a failed capture (pytest)
#   bash benchmarks/gpu_check.sh w2            W2's Newton-Schulz against float64 eigenvalues,
#                                              TF32 Grams, W2 runs graph on and off
#   bash benchmarks/gpu_check.sh tests         the CUDA tests (test_cuda.py, L-BFGS, the Stepper,
#                                              precision, W2, checkpoints) on the GPU
#   bash benchmarks/gpu_check.sh engine-tests  the run's own tests with NST_TUI_TEST_DEVICE=cuda
#   bash benchmarks/gpu_check.sh print         the demo job and the 2896x2172 print end to end,
#                                              4096x4096's peak memory, a checkpoint's pause
#   bash benchmarks/gpu_check.sh switches      each speed switch's share at 512 px, and the
#                                              device L-BFGS against torch's
#
# The device machine has torch, torchvision, numpy, Pillow, rich and pytest and nothing else
# the project uses; the engine's run path needs nothing more (tests/cli/test_cli_bare_machine.py),
# so nothing is installed. Speed figures use random weights: the same computation as trained
# ones (the 80 MB weight file does not travel).
#
# A dry run on a machine without a GPU (every command line, tiny sizes, the CPU):
#   NST_CHECK_DEVICE=cpu NST_CHECK_TINY=1 bash benchmarks/gpu_check.sh PART
set -uo pipefail
PART="${1:-}"
OUT="${OUT:-/tmp/nst-gpu}"
DEVICE="${NST_CHECK_DEVICE:-cuda}"
TINY="${NST_CHECK_TINY:-}"
PY="${PYTHON:-python3}"
case "$PART" in
  headline|capture|w2|tests|engine-tests|print|switches) ;;
  *) sed -n '2,24p' "$0"; exit 2 ;;
esac
mkdir -p "$OUT"
SCRATCH="/tmp/nst-check-$PART"  # this part's pictures and run folders, new at each run
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
# styles/ is installed as the package nst_styles; from the source tree, a link gives it that name.
mkdir -p /tmp/nst-src && ln -sfn "$PWD/styles" /tmp/nst-src/nst_styles
export PYTHONPATH="$PWD:/tmp/nst-src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export NST_TUI_CONFIG_DIR="$SCRATCH/config" NST_TUI_STATE_DIR="$SCRATCH/state" \
  NST_TUI_RUNS_DIR="$SCRATCH/runs" NST_TUI_CACHE_DIR="$SCRATCH/cache"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$PY" -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.version.cuda)"
  lscpu | grep -E "Model name|^CPU\(s\)"
  echo "part $PART on $DEVICE${TINY:+ (tiny: a dry run)}"
} > "$OUT/machine.txt" 2>&1
LOG="$OUT/$PART.txt"
: > "$LOG"

# Each step: a title, then the command with its own time limit; its output and exit status
# go to the part's file as they come. The limits add up to under 210 s per part.
step() {
  local limit="$1" title="$2"
  shift 2
  echo "### $title" >> "$LOG"
  local started=$SECONDS
  timeout "$limit" "$@" >> "$LOG" 2>&1
  echo "### exit $? after $((SECONDS - started)) s (limit $limit s)" >> "$LOG"
}
tiny() { [ -n "$TINY" ] && echo "$1" || echo "$2"; }
# No plugin of the machine's own (theirs are not the project's: xdist, cov, benchmark...).
PYTEST=(env PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 "$PY" -m pytest -q -p no:cacheprovider -rfEs
  --durations=8)
[ -n "$TINY" ] && PYTEST+=(--collect-only)  # a dry run proves the imports, not the GPU
NST=("$PY" -m nst_tui.cli)

case "$PART" in
headline)
  step 200 "steady state, graph on and off (benchmarks/gpu_headline.py)" \
    "$PY" benchmarks/gpu_headline.py --device "$DEVICE" --json "$OUT/headline.json" \
    $(tiny "--sizes 32 32x32 --iterations 1 --spans 1 --warmup 1 --set optimizer.lbfgs.history_size=2" "")
  ;;
capture)
  step 60 "the capture's calls, recorded (CPU fakes)" "${PYTEST[@]}" tests/engine/test_capture.py
  step 150 "captures beside other threads and after a failure, on $DEVICE" \
    env NST_TUI_TEST_DEVICE="$DEVICE" "${PYTEST[@]}" tests/engine/test_cuda.py \
    -k "beside or two_runs or calibration or second_gpu or records_nothing or failed_capture"
  ;;
w2)
  step 60 "W2's square root: Newton-Schulz against float64 eigenvalues" \
    "$PY" benchmarks/w2_square_root.py --device "$DEVICE" --weights random \
    $(tiny "--size 32 --repeats 1 --layers relu1_1" "--size 512")
  step 50 "Gram matrices in TF32 against strict float32" \
    "$PY" benchmarks/gram_tf32.py --device "$DEVICE" --weights random $(tiny "--size 32" "--size 512")
  step 90 "W2 runs, graph on and off" \
    "$PY" benchmarks/gpu_headline.py --device "$DEVICE" --set style_loss=w2 \
    $(tiny "--sizes 32 --iterations 1 --spans 1 --warmup 1 --set optimizer.lbfgs.history_size=2" "--sizes 512")
  ;;
tests)
  step 210 "the CUDA tests" env NST_TUI_TEST_DEVICE="$DEVICE" "${PYTEST[@]}" \
    tests/engine/test_cuda.py tests/engine/test_lbfgs.py tests/engine/test_stepper.py \
    tests/engine/test_precision.py tests/engine/test_w2_square_root.py \
    tests/engine/test_checkpoints.py tests/engine/test_out_of_memory.py
  ;;
engine-tests)
  step 210 "the run's tests on $DEVICE" env NST_TUI_TEST_DEVICE="$DEVICE" "${PYTEST[@]}" \
    tests/engine/test_scales.py tests/engine/test_transfer.py \
    tests/engine/test_run_control.py tests/engine/test_runs.py
  ;;
print)
  step 30 "the demo job as a user runs it (512x342, 200 L-BFGS iterations), command to file" \
    bash -c "time ${NST[*]} run --demo --device $DEVICE --weights random --overwrite \
      -o $SCRATCH/demo.png $(tiny "--size 32 --iterations 2" "")"
  step 110 "the 2896x2172 print, coarse to fine from 362 px, command to file (goal: under 60 s)" \
    bash -c "time ${NST[*]} run --demo --device $DEVICE --weights random --overwrite \
      -o $SCRATCH/print.png --min-size $(tiny "32 --size 64x48 --scale-iterations 1 --iterations 1" \
      "362 --size 2896x2172 --scale-iterations 100 --iterations 100")"
  step 40 "4096x4096 L-BFGS: does it fit, peak memory" \
    "${NST[@]}" bench --device "$DEVICE" --optimizer lbfgs --iterations 2 --spans 1 --warmup 2 \
    $(tiny "--sizes 32 --set size=32x32" "--sizes 4096 --set size=4096x4096")
  step 30 "a checkpoint's pause at 1024 px, L-BFGS history kept and left out" \
    "$PY" benchmarks/checkpoint_pause.py --device "$DEVICE" --repeats 2 --folder "$SCRATCH" \
    $(tiny "--size 16 --history 2" "--size 1024")
  ;;
switches)
  for switch in "lbfgs cuda_graph=on,off" "adam cuda_graph=on,off" "adam precision=bf16,fp32" \
    "lbfgs precision=fp32,bf16" "adam memory_format=channels_last,contiguous"; do
    set -- $switch
    step 35 "$1: $2 at 512 px, each in a fresh process" \
      "${NST[@]}" bench --device "$DEVICE" --optimizer "$1" --compare "$2" \
      $(tiny "--sizes 32 --iterations 1 --spans 1 --warmup 1" "--sizes 512 --iterations 20 --spans 3")
  done
  step 30 "the device L-BFGS against torch's (eager; optimiser time per step)" \
    "$PY" benchmarks/lbfgs_overhead.py --device "$DEVICE" \
    $(tiny "--height 8 --width 8 --history 2 --timed 1" "")
  ;;
esac
grep -E "^### exit" "$LOG" | sed "s/^/$PART: /"
tail -n 40 "$LOG"
