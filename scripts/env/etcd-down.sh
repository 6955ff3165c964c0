#!/bin/bash
# etcd-down.sh - stop the etcd that etcd-up.sh started, by its recorded PID only.
set -uo pipefail
HERE=$(dirname "$(readlink -f "$0")"); ROOT=$(cd "$HERE/../.." && pwd)
BASE=$(readlink -f "${ETCD_DIR:-$ROOT/.lab/env/etcd}")
pf=$BASE/etcd.pid; [ -f "$pf" ] || exit 0
pid=$(tr -dc 0-9 < "$pf")
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$BASE"; then
  kill -TERM "$pid"; for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  echo "[down] etcd: stopped (pid $pid)"
fi
rm -f "$pf"
