# shellcheck shell=bash
# Builds the pod sandbox image without a registry or Docker: a static pause binary in a one-layer
# docker-archive tar, the format `ctr images import` reads. Sourced by up.sh after env.sh.

# pause_image_tar OUT: writes the image tar to OUT.
pause_image_tar() {
  local out=$1 w diffid cfg cfgid
  w=$(mktemp -d)
  mkdir -p "$w/rootfs" "$w/img"
  gcc -static -Os -s -o "$w/rootfs/pause" "$CLUSTER_DIR/lib/pause.c"
  # Fixed owner, order and time so the same source gives the same layer digest.
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name -C "$w/rootfs" -cf "$w/layer.tar" pause
  diffid=$(sha256sum < "$w/layer.tar" | cut -d' ' -f1)
  mkdir -p "$w/img/$diffid"
  mv "$w/layer.tar" "$w/img/$diffid/layer.tar"
  # 65535 is the user the upstream pause image runs as: the sandbox needs no privilege.
  cfg=$(printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Entrypoint":["/pause"],"User":"65535:65535","Labels":{"io.skiff.test":"cluster"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"skiff test/cluster/lib/pause-image.sh"}]}' "$diffid")
  cfgid=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
  printf '%s' "$cfg" > "$w/img/$cfgid.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfgid" "$PAUSE_IMAGE" "$diffid" > "$w/img/manifest.json"
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name -C "$w/img" -cf "$out" manifest.json "$cfgid.json" "$diffid"
  rm -rf "$w"
}
