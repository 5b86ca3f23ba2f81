#!/usr/bin/env bash
# Legacy wrapper around ./tools/sweep_execute.py.
#
#   ./devops/sweep.sh run=my_sweep [--workers N] [--gpus-per-trial K] [--dry-run] [sweep_job overrides...]
#
# `run=<name>` is the legacy spelling of `sweep_name=<name>`. With --workers N (N > 1) it starts N local workers on
# the same sweep (they share the store: unique run ids, no lost observations, pending points known to each other),
# a few seconds apart, logs each to <data_dir>/sweep/<name>/worker_<i>.log, and stops them all on Ctrl-C.
# On a node with G GPUs every GPU is used: --gpus-per-trial K starts G/K workers, each pinned to its own K GPUs
# (CUDA_VISIBLE_DEVICES) and training every trial with torchrun over them when K > 1. Default: K = G (one worker,
# torchrun over all GPUs; --workers N alone: G/N GPUs each). --dry-run prints each worker's GPUs and command.
set -euo pipefail
cd "$(dirname "$0")/.."

workers=""
gpus_per_trial=""
dry_run=0
name=""
data_dir="${DATA_DIR:-./train_dir}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) workers="${2:?--workers needs a number}"; shift 2 ;;
    --workers=*) workers="${1#*=}"; shift ;;
    --gpus-per-trial) gpus_per_trial="${2:?--gpus-per-trial needs a number}"; shift 2 ;;
    --gpus-per-trial=*) gpus_per_trial="${1#*=}"; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    run=*) name="${1#run=}"; args+=("sweep_name=$name"); shift ;;
    sweep_name=*) name="${1#sweep_name=}"; args+=("$1"); shift ;;
    data_dir=*) data_dir="${1#data_dir=}"; args+=("$1"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done
for pair in "--workers:$workers" "--gpus-per-trial:$gpus_per_trial"; do
  value="${pair#*:}"
  if [ -n "$value" ] && ! [[ "$value" =~ ^[1-9][0-9]*$ ]]; then
    echo "sweep.sh: ${pair%%:*} must be a positive integer, got '$value'" >&2
    exit 2
  fi
done
if [ -z "$name" ]; then
  echo "sweep.sh: give the sweep name: ./devops/sweep.sh run=<sweep_name> [--workers N] [overrides]" >&2
  exit 2
fi

# The GPUs of this node: CUDA_VISIBLE_DEVICES when set, else SkyPilot's count, else nvidia-smi's.
gpu_ids=()
if [ -n "${CUDA_VISIBLE_DEVICES:-}" ] && [ "${CUDA_VISIBLE_DEVICES}" != "-1" ]; then
  IFS=',' read -r -a gpu_ids <<<"$CUDA_VISIBLE_DEVICES"
else
  n="${SKYPILOT_NUM_GPUS_PER_NODE:-}"
  if [ -z "$n" ]; then
    n=$( (command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -c '^GPU') || echo 0)
  fi
  for ((g = 0; g < n; g++)); do gpu_ids+=("$g"); done
fi
num_gpus=${#gpu_ids[@]}

# Trials are node-local: a worker's torchrun must not join the multi-node rendezvous of the job.
unset SKYPILOT_NODE_IPS SKYPILOT_NODE_RANK SKYPILOT_NUM_NODES SKYPILOT_NUM_GPUS_PER_NODE
if [ -z "$gpus_per_trial" ] && [ "$num_gpus" -gt 1 ]; then
  # Default: one worker with torchrun over all GPUs; --workers N alone splits the GPUs evenly between N workers.
  if [ -n "$workers" ] && [ $((num_gpus % workers)) -ne 0 ]; then
    echo "sweep.sh: --workers $workers does not divide the $num_gpus GPUs of this node; use --gpus-per-trial K" >&2
    exit 2
  fi
  gpus_per_trial=$((num_gpus / ${workers:-1}))
fi
pins=()   # per worker: its CUDA_VISIBLE_DEVICES, or "" for no pinning
if [ -n "$gpus_per_trial" ]; then
  if [ "$num_gpus" -eq 0 ]; then
    echo "sweep.sh: --gpus-per-trial $gpus_per_trial but no GPU is visible; use --workers N on CPU nodes" >&2
    exit 2
  fi
  if [ $((num_gpus % gpus_per_trial)) -ne 0 ]; then
    echo "sweep.sh: --gpus-per-trial $gpus_per_trial does not divide the $num_gpus GPUs of this node; use a divisor" >&2
    exit 2
  fi
  per_node=$((num_gpus / gpus_per_trial))
  if [ -n "$workers" ] && [ "$workers" -ne "$per_node" ]; then
    echo "sweep.sh: --workers $workers conflicts with --gpus-per-trial $gpus_per_trial on $num_gpus GPUs" \
      "($per_node workers); drop --workers" >&2
    exit 2
  fi
  workers=$per_node
  for ((w = 0; w < workers; w++)); do
    pins+=("$(IFS=','; echo "${gpu_ids[*]:$((w * gpus_per_trial)):$gpus_per_trial}")")
  done
else
  workers="${workers:-1}"
  for ((w = 0; w < workers; w++)); do pins+=(""); done
fi

PY=.venv/bin/python
[ -x "$PY" ] || PY=python3

# Start worker $1 (0-based) with its GPUs; with K > 1 GPUs the sweep trains each trial through devops/train.sh,
# which runs torchrun over them (rank 0 writes the checkpoint; the worker alone allocates ids, evaluates, records).
run_worker() {
  local pin="${pins[$1]}"
  local -a env_args=()
  if [ -n "$pin" ]; then
    env_args=("CUDA_VISIBLE_DEVICES=$pin" "NPROC=$gpus_per_trial")
  fi
  if [ "$dry_run" -eq 1 ]; then
    echo "worker $(($1 + 1)): ${env_args[*]:-(no GPU pinning)} $PY tools/sweep_execute.py ${args[*]}"
    return 0
  fi
  env "${env_args[@]}" "$PY" tools/sweep_execute.py "${args[@]}"
}

if [ "$dry_run" -eq 1 ]; then
  for ((w = 0; w < workers; w++)); do run_worker "$w"; done
  exit 0
fi
if [ "$workers" -eq 1 ]; then  # exec: Ctrl-C and SIGTERM reach the worker itself
  if [ -n "${pins[0]}" ]; then
    exec env "CUDA_VISIBLE_DEVICES=${pins[0]}" "NPROC=$gpus_per_trial" "$PY" tools/sweep_execute.py "${args[@]}"
  fi
  exec "$PY" tools/sweep_execute.py "${args[@]}"
fi

log_dir="$data_dir/sweep/$name"
mkdir -p "$log_dir"
pids=()
stop_all() {
  echo "sweep.sh: stopping ${#pids[@]} workers" >&2
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait
  exit 130
}
trap stop_all INT TERM
for ((w = 0; w < workers; w++)); do
  i=$((w + 1))
  run_worker "$w" >"$log_dir/worker_$i.log" 2>&1 &
  pids+=("$!")
  echo "sweep.sh: worker $i (pid $!${pins[$w]:+, GPUs ${pins[$w]}}) -> $log_dir/worker_$i.log"
  [ "$i" -lt "$workers" ] && sleep 3
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
exit "$status"
