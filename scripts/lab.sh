#!/bin/bash
# The README's main command: `npm run lab [-- up|down|status]` (default up), as root.
# Installs what is missing first, so it works on a fresh Debian 12 machine.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd); cd "$ROOT"
[ "$(id -u)" = 0 ] || { echo "lab: run as root (it creates network namespaces and OVS daemons)" >&2; exit 1; }
if [ "${1:-up}" = up ]; then bash scripts/install-deps.sh >/dev/null; fi
exec node --import tsx lab/main.ts "$@"
