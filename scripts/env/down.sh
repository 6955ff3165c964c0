#!/bin/bash
# down.sh - stops exactly what up.sh started (by recorded PIDs); state stays for a warm restart.
# PURGE=1 also deletes the state directory.
set -uo pipefail
HERE=$(dirname "$(readlink -f "$0")"); ROOT=$(cd "$HERE/../.." && pwd)
"$HERE/etcd-down.sh"
"$HERE/openstack-down.sh"
[ "${PURGE:-0}" = 1 ] && rm -rf "$ROOT/.lab/env"
exit 0
