#!/usr/bin/env bash
# Copies images from the local Docker engine into the test cluster's containerd (namespace k8s.io, the
# one the kubelet uses), since the cluster cannot pull from a registry; or removes them from it again.
#
#   load-image.sh IMAGE...            e.g. load-image.sh busybox:latest skiff-agent:dev
#   load-image.sh --remove IMAGE...   removes the images from the cluster (not from Docker)
#
# Pods then use the image with imagePullPolicy: IfNotPresent or Never. An image tagged :latest defaults to
# Always, which fails here, so set the policy explicitly.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/env.sh"
remove=0
[[ ${1:-} == --remove ]] && { remove=1; shift; }
(($#)) || die "usage: load-image.sh [--remove] IMAGE..."
[[ $EUID == 0 ]] || die "load-image.sh needs root (containerd's socket is root's)"
alive containerd || die "the cluster's containerd is not running; start the cluster with $here/up.sh"

# The name containerd stores, as Docker and the kubelet normalise it: busybox -> docker.io/library/busybox:latest.
normalise() {
  local ref=$1 first=${1%%/*}
  if [[ $ref != */* ]]; then
    ref=docker.io/library/$ref
  elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then
    ref=docker.io/$ref
  fi
  [[ ${ref##*/} == *:* || $ref == *@* ]] || ref=$ref:latest
  echo "$ref"
}

if ((remove)); then
  for image in "$@"; do
    ref=$(normalise "$image")
    target=$(cctl -n k8s.io images ls "name==$ref" | awk 'NR == 2 { print $3 }')
    [[ -n $target ]] || { log "$ref is not in the cluster"; continue; }
    # The kubelet also knows the image by its id (the config digest), a second name to remove.
    id=$(cctl -n k8s.io content get "$target" | grep -o '"digest":"sha256:[0-9a-f]*"' | head -n 1 | cut -d'"' -f4)
    cctl -n k8s.io images rm "$ref" ${id:+"$id"} >/dev/null
    log "removed $ref"
  done
  exit 0
fi

for image in "$@"; do
  docker image inspect "$image" >/dev/null 2>&1 || die "Docker has no image $image (docker images lists what it has)"
done
# One archive for all: layers shared between the images travel once.
docker save "$@" | cctl -n k8s.io images import - >/dev/null
for image in "$@"; do log "loaded $(normalise "$image")"; done
