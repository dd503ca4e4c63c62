#!/bin/bash
# Chapter 8's GPU runs, as sent to the lent GPU machine (the `device` tool; $OUT is its
# return folder). Carries: .whl (keras and librosa's wheels), .device_data (features made
# here by `python tools/gpu/device_paper_recipe.py export .device_data`).
set -u
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TQDM_MININTERVAL=5
# two trainings share the GPU: each takes at most 30 % of its memory
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt"
D=.device_data; R=runs/device
if [ "${SKIP_TIMING:-0}" != 1 ]; then
  timeout "${TIMING_S:-100}" python3 tools/gpu/device_paper_recipe.py timing $D "$OUT/gpu_timing.json" \
      > "$OUT/timing.log" 2>&1
fi
left=$(( ${BUDGET_S:-540} - ($(date +%s) - T0) ))
echo "training budget ${left}s" >> "$OUT/gpu.txt"
timeout "$left" python3 tools/gpu/device_paper_recipe.py honest $D $R > "$OUT/honest.log" 2>&1 &
timeout "$left" python3 tools/gpu/device_paper_recipe.py pooled $D $R > "$OUT/pooled.log" 2>&1 &
wait
tar czf "$OUT/runs.tgz" --exclude='*.keras' --exclude='*.h5' $R
echo "total $(( $(date +%s) - T0 ))s" >> "$OUT/gpu.txt"
