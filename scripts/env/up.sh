#!/bin/bash
# up.sh - the test environment: installs what is missing, then starts (or reuses) Keystone,
# Neutron (ML2/OVN), OVN central, MariaDB and etcd, all private, under <project>/.lab/env.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
[ "${NNET_SKIP_INSTALL:-0}" = 1 ] || "$HERE/../install-deps.sh"
"$HERE/openstack-up.sh"
"$HERE/etcd-up.sh"
