# shellcheck shell=bash
# Certificates, keys and kubeconfigs of the test cluster (openssl); sourced by up.sh after env.sh.
# One CA signs everything. Client identities follow Kubernetes' bootstrap RBAC: the user name is the CN,
# groups are O, and the built-in ClusterRoleBindings grant system:kube-controller-manager,
# system:kube-scheduler, system:kube-proxy and system:node:<name> (group system:nodes) what they need.

# ca NAME CN: a self-signed EC P-256 CA, valid ten years.
ca() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$1.key" 2>/dev/null
  openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/$1.crt" 2>/dev/null
}

# cert NAME CN O EKU [SAN]: an EC P-256 key and a certificate signed by the CA ($signer, default ca), valid
# ten years.
signer=ca
cert() {
  local name=$1 cn=$2 o=$3 eku=$4 san=${5:-} subj ext
  subj="/CN=$cn"
  [[ -n $o ]] && subj+="/O=$o"
  ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$eku"
  [[ -n $san ]] && ext+="
subjectAltName=$san"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$name.key" 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$signer.crt" -CAkey "$PKI/$signer.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 3650 -sha256 -extfile <(printf '%s\n' "$ext") -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr"
}

# kubeconfig FILE USER CERTNAME: a kubeconfig for the API server on loopback with embedded credentials.
kubeconfig() {
  local file=$1 user=$2 certname=$3
  cat > "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 < "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 < "$PKI/$certname.crt")
    client-key-data: $(base64 -w0 < "$PKI/$certname.key")
contexts:
- name: skiff
  context: {cluster: skiff, user: $user}
current-context: skiff
EOF
  chmod 600 "$file"
}

# pki NODE_IP: creates what is missing. The serving certificates name the node's address, so they are
# made again when that address changes (another machine, another network).
pki() {
  local ip=$1
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  local complete=1 f
  for f in ca sa admin apiserver-kubelet-client controller-manager scheduler kube-proxy kubelet provisioner \
    front-proxy-ca front-proxy-client; do
    [[ -f $PKI/$f.key ]] || complete=0
  done
  # All or nothing: a set written by an older up.sh, or cut short, is made again whole.
  if ((!complete)); then
    log "creating the cluster CAs and keys in $PKI"
    rm -f "$PKI"/*
    ca ca skiff-cluster-ca
    # Service-account tokens are signed with this key and checked with its public half.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
    openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
    cert admin skiff-admin system:masters clientAuth
    cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
    cert controller-manager system:kube-controller-manager "" clientAuth
    cert scheduler system:kube-scheduler "" clientAuth
    cert kube-proxy system:kube-proxy "" clientAuth
    cert kubelet "system:node:$NODE_NAME" system:nodes clientAuth
    # Bound by RBAC to a ClusterRole of its own (up.sh), not system:masters.
    cert provisioner skiff:hostpath-provisioner "" clientAuth
    # The API server's identity towards aggregated API servers, from a CA of its own so that no other
    # client certificate can claim to be the front proxy. Also what the controller manager and scheduler
    # read from extension-apiserver-authentication (without it they log an error every few seconds).
    ca front-proxy-ca skiff-cluster-front-proxy-ca
    signer=front-proxy-ca cert front-proxy-client front-proxy-client "" clientAuth
  fi
  if [[ "$(cat "$PKI/node-ip" 2>/dev/null)" != "$ip" ]]; then
    cert apiserver kube-apiserver "" serverAuth \
      "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost,IP:127.0.0.1,IP:$SERVICE_IP_KUBERNETES,IP:$ip"
    cert kubelet-serving "$NODE_NAME" "" serverAuth "DNS:$NODE_NAME,DNS:localhost,IP:127.0.0.1,IP:$ip"
    echo "$ip" > "$PKI/node-ip"
  fi
  kubeconfig "$KUBECONFIG_ADMIN" skiff-admin admin
  kubeconfig "$PKI/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
  kubeconfig "$PKI/scheduler.kubeconfig" system:kube-scheduler scheduler
  kubeconfig "$PKI/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
  kubeconfig "$PKI/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet
  kubeconfig "$PKI/provisioner.kubeconfig" skiff:hostpath-provisioner provisioner
}
