#!/usr/bin/env bash
# Stops skiff's test cluster: every process up.sh started (by recorded pid), every container the kubelet
# ran, every mount under the cluster's directories, the CNI bridge and veths, and the iptables chains and
# rules the cluster added. Restores net.ipv4.ip_forward. Idempotent: with nothing running it only checks.
#
#   down.sh          keeps $STATE (certificates, etcd data, imported images, volumes) for the next up.sh
#   down.sh --purge  removes $STATE too
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/env.sh"
source "$here/lib/net.sh"

purge=0
case "${1:-}" in
  "") ;;
  --purge) purge=1 ;;
  *) die "usage: down.sh [--purge]" ;;
esac
[[ $EUID == 0 ]] || die "down.sh needs root"
lock_cluster

# Every process whose cgroup is under the kubelet's kubepods hierarchy: the pods' containers.
pod_pids() {
  local f
  for f in /sys/fs/cgroup/*/kubepods; do
    if [[ -d $f ]]; then find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
  done | sort -un
}

# containerd shims serving this containerd (their command line names its socket), never Docker's.
our_shims() {
  local p
  for p in /proc/[0-9]*; do
    [[ "$(readlink "$p/exe" 2>/dev/null)" == */containerd-shim* ]] || continue
    if tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -F -- "-address $CONTAINERD_SOCK " >/dev/null; then echo "${p#/proc/}"; fi
  done
}

# Mount points at or under the cluster's directories, deepest first.
our_mounts() {
  findmnt -rn -o TARGET | while read -r m; do
    m=$(printf '%b' "$m") # findmnt -r escapes blanks as \x20
    if [[ $m == "$STATE" || $m == "$STATE"/* || $m == "$RUN" || $m == "$RUN"/* ]]; then echo "$m"; fi
  done | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-
}

# The kubelet first, so it does not start again what is stopped below.
stop kubelet
stop kube-proxy
stop provisioner

if alive containerd; then
  # Through containerd, so each shim exits and cleans up after itself (rootfs unmount, socket).
  for id in $(cctl -n k8s.io tasks ls -q 2>/dev/null); do
    cctl -n k8s.io tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  for id in $(cctl -n k8s.io tasks ls -q 2>/dev/null); do
    cctl -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true
  done
  for id in $(cctl -n k8s.io containers ls -q 2>/dev/null); do
    cctl -n k8s.io containers rm "$id" >/dev/null 2>&1 || true
  done
fi
# Whatever containerd could not stop (or containerd was already gone): kill it directly.
deadline=$((SECONDS + 20))
while [[ -n "$(pod_pids)" || -n "$(our_shims)" ]]; do
  # shellcheck disable=SC2046
  kill -KILL $(pod_pids) $(our_shims) 2>/dev/null || true
  ((SECONDS < deadline)) || die "processes of pods survive SIGKILL: $(pod_pids | tr '\n' ' ')"
  sleep 0.2
done
stop containerd

stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd

while read -r m; do
  [[ -n $m ]] || continue
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
done < <(our_mounts)
# The kubelet's cgroups, leaves first; empty now that the pods' processes are gone.
for f in /sys/fs/cgroup/*/kubepods; do
  if [[ -d $f ]]; then find "$f" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
done
net_teardown
rm -rf "$RUN"

left=$(our_mounts)
[[ -z $left ]] || die "still mounted after down.sh: $left"
if ((purge)); then
  rm -rf "$STATE"
  log "purged $STATE"
fi
log "down"
