#!/usr/bin/env bash
# Starts skiff's one-node test cluster and prints the path of its admin kubeconfig on stdout.
#
#   up.sh                       etcd, API server, controller manager, scheduler, storage provisioner,
#                               containerd, kubelet, kube-proxy; waits for the node to be Ready and a pod to run
#   up.sh --control-plane-only  etcd, API server, controller manager, scheduler, storage provisioner: a real
#                               API (RBAC, PVC binding, Deployments) where no pod ever runs
#
# Idempotent: when the cluster is already up in the same mode it only checks the API server. Otherwise
# whatever is left of an earlier run is stopped first (down.sh, keeping data). Needs root.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/env.sh"
source "$here/lib/pki.sh"
source "$here/lib/configs.sh"
source "$here/lib/net.sh"
source "$here/lib/pause-image.sh"

mode=full
case "${1:-}" in
  "") ;;
  --control-plane-only) mode=control-plane ;;
  *) die "usage: up.sh [--control-plane-only]" ;;
esac
[[ $EUID == 0 ]] || die "up.sh needs root (it mounts, creates network interfaces and cgroups)"
lock_cluster

control_plane=(etcd kube-apiserver kube-controller-manager kube-scheduler provisioner)
node=(containerd kubelet kube-proxy)
components=("${control_plane[@]}")
[[ $mode == full ]] && components+=("${node[@]}")

