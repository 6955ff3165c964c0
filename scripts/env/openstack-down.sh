#!/bin/bash
# openstack-down.sh - stop ONLY the processes started by openstack-up.sh, by their PID files.
# Never uses pkill/killall; never touches the system OVS/OVN run directories.
# Order: neutron-server -> keystone (uwsgi) -> ovn-northd -> OVN SB/NB ovsdb-server -> mariadbd
set -uo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
BASE=$(readlink -f "${OPENSTACK_DIR:-$ROOT/.lab/env/openstack}")

# alive PID: exists and is not a zombie (PID 1 here reaps orphans only every ~2 s)
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/$1/stat 2>/dev/null)" != Z ]; }

# stop_pid NAME PIDFILE [TIMEOUT_S] [EXPECT]  - TERM, wait, then KILL (also direct children)
stop_pid() {
  local name=$1 pf=$2 to=${3:-20} expect=${4:-} pid kids i
  [ -f "$pf" ] || { echo "[down] $name: no pidfile"; return 0; }
  pid=$(tr -dc 0-9 < "$pf")
  if ! alive "$pid"; then echo "[down] $name: not running (stale pidfile)"; rm -f "$pf"; return 0; fi
  # safety: only signal the process if its command line matches what we started
  local cmd; cmd=$(tr '\0' ' ' < /proc/$pid/cmdline)
  if ! { echo "$cmd" | grep -q -- "$expect" && echo "$cmd" | grep -q -- "$BASE"; }; then
    echo "[down] $name: pid $pid does not look like ours ('$expect'), not touching it"; return 1
  fi
  kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 $((to * 10))); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then echo "[down] $name: pid $pid ignored TERM, sending KILL"; kill -KILL "$pid" 2>/dev/null; sleep 0.2; fi
  for k in $kids; do  # children that we (indirectly) started, e.g. neutron workers
    for i in $(seq 1 30); do alive "$k" || break; sleep 0.1; done
    alive "$k" && { kill -KILL "$k" 2>/dev/null; echo "[down] $name: killed leftover child $k"; }
  done
  rm -f "$pf"
  echo "[down] $name: stopped (pid $pid)"
}

stop_pid neutron-server "$BASE/neutron/neutron-server.pid" 30 "neutron-server"
stop_pid keystone-uwsgi "$BASE/keystone/uwsgi.pid"          30 "uwsgi"
stop_pid ovn-northd     "$BASE/ovn/ovn-northd.pid"          10 "ovn-northd"
stop_pid ovnsb-ovsdb    "$BASE/ovn/ovnsb_db.pid"            10 "ovsdb-server"
stop_pid ovnnb-ovsdb    "$BASE/ovn/ovnnb_db.pid"            10 "ovsdb-server"
stop_pid mariadbd       "$BASE/mysql/run/mysqld.pid"        60 "mariadbd"
exit 0
