#!/bin/bash
# base.sh OUT.tar: the image's base layer, a Debian rootfs with only what N-Net runs at run time:
#   nodejs (20, Debian 13's), iproute2 (ip: links, addresses, routes, netns), util-linux (nsenter,
#   Essential), ethtool (tx offload off on veths of netdev bridges), procps (sysctl), ca-certificates
#   (HTTPS to Keystone/Neutron/etcd), plus Debian's Essential set (sh, env, coreutils, dpkg…).
# N-Net speaks OVSDB's JSON-RPC itself, so no Open vSwitch tools are needed.
# Also writes OUT.tar.packages ("name version", what the mirror served) and OUT.tar.sizes
# ("bytes name": what each package occupies after the filters) and OUT.tar.abi (node's
# NODE_MODULE_VERSION, which the native addon must match).
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
OUT=${1:?usage: base.sh OUT.tar}
PACKAGES=nodejs,iproute2,ethtool,procps,ca-certificates
WORK=$(mktemp -d "$(dirname "$OUT")/.base.XXXXXX")
trap 'rm -rf --one-file-system "$WORK"' EXIT

mmdebstrap --mode=root --format=directory --variant=essential --include="$PACKAGES" \
  "${APT_OPTS[@]}" "${DPKG_FILTERS[@]}" \
  --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"' \
  --customize-hook='rm -rf "$1"/var/log/* "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old "$1"/var/cache/ldconfig/aux-cache' \
  --customize-hook='chroot "$1" node -e "process.exit(process.versions.node.split(\".\")[0] === \"20\" ? 0 : 1)"' \
  "$SUITE" "$WORK/rootfs" "$MIRROR"

chroot "$WORK/rootfs" node -p process.versions.modules > "$WORK/abi"
chroot "$WORK/rootfs" dpkg-query -W -f='${Package} ${Version}\n' | LC_ALL=C sort > "$WORK/packages"
node "$HERE/breakdown.mjs" "$WORK/rootfs" > "$WORK/sizes"
tar -C "$WORK/rootfs" "${TAR_FLAGS[@]}" --one-file-system --exclude='./dev/*' --exclude='./proc/*' \
  --exclude='./sys/*' --exclude='./run/*' --exclude='./tmp/*' -cf "$WORK/base.tar" .
mv "$WORK/abi" "$OUT.abi"; mv "$WORK/packages" "$OUT.packages"; mv "$WORK/sizes" "$OUT.sizes"; mv "$WORK/base.tar" "$OUT"
