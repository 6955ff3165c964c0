#!/bin/bash
# status.sh - exit 0 when every service of the test environment runs (by its recorded PID).
HERE=$(dirname "$(readlink -f "$0")"); ROOT=$(cd "$HERE/../.." && pwd)
B=${NNET_ENV_DIR:-$ROOT/.lab/env}
ok=0
for pf in openstack/mysql/run/mysqld.pid openstack/ovn/ovnnb_db.pid openstack/ovn/ovnsb_db.pid openstack/ovn/ovn-northd.pid \
          openstack/keystone/uwsgi.pid openstack/neutron/neutron-server.pid etcd/etcd.pid; do
  pid=$(tr -dc 0-9 2>/dev/null < "$B/$pf")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then s=running; else s=stopped; ok=1; fi
  [ "${QUIET:-0}" = 1 ] || printf '%-40s %s\n' "$pf" "$s"
done
exit $ok
