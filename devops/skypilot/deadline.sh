#!/usr/bin/env bash
# Run a command until the absolute deadline METTA_DEADLINE (Unix seconds; set by launch.py --max-runtime-hours).
#
#   METTA_DEADLINE=<epoch> ./devops/skypilot/deadline.sh ./devops/train.sh run=x ...
#
# Without METTA_DEADLINE it just runs the command. At the deadline the command gets SIGTERM (training checkpoints and
# stops, a sweep records its running trial as interrupted), SIGKILL 120 s later, and the job exits 0: reaching the
# runtime limit is a normal end, so a managed job is not restarted for it. A job recovered after the deadline
# exits 0 at once. The deadline counts from launch, so provisioning and preemption recovery time count too.
set -uo pipefail
if [ -z "${METTA_DEADLINE:-}" ]; then
  exec "$@"
fi
now=$(date +%s)
remaining=$((METTA_DEADLINE - now))
if [ "$remaining" -le 0 ]; then
  echo "deadline.sh: max runtime reached before start (deadline $(date -u -d "@$METTA_DEADLINE" +%FT%TZ)); not running $1" >&2
  exit 0
fi
echo "deadline.sh: $remaining s left until the max runtime (METTA_DEADLINE)" >&2
timeout --signal=TERM --kill-after=120 "$remaining" "$@"
rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "deadline.sh: max runtime reached; stopped $1" >&2
  exit 0
fi
exit "$rc"
