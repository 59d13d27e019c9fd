# shellcheck shell=bash
# etcd: the API server's store. Built with Kubernetes (cluster/k8s: the wrapper module's cmd/etcd calls
# etcdmain, the etcd that k8s.io/kubernetes requires), run as a host process on loopback.
# TLS only, with client-certificate auth against a CA of its own (etcd-ca, cluster/pki): its one client is
# the API server (apiserver-etcd-client); a hostNetwork pod or a host user without that key gets no answer,
# plain HTTP included. Peers (one member) talk TLS with the etcd-peer certificate.
# A node whose etcd ran plain HTTP switches on `up`: start_daemon sees other flags and restarts it (data
# kept), then the API server, whose --etcd-* flags changed too.
# Ports: client 2379 ($ETCD_CLIENT_PORT), peer 2380 ($ETCD_PEER_PORT), both 127.0.0.1.

ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380

etcd_pki() {  # etcd-ca, etcd's server and peer certificates, the API server's client certificate
  make_ca etcd-ca cogniverse-local-etcd-ca
  CA_NAME=etcd-ca gen_cert etcd-server "/CN=etcd-server" serverAuth "DNS:localhost,IP:127.0.0.1"
  CA_NAME=etcd-ca gen_cert etcd-peer "/CN=$NODE_NAME" serverAuth,clientAuth "DNS:localhost,IP:127.0.0.1"
  CA_NAME=etcd-ca gen_cert apiserver-etcd-client "/CN=kube-apiserver-etcd-client" clientAuth
}

etcd_start() {
  start_daemon etcd "$K8S_BIN/etcd" --name "$NODE_NAME" --data-dir "$STATE/etcd" \
    --listen-client-urls "https://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "https://127.0.0.1:$ETCD_CLIENT_PORT" \
    --cert-file "$PKI/etcd-server.crt" --key-file "$PKI/etcd-server.key" \
    --client-cert-auth --trusted-ca-file "$PKI/etcd-ca.crt" \
    --listen-peer-urls "https://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "https://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "$NODE_NAME=https://127.0.0.1:$ETCD_PEER_PORT" \
    --peer-cert-file "$PKI/etcd-peer.crt" --peer-key-file "$PKI/etcd-peer.key" \
    --peer-client-cert-auth --peer-trusted-ca-file "$PKI/etcd-ca.crt" \
    --quota-backend-bytes 2147483648 --log-level warn
  wait_for "etcd health" etcd_healthy
}

etcd_healthy() {  # /health over TLS with the API server's client certificate
  curl -fsS --cacert "$PKI/etcd-ca.crt" --cert "$PKI/apiserver-etcd-client.crt" --key "$PKI/apiserver-etcd-client.key" \
    "https://127.0.0.1:$ETCD_CLIENT_PORT/health"
}

etcd_status() { daemon_status etcd; }
