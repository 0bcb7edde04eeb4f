# shellcheck shell=bash
# Host networking the cluster changes, and how down.sh undoes it; sourced after env.sh.
#
# The CNI bridge plugin turns on net.ipv4.ip_forward (a gateway bridge needs it), which would let any
# container on the machine, Docker's included, route packets out to the network. Nothing here should
# reach beyond this machine, so while the cluster is up two FORWARD rules keep forwarding local: pods may
# only be forwarded back onto their bridge, and, if forwarding was off before, nothing is forwarded out of
# the interface of the default route. down.sh removes both and restores the previous ip_forward.

GUARD_COMMENT=skiff-cluster-guard

guard_rules() {
  local ext
  echo "-s $POD_CIDR ! -o $CNI_BRIDGE -m comment --comment $GUARD_COMMENT -j DROP"
  if [[ "$(cat "$STATE/ip_forward.before" 2>/dev/null)" == 0 ]]; then
    ext=$(ip -4 -o route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
    [[ -n $ext ]] && echo "-o $ext -m comment --comment $GUARD_COMMENT -j DROP"
  fi
}

net_setup() {
  local rule
  # Recorded once per up/down cycle: a second up.sh must not record the value the first one caused.
  [[ -f $STATE/ip_forward.before ]] || cat /proc/sys/net/ipv4/ip_forward > "$STATE/ip_forward.before"
  while read -r rule; do
    # shellcheck disable=SC2086 # the rule is a list of arguments
    iptables -C FORWARD $rule 2>/dev/null || iptables -I FORWARD 1 $rule
  done < <(guard_rules)
  # Bridged pod-to-pod traffic must pass iptables for Services to reach a pod on the same bridge.
  [[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" == 1 ]] ||
    log "warning: net.bridge.bridge-nf-call-iptables is not 1; a pod may not reach a Service backed by a pod"
}

# remove_chains IPTABLES TABLE REGEX: deletes every rule that jumps to a chain matching REGEX, then the
# chains themselves.
remove_chains() {
  local ipt=$1 table=$2 re=$3 rule chain
  command -v "$ipt" >/dev/null || return 0
  while read -r rule; do
    # shellcheck disable=SC2086
    eval "$ipt -t $table -D ${rule#-A }" 2>/dev/null || true
  done < <("$ipt" -t "$table" -S 2>/dev/null | grep -E "^-A .* -j ($re)( |\$)" || true)
  while read -r chain; do
    "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
  done < <("$ipt" -t "$table" -S 2>/dev/null | awk -v re="^($re)" '$1 == "-N" && $2 ~ re { print $2 }')
  while read -r chain; do
    "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
  done < <("$ipt" -t "$table" -S 2>/dev/null | awk -v re="^($re)" '$1 == "-N" && $2 ~ re { print $2 }')
}

net_teardown() {
  local link ipt table rule
  # Veths left on the bridge by pods whose network namespace is already gone, then the bridge.
  for link in $(ip -o link show master "$CNI_BRIDGE" 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$CNI_BRIDGE" 2>/dev/null || true
  # kube-proxy's and the kubelet's chains (KUBE-*) and portmap's (CNI-*). Docker here runs with
  # --iptables=false; with iptables on it would own DOCKER* chains, which these names do not match.
  for ipt in iptables ip6tables; do
    for table in filter nat mangle; do
      remove_chains "$ipt" "$table" 'KUBE-[A-Z0-9-]+|CNI-[A-Za-z0-9_-]+'
    done
  done
  while read -r rule; do
    eval "iptables -D ${rule#-A }" 2>/dev/null || true
  done < <(iptables -S FORWARD 2>/dev/null | grep -- "--comment $GUARD_COMMENT" || true)
  if [[ -f $STATE/ip_forward.before ]]; then
    cat "$STATE/ip_forward.before" > /proc/sys/net/ipv4/ip_forward
    rm -f "$STATE/ip_forward.before"
  fi
}
