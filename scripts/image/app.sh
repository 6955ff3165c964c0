#!/bin/bash
# app.sh OUT.tar ADDON VERSION: the image's app layer, from dist/ (npm run build) and node_modules:
#   /opt/nnet/dist/nnet                                        the thin CNI plugin (a static binary)
#   /opt/nnet/dist/{nnet-agent,nnet-install-cni,kubenetctl}.js   the bundles
#   /opt/nnet/node_modules/{better-sqlite3,bindings,file-uri-to-path} the one native dependency
#     (its JS, its licence, and ADDON, built for the image's node) and the two packages it loads with
#   /usr/local/bin/{nnet-agent,nnet-install-cni,kubenetctl,kubectl-nnet} -> the bundles
# Modes are set explicitly and the tar is deterministic, so the layer depends only on the files.
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
OUT=${1:?usage: app.sh OUT.tar ADDON VERSION}; ADDON=${2:?}; VERSION=${3:?}
S=$(mktemp -d "$(dirname "$OUT")/.app.XXXXXX")
trap 'rm -rf "$S"' EXIT
NM=$ROOT/node_modules
mkdir -p "$S/opt/nnet/dist" "$S/opt/nnet/node_modules/better-sqlite3/build/Release" "$S/usr/local/bin"
install -m 0755 "$ROOT/dist/nnet" "$S/opt/nnet/dist/nnet"
for b in nnet-agent nnet-install-cni kubenetctl; do
  install -m 0755 "$ROOT/dist/$b.js" "$S/opt/nnet/dist/$b.js"
done
for b in nnet-agent nnet-install-cni kubenetctl; do ln -s "/opt/nnet/dist/$b.js" "$S/usr/local/bin/$b"; done
ln -s /opt/nnet/dist/kubenetctl.js "$S/usr/local/bin/kubectl-nnet"
B=$S/opt/nnet/node_modules/better-sqlite3
cp "$NM/better-sqlite3/package.json" "$NM/better-sqlite3/LICENSE" "$B/"
cp -r "$NM/better-sqlite3/lib" "$B/lib"
install -m 0755 "$ADDON" "$B/build/Release/better_sqlite3.node"
for p in bindings file-uri-to-path; do
  mkdir -p "$S/opt/nnet/node_modules/$p"
  (cd "$NM/$p" && find . -type f ! -name 'README*' ! -name 'History*' ! -path './test/*' ! -name '.*' -exec cp --parents {} "$S/opt/nnet/node_modules/$p/" \;)
done
printf '{"name":"nnet","version":"%s","type":"module","private":true}\n' "$VERSION" > "$S/opt/nnet/package.json"
find "$S" -type d -exec chmod 0755 {} +
find "$S" -type f ! -perm -u+x -exec chmod 0644 {} +
find "$S" -type f -perm -u+x -exec chmod 0755 {} +
tar -C "$S" "${TAR_FLAGS[@]}" --owner=0 --group=0 -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
