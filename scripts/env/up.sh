#!/bin/bash
# up.sh - the test environment: installs what is missing, then starts (or reuses) Keystone,
# Neutron (ML2/OVN), OVN central, MariaDB and etcd, all private, under <project>/.lab/env.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
# Test files call this at once (ensureEnv): one at a time, the others then find it all running.
# The children get no fd 9, so the daemons they start never hold the lock.
LOCK_DIR="$HERE/../../.lab/env"
mkdir -p "$LOCK_DIR"
exec 9>"$LOCK_DIR/.up.lock"
flock 9
[ "${NNET_SKIP_INSTALL:-0}" = 1 ] || "$HERE/../install-deps.sh" 9>&-
"$HERE/openstack-up.sh" 9>&-
"$HERE/etcd-up.sh" 9>&-
