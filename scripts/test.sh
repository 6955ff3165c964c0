#!/bin/bash
# The test command (README; .ci/run calls it). Installs what is missing, builds, type-checks and
# lints, starts the test environment unless it already runs (and then stops it again), and runs
# every test: unit tests of pure logic and integration tests against the real Keystone, Neutron,
# OVN/OVS and etcd.   Usage: scripts/test.sh [unit|all] [test files...]
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd); cd "$ROOT"
MODE=${1:-all}; shift || true
T0=$SECONDS
step() { echo "== [$((SECONDS - T0))s] $*"; }

step "install dependencies"; bash scripts/install-deps.sh
step "build"; npm run -s build
step "typecheck"; npx tsc --noEmit
step "lint"; npx biome check src test scripts lab bench

if [ "$#" -gt 0 ]; then FILES=("$@")
elif [ "$MODE" = unit ]; then mapfile -t FILES < <(find src -name '*.test.ts' | sort)
else mapfile -t FILES < <( { find src -name '*.test.ts'; find test -name '*.test.ts'; } | sort)
fi

STARTED_ENV=0
if [ "$MODE" != unit ]; then
  if ! QUIET=1 bash scripts/env/status.sh; then STARTED_ENV=1; fi
  step "test environment (Keystone, Neutron/OVN, MariaDB, etcd)"
  trap '[ $STARTED_ENV = 1 ] && { echo "== stopping the test environment"; bash scripts/env/down.sh; }' EXIT
  NNET_SKIP_INSTALL=1 bash scripts/env/up.sh
  step "libcni harness"; bash test/harness/build.sh
fi

step "run ${#FILES[@]} test files"
TAP=$(mktemp)
set +e
node --import tsx --test --test-concurrency="${NNET_TEST_CONCURRENCY:-2}" \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$TAP" "${FILES[@]}"
rc=$?
set -e
pass=$(grep -E '^# pass ' "$TAP" | tail -1 | awk '{print $3}'); fail=$(grep -E '^# fail ' "$TAP" | tail -1 | awk '{print $3}')
skip=$(grep -E '^# skipped ' "$TAP" | tail -1 | awk '{print $3}')
rm -f "$TAP"
step "done"
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit $rc
