#!/bin/bash
# etcd-up.sh - a private etcd v3 on 127.0.0.1:$ETCD_PORT (default 2379), state under
# <project>/.lab/env/etcd, PID recorded. Idempotent: a live, recorded etcd is left alone.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HERE=$(dirname "$(readlink -f "$0")"); ROOT=$(cd "$HERE/../.." && pwd)
BASE=${ETCD_DIR:-$ROOT/.lab/env/etcd}
PORT=${ETCD_PORT:-2379}; PEER_PORT=${ETCD_PEER_PORT:-2380}
mkdir -p "$BASE"; chmod 700 "$BASE"
# The real path: a symlinked .lab/env must be recognised as the environment already running.
BASE=$(readlink -f "$BASE")
alive() { local p; [ -f "$BASE/etcd.pid" ] || return 1; p=$(tr -dc 0-9 < "$BASE/etcd.pid"); [ -n "$p" ] &&
  kill -0 "$p" 2>/dev/null && tr '\0' ' ' < "/proc/$p/cmdline" | grep -q -- "$BASE"; }
healthy() { curl -sf -m 2 -X POST -d '{}' "http://127.0.0.1:$PORT/v3/maintenance/status" >/dev/null; }
if ! alive; then
  if ss -Hltn "sport = :$PORT" | grep -q .; then echo "[etcd] port $PORT busy (set ETCD_PORT)" >&2; exit 1; fi
  setsid -f sh -c 'echo $$ > "$0"; exec "$@"' "$BASE/etcd.pid" etcd --name nnet-env \
    --data-dir "$BASE/data" --listen-client-urls "http://127.0.0.1:$PORT" \
    --advertise-client-urls "http://127.0.0.1:$PORT" --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
    --initial-cluster "nnet-env=http://127.0.0.1:$PEER_PORT" >>"$BASE/etcd.log" 2>&1 </dev/null
fi
for _ in $(seq 100); do healthy && break; sleep 0.1; done
healthy || { echo "[etcd] not answering on 127.0.0.1:$PORT, see $BASE/etcd.log" >&2; exit 1; }
echo " etcd v3       : http://127.0.0.1:$PORT   (pid $(cat "$BASE/etcd.pid"))"
