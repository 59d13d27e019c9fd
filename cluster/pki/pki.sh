# shellcheck shell=bash
# The node's certificates and kubeconfigs (openssl, under $PKI = $STATE/pki, mode 700), made once and
# kept: `up` adds only what is missing. Three CAs, so a certificate of one trust domain opens no other:
#   ca             the cluster CA: API server, kubelet, every client of the API (it also signs approved CSRs)
#   front-proxy-ca the aggregation layer (the API server's client certificate to metrics-server)
#   etcd-ca        etcd's server and peer certificates and its one client, the API server: a certificate
#                  the cluster CA signs (a CSR approved in the cluster) does not open etcd
# A component that needs a certificate of its own calls gen_cert and write_kubeconfig (kube-router does).

make_ca() {  # make_ca NAME CN: a self-signed CA key pair $PKI/NAME.{key,crt}, once
  [[ -f "$PKI/$1.crt" ]] && return 0
  openssl genrsa -out "$PKI/$1.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 3650 -out "$PKI/$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}

gen_cert() {  # gen_cert NAME SUBJECT USAGE [SAN]: key pair in $PKI signed by $PKI/${CA_NAME:-ca}
  local name="$1" subj="$2" usage="$3" san="${4:-}" ext ca="${CA_NAME:-ca}"
  [[ -f "$PKI/$name.crt" ]] && return 0
  ext="$PKI/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    if [[ -n "$san" ]]; then echo "subjectAltName=$san"; fi
  } >"$ext"
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 3650 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

write_kubeconfig() {  # write_kubeconfig FILE CERT_NAME [NAMESPACE]: cluster/pki/kubeconfig.yaml for that user
  # shellcheck disable=SC2034  # read by render (@KUBECONFIG_USER@, @KUBECONFIG_NAMESPACE@)
  local KUBECONFIG_USER="$2" KUBECONFIG_NAMESPACE="${3:-default}"
  render "$CLUSTER_DIR/pki/kubeconfig.yaml" >"$1"
  chmod 600 "$1"
}

make_pki() {
  mkdir -p "$PKI" && chmod 700 "$PKI"
  make_ca ca cogniverse-local-ca
  gen_cert apiserver "/CN=kube-apiserver" serverAuth \
    "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$BRIDGE_IP,IP:$KUBERNETES_SVC_IP"
  gen_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  gen_cert admin "/O=system:masters/CN=cogniverse-admin" clientAuth
  gen_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
  gen_cert scheduler "/CN=system:kube-scheduler" clientAuth
  gen_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  gen_cert kube-proxy "/CN=system:kube-proxy" clientAuth
  gen_cert kubelet-server "/CN=$NODE_NAME" serverAuth "DNS:$NODE_NAME,DNS:localhost,IP:$BRIDGE_IP,IP:127.0.0.1"
  # The aggregation layer (metrics-server behind metrics.k8s.io): the API server proxies to it with
  # a client certificate from a CA of its own, which the extension server trusts for the
  # X-Remote-User/Group headers (requestheader), as kubeadm and K3s set it up.
  make_ca front-proxy-ca cogniverse-local-front-proxy-ca
  CA_NAME=front-proxy-ca gen_cert front-proxy-client "/CN=front-proxy-client" clientAuth
  etcd_pki  # cluster/etcd/etcd.sh: etcd-ca and its certificates
  if [[ ! -f "$PKI/sa.key" ]]; then
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  write_kubeconfig "$STATE/admin.kubeconfig" admin
  write_kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$STATE/scheduler.kubeconfig" scheduler
  write_kubeconfig "$STATE/kubelet.kubeconfig" kubelet
  write_kubeconfig "$STATE/kube-proxy.kubeconfig" kube-proxy
  # The out-of-cluster Argo controller reads its namespace (for its ConfigMap) from the context.
}
