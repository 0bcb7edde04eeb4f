# shellcheck shell=bash
# Configuration files of containerd, the CNI network, the kubelet and kube-proxy; sourced by up.sh after
# env.sh. Everything lives under $STATE and $RUN so that this containerd never meets Docker's
# (/var/run/docker/containerd) or a system one (/run/containerd/containerd.sock).

write_containerd_config() {
  mkdir -p "$CONTAINERD_ROOT" "$CONTAINERD_STATE"
  cat > "$STATE/containerd.toml" <<EOF
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE"
# Snapshotters and tracing that this machine has no use for; they only log errors at start.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CONTAINERD_ROOT/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # No registry is reachable: the sandbox image is built and imported by up.sh.
  sandbox_image = "$PAUSE_IMAGE"
  # Pod network namespaces under $RUN rather than /run/netns, so down.sh knows exactly which are ours.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  # Sandboxes ask for oom_score_adj -998 and Guaranteed pods for -997; lowering it needs CAP_SYS_RESOURCE,
  # which this machine's bounding set lacks (runc then fails with "can't get final child's PID from pipe").
  # This keeps every container at or above containerd's own score instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # cgroupfs, as the kubelet's cgroupDriver: there is no systemd here to delegate cgroups.
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
EOF
}

# One bridge on the host, host-local addresses, portmap for hostPort. containerd adds the loopback
# plugin to every pod itself. ipMasq is off: nothing in a pod is meant to reach beyond this machine.
write_cni_config() {
  mkdir -p "$CNI_CONF_DIR"
  cat > "$CNI_CONF_DIR/10-skiff.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "skiff",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CNI_DATA_DIR",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

write_kubelet_config() {
  local ip=$1
  mkdir -p "$KUBELET_ROOT" "$POD_LOGS"
  cat > "$STATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $PKI/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
rotateCertificates: false
serverTLSBootstrap: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
# This machine has the cgroup v1 hierarchy. Kubernetes 1.34 still runs on it (false is 1.34's default,
# written out because 1.35 turns it to true and the kubelet would then refuse to start).
failCgroupV1: false
failSwapOn: false
podLogsDir: $POD_LOGS
clusterDomain: $CLUSTER_DOMAIN
# No DNS server runs in this cluster: pods get an empty resolv.conf instead of one naming the host's
# resolver, which they could not reach anyway.
resolvConf: ""
# Images cannot be pulled again once removed: image garbage collection is off (100 disables it).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# Eviction only when the machine is really out of room: a shared test machine's disk use is no reason
# to kill test pods.
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
serializeImagePulls: false
# The kubelet would lower its own score to -999: impossible without CAP_SYS_RESOURCE (see containerd).
oomScoreAdj: 0
EOF
}

write_kube_proxy_config() {
  cat > "$STATE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $PKI/kube-proxy.kubeconfig }
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the machine's conntrack sysctls as they are (0 = do not set).
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
# NodePorts on 127.0.0.1 would need net.ipv4.conf.all.route_localnet=1 on the whole machine.
iptables: { localhostNodePorts: false }
# Not -999: lowering the score needs CAP_SYS_RESOURCE, which this machine's bounding set lacks.
oomScoreAdj: 0
EOF
}

# Objects every cluster gets: the default StorageClass served by skiff-hostpath-provisioner, and the
# RBAC that lets the provisioner's own user (not an administrator) manage volumes.
cluster_objects() {
  cat <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $STORAGE_CLASS
  annotations: { storageclass.kubernetes.io/is-default-class: "true" }
provisioner: $PROVISIONER_NAME
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "skiff:hostpath-provisioner" }
rules:
- { apiGroups: [""], resources: [persistentvolumes], verbs: [get, list, watch, create, delete] }
- { apiGroups: [""], resources: [persistentvolumeclaims], verbs: [get, list, watch] }
- { apiGroups: [storage.k8s.io], resources: [storageclasses], verbs: [get, list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "skiff:hostpath-provisioner" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "skiff:hostpath-provisioner" }
subjects:
- { apiGroup: rbac.authorization.k8s.io, kind: User, name: "skiff:hostpath-provisioner" }
EOF
}
