#!/bin/bash
# report.sh IMAGE ID OUT BASE.tar APP.tar: the image's size and what makes it up.
set -euo pipefail
IMAGE=$1; ID=$2; OUT=$3; BASE=$4; APP=$5
mib() { awk -v b="$1" 'BEGIN { printf "%7.1f MiB", b / 1048576 }'; }
size() { stat -c %s "$1"; }
blob_of() {  # the gzip'd blob of a layer tar (oci.ts's diffid memo)
  local d; d=$(sha256sum "$1" | cut -d' ' -f1)
  size "$OUT/oci/blobs/sha256/$(cut -d: -f2 "$OUT/oci/diffid/$d")"
}
base=$(size "$BASE"); app=$(size "$APP"); zbase=$(blob_of "$BASE"); zapp=$(blob_of "$APP")
echo "image $IMAGE  id $ID"
echo "  size: $(mib $((base + app))) unpacked, $(mib $((zbase + zapp))) compressed (what a node pulls); archive $(mib "$(size "$OUT/nnet-image.oci.tar")")"
echo "  base layer (Debian $(grep -E '^nodejs ' "$BASE.packages" | cut -d' ' -f2 | sed 's/^/nodejs /'), $(wc -l < "$BASE.packages") packages): $(mib "$base") unpacked, $(mib "$zbase") compressed"
echo "  app layer (N-Net): $(mib "$app") unpacked, $(mib "$zapp") compressed"
echo "  what the base layer holds (by package, on disk after dropping docs, man pages and locales):"
total=$(awk '{ s += $1 } END { print s }' "$BASE.sizes")
head -12 "$BASE.sizes" | while read -r b name; do echo "    $(mib "$b")  $name"; done
rest=$(tail -n +13 "$BASE.sizes" | awk '{ s += $1; n++ } END { print s + 0, n + 0 }')
echo "    $(mib "${rest% *}")  the ${rest#* } others"
echo "    $(mib "$total")  in all"
echo "  what the app layer holds:"
tar -tvf "$APP" | awk '$1 !~ /^d/ { split($6, p, "/"); k = (p[4] == "node_modules") ? "./opt/nnet/node_modules/" p[5] : $6; s[k] += $3 }
  END { for (k in s) printf "%d %s\n", s[k], k }' | sort -rn | while read -r b name; do
  if [ "$b" -gt 0 ]; then echo "    $(mib "$b")  ${name#./}"; fi; done
