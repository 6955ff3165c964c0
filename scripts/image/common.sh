# Shared by the image scripts (sourced): the Debian release the image is built from, its mirror,
# the dpkg filters that keep documentation out, and the deterministic tar flags.
# Debian 12's own nodejs is 18; N-Net needs 20, which Debian 13 (trixie) ships as its nodejs.
SUITE=${NNET_IMAGE_SUITE:-trixie}
MIRROR=${NNET_IMAGE_MIRROR:-http://deb.debian.org/debian}
# 2025-01-01 00:00:00 UTC (before any build, so every mtime is clamped to it): files and config dates.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1735689600}
# Never installed: docs (but each package's copyright), man and info pages, locales, lintian data.
DPKG_FILTERS=(
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --dpkgopt='path-exclude=/usr/share/bash-completion/*'
)
APT_OPTS=(--aptopt='APT::Install-Recommends "false"' --aptopt='Acquire::Retries "3"')
# mmdebstrap's own tar flags: sorted, owners as numbers, mtimes clamped, no atime/ctime.
TAR_FLAGS=(--sort=name "--mtime=@$SOURCE_DATE_EPOCH" --clamp-mtime --numeric-owner --format=pax
  '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime')

# key WORDS... FILES...: a cache key over the words and the files' contents.
cache_key() { { printf '%s\n' "$@"; for f in "$@"; do [ -f "$f" ] && cat "$f"; done; } | sha256sum | cut -c1-16; }
