#!/bin/bash
# `npm run bench [-- options]`: N-Net's benchmark in one run (bench/main.ts), as root. Installs what
# is missing, builds, starts the test environment unless it runs (and stops it again after), builds
# the libcni harness, then measures and writes docs/benchmarks/ (results.json, results.md, charts).
# Not part of the test suite. Everything it creates is named nnb… and removed at the end.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd); cd "$ROOT"
[ "$(id -u)" = 0 ] || { echo "bench: run as root (it creates network namespaces and OVS daemons)" >&2; exit 1; }
T0=$SECONDS
step() { echo "== [$((SECONDS - T0))s] $*"; }

step "install dependencies"; bash scripts/install-deps.sh
step "build"; npm run -s build
STARTED_ENV=0
if ! QUIET=1 bash scripts/env/status.sh; then STARTED_ENV=1; fi
trap '[ $STARTED_ENV = 1 ] && { echo "== stopping the test environment the benchmark started"; bash scripts/env/down.sh; }' EXIT
step "test environment (Keystone, Neutron/OVN, MariaDB, etcd)"; NNET_SKIP_INSTALL=1 bash scripts/env/up.sh
step "libcni harness"; bash test/harness/build.sh
step "benchmark"
# Bounded: the run aims at ~10 minutes; SIGTERM lets it clean up before the hard stop.
timeout -k 120 2700 node --import tsx bench/main.ts "$@"
