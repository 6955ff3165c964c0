#!/bin/bash
# Installs every Debian and npm package N-Net needs, non-interactively and idempotently, and says
# what it does while it does it: which packages are missing, how many apt installs and downloads,
# apt's own progress condensed to a line every few seconds with the time left where it can be
# estimated, then npm's. The full apt/npm output goes to $NNET_INSTALL_LOG (default
# <project>/.lab/install-deps.log); its last lines are printed when something fails.
# Maintainer scripts may start no service (policy-rc.d) and configure no database (debconf).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
[ "$(id -u)" = 0 ] || { echo "install-deps: run as root" >&2; exit 1; }
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
LOG=${NNET_INSTALL_LOG:-$ROOT/.lab/install-deps.log}
EVERY=${NNET_PROGRESS_EVERY:-5}   # seconds between two progress lines of one phase
T0=$EPOCHSECONDS

PKGS="keystone neutron-server python3-neutron python3-pymysql openvswitch-common openvswitch-switch
      ovn-central ovn-host ovn-common mariadb-server-core mariadb-client-core etcd-server etcd-client
      iperf3 iputils-ping golang-go golang-github-appc-cni-dev curl sqlite3 procps iproute2 ethtool
      podman runc busybox-static containernetworking-plugins nftables iptables mmdebstrap
      dnsmasq-base conntrack"
# kubectl may already be on the machine image; Debian's kubernetes-client is the fallback.
command -v kubectl >/dev/null || PKGS="$PKGS kubernetes-client"

say() { echo "install-deps: $*"; }
dur() { local s=$1; if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi; }
mb() { printf '%d.%d MB' $(($1 / 1000000)) $(($1 % 1000000 / 100000)); }
fail() {
  say "FAILED: $1. The last lines of $LOG:"
  tail -n 25 "$LOG" | sed 's/^/  | /'
  exit 1
}

# Reads apt's status lines (APT::Status-Fd: "dlstatus:N:PCT:MSG" while downloading,
# "pmstatus:PKG:PCT:MSG" while dpkg works) and prints one line when a phase starts and ends and one
# every $EVERY seconds in between (also while one big package unpacks and apt says nothing), with
# the time left extrapolated from the phase's pace so far.
apt_progress() {
  local total=$1 phase='' since=0 last=0 kind item pc m pct=0 msg='' p now n=0 rc
  while :; do
    # A read that times out empties its variables: the last status stays in pct and msg.
    if IFS=: read -r -t "$EVERY" kind item pc m; then
      case $kind in dlstatus) p=download ;; pmstatus) p=install ;; *) continue ;; esac
      pct=${pc:-0} msg=$m
      now=$EPOCHSECONDS
      if [ "$p" != "$phase" ]; then
        [ -n "$phase" ] && say "  $phase: done in $(dur $((now - since)))"
        phase=$p since=$now last=0
      fi
      [ "$p" = install ] && [[ $msg == Installed* ]] && n=$((n + 1))
    else
      rc=$?
      ((rc > 128)) || break # end of input; otherwise nothing came for $EVERY seconds
      [ -n "$phase" ] || continue
    fi
    now=$EPOCHSECONDS
    ((now - last >= EVERY)) || continue
    last=$now
    progress_line "$phase" "${pct%%.*}" "$msg" "$((now - since))" "$n" "$total"
  done
  [ -n "$phase" ] && say "  $phase: done in $(dur $((EPOCHSECONDS - since)))"
  return 0
}

# progress_line PHASE PERCENT MESSAGE SECONDS INSTALLED TOTAL
progress_line() {
  local left=''
  if (($2 >= 3 && $2 < 100 && $4 >= 2)); then left=", ~$(dur $(($4 * (100 - $2) / $2))) left"; fi
  if [ "$1" = download ]; then
    say "  download $2% ($3), $(dur "$4") so far$left"
  else
    say "  install $2%: $3 ($5 of $6 installed), $(dur "$4") so far$left"
  fi
}

install_debian() {
  local missing=$1 t sim total dl bytes
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; fi
  debconf-set-selections <<'SEL'
keystone keystone/configure_db boolean false
keystone keystone/create-admin-tenant boolean false
keystone keystone/register-endpoint boolean false
neutron-common neutron/configure_db boolean false
neutron-common neutron/configure_rabbit boolean false
neutron-common neutron/configure_ksat boolean false
neutron-common neutron/configure_nova boolean false
neutron-api neutron/configure_api-endpoint boolean false
dbconfig-common dbconfig-common/dbconfig-install boolean false
SEL
  # shellcheck disable=SC2086
  say "$(wc -w <<<"$missing") of $(wc -w <<<"$PKGS") Debian packages missing:$missing"
  t=$EPOCHSECONDS
  say "apt-get update …"
  apt-get update -q >>"$LOG" 2>&1 || fail "apt-get update"
  say "apt-get update: done in $(dur $((EPOCHSECONDS - t)))"
  local opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  say "resolving their dependencies …"
  # shellcheck disable=SC2086
  sim=$(apt-get install -s "${opts[@]}" $missing 2>>"$LOG") || fail "apt cannot resolve:$missing"
  total=$(grep -c '^Inst ' <<<"$sim" || true)
  # shellcheck disable=SC2086
  read -r dl bytes < <(apt-get install --print-uris -qq "${opts[@]}" $missing 2>>"$LOG" | awk '{n++; b += $3} END {print n + 0, b + 0}')
  say "apt installs $total packages with their dependencies: $dl to download ($(mb "$bytes")), $((total - dl)) already in apt's cache"
  t=$EPOCHSECONDS
  # Status lines go to fd 3 (the pipe into apt_progress); apt's and dpkg's own output to the log.
  # shellcheck disable=SC2086
  if ! apt-get install "${opts[@]}" -o APT::Status-Fd=3 $missing 3>&1 >>"$LOG" 2>&1 | apt_progress "$total"; then
    fail "apt-get install"
  fi
  say "Debian packages installed in $(dur $((EPOCHSECONDS - t)))"
}

