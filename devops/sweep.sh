#!/usr/bin/env bash
# Legacy wrapper around ./tools/sweep_execute.py.
#
#   ./devops/sweep.sh run=my_sweep [--workers N] [sweep_job overrides...]
#
# `run=<name>` is the legacy spelling of `sweep_name=<name>`. With --workers N (N > 1) it starts N local workers on
# the same sweep (they share the store: unique run ids, no lost observations, pending points known to each other),
# a few seconds apart, logs each to <data_dir>/sweep/<name>/worker_<i>.log, and stops them all on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

workers=1
name=""
data_dir="${DATA_DIR:-./train_dir}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) workers="${2:?--workers needs a number}"; shift 2 ;;
    --workers=*) workers="${1#*=}"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    run=*) name="${1#run=}"; args+=("sweep_name=$name"); shift ;;
    sweep_name=*) name="${1#sweep_name=}"; args+=("$1"); shift ;;
    data_dir=*) data_dir="${1#data_dir=}"; args+=("$1"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if ! [[ "$workers" =~ ^[1-9][0-9]*$ ]]; then
  echo "sweep.sh: --workers must be a positive integer, got '$workers'" >&2
  exit 2
fi
if [ -z "$name" ]; then
  echo "sweep.sh: give the sweep name: ./devops/sweep.sh run=<sweep_name> [--workers N] [overrides]" >&2
  exit 2
fi

PY=.venv/bin/python
[ -x "$PY" ] || PY=python3

if [ "$workers" -eq 1 ]; then
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
for i in $(seq 1 "$workers"); do
  "$PY" tools/sweep_execute.py "${args[@]}" >"$log_dir/worker_$i.log" 2>&1 &
  pids+=("$!")
  echo "sweep.sh: worker $i (pid $!) -> $log_dir/worker_$i.log"
  [ "$i" -lt "$workers" ] && sleep 3
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
exit "$status"
