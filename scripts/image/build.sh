#!/bin/bash
# npm run image: builds N-Net's OCI image from Debian packages (no registry is reached but Debian's
# mirror) and loads it into podman (scripts/podman.sh's private store) as localhost/nnet:VERSION.
#   layer 1 (base): a Debian 13 rootfs made by mmdebstrap, only what N-Net runs (base.sh)
#   layer 2 (app):  /opt/nnet/dist (the nnet binary, the *.js bundles), better-sqlite3 built for the image's node (addon.sh),
#                   commands on PATH: nnet-agent, nnet-install-cni, kubenetctl, kubectl-nnet
# Reproducible: SOURCE_DATE_EPOCH fixed (common.sh), sorted tars, numeric owners, clamped mtimes,
# gzip without name or time; the same inputs and mirror content give the same image ID.
# Cached: the base layer and the addon are rebuilt only when their inputs change (Debian release,
# package list, filters, these scripts, better-sqlite3's version); NNET_IMAGE_REFRESH=1 rebuilds
# them (e.g. to take Debian's security updates). Output in .lab/image/ (NNET_IMAGE_DIR):
#   nnet-image.oci.tar (for podman load / ctr images import), oci/ (the layout), sizes.txt.
# Runs as root (mmdebstrap's root mode). Prints the image's size and what makes it up.
# Usage: build.sh [--no-build]
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd); ROOT=$(cd "$HERE/../.." && pwd); cd "$ROOT"
# shellcheck source=common.sh
. "$HERE/common.sh"
OUT=${NNET_IMAGE_DIR:-$ROOT/.lab/image}
T0=$SECONDS
step() { echo "== [image $((SECONDS - T0))s] $*"; }
[ "$(id -u)" = 0 ] || { echo "image: run as root (mmdebstrap builds the rootfs in root mode)" >&2; exit 1; }

need=""
for p in mmdebstrap podman runc golang-go; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
  step "installing:$need"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need
fi
[ -d node_modules/better-sqlite3 ] || npm ci --no-audit --no-fund
VERSION=$(node -p 'require("./package.json").version')
IMAGE=localhost/nnet:$VERSION
mkdir -p "$OUT/cache"

# --no-build: use dist/ as it is (tests, after npm run build: a rebuild under running tests would
# rewrite the bundles they execute).
if [ "${1:-}" = --no-build ]; then
  for f in nnet nnet-agent.js nnet-install-cni.js kubenetctl.js; do
    [ -f "dist/$f" ] || { echo "image: dist/$f is missing: npm run build" >&2; exit 1; }
  done
else step "bundles (npm run build)"; npm run -s build; fi

BASE_KEY=$(cache_key "$SUITE" "$MIRROR" "$SOURCE_DATE_EPOCH" "$HERE/common.sh" "$HERE/base.sh" "$HERE/breakdown.mjs")
BASE=$OUT/cache/base-$BASE_KEY.tar
if [ ! -f "$BASE" ] || [ "${NNET_IMAGE_REFRESH:-0}" = 1 ]; then
  step "base layer: mmdebstrap $SUITE (downloads from $MIRROR)"
  bash "$HERE/base.sh" "$BASE"
else step "base layer: cached ($BASE)"; fi

BSQ_VERSION=$(node -p 'require("./node_modules/better-sqlite3/package.json").version')
ADDON_KEY=$(cache_key "$SUITE" "$MIRROR" "$BSQ_VERSION" "$HERE/common.sh" "$HERE/addon.sh")
ADDON=$OUT/cache/addon-$ADDON_KEY
if [ ! -f "$ADDON/better_sqlite3.node" ] || [ "${NNET_IMAGE_REFRESH:-0}" = 1 ]; then
  step "better-sqlite3 $BSQ_VERSION for the image's node (node-gyp in a $SUITE build rootfs; a few minutes)"
  rm -rf "$ADDON"; bash "$HERE/addon.sh" node_modules/better-sqlite3 "$ADDON"
else step "better-sqlite3 $BSQ_VERSION: cached ($ADDON)"; fi
IMAGE_ABI=$(cat "$BASE.abi")
[ "$(cat "$ADDON/abi")" = "$IMAGE_ABI" ] || {
  echo "image: better-sqlite3 was built for NODE_MODULE_VERSION $(cat "$ADDON/abi"), the image's node is $IMAGE_ABI; rerun with NNET_IMAGE_REFRESH=1" >&2; exit 1; }

step "app layer (bundles, better-sqlite3, commands)"
bash "$HERE/app.sh" "$OUT/app.tar" "$ADDON/better_sqlite3.node" "$VERSION"

step "OCI image"
ID=$(node --import tsx "$HERE/oci.ts" --layout "$OUT/oci" --archive "$OUT/nnet-image.oci.tar" --name "$IMAGE" \
  --layer "$BASE=mmdebstrap --variant=essential $SUITE: $(cut -d' ' -f1 "$BASE.packages" | paste -sd' ' | head -c 120)…" \
  --layer "$OUT/app.tar=N-Net $VERSION: /opt/nnet (dist bundles, better-sqlite3 $BSQ_VERSION)" \
  --env 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --env NODE_ENV=production \
  --cmd nnet-agent \
  --label "org.opencontainers.image.title=N-Net" --label "org.opencontainers.image.version=$VERSION" \
  --label "org.opencontainers.image.licenses=Apache-2.0" \
  --label "org.opencontainers.image.base.name=debian:$SUITE (mmdebstrap)")

PODMAN=(bash "$ROOT/scripts/podman.sh")
if [ "$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)" = "${ID#sha256:}" ]; then
  step "podman: $IMAGE is already this image"
else
  step "podman load"
  "${PODMAN[@]}" load -q -i "$OUT/nnet-image.oci.tar" >/dev/null
  "${PODMAN[@]}" tag "${ID#sha256:}" "$IMAGE"
fi
step "smoke test: node, better-sqlite3 and the plugin inside the image"
"${PODMAN[@]}" run --rm --network none "$IMAGE" sh -ec '
  node -e "const D = require(\"/opt/nnet/node_modules/better-sqlite3\"); new D(\":memory:\").prepare(\"select 1\").get()"
  CNI_COMMAND=VERSION /opt/nnet/dist/nnet </dev/null >/dev/null'

bash "$HERE/report.sh" "$IMAGE" "$ID" "$OUT" "$BASE" "$OUT/app.tar" | tee "$OUT/sizes.txt"
step "done: $IMAGE ($ID)"
