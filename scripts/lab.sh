#!/bin/bash
# The README's main command: `npm run lab [-- up|nested|down|status]` (default up), as root.
# `up` first installs what is missing (scripts/install-deps.sh, its progress shown as it goes), so
# it works on a fresh Debian 12 machine; the lab's own steps (lab/main.ts) continue the same
# timeline: NNET_LAB_T0_MS is when this script started, NNET_LAB_DEPS_MS how long the installs took.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd); cd "$ROOT"
[ "$(id -u)" = 0 ] || { echo "lab: run as root (it creates network namespaces and OVS daemons)" >&2; exit 1; }
T0=$(date +%s%3N)
at() { local ms=$(($(date +%s%3N) - T0)); printf '[%5d.%ds]' $((ms / 1000)) $((ms % 1000 / 100)); }
case "${1:-up}" in up|nested) up=1 ;; *) up= ;; esac
if [ -n "$up" ]; then
  if [ "${1:-up}" = nested ]; then
    echo "N-Net nested lab: Kubernetes nodes that are OpenStack VMs, pods on Neutron trunk subports, on real Keystone + Neutron (ML2/OVN, trunk plugin)"
  else
    echo "N-Net lab: two nodes on real Keystone + Neutron (ML2/OVN), the paper's experiments 1 and 2 and experiment 3 (Kubernetes networking) in podman containers"
  fi
  echo
  what="install Debian and npm packages (scripts/install-deps.sh)"
  echo "$(at) $what …"
  if ! bash scripts/install-deps.sh 2>&1 | sed -u 's/^/         /'; then echo "$(at) $what: FAILED"; exit 1; fi
  ms=$(($(date +%s%3N) - T0))
  echo "$(at) $what: done in $((ms / 1000)).$((ms % 1000 / 100)) s"
  export NNET_LAB_T0_MS=$T0 NNET_LAB_DEPS_MS=$ms
fi
exec node --import tsx lab/main.ts "$@"
