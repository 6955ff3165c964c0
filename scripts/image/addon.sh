#!/bin/bash
# addon.sh SRC OUTDIR: better-sqlite3's native addon for the image's Node (Debian 13's nodejs), built
# from the package's source (SRC: node_modules/better-sqlite3, its build/ ignored) with node-gyp
# against that Node's own headers (libnode-dev), in a throwaway Debian rootfs with the compiler.
# The host's build is for the host's Node; this one is for the image's, whatever the host runs.
# Writes OUTDIR/better_sqlite3.node (stripped) and OUTDIR/abi (the NODE_MODULE_VERSION it is for).
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
SRC=$(readlink -f "${1:?usage: addon.sh SRC OUTDIR}"); OUTDIR=${2:?usage: addon.sh SRC OUTDIR}
WORK=$(mktemp -d "$(dirname "$OUTDIR")/.addon.XXXXXX")
trap 'rm -rf --one-file-system "$WORK"' EXIT
mkdir -p "$WORK/src" "$WORK/out"
tar -C "$SRC" --exclude=./build -cf - . | tar -C "$WORK/src" -xf -

# The build runs in a fixed path (/build) so the object files do not depend on where the repo is.
mmdebstrap --mode=root --format=null --variant=essential \
  --include=nodejs,libnode-dev,node-gyp,build-essential,python3 \
  "${APT_OPTS[@]}" "${DPKG_FILTERS[@]}" \
  --customize-hook='mkdir -p "$1/build"' \
  --customize-hook="copy-in $WORK/src /build" \
  --customize-hook='chroot "$1" sh -ec "cd /build/src && HOME=/build JOBS=$(nproc) node-gyp rebuild --release --jobs=max >/build/gyp.log 2>&1 || { tail -40 /build/gyp.log; exit 1; }; strip --strip-unneeded build/Release/better_sqlite3.node; node -p process.versions.modules > /build/abi"' \
  --customize-hook="copy-out /build/src/build/Release/better_sqlite3.node /build/abi $WORK/out" \
  "$SUITE" /dev/null "$MIRROR"

mkdir -p "$OUTDIR"
mv "$WORK/out/better_sqlite3.node" "$WORK/out/abi" "$OUTDIR/"
