#!/bin/bash
# podman.sh ARGS... - podman as N-Net's lab and tests run it, never touching the machine's own
# podman state: runc (crun refuses this machine's hybrid cgroup layout), the cgroupfs manager, the
# CNI network backend, and a private image store, run dir and CNI config dir, all under
# $NNET_PODMAN_DIR (default <project>/.lab/podman). Containers need explicit ulimits here
# (podman's defaults fail with "setrlimit RLIMIT_NOFILE: Operation not permitted"): pass
# `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024` to `run` (podman_run adds them).
#   NNET_PODMAN_CNI_BIN  extra CNI plugin dir searched before Debian's /usr/lib/cni (e.g. a node's cni/bin)
#   NNET_PODMAN_NET_D    the CNI config dir podman's networks come from (default $NNET_PODMAN_DIR/net.d)
#   NNET_PODMAN_NETNS    run podman (and so the CNI plugins it calls) inside this netns (a name under
#                        /run/netns), as a node's runtime runs in the node: `nsenter --net`, which enters
#                        no mount namespace. (`ip netns exec` makes a private one, in which podman's
#                        bind mounts of container netns under /run/netns would stay invisible to others.)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
D=${NNET_PODMAN_DIR:-$ROOT/.lab/podman}
NET_D=${NNET_PODMAN_NET_D:-$D/net.d}
mkdir -p "$D/storage" "$D/run" "$NET_D" "$D/tmp"
chmod 700 "$D"
plugin_dirs="\"/usr/lib/cni\""
[ -n "${NNET_PODMAN_CNI_BIN:-}" ] && plugin_dirs="\"$NNET_PODMAN_CNI_BIN\", $plugin_dirs"
cat > "$D/containers.conf.new" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$D/events.log"
tmp_dir = "$D/tmp"
[network]
network_backend = "cni"
cni_plugin_dirs = [$plugin_dirs]
network_config_dir = "$NET_D"
CONF
mv "$D/containers.conf.new" "$D/containers.conf"
cat > "$D/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$D/storage"
runroot = "$D/run"
CONF
export CONTAINERS_CONF=$D/containers.conf CONTAINERS_STORAGE_CONF=$D/storage.conf
if [ -n "${NNET_PODMAN_NETNS:-}" ]; then exec nsenter --net="/run/netns/$NNET_PODMAN_NETNS" podman "$@"; fi
exec podman "$@"
