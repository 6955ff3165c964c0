#!/bin/bash
# Data-plane benchmark: internal vs hybrid plug on one userspace OVS bridge (bench/dataplane.ts).
# Starts and removes its own OVS node and pods (netns nntp-…). Not part of the test suite.
#   scripts/bench-dataplane.sh [--reps 3] [--seconds 5] [--plugs 50]
#   scripts/bench-dataplane.sh --choices      # netns-entry and OVSDB measurements (src/plug/README.md)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
exec timeout 900 node --import tsx bench/dataplane.ts "$@"
