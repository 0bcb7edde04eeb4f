#!/usr/bin/env bash
# Builds the Kubernetes binaries of skiff's one-node test cluster once into a cache outside the repository,
# keyed by version: ${SKIFF_CLUSTER_CACHE:-$HOME/.cache/skiff-cluster}/<version>/bin. A rerun with a complete
# cache only checks it. Prints the bin directory on stdout (last line); progress goes to stderr.
#
# The version is the one test/cluster/build/go.mod requires (see the README for why that one).
# Environment: SKIFF_CLUSTER_CACHE (cache root), SKIFF_CLUSTER_KEEP_GOCACHE=1 keeps the build's private Go
# build cache (several GB) after a successful build, for iterating on build flags.
# build.sh --dir prints the bin directory without building.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mod="$here/build"
version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2 }' "$mod/go.mod")
[[ $version =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || { echo "build.sh: cannot read the k8s.io/kubernetes version from $mod/go.mod" >&2; exit 1; }
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}

cache="${SKIFF_CLUSTER_CACHE:-$HOME/.cache/skiff-cluster}/$version"
bin="$cache/bin"
# --dir: where the binaries are or would be, without building (down.sh uses it).
[[ ${1:-} == --dir ]] && { echo "$bin"; exit 0; }
binaries=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubectl)

# Each stamp ties binaries to what they were built from: the Kubernetes ones to the module graph (the
# replace block and go.sum), the provisioner to that and its own source. A mismatch rebuilds that part only.
graph="$(sed -n '/^replace (/,/^)/p' "$mod/go.mod"; cat "$mod/go.sum")"
k8s_stamp="$version $(printf '%s' "$graph" | sha256sum | cut -d' ' -f1)"
prov_stamp="$(cat "$mod/provisioner/"*.go | cat - <(printf '%s' "$graph") | sha256sum | cut -d' ' -f1)"
k8s_ok=1
for b in "${binaries[@]}"; do [[ -x "$bin/$b" ]] || k8s_ok=0; done
[[ -f "$bin/.stamp" && "$(cat "$bin/.stamp")" == "$k8s_stamp" ]] || k8s_ok=0
prov_ok=0
[[ -x "$bin/skiff-hostpath-provisioner" && -f "$bin/.stamp-provisioner" && "$(cat "$bin/.stamp-provisioner")" == "$prov_stamp" ]] && prov_ok=1
if [[ $k8s_ok == 1 && $prov_ok == 1 ]]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: go is not on PATH; the build needs Go >= 1.24" >&2; exit 1; }

# Same flags as Kubernetes' own release build (hack/lib/golang.sh): static, trimmed, stripped, the version
# stamped in so the kubelet and kubectl report v1.X.Y and not v0.0.0-master.
ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done

pkgs=()
for b in "${binaries[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done

mkdir -p "$cache"
# A private build cache: the Kubernetes build fills several GB that nothing else on the machine reuses.
export GOCACHE="$cache/gocache"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
gobuild() { (cd "$mod" && nice -n 15 go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldflags" "$@"); }
start=$(date +%s)

if [[ $k8s_ok == 0 ]]; then
  echo "build.sh: building Kubernetes $version (${binaries[*]}) into $bin; a cold build takes about an hour on 2 cores" >&2
  tmp="$cache/bin.partial"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  gobuild -o "$tmp/" "${pkgs[@]}"
  echo "$k8s_stamp" > "$tmp/.stamp"
  # Keep a provisioner built earlier; its own stamp decides below whether it is still current.
  for f in skiff-hostpath-provisioner .stamp-provisioner; do [[ -e "$bin/$f" ]] && mv "$bin/$f" "$tmp/"; done
  rm -rf "$bin"
  mv "$tmp" "$bin"
fi
if [[ $prov_ok == 0 ]]; then
  echo "build.sh: building skiff-hostpath-provisioner into $bin" >&2
  gobuild -o "$bin/skiff-hostpath-provisioner.partial" ./provisioner
  mv "$bin/skiff-hostpath-provisioner.partial" "$bin/skiff-hostpath-provisioner"
  echo "$prov_stamp" > "$bin/.stamp-provisioner"
fi
[[ ${SKIFF_CLUSTER_KEEP_GOCACHE:-0} == 1 ]] || rm -rf "$GOCACHE"
echo "build.sh: built in $(( $(date +%s) - start ))s; $(du -sh "$bin" | cut -f1) in $bin" >&2
echo "$bin"
