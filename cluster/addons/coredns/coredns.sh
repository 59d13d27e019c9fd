# shellcheck shell=bash
# CoreDNS: the cluster DNS (Service kube-system/kube-dns at $DNS_SERVICE_IP, kubelet's clusterDNS).
# Built from this folder's main.go: coremain with the plugins K3s's Corefile uses (see there).
# Runs as root (UID ""), binding :53 with only NET_BIND_SERVICE, as upstream's manifest does.
#            name    versions.env key module                     package binary  image              uid
addon_define coredns COREDNS_VERSION github.com/coredns/coredns . coredns cogniverse/coredns ""

# The version is a constant in coremain (CoreVersion); only the commit is a variable.
coredns_ldflags() { echo "-X github.com/coredns/coredns/coremain.GitCommit=$(addon_version coredns)"; }

coredns_wait() {
  addon_rollout coredns
  # The Service answers once kube-proxy has programmed it: resolve the API server's name through it.
  wait_for "cluster DNS at $DNS_SERVICE_IP" coredns_answers
}

coredns_answers() {  # one query through the Service address, from the host (busybox nslookup)
  busybox nslookup "kubernetes.default.svc.$CLUSTER_DOMAIN" "$DNS_SERVICE_IP" 2>/dev/null | grep -q "10.96.0.1"
}
