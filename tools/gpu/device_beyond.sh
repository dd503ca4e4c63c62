#!/bin/bash
# Chapter 9's GPU runs, as sent to the lent GPU machine (the `device` tool; $OUT is its
# return folder): a network's own recipe at EPOCHS instead of 40, seeds 42, 1 and 2 for
# each MODEL:SPLIT pair of ARMS, plus (CONTROL=1) one 40-epoch run that repeats a CPU run.
# Carries .whl_keras (the keras, namex and optree wheels) and .device_data (made here by
# `python tools/gpu/device_beyond.py export .device_data`). The stored runs came from three
# calls on one NVIDIA H100 (results/beyond_gpu):
#   BUDGET_S=460 EPOCHS=120 bash tools/gpu/device_beyond.sh
#   BUDGET_S=400 EPOCHS=300 CONTROL=0 \
#     ARMS="logmel-cnn:speaker logmel-cnn:paper logmel-cnn-spk:speaker" \
#     bash tools/gpu/device_beyond.sh
#   BUDGET_S=290 EPOCHS=300 CONTROL=0 ARMS="logmel-cnn-spk:paper" bash tools/gpu/device_beyond.sh
# and the four variants of the log-mel CNN from two more calls (one H100, 2026-11-27; the
# stored results had grown past the 64 MiB a call carries, so `results/` was moved out of
# the tree during both calls):
#   BUDGET_S=500 EPOCHS=120 CONTROL=0 ARMS="logmel-cnn-delta:speaker logmel-cnn-att:speaker \
#     logmel-cnn-wide:speaker logmel-cnn-fine:speaker logmel-cnn-delta:paper \
#     logmel-cnn-att:paper logmel-cnn-wide:paper logmel-cnn-fine:paper" bash tools/gpu/device_beyond.sh
#   BUDGET_S=385 EPOCHS=300 CONTROL=0 ARMS="logmel-cnn-wide:paper logmel-cnn-wide:speaker" \
#     bash tools/gpu/device_beyond.sh
set -u
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl_keras/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TQDM_MININTERVAL=15
# several trainings share the GPU: each allocates on demand
export XLA_PYTHON_CLIENT_PREALLOCATE=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt"
E=${EPOCHS:-120}; D=.device_data; R=runs/device; L=$R/logs
mkdir -p $L
left=$(( ${BUDGET_S:-480} - ($(date +%s) - T0) ))
echo "epochs $E, training budget ${left}s" >> "$OUT/gpu.txt"
for arm in ${ARMS:-logmel-cnn:speaker logmel-cnn:paper}; do
  for seed in 42 1 2; do
    timeout "$left" python3 tools/gpu/device_beyond.py train $D $R ${arm%%:*} ${arm#*:} $seed $E \
        > $L/${arm/:/-}-$seed-e$E.log 2>&1 &
  done
done
if [ "${CONTROL:-1}" = 1 ]; then
  timeout "$left" python3 tools/gpu/device_beyond.py train $D $R logmel-cnn speaker 42 40 \
      > $L/control.log 2>&1 &
fi
wait
tar czf "$OUT/runs.tgz" --exclude='*.keras' --exclude='checkpoints' $R
echo "total $(( $(date +%s) - T0 ))s" >> "$OUT/gpu.txt"
grep -h "test_accuracy\|val_accuracy" $R/*/metrics.json | paste - - >> "$OUT/gpu.txt"
