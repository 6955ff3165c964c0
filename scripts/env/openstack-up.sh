#!/bin/bash
# openstack-up.sh - a PRIVATE, real OpenStack Keystone (Debian 22/Zed) + Neutron (Debian 21/Zed,
# ML2 + OVN mechanism driver) + OVN NB/SB ovsdb-servers + ovn-northd + private MariaDB,
# all under $OPENSTACK_DIR (default <project>/.lab/env/openstack). Needs scripts/install-deps.sh.
# Passwords are generated once and kept in 0600 files; none is printed.
# Idempotent: services already running (live pidfile) are left alone; DB init is done once
# (marker files). RESET=1 wipes all state (runs down.sh first) and starts from scratch.
#
# Env knobs (defaults):
#   OPENSTACK_DIR=<project>/.lab/env/openstack   DB_BACKEND=mariadb|sqlite (mariadb)   RESET=0
#   KEYSTONE_PORT=5000  NEUTRON_PORT=9696  MYSQL_PORT=3307  BIND_IP=127.0.0.1
#   ADMIN_PASSWORD=secret  NEUTRON_PASSWORD=neutronpass  REGION=RegionOne
#   KEYSTONE_THREADS=4 (1 for sqlite)  NEUTRON_API_WORKERS=1  DEBUG=false
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin   # avoid pyenv shims
PY=/usr/bin/python3
HERE=$(dirname "$(readlink -f "$0")")      # where up.sh/down.sh live
ROOT=$(cd "$HERE/../.." && pwd)
BASE=${OPENSTACK_DIR:-$ROOT/.lab/env/openstack}
mkdir -p "$BASE"; chmod 700 "$BASE"
# The real path: a symlinked .lab/env must be recognised as the environment already running.
BASE=$(readlink -f "$BASE")
# secret NAME: a random password generated once, kept in a 0600 file under $BASE
secret() { local f="$BASE/.$1"; [ -s "$f" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d "/+=" > "$f"); cat "$f"; }
DB_BACKEND=${DB_BACKEND:-mariadb}
RESET=${RESET:-0}
BIND_IP=${BIND_IP:-127.0.0.1}
KEYSTONE_PORT=${KEYSTONE_PORT:-5000}
NEUTRON_PORT=${NEUTRON_PORT:-9696}
MYSQL_PORT=${MYSQL_PORT:-3307}
ADMIN_PASSWORD=${ADMIN_PASSWORD:-$(secret admin_password)}
NEUTRON_PASSWORD=${NEUTRON_PASSWORD:-$(secret neutron_password)}
DB_PASSWORD=${DB_PASSWORD:-$(secret db_password)}
# A project member, not admin: what a cluster's credentials should be (tests run the plugin as it).
MEMBER_PASSWORD=${MEMBER_PASSWORD:-$(secret member_password)}
REGION=${REGION:-RegionOne}
if [ "$DB_BACKEND" = sqlite ]; then KEYSTONE_THREADS=${KEYSTONE_THREADS:-1}; else KEYSTONE_THREADS=${KEYSTONE_THREADS:-4}; fi
NEUTRON_API_WORKERS=${NEUTRON_API_WORKERS:-1}
DEBUG=${DEBUG:-false}

R=$BASE/ovn; K=$BASE/keystone; N=$BASE/neutron; M=$BASE/mysql
KS_URL=http://$BIND_IP:$KEYSTONE_PORT/v3
NEUTRON_URL=http://$BIND_IP:$NEUTRON_PORT
# Keep every OVS/OVN helper away from the system default run/log/db dirs.
export OVS_RUNDIR=$R OVS_LOGDIR=$R OVS_DBDIR=$R OVN_RUNDIR=$R OVN_LOGDIR=$R OVN_DBDIR=$R

