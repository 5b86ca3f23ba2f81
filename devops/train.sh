#!/usr/bin/env bash
# Legacy wrapper: devops/train.sh run=<name> [overrides...]
# Uses torchrun (one process per GPU) when more than one GPU is visible, plain Python otherwise.
# NPROC=N forces N torchrun processes (e.g. NPROC=2 on a 2-core CPU machine: ~2x agent-steps/s, gloo backend).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=".venv/bin/python"
[ -x "$PY" ] || PY="python3"
NUM_GPUS=$("$PY" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
NPROC="${NPROC:-$NUM_GPUS}"
if [ "${NPROC}" -gt 1 ]; then
  echo "devops/train.sh: ${NPROC} processes (${NUM_GPUS} GPUs) -> torchrun --nproc_per_node=${NPROC}" >&2
  exec "$PY" -m torch.distributed.run --standalone --nproc_per_node="${NPROC}" tools/train.py "$@"
fi
exec "$PY" tools/train.py "$@"
