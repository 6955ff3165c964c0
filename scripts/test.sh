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

# *.serial.test.ts files disrupt services every other test needs (e.g. they stop neutron-server):
# they run alone, after all the others.
PARALLEL=(); SERIAL=()
for f in "${FILES[@]}"; do
  case "$f" in *.serial.test.ts) SERIAL+=("$f") ;; *) PARALLEL+=("$f") ;; esac
done
pass=0; fail=0; skip=0; rc=0
run_phase() {  # run_phase CONCURRENCY FILE...: runs the files and adds their counts to the totals
  local conc=$1 tap r p f s; shift
  [ "$#" -gt 0 ] || return 0
  tap=$(mktemp)
  set +e
  node --import tsx --test --test-concurrency="$conc" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "$@"
  r=$?
  set -e
  [ "$r" -ne 0 ] && rc=$r
  p=$(grep -E '^# pass ' "$tap" | tail -1 | awk '{print $3}'); f=$(grep -E '^# fail ' "$tap" | tail -1 | awk '{print $3}')
  s=$(grep -E '^# skipped ' "$tap" | tail -1 | awk '{print $3}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0}))
  rm -f "$tap"
}
step "run ${#PARALLEL[@]} test files (concurrency ${NNET_TEST_CONCURRENCY:-2})"
run_phase "${NNET_TEST_CONCURRENCY:-2}" "${PARALLEL[@]}"
if [ "${#SERIAL[@]}" -gt 0 ]; then
  step "run ${#SERIAL[@]} serial test files, one at a time"
  run_phase 1 "${SERIAL[@]}"
fi
step "done"
echo "${pass} passed, ${fail} failed, ${skip} skipped"
exit $rc
