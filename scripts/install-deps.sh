#!/bin/bash
# Installs every Debian and npm package N-Net needs, non-interactively and idempotently.
# Maintainer scripts may start no service (policy-rc.d) and configure no database (debconf).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
[ "$(id -u)" = 0 ] || { echo "install-deps: run as root" >&2; exit 1; }
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)

PKGS="keystone neutron-server python3-neutron python3-pymysql openvswitch-common openvswitch-switch
      ovn-central ovn-host ovn-common mariadb-server-core mariadb-client-core etcd-server etcd-client
      iperf3 iputils-ping golang-go golang-github-appc-cni-dev curl sqlite3 procps iproute2 ethtool
      podman runc busybox-static containernetworking-plugins nftables iptables mmdebstrap"
# kubectl may already be on the machine image; Debian's kubernetes-client is the fallback.
command -v kubectl >/dev/null || PKGS="$PKGS kubernetes-client"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
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
  echo "install-deps: installing:$missing"
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing
else
  echo "install-deps: Debian packages present"
fi

if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  (cd "$ROOT" && npm ci --no-audit --no-fund)
fi
