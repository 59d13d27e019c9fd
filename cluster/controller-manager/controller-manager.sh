# shellcheck shell=bash
# kube-controller-manager: built with Kubernetes (cluster/k8s), a host process (health on 127.0.0.1:10257),
# no leader election (one node). It signs approved CSRs with the cluster CA (not etcd's: cluster/pki).

controller_manager_start() {
  start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$CLUSTER_CIDR" --allocate-node-cidrs=false \
    --profiling=false --v 1
}

controller_manager_status() { daemon_status kube-controller-manager; }
