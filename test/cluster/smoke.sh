#!/usr/bin/env bash
# Exercises a running test cluster (up.sh) the way skiff's Kubernetes target uses it, and removes all it
# made: a busybox image from Docker loaded into the cluster, a pod that runs it (logs, exec, port-forward
# to its httpd, kubectl cp), a service-account token used from inside the pod through the `kubernetes`
# Service with RBAC denying and then allowing, and a Deployment on a PersistentVolumeClaim written by a
# non-root user, whose volume is deleted with the claim.
#
# Prints one "ok" line per check and ends with "smoke: N passed, 0 failed"; the first failed check stops
# it with the reason. Needs root and the cluster up.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/env.sh"
[[ $EUID == 0 ]] || die "smoke.sh needs root"
BIN=$("$here/build.sh" --dir)
if [[ ! -f $KUBECONFIG_ADMIN ]] || ! kctl get --raw /readyz >/dev/null 2>&1; then
  die "the cluster is not up; start it with $here/up.sh"
fi
alive kubelet || die "the kubelet is not running (up.sh --control-plane-only runs no pods); start the cluster with $here/up.sh"

NS=skiff-smoke
IMAGE=skiff-cluster-busybox:1
LABEL=io.skiff.test=cluster
WAIT=${SKIFF_SMOKE_WAIT_S:-120}
passed=0
made_image=0
pf_pid=
work=$(mktemp -d)

ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }
fail() { echo "not ok - $*" >&2; echo "smoke: $passed passed, 1 failed" >&2; exit 1; }

