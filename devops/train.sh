#!/usr/bin/env bash
# Legacy wrapper: devops/train.sh run=<name> [overrides...]
#
# One process per GPU through torchrun when there is more than one (or NPROC=N forces N processes, e.g. NPROC=2 on a
# 2-core CPU machine: ~2x agent-steps/s, gloo backend); plain Python otherwise.
# Multi-node (SkyPilot sets these on every node of a job): SKYPILOT_NODE_IPS (newline-separated, head node first),
# SKYPILOT_NODE_RANK and SKYPILOT_NUM_GPUS_PER_NODE give torchrun's node count, node rank, master address and
# processes per node; MASTER_PORT (default 29500) is the rendezvous port on the head node. Rank 0 writes checkpoints
# and results; every node resumes from the newest checkpoint under run_dir.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=".venv/bin/python"
[ -x "$PY" ] || PY="python3"

ips="$(printf '%s\n' "${SKYPILOT_NODE_IPS:-}" | sed '/^[[:space:]]*$/d')"
NNODES=1
[ -n "$ips" ] && NNODES=$(printf '%s\n' "$ips" | wc -l)
NODE_RANK="${SKYPILOT_NODE_RANK:-0}"
MASTER_ADDR="$(printf '%s\n' "$ips" | head -n 1)"
MASTER_PORT="${MASTER_PORT:-29500}"
if [ -n "${SKYPILOT_NUM_GPUS_PER_NODE:-}" ]; then
  NUM_GPUS="$SKYPILOT_NUM_GPUS_PER_NODE"
else
  NUM_GPUS=$("$PY" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
fi
NPROC="${NPROC:-$NUM_GPUS}"
[ "$NPROC" -ge 1 ] 2>/dev/null || NPROC=1

if [ "$NNODES" -gt 1 ]; then
  if ! [ "$NODE_RANK" -ge 0 ] 2>/dev/null || [ "$NODE_RANK" -ge "$NNODES" ]; then
    echo "devops/train.sh: SKYPILOT_NODE_RANK='$NODE_RANK' must be in [0, $NNODES) for $NNODES nodes" >&2
    exit 2
  fi
  echo "devops/train.sh: node $NODE_RANK of $NNODES, $NPROC processes per node, master $MASTER_ADDR:$MASTER_PORT" >&2
  exec "$PY" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" --nproc_per_node="$NPROC" \
    --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" tools/train.py "$@"
fi
if [ "$NPROC" -gt 1 ]; then
  echo "devops/train.sh: ${NPROC} processes (${NUM_GPUS} GPUs) -> torchrun --nproc_per_node=${NPROC}" >&2
  exec "$PY" -m torch.distributed.run --standalone --nproc_per_node="${NPROC}" tools/train.py "$@"
fi
exec "$PY" tools/train.py "$@"