# Packages whose package.json has landed under node_modules (at any depth).
unpacked() {
  find "$1" -mindepth 2 -maxdepth 8 -name package.json 2>/dev/null | grep -cE 'node_modules/(@[^/]+/)?[^/@][^/]*/package\.json$' || true
}

# The commands running under PID, deepest last, e.g. "sh node-gyp make g++ cc1plus".
running_under() {
  local pids=" $1 " all names='' kids
  all=$(ps -eo ppid=,pid=,comm=)
  while [ "$pids" != " " ]; do
    names="$names $(awk -v p="$pids" 'index(p, " " $1 " ") {print $3}' <<<"$all" | tr '\n' ' ')"
    kids=$(awk -v p="$pids" 'index(p, " " $1 " ") {print $2}' <<<"$all" | tr '\n' ' ')
    pids=" $kids"
  done
  # shellcheck disable=SC2086
  printf '%s\n' $names | awk '!seen[$0]++' | tr '\n' ' ' | sed 's/ $//'
}

# The package whose install script npm runs now: the working dir of npm's child.
script_package() {
  local kid dir
  kid=$(ps -o pid= --ppid "$1" | head -n 1 | tr -d ' ')
  dir=$(readlink "/proc/$kid/cwd" 2>/dev/null || true)
  echo "${dir##*/node_modules/}"
}

# npm ci replaces node_modules: only when package-lock.json changed since the last install here
# (a hash stamp), never through a symlinked node_modules (a worktree sharing another checkout's).
install_npm() {
  local lock=$ROOT/package-lock.json nm=$ROOT/node_modules stamp sum t n npm_pid last=0 got cmds
  stamp=$nm/.nnet-package-lock.sha256
  sum=$(sha256sum "$lock" | cut -d' ' -f1)
  if [ -L "$nm" ]; then say "npm packages: node_modules is a symlink to $(readlink -f "$nm"): left as it is"; return; fi
  if [ -d "$nm" ] && { [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] ||
    { [ ! -e "$stamp" ] && [ ! "$lock" -nt "$nm/.package-lock.json" ]; }; }; then
    echo "$sum" > "$stamp"
    say "npm packages present (node_modules matches package-lock.json)"
    return
  fi
  # The lock's packages for this platform (the others are optional and skipped).
  n=$(node -e 'const l = require(process.argv[1]); let n = 0;
    for (const [k, v] of Object.entries(l.packages ?? {}))
      if (k && !(v.os && !v.os.includes(process.platform)) && !(v.cpu && !v.cpu.includes(process.arch)) && !(v.libc && !v.libc.includes("glibc"))) n++;
    console.log(n)' "$lock" 2>/dev/null || echo '?')
  say "npm ci: $n npm packages from package-lock.json …"
  t=$EPOCHSECONDS last=$EPOCHSECONDS
  (cd "$ROOT" && exec npm ci --no-audit --no-fund --no-progress) >>"$LOG" 2>&1 &
  npm_pid=$!
  # npm ci prints nothing useful while it works: say what has landed in node_modules, then which
  # install scripts run (a native module compiles when no prebuilt binary can be fetched).
  while kill -0 "$npm_pid" 2>/dev/null; do
    sleep 1
    ((EPOCHSECONDS - last >= EVERY)) || continue
    last=$EPOCHSECONDS
    got=$(unpacked "$nm")
    if [ "$n" = '?' ] || ((got < n)); then
      say "  npm ci: $got of $n packages unpacked, $(dur $((EPOCHSECONDS - t))) so far"
    elif cmds=$(running_under "$npm_pid") && [ -n "$cmds" ]; then
      say "  npm ci: all unpacked; install script of $(script_package "$npm_pid") running ($cmds), $(dur $((EPOCHSECONDS - t))) so far"
    else
      say "  npm ci: all unpacked; finishing, $(dur $((EPOCHSECONDS - t))) so far"
    fi
  done
  wait "$npm_pid" || fail "npm ci"
  echo "$sum" > "$stamp"
  say "npm packages installed in $(dur $((EPOCHSECONDS - t)))"
}

mkdir -p "$(dirname "$LOG")"
: > "$LOG"
# shellcheck disable=SC2086
installed=" $(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $PKGS 2>/dev/null | awk '$1 == "ii" {printf "%s ", $2}' || true)"
missing=""
for p in $PKGS; do [[ $installed == *" $p "* ]] || missing="$missing $p"; done
if [ -n "$missing" ]; then install_debian "$missing"; else say "Debian packages present ($(wc -w <<<"$PKGS") checked)"; fi
install_npm
say "done in $(dur $((EPOCHSECONDS - T0)))"