cleanup() {
  [[ -n $pf_pid ]] && kill "$pf_pid" 2>/dev/null
  kctl delete namespace "$NS" --ignore-not-found --wait=true --timeout="${WAIT}s" >/dev/null 2>&1 || true
  kctl delete clusterrole,clusterrolebinding -l "$LABEL" --ignore-not-found >/dev/null 2>&1 || true
  "$here/load-image.sh" --remove "$IMAGE" 2>/dev/null || true
  if ((made_image)); then docker rmi "$IMAGE" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A busybox image from Debian's busybox-static when Docker has none: one static binary and a link per applet.
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  if ! /bin/busybox --list 2>/dev/null | grep -x httpd >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null || die "cannot install busybox-static"
  fi
  mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/www"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do [[ $applet == busybox ]] || ln -s busybox "$work/rootfs/bin/$applet"; done
  chmod 1777 "$work/rootfs/tmp"
  tar -C "$work/rootfs" -c . | docker import --change "LABEL $LABEL" --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/bin' - "$IMAGE" >/dev/null
  made_image=1
fi
"$here/load-image.sh" "$IMAGE" 2>/dev/null
cctl -n k8s.io images ls -q | grep -xF "docker.io/library/$IMAGE" >/dev/null || fail "load-image.sh: $IMAGE is not in the cluster's containerd"
ok "load-image.sh copied $IMAGE from Docker into the cluster"

kctl create namespace "$NS" >/dev/null
kctl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: { name: web }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: $IMAGE
    imagePullPolicy: Never
    command: [sh, -c, 'echo "skiff smoke \$(hostname)" > /www/index.html && echo httpd starting && exec httpd -f -p 8080 -h /www']
EOF
kctl -n "$NS" wait pod/web --for=condition=Ready --timeout="${WAIT}s" >/dev/null ||
  fail "pod web not Ready: $(kctl -n "$NS" describe pod web | tail -n 8)"
ok "a pod runs the loaded image with imagePullPolicy: Never"

[[ "$(kctl -n "$NS" logs web)" == *"httpd starting"* ]] || fail "kubectl logs web lacks the pod's output"
ok "kubectl logs"

[[ "$(kctl -n "$NS" exec web -- cat /www/index.html)" == "skiff smoke web" ]] || fail "kubectl exec: unexpected page"
ok "kubectl exec"

echo "copied by kubectl cp" > "$work/copied.txt"
kctl -n "$NS" cp "$work/copied.txt" web:/tmp/copied.txt >/dev/null
[[ "$(kctl -n "$NS" exec web -- cat /tmp/copied.txt)" == "copied by kubectl cp" ]] || fail "kubectl cp: file not in the pod"
ok "kubectl cp"

# Port 0: kubectl picks a free local port and says which on its first line.
kctl -n "$NS" port-forward pod/web :8080 > "$work/pf.out" 2>&1 &
pf_pid=$!
deadline=$((SECONDS + WAIT))
until grep -q '^Forwarding from 127.0.0.1:' "$work/pf.out"; do
  kill -0 "$pf_pid" 2>/dev/null || fail "kubectl port-forward exited: $(cat "$work/pf.out")"
  ((SECONDS < deadline)) || fail "kubectl port-forward did not start listening within ${WAIT}s"
  sleep 0.2
done
port=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$work/pf.out" | head -n 1)
[[ "$(curl -fsS --max-time 10 "http://127.0.0.1:$port/")" == "skiff smoke web" ]] || fail "port-forward: unexpected page"
kill "$pf_pid"
pf_pid=
ok "kubectl port-forward to the pod's httpd"

# The pod's own token, sent from inside the pod to the API server's Service address (kube-proxy):
# authenticated as the ServiceAccount, first refused by RBAC, then allowed by a RoleBinding.
api() {
  # shellcheck disable=SC2016 # expanded by the pod's shell
  kctl -n "$NS" exec web -- sh -c 'wget -q -O - --no-check-certificate \
    --header "Authorization: Bearer $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)" \
    "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/'"$NS"'/pods" 2>&1' 2>/dev/null
}
out=$(api) && fail "RBAC let the default ServiceAccount list pods without a binding: $out"
[[ $out == *403* ]] || fail "expected 403 Forbidden from the API server through $SERVICE_IP_KUBERNETES, got: $out"
kctl -n "$NS" create role pod-reader --verb=list --resource=pods >/dev/null
kctl -n "$NS" create rolebinding pod-reader --role=pod-reader --serviceaccount="$NS:default" >/dev/null
# RBAC takes effect through the API server's informers: wait for it, with a deadline.
deadline=$((SECONDS + WAIT))
until out=$(api); do
  ((SECONDS < deadline)) || fail "the ServiceAccount still cannot list pods after the RoleBinding: $out"
  sleep 0.5
done
name_web='"name": *"web"'
[[ $out =~ $name_web ]] || fail "the pod list fetched with the ServiceAccount token lacks pod web: ${out:0:200}"
ok "a ServiceAccount token works from a pod through the kubernetes Service; RBAC refuses, then allows"

kctl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Gi } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: writer }
spec:
  replicas: 1
  selector: { matchLabels: { app: writer } }
  template:
    metadata: { labels: { app: writer } }
    spec:
      terminationGracePeriodSeconds: 1
      securityContext: { runAsUser: 1000, runAsGroup: 1000 }
      containers:
      - name: writer
        image: $IMAGE
        imagePullPolicy: IfNotPresent
        command: [sh, -c, 'echo "written by \$(id -u)" > /data/hello && exec sleep 3600']
        volumeMounts: [{ name: data, mountPath: /data }]
      volumes: [{ name: data, persistentVolumeClaim: { claimName: data } }]
EOF
kctl -n "$NS" wait pvc/data --for=jsonpath='{.status.phase}'=Bound --timeout="${WAIT}s" >/dev/null ||
  fail "the PVC did not bind: $(kctl -n "$NS" describe pvc data | tail -n 6)"
pv=$(kctl -n "$NS" get pvc data -o jsonpath='{.spec.volumeName}')
class=$(kctl -n "$NS" get pvc data -o jsonpath='{.spec.storageClassName}')
[[ $class == "$STORAGE_CLASS" ]] || fail "the PVC got class '$class', not the default $STORAGE_CLASS"
ok "a PVC without a class got the default StorageClass and bound to $pv"

kctl -n "$NS" rollout status deployment/writer --timeout="${WAIT}s" >/dev/null ||
  fail "deployment writer not available: $(kctl -n "$NS" describe pods -l app=writer | tail -n 8)"
dir=$(kctl get pv "$pv" -o jsonpath='{.spec.hostPath.path}')
deadline=$((SECONDS + WAIT))
until [[ "$(cat "$dir/hello" 2>/dev/null)" == "written by 1000" ]]; do
  ((SECONDS < deadline)) || fail "the Deployment's pod (uid 1000) did not write $dir/hello"
  sleep 0.2
done
ok "a Deployment's pod running as uid 1000 wrote to its PersistentVolume ($dir)"

kctl delete namespace "$NS" --wait=true --timeout="${WAIT}s" >/dev/null
deadline=$((SECONDS + WAIT))
while kctl get pv "$pv" >/dev/null 2>&1 || [[ -e $dir ]]; do
  ((SECONDS < deadline)) || fail "volume $pv or its directory $dir still exists after its claim was deleted"
  sleep 0.5
done
ok "deleting the namespace deleted the claim's volume and its directory"

echo "smoke: $passed passed, 0 failed"