# ensure_packages: installs from Debian what is missing (first a plain install, then after an update).
ensure_packages() {
  local -A need=([etcd]=etcd-server [openssl]=openssl [curl]=curl)
  if [[ $mode == full ]]; then
    need+=([containerd]=containerd [ctr]=containerd [runc]=runc [iptables]=iptables [gcc]=gcc
      [conntrack]=conntrack [$CNI_BIN_DIR/bridge]=containernetworking-plugins
      [/usr/lib/x86_64-linux-gnu/libc.a]=libc6-dev)
  fi
  local missing=() what
  for what in "${!need[@]}"; do
    if [[ $what == /* ]]; then [[ -e $what ]] || missing+=("${need[$what]}"); else command -v "$what" >/dev/null || missing+=("${need[$what]}"); fi
  done
  ((${#missing[@]})) || return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    die "could not install ${missing[*]} with apt-get"
}

all_alive() {
  local c
  for c in "${components[@]}"; do alive "$c" || return 1; done
}

apiserver_ready() {
  curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null
}

# Ready, and reported by the kubelet started now: a Node kept in etcd from an earlier run still says
# Ready until the controller manager notices its silence.
kubelet_started=0
node_ready() {
  local out status heartbeat
  out=$(kctl get node "$NODE_NAME" -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.status} {.lastHeartbeatTime}{end}' 2>/dev/null) || return 1
  read -r status heartbeat <<< "$out"
  [[ $status == True ]] && (($(date -d "$heartbeat" +%s) >= kubelet_started))
}

start_control_plane() {
  local ip=$1
  start etcd etcd --name skiff --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "skiff=http://127.0.0.1:$ETCD_PEER_PORT"
  wait_until etcd "etcd to answer /health on 127.0.0.1:$ETCD_CLIENT_PORT" \
    curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health"

  start kube-apiserver "$BIN/kube-apiserver" \
    --advertise-address="$ip" --bind-address=0.0.0.0 --secure-port="$APISERVER_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
    --profiling=false --v=1
  wait_until kube-apiserver "the API server's /readyz on 127.0.0.1:$APISERVER_PORT" apiserver_ready

  # Leader election is for several replicas; with one it only delays the start.
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$PKI/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$PKI/controller-manager.kubeconfig" --authorization-kubeconfig="$PKI/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --profiling=false --v=1
  start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig="$PKI/scheduler.kubeconfig" --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false --v=1
  cluster_objects | kctl apply -f - >/dev/null
  start provisioner "$BIN/skiff-hostpath-provisioner" --kubeconfig="$PKI/provisioner.kubeconfig" --root="$VOLUMES"

  wait_until kube-controller-manager "the controller manager's /healthz on 127.0.0.1:10257" \
    curl -fsSk --max-time 2 https://127.0.0.1:10257/healthz
  wait_until kube-scheduler "the scheduler's /healthz on 127.0.0.1:10259" \
    curl -fsSk --max-time 2 https://127.0.0.1:10259/healthz
  # Pods cannot be created before the controller manager has made the namespace's default ServiceAccount.
  wait_until kube-controller-manager "the ServiceAccount default/default" kctl get serviceaccount default
}

start_node() {
  local ip=$1
  net_setup
  write_containerd_config
  write_cni_config
  write_kubelet_config "$ip"
  write_kube_proxy_config
  start containerd containerd --config "$STATE/containerd.toml"
  wait_until containerd "containerd to answer on $CONTAINERD_SOCK" cctl version

  if ! cctl -n k8s.io images ls -q | grep -xF "$PAUSE_IMAGE" >/dev/null; then
    log "building and importing the sandbox image $PAUSE_IMAGE"
    pause_image_tar "$STATE/pause-image.tar"
    cctl -n k8s.io images import "$STATE/pause-image.tar" >/dev/null
  fi

  kubelet_started=$(date +%s)
  start kubelet "$BIN/kubelet" --config="$STATE/kubelet.yaml" --kubeconfig="$PKI/kubelet.kubeconfig" \
    --root-dir="$KUBELET_ROOT" --hostname-override="$NODE_NAME" --node-ip="$ip" --v=2
  start kube-proxy "$BIN/kube-proxy" --config="$STATE/kube-proxy.yaml" --v=1
  wait_until kubelet "node $NODE_NAME to be Ready" node_ready
  wait_until kube-proxy "kube-proxy's /healthz on 127.0.0.1:10256" curl -fsS --max-time 2 http://127.0.0.1:10256/healthz
}

# A pod of the sandbox image itself: proves scheduling, the kubelet, containerd, runc, CNI and the
# service-account volume together, with nothing pulled.
check_pod() {
  kctl delete pod skiff-cluster-check --ignore-not-found --wait=true >/dev/null
  kctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: { name: skiff-cluster-check, labels: { app.kubernetes.io/managed-by: skiff-cluster } }
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - { name: pause, image: $PAUSE_IMAGE, imagePullPolicy: Never }
EOF
  if ! kctl wait pod/skiff-cluster-check --for=condition=Ready --timeout="${WAIT_COMPONENT_S}s" >/dev/null 2>&1; then
    kctl describe pod skiff-cluster-check | tail -n 15 | sed 's/^/    /' >&2 || true
    report kubelet
    report containerd
    die "kubelet: the check pod skiff-cluster-check did not become Ready within ${WAIT_COMPONENT_S}s"
  fi
  kctl delete pod skiff-cluster-check --wait=true >/dev/null
}

t0=$SECONDS
ensure_packages
BIN=$("$here/build.sh")
ip=$(node_ip)

if [[ "$(cat "$RUN/mode" 2>/dev/null)" == "$mode" ]] && all_alive && apiserver_ready; then
  log "already up ($mode); kubeconfig: $KUBECONFIG_ADMIN"
  echo "$KUBECONFIG_ADMIN"
  exit 0
fi
# Something of an earlier run (another mode, a component that died, a failed up.sh): start from a clean slate.
if [[ -e $RUN ]]; then
  log "stopping what is left of an earlier run"
  "$here/down.sh" >&2
fi
trap '[[ $? == 0 ]] || echo "skiff-cluster: up.sh failed; what did start is still running for inspection: $here/down.sh stops it" >&2' EXIT
mkdir -p "$STATE" "$RUN" "$LOGS" "$PIDS" "$VOLUMES"
echo "$mode" > "$RUN/mode"
pki "$ip"
log "starting the control plane ($ip:$APISERVER_PORT, etcd on 127.0.0.1:$ETCD_CLIENT_PORT)"
start_control_plane "$ip"
if [[ $mode == full ]]; then
  log "starting containerd, the kubelet and kube-proxy"
  start_node "$ip"
  check_pod
else
  # A Node kept from a full run would look Ready for a while and draw pods that nothing will run.
  kctl delete node "$NODE_NAME" --ignore-not-found >/dev/null
fi
log "up ($mode) in $((SECONDS - t0))s; logs in $LOGS; kubectl: $BIN/kubectl"
log "export KUBECONFIG=$KUBECONFIG_ADMIN"
echo "$KUBECONFIG_ADMIN"