T_START=${EPOCHREALTIME/./}
ts() { local now=${EPOCHREALTIME/./}; printf '[up %6.2fs] %s\n' "$(( (now - T_START) / 10000 ))e-2" "$*"; }
# alive PIDFILE: pid exists, is not a zombie, and its command line mentions our private dir
alive() { local p; [ -f "$1" ] || return 1; p=$(tr -dc 0-9 < "$1"); [ -n "$p" ] || return 1
  kill -0 "$p" 2>/dev/null && [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" != Z ] \
    && tr '\0' ' ' < /proc/$p/cmdline | grep -q -- "$BASE"; }
die() { echo "[up] ERROR: $*" >&2; exit 1; }
# wait_until TIMEOUT_S CMD... : poll every 0.2 s
wait_until() { local to=$1 i; shift; for i in $(seq 1 $((to * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
# start_bg PIDFILE LOGFILE CMD... : detach into own session, pid of the exec'd program in PIDFILE
start_bg() { local pf=$1 log=$2; shift 2
  setsid -f sh -c 'echo $$ > "$0"; exec "$@"' "$pf" "$@" >>"$log" 2>&1 </dev/null
  wait_until 5 test -s "$pf" || die "could not start $*"; }
port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

case "$DB_BACKEND" in mariadb|sqlite) ;; *) die "DB_BACKEND must be mariadb or sqlite";; esac
for b in keystone-manage neutron-server neutron-db-manage uwsgi ovsdb-server ovn-northd ovn-nbctl curl; do
  command -v $b >/dev/null || die "$b missing - run scripts/install-deps.sh"; done
[ "$DB_BACKEND" = sqlite ] || command -v mariadbd >/dev/null || die "mariadbd missing - run scripts/install-deps.sh"

if [ "$RESET" = 1 ]; then
  ts "RESET=1: stopping services and wiping state"
  OPENSTACK_DIR="$BASE" "$HERE/openstack-down.sh" || true
  rm -rf "$R" "$K" "$N" "$M" "$BASE/.backend" "$BASE/openrc" "$BASE/endpoints.json"
fi
mkdir -p "$R" "$K"/{fernet-keys,credential-keys,log} "$N"/{log,state,lock} 
# a previous run with a different backend must not be mixed with this one
if [ -f "$BASE/.backend" ] && [ "$(cat "$BASE/.backend")" != "$DB_BACKEND" ]; then
  die "state in $BASE was created with DB_BACKEND=$(cat "$BASE/.backend"); use RESET=1 to switch"
fi
# Through a rename: a concurrent reader never sees the file empty.
echo "$DB_BACKEND" > "$BASE/.backend.$$" && mv -f "$BASE/.backend.$$" "$BASE/.backend"

############################################################ OVN (private NB/SB + northd)
NB_SOCK=$R/ovnnb_db.sock; SB_SOCK=$R/ovnsb_db.sock
[ -f "$R/ovnnb_db.db" ] || ovsdb-tool create "$R/ovnnb_db.db" /usr/share/ovn/ovn-nb.ovsschema
[ -f "$R/ovnsb_db.db" ] || ovsdb-tool create "$R/ovnsb_db.db" /usr/share/ovn/ovn-sb.ovsschema
for db in nb sb; do
  if [ $db = nb ]; then S=OVN_Northbound,NB_Global; else S=OVN_Southbound,SB_Global; fi
  if ! alive "$R/ovn${db}_db.pid"; then
    rm -f "$R/ovn${db}_db.sock" "$R/ovn${db}_db.ctl"
    ovsdb-server "$R/ovn${db}_db.db" --remote="punix:$R/ovn${db}_db.sock" --remote="db:$S,connections" \
      --pidfile="$R/ovn${db}_db.pid" --unixctl="$R/ovn${db}_db.ctl" \
      --log-file="$R/ovsdb-server-${db}.log" --detach --no-chdir
  fi
done
ovn-nbctl --db="unix:$NB_SOCK" --timeout=10 init
ovn-sbctl --db="unix:$SB_SOCK" --timeout=10 init
if ! alive "$R/ovn-northd.pid"; then
  ovn-northd --ovnnb-db="unix:$NB_SOCK" --ovnsb-db="unix:$SB_SOCK" --pidfile="$R/ovn-northd.pid" \
    --unixctl="$R/ovn-northd.ctl" --log-file="$R/ovn-northd.log" --detach --no-chdir
fi
ts "OVN NB/SB ovsdb-servers + ovn-northd up ($R)"

############################################################ MariaDB (private datadir/socket/port)
if [ "$DB_BACKEND" = mariadb ]; then
  mkdir -p "$M/data" "$M/run"
  cat > "$M/my.cnf" <<EOF
[mysqld]
datadir = $M/data
socket = $M/run/mysqld.sock
pid-file = $M/run/mysqld.pid
port = $MYSQL_PORT
bind-address = 127.0.0.1
user = root
log-error = $M/mysqld.err
skip-name-resolve
skip-log-bin
innodb_buffer_pool_size = 64M
innodb_log_file_size = 16M
innodb_flush_log_at_trx_commit = 2
innodb_doublewrite = 0
performance_schema = OFF
max_connections = 300
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
[client]
socket = $M/run/mysqld.sock
EOF
  if [ ! -d "$M/data/mysql" ]; then
    mariadb-install-db --defaults-file="$M/my.cnf" --auth-root-authentication-method=normal \
      --skip-test-db > "$M/install-db.log" 2>&1 || { cat "$M/install-db.log"; die "mariadb-install-db failed"; }
  fi
  if ! alive "$M/run/mysqld.pid"; then
    port_free "$MYSQL_PORT" || die "port $MYSQL_PORT busy (set MYSQL_PORT)"
    setsid -f mariadbd --defaults-file="$M/my.cnf" >>"$M/mysqld.stdout" 2>&1 </dev/null
  fi
  wait_until 60 mariadb --defaults-file="$M/my.cnf" -uroot -e 'select 1' || die "mariadbd did not start, see $M/mysqld.err"
  mariadb --defaults-file="$M/my.cnf" -uroot <<EOF
CREATE DATABASE IF NOT EXISTS keystone CHARACTER SET utf8mb4;
CREATE DATABASE IF NOT EXISTS neutron CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'lab'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON keystone.* TO 'lab'@'127.0.0.1';
GRANT ALL PRIVILEGES ON neutron.* TO 'lab'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
  KS_DB="mysql+pymysql://lab:$DB_PASSWORD@127.0.0.1:$MYSQL_PORT/keystone?charset=utf8mb4"
  NEUTRON_DB="mysql+pymysql://lab:$DB_PASSWORD@127.0.0.1:$MYSQL_PORT/neutron?charset=utf8mb4"
  ts "MariaDB up on 127.0.0.1:$MYSQL_PORT (socket $M/run/mysqld.sock)"
else
  KS_DB="sqlite:///$K/keystone.db"
  NEUTRON_DB="sqlite:///$N/neutron.db"
fi

############################################################ Keystone
cat > "$K/keystone.conf" <<EOF
[DEFAULT]
log_dir = $K/log
log_file = keystone.log
debug = $DEBUG
[database]
connection = $KS_DB
[identity]
# test speed-up: bcrypt cost 4 instead of 12 (saves ~0.2-0.3 s CPU per password auth);
# only applies to passwords hashed after this is set (i.e. set before bootstrap)
password_hash_rounds = 4
[token]
provider = fernet
expiration = 86400
[fernet_tokens]
key_repository = $K/fernet-keys
[fernet_receipts]
key_repository = $K/fernet-keys
[credential]
key_repository = $K/credential-keys
[oslo_policy]
policy_dirs = /etc/keystone/policy.d
[cache]
# in-process cache: ~10 ms per request instead of ~250-450 ms. Safe because keystone runs as a
# single uwsgi process (cache invalidation on writes is process-local).
enabled = true
backend = dogpile.cache.memory
EOF
cat > "$K/uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
http-socket = $BIND_IP:$KEYSTONE_PORT
wsgi-file = /usr/bin/keystone-wsgi-public
env = OS_KEYSTONE_CONFIG_FILES=$K/keystone.conf
master = true
# ONE process (keeps the in-memory cache coherent); threads give concurrency. With sqlite use a
# single thread: multi-threaded sqlite workers leak locked connections ("database is locked").
processes = 1
threads = $KEYSTONE_THREADS
enable-threads = true
lazy-apps = false
buffer-size = 65535
listen = 100
# uwsgi http-socket does not do keep-alive; tell clients (keystonemiddleware) not to reuse
add-header = Connection: close
die-on-term = true
worker-reload-mercy = 5
chdir = $K
name = lab-keystone
pidfile = $K/uwsgi.pid
daemonize = $K/log/uwsgi.log
EOF
KM() { keystone-manage --config-file "$K/keystone.conf" "$@" >>"$K/log/keystone-manage.log" 2>&1; }
BOOT_ID="$KEYSTONE_PORT|$BIND_IP|$(printf %s "$ADMIN_PASSWORD" | sha256sum | cut -c1-16)|$REGION"
if [ ! -f "$K/.db_synced" ]; then
  KM db_sync || die "keystone db_sync failed, see $K/log/keystone-manage.log"
  [ "$DB_BACKEND" = sqlite ] && sqlite3 "$K/keystone.db" 'PRAGMA journal_mode=WAL;' >/dev/null
  touch "$K/.db_synced"
fi
[ -f "$K/fernet-keys/0" ] || KM fernet_setup --keystone-user root --keystone-group root
[ -f "$K/credential-keys/0" ] || KM credential_setup --keystone-user root --keystone-group root
if [ "$(cat "$K/.bootstrapped" 2>/dev/null)" != "$BOOT_ID" ]; then
  KM bootstrap --bootstrap-password "$ADMIN_PASSWORD" --bootstrap-username admin \
    --bootstrap-project-name admin --bootstrap-role-name admin \
    --bootstrap-service-name keystone --bootstrap-region-id "$REGION" \
    --bootstrap-admin-url "$KS_URL/" --bootstrap-public-url "$KS_URL/" \
    --bootstrap-internal-url "$KS_URL/" || die "keystone bootstrap failed"
  echo "$BOOT_ID" > "$K/.bootstrapped"
fi
ts "Keystone DB ready"
if ! alive "$K/uwsgi.pid"; then
  port_free "$KEYSTONE_PORT" || die "port $KEYSTONE_PORT busy (set KEYSTONE_PORT)"
  (cd "$K" && uwsgi --ini "$K/uwsgi.ini")
fi
wait_until 60 curl -sf "$KS_URL" || die "keystone not answering on $KS_URL, see $K/log/uwsgi.log"
ts "Keystone up at $KS_URL"

# Register service project, neutron service user, network service + endpoints (idempotent)
$PY - "$KS_URL" "$ADMIN_PASSWORD" "$NEUTRON_PASSWORD" "$NEUTRON_URL" "$REGION" "$MEMBER_PASSWORD" <<'PYEOF'
import json, sys, urllib.request, urllib.error
ks, admin_pw, neutron_pw, neutron_url, region, member_pw = sys.argv[1:7]
def call(method, path, body=None, token=None, ok=(200, 201, 204)):
    req = urllib.request.Request(ks + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header('Content-Type', 'application/json')
    if token: req.add_header('X-Auth-Token', token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
            return r.status, r.headers, (json.loads(data) if data else None)
    except urllib.error.HTTPError as e:
        if e.code in ok: return e.code, e.headers, None
        raise SystemExit(f"keystone {method} {path} -> {e.code}: {e.read()[:300]}")
auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"id": "default"}, "password": admin_pw}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
_, h, _ = call('POST', '/auth/tokens', auth)
tok = h['X-Subject-Token']
def one(path, key, name_q):
    _, _, d = call('GET', f'{path}?{name_q}', token=tok)
    return d[key][0] if d[key] else None
proj = one('/projects', 'projects', 'name=service') or call('POST', '/projects', {"project": {
    "name": "service", "domain_id": "default", "description": "Service project"}}, tok)[2]['project']
user = one('/users', 'users', 'name=neutron')
if user:   # keep password in sync with NEUTRON_PASSWORD - but only PATCH when it differs:
           # a password change revokes the user's tokens (running neutron-server would get 401s)
    code, _, _ = call('POST', '/auth/tokens', {"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"id": user['id'], "password": neutron_pw}}}}}, ok=(401,))
    if code == 401:
        call('PATCH', f"/users/{user['id']}", {"user": {"password": neutron_pw}}, tok)
else:
    user = call('POST', '/users', {"user": {"name": "neutron", "domain_id": "default",
                                            "password": neutron_pw}}, tok)[2]['user']
role = one('/roles', 'roles', 'name=admin')
call('PUT', f"/projects/{proj['id']}/users/{user['id']}/roles/{role['id']}", token=tok)
svc = one('/services', 'services', 'type=network') or call('POST', '/services', {"service": {
    "type": "network", "name": "neutron", "description": "OpenStack Networking"}}, tok)[2]['service']
_, _, eps = call('GET', f"/endpoints?service_id={svc['id']}", token=tok)
have = {e['interface']: e for e in eps['endpoints']}
for iface in ('public', 'internal', 'admin'):
    e = have.get(iface)
    if e is None:
        call('POST', '/endpoints', {"endpoint": {"service_id": svc['id'], "interface": iface,
                                                 "url": neutron_url, "region_id": region}}, tok)
    elif e['url'] != neutron_url:
        call('PATCH', f"/endpoints/{e['id']}", {"endpoint": {"url": neutron_url}}, tok)
# The project N-Net's tests work in as a member (least privilege): project nnet-ci, user nnet-member.
ci = one('/projects', 'projects', 'name=nnet-ci') or call('POST', '/projects', {"project": {
    "name": "nnet-ci", "domain_id": "default", "description": "N-Net tests: a member's project"}}, tok)[2]['project']
member = one('/users', 'users', 'name=nnet-member')
if member:
    code, _, _ = call('POST', '/auth/tokens', {"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"id": member['id'], "password": member_pw}}}}}, ok=(401,))
    if code == 401:
        call('PATCH', f"/users/{member['id']}", {"user": {"password": member_pw}}, tok)
else:
    member = call('POST', '/users', {"user": {"name": "nnet-member", "domain_id": "default",
                                              "password": member_pw}}, tok)[2]['user']
mrole = one('/roles', 'roles', 'name=member')
call('PUT', f"/projects/{ci['id']}/users/{member['id']}/roles/{mrole['id']}", token=tok)
# Only the right to bind ports to nodes (the Neutron policy file written with neutron.conf below).
brole = one('/roles', 'roles', 'name=nnet-node') or call('POST', '/roles', {"role": {"name": "nnet-node",
    "description": "N-Net: bind ports to nodes (binding:host_id)"}}, tok)[2]['role']
call('PUT', f"/projects/{ci['id']}/users/{member['id']}/roles/{brole['id']}", token=tok)
print("keystone: service project, neutron user (admin on service), network endpoints, nnet-ci member OK")
PYEOF
ts "Keystone catalog has network service -> $NEUTRON_URL"

############################################################ Neutron (ML2/OVN, no agents, no RabbitMQ)
# Written to .new first: a running neutron-server whose config changed is restarted below.
cat > "$N/neutron.conf.new" <<EOF
[DEFAULT]
core_plugin = ml2
# trunk: pods in VMs are Neutron subports (the nested plug driver)
service_plugins = ovn-router,trunk
auth_strategy = keystone
bind_host = $BIND_IP
bind_port = $NEUTRON_PORT
api_workers = $NEUTRON_API_WORKERS
rpc_workers = 0
rpc_state_report_workers = 0
# in-process oslo.messaging driver: no RabbitMQ needed (ML2/OVN has no RPC agents)
transport_url = fake:/
state_path = $N/state
api_paste_config = /etc/neutron/api-paste.ini
log_dir = $N/log
log_file = neutron-server.log
debug = $DEBUG
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
dhcp_agent_notification = false
allow_overlapping_ips = true
[database]
connection = $NEUTRON_DB
[keystone_authtoken]
www_authenticate_uri = http://$BIND_IP:$KEYSTONE_PORT
auth_url = http://$BIND_IP:$KEYSTONE_PORT
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = neutron
password = $NEUTRON_PASSWORD
region_name = $REGION
[oslo_concurrency]
lock_path = $N/lock
[oslo_policy]
policy_dirs = /etc/neutron/policy.d
EOF
# Binding a port to its node is admin-only in Neutron's default policy; the role nnet-node (given
# to the member user nnet-member) grants just that, so N-Net's identity needs no admin. A file of
# ours in the policy directory: oslo.policy reads it without a restart (neutron.conf unchanged).
# The draft is written beside the directory, not in it: neutron-server parses every file in
# policy.d on every request after the directory changes, a half-written draft included (HTTP 500).
install -d -m 0755 /etc/neutron/policy.d
cat > /etc/neutron/nnet-lab-policy.yaml.new <<EOF
"create_port:binding:host_id": "rule:admin_only or role:nnet-node"
"update_port:binding:host_id": "rule:admin_only or role:nnet-node"
"get_port:binding:host_id": "rule:admin_only or role:nnet-node"
"get_port:binding:vif_type": "rule:admin_only or role:nnet-node"
"get_port:binding:vif_details": "rule:admin_only or role:nnet-node"
"get_port:binding:profile": "rule:admin_only or role:nnet-node"
EOF
if cmp -s /etc/neutron/nnet-lab-policy.yaml.new /etc/neutron/policy.d/nnet-lab.yaml; then
  rm -f /etc/neutron/nnet-lab-policy.yaml.new
else mv /etc/neutron/nnet-lab-policy.yaml.new /etc/neutron/policy.d/nnet-lab.yaml; fi
cat > "$N/ml2_conf.ini.new" <<EOF
[ml2]
type_drivers = geneve,flat,vlan
tenant_network_types = geneve
mechanism_drivers = ovn
extension_drivers = port_security
overlay_ip_version = 4
[ml2_type_geneve]
vni_ranges = 1:65536
max_header_size = 38
[ml2_type_flat]
flat_networks = *
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:200
[securitygroup]
enable_security_group = true
[ovn]
ovn_nb_connection = unix:$NB_SOCK
ovn_sb_connection = unix:$SB_SOCK
ovn_l3_scheduler = leastloaded
ovn_metadata_enabled = false
enable_distributed_floating_ip = false
neutron_sync_mode = log
EOF
NEUTRON_CONF_CHANGED=0
for f in neutron.conf ml2_conf.ini; do
  if cmp -s "$N/$f.new" "$N/$f"; then rm -f "$N/$f.new"; else NEUTRON_CONF_CHANGED=1; mv "$N/$f.new" "$N/$f"; fi
done
NDM() { neutron-db-manage --config-file "$N/neutron.conf" --config-file "$N/ml2_conf.ini" "$@" >>"$N/log/db-manage.log" 2>&1; }
if [ ! -f "$N/.db_ready" ]; then
  if [ "$DB_BACKEND" = mariadb ]; then
    NDM upgrade heads || die "neutron-db-manage upgrade heads failed, see $N/log/db-manage.log"
  else
    # alembic migrations cannot run on SQLite (ALTER constraints) -> build the schema from the
    # models (what neutron's own unit tests do), then stamp the alembic heads.
    rm -f "$N/neutron.db"
    $PY - "$NEUTRON_DB" <<'PYEOF'
import sys, sqlalchemy as sa
from neutron.db.migration.models import head
head.get_metadata().create_all(sa.create_engine(sys.argv[1]))
PYEOF
    NDM stamp heads || die "neutron-db-manage stamp heads failed"
    sqlite3 "$N/neutron.db" 'PRAGMA journal_mode=WAL;' >/dev/null
  fi
  touch "$N/.db_ready"
fi
ts "Neutron DB ready ($DB_BACKEND)"
if [ "$NEUTRON_CONF_CHANGED" = 1 ] && alive "$N/neutron-server.pid"; then
  ts "neutron-server's config changed: restarting it"
  kill "$(tr -dc 0-9 < "$N/neutron-server.pid")"
  for _ in $(seq 1 100); do alive "$N/neutron-server.pid" || break; sleep 0.1; done
  wait_until 30 port_free "$NEUTRON_PORT" || die "neutron-server did not stop"
fi
if ! alive "$N/neutron-server.pid"; then
  port_free "$NEUTRON_PORT" || die "port $NEUTRON_PORT busy (set NEUTRON_PORT)"
  start_bg "$N/neutron-server.pid" "$N/log/neutron-server.stdout" \
    /usr/bin/neutron-server --config-file "$N/neutron.conf" --config-file "$N/ml2_conf.ini"
fi
# Ready = an authenticated API call succeeds (the version doc at / answers before workers are ready)
AUTH_JSON='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"'"$ADMIN_PASSWORD"'"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}'
TOKEN=$(curl -sf -D - -o /dev/null -H 'Content-Type: application/json' -d "$AUTH_JSON" "$KS_URL/auth/tokens" \
        | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')
[ -n "$TOKEN" ] || die "could not get an admin token"
wait_until 90 curl -sf -H "X-Auth-Token: $TOKEN" "$NEUTRON_URL/v2.0/networks" \
  || die "neutron not ready, see $N/log/neutron-server.log"
# The OVN driver creates its default-drop port group (neutron_pg_drop) asynchronously after start;
# ports created before it exists fail with HTTP 500. Ready means: that port group exists too.
wait_until 60 sh -c "ovn-nbctl --db=unix:$NB_SOCK --bare --columns=name find Port_Group name=neutron_pg_drop | grep -q neutron_pg_drop" \
  || die "neutron's OVN driver never created neutron_pg_drop, see $N/log/neutron-server.log"
ts "Neutron up at $NEUTRON_URL (ML2/OVN)"
# Neutron's default quotas (10 security groups per project) are below what a test suite running
# files in parallel (each cluster has its node-access group) and the lab need at once.
for proj in admin nnet-ci; do
  PID_=$(curl -sf -H "X-Auth-Token: $TOKEN" "$KS_URL/projects?name=$proj" | "$PY" -c 'import json,sys; p=json.load(sys.stdin)["projects"]; print(p[0]["id"] if p else "")')
  [ -n "$PID_" ] || continue
  curl -sf -X PUT -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
    -d '{"quota": {"security_group": 200, "security_group_rule": 2000, "port": 2000, "network": 200, "subnet": 400, "router": 50}}' \
    "$NEUTRON_URL/v2.0/quotas/$PID_" >/dev/null || die "could not raise the quotas of project $proj"
done

############################################################ summary files (0600: they hold secrets)
umask 077
# Each file is replaced whole (a temporary file, then rename): a test process reading it while
# another one's `up` runs must never see it empty or half-written.
write_atomic() {
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat > "$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$1"
}
write_atomic "$BASE/openrc" <<EOF
export OS_AUTH_URL=$KS_URL
export OS_IDENTITY_API_VERSION=3
export OS_USERNAME=admin
export OS_PASSWORD=$ADMIN_PASSWORD
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_ID=default
export OS_PROJECT_DOMAIN_ID=default
export OS_REGION_NAME=$REGION
export OS_INTERFACE=public
export OVN_NB_DB=unix:$NB_SOCK
export OVN_SB_DB=unix:$SB_SOCK
EOF
write_atomic "$BASE/clouds.yaml" <<EOF
clouds:
  nnet-lab:
    auth:
      auth_url: $KS_URL
      username: admin
      password: "$ADMIN_PASSWORD"
      project_name: admin
      user_domain_id: default
      project_domain_id: default
    region_name: $REGION
    interface: public
    identity_api_version: 3
  nnet-member:
    auth:
      auth_url: $KS_URL
      username: nnet-member
      password: "$MEMBER_PASSWORD"
      project_name: nnet-ci
      user_domain_id: default
      project_domain_id: default
    region_name: $REGION
    interface: public
    identity_api_version: 3
EOF
write_atomic "$BASE/endpoints.json" <<EOF
{"keystone": "$KS_URL", "neutron": "$NEUTRON_URL", "region": "$REGION",
 "clouds_yaml": "$BASE/clouds.yaml", "cloud": "nnet-lab", "member_cloud": "nnet-member", "openrc": "$BASE/openrc",
 "ovn_nb": "unix:$NB_SOCK", "ovn_sb": "unix:$SB_SOCK", "db_backend": "$DB_BACKEND"}
EOF
chmod 600 "$BASE/openrc" "$BASE/clouds.yaml" "$BASE/endpoints.json"
cat <<EOF
 Keystone v3   : $KS_URL        (uwsgi pid $(cat "$K/uwsgi.pid"))
 Neutron v2.0  : $NEUTRON_URL/v2.0   (neutron-server pid $(cat "$N/neutron-server.pid"))
 OVN NB / SB   : unix:$NB_SOCK  /  unix:$SB_SOCK
 Credentials   : OS_CLOUD=nnet-lab with $BASE/clouds.yaml, or source $BASE/openrc (both 0600)
EOF
ts "done"
