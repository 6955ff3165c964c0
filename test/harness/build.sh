#!/bin/bash
# Builds the libcni harness offline from Debian's golang-github-appc-cni-dev (GOPATH mode).
# Output: test/harness/bin/nnet-cni-harness. Rebuilds only when main.go changed.
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
OUT=$HERE/bin/nnet-cni-harness
[ -x "$OUT" ] && [ "$OUT" -nt "$HERE/main.go" ] && exit 0
mkdir -p "$HERE/bin"
export GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=${GOCACHE:-$HERE/bin/.gocache}
cd "$HERE" && go build -o "$OUT" main.go
echo "built $OUT"
