#!/usr/bin/env bash
# Copies images from the local Docker engine into the test cluster's containerd (namespace k8s.io, the
# one the kubelet uses), since the cluster cannot pull from a registry:
#
#   load-image.sh IMAGE...      e.g. load-image.sh busybox:latest skiff-agent:dev
#
# Pods then use the image with imagePullPolicy: IfNotPresent or Never. An image tagged :latest defaults to
# Always, which fails here, so set the policy explicitly.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/env.sh"
(($#)) || die "usage: load-image.sh IMAGE..."
[[ $EUID == 0 ]] || die "load-image.sh needs root (containerd's socket is root's)"
alive containerd || die "the cluster's containerd is not running; start the cluster with $here/up.sh"
for image in "$@"; do
  docker image inspect "$image" >/dev/null 2>&1 || die "Docker has no image $image (docker images lists what it has)"
done
# One archive for all: layers shared between the images travel once.
docker save "$@" | cctl -n k8s.io images import - >/dev/null
for image in "$@"; do log "loaded $image"; done
