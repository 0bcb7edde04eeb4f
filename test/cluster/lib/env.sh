# shellcheck shell=bash
# Shared settings and helpers of the test cluster's scripts; sourced, never run.
# shellcheck disable=SC2034 # the settings are used by the scripts that source this file
# Every path and port the cluster uses is here, so up.sh and down.sh agree on what they own.
# The scripts run with pipefail, so a pipeline never ends in grep -q: its early exit kills the writer with
# SIGPIPE and fails the pipeline even on a match (grep >/dev/null reads all).

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Data that survives down.sh (certificates, etcd, images, volumes) unless down.sh --purge.
STATE=${SKIFF_CLUSTER_STATE:-/var/lib/skiff-cluster}
# Runtime state (sockets, containerd's task state, pod network namespaces): gone after down.sh.
RUN=${SKIFF_CLUSTER_RUN:-/run/skiff-cluster}

PKI=$STATE/pki
LOGS=$STATE/logs
PIDS=$RUN/pids
KUBECONFIG_ADMIN=$STATE/kubeconfig

CONTAINERD_ROOT=$STATE/containerd
CONTAINERD_STATE=$RUN/containerd
CONTAINERD_SOCK=$RUN/containerd.sock
KUBELET_ROOT=$STATE/kubelet
POD_LOGS=$STATE/pod-logs
VOLUMES=$STATE/volumes
CNI_CONF_DIR=$STATE/cni/net.d
CNI_DATA_DIR=$RUN/cni
CNI_BIN_DIR=/usr/lib/cni

# Ports away from the usual ones (2379, 6443) so a distribution's etcd or another cluster on the machine
# does not collide with this one.
ETCD_CLIENT_PORT=${SKIFF_CLUSTER_ETCD_PORT:-23790}
ETCD_PEER_PORT=$((ETCD_CLIENT_PORT + 10))
APISERVER_PORT=${SKIFF_CLUSTER_APISERVER_PORT:-16443}
KUBELET_PORT=10250

NODE_NAME=skiff-node
CLUSTER_DOMAIN=cluster.local
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP_KUBERNETES=10.96.0.1
POD_CIDR=10.244.0.0/24
POD_GATEWAY=10.244.0.1
CNI_BRIDGE=skiff-cni0

# Built locally (lib/pause-image.sh): no registry is reachable, and containerd needs it for every pod.
PAUSE_IMAGE=localhost/skiff-pause:1
STORAGE_CLASS=skiff-hostpath
PROVISIONER_NAME=skiff.local/hostpath

# How long up.sh waits for each component before it names the one that failed.
WAIT_COMPONENT_S=${SKIFF_CLUSTER_WAIT_S:-120}

# One up.sh or down.sh at a time (test files may start the cluster in parallel). The lock is on fd 9, which
# start() closes for the daemons so they do not hold it; a down.sh run by up.sh inherits it.
lock_cluster() {
  [[ ${SKIFF_CLUSTER_LOCKED:-} == 1 ]] && return 0
  exec 9> "$RUN.lock"
  flock -w 900 9 || die "another up.sh or down.sh has held $RUN.lock for 15 minutes"
  export SKIFF_CLUSTER_LOCKED=1
}

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'skiff-cluster: %s\n' "$*" >&2; exit 1; }

kctl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
cctl() { ctr --address "$CONTAINERD_SOCK" "$@"; }

# The address the API server advertises and the node reports: the source address of the default route.
# It cannot be loopback: the API server publishes it as the `kubernetes` Service's endpoint, which pods
# reach through 10.96.0.1, and an endpoint may not be a loopback address.
node_ip() {
  local ip
  ip=$(ip -4 -o route get 1.0.0.0 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
  [[ -n $ip ]] || ip=$(ip -4 -o addr show scope global | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
  [[ -n $ip ]] || die "no non-loopback IPv4 address on this machine; the API server needs one to advertise"
  echo "$ip"
}

# pid files hold "PID EXECUTABLE": a pid is only ours while /proc/PID/exe is still that executable, so a
# recycled pid is never signalled.
pid_of() {
  local name=$1 pid exe
  [[ -f $PIDS/$name.pid ]] || return 1
  read -r pid exe < "$PIDS/$name.pid" || return 1
  [[ -n $pid && -n $exe ]] || return 1
  [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$exe"* ]] || return 1
  echo "$pid"
}

alive() { pid_of "$1" >/dev/null; }

# start NAME EXECUTABLE ARGS...: a background process in its own session (so it outlives the shell that
# ran up.sh), output appended to $LOGS/NAME.log, pid recorded.
start() {
  local name=$1 exe
  exe=$(readlink -f "$(command -v "$2")") || die "$2 not found"
  shift 2
  mkdir -p "$LOGS" "$PIDS"
  printf '\n==== %s starting %s\n' "$(date -u +%FT%TZ)" "$name" >> "$LOGS/$name.log"
  setsid "$exe" "$@" >> "$LOGS/$name.log" 2>&1 < /dev/null 9>&- &
  echo "$! $exe" > "$PIDS/$name.pid"
}

# running PID: the process exists and is not a zombie. Processes started here outlive up.sh and are
# reparented to PID 1, which on this machine reaps them only every few seconds.
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# stop NAME [GRACE_S]: SIGTERM, then SIGKILL after the grace period; waits until the process is gone.
stop() {
  local name=$1 grace=${2:-10} pid i
  if pid=$(pid_of "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 20; i++)); do
      running "$pid" || break
      sleep 0.05
    done
    if running "$pid"; then
      log "$name (pid $pid) ignored SIGTERM for ${grace}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      while running "$pid"; do sleep 0.05; done
    fi
  fi
  rm -f "$PIDS/$name.pid"
}

# Explains a failed component: whether its process is still there, and the end of its log.
report() {
  local name=$1
  if alive "$name"; then
    echo "skiff-cluster: $name is running (pid $(pid_of "$name")) but did not become ready; last lines of $LOGS/$name.log:" >&2
  else
    echo "skiff-cluster: $name is not running; last lines of $LOGS/$name.log:" >&2
  fi
  tail -n "${SKIFF_CLUSTER_LOG_TAIL:-40}" "$LOGS/$name.log" 2>/dev/null | sed 's/^/    /' >&2
}

# wait_until COMPONENT DESCRIPTION COMMAND...: polls COMMAND until it succeeds, the component's process
# exits, or WAIT_COMPONENT_S pass; on failure names the component and shows its log.
wait_until() {
  local name=$1 what=$2 deadline=$((SECONDS + WAIT_COMPONENT_S))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [[ -f $PIDS/$name.pid ]] && ! alive "$name"; then
      report "$name"
      die "$name exited while waiting for: $what"
    fi
    if ((SECONDS >= deadline)); then
      report "$name"
      die "$name: timed out after ${WAIT_COMPONENT_S}s waiting for: $what"
    fi
    sleep 0.5
  done
}
