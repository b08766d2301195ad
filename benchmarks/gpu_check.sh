#!/usr/bin/env bash
# The device check, for a session that is lent a GPU machine (see the tool library's
# `device` README): CUDA tests of the engine and the GPU benchmark, figures to $OUT.
# That machine has its own torch and no network: the project runs from the source tree,
# with random weights for speed figures (the same computation as trained ones).
set -uo pipefail
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
OUT="${OUT:-/tmp/nst-gpu}"
mkdir -p "$OUT"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'cuda', torch.version.cuda)"
} > "$OUT/machine.txt" 2>&1
# The engine on CUDA: a tiny run per optimiser, cancellation, and no sync per step.
NST_TUI_TEST_DEVICE=cuda python -m pytest -q tests/engine/test_transfer.py tests/engine/test_run_control.py \
  -o addopts="" > "$OUT/tests.txt" 2>&1
python -m nst_tui.cli bench --device cuda --sizes 256 512 1024 --iterations 20 --warmup 5 \
  --json "$OUT/bench-lbfgs.json" > "$OUT/bench-lbfgs.txt" 2>&1
python -m nst_tui.cli bench --device cuda --sizes 256 512 1024 --iterations 20 --warmup 5 \
  --optimizer adam --json "$OUT/bench-adam.json" > "$OUT/bench-adam.txt" 2>&1
tail -n 5 "$OUT"/*.txt
