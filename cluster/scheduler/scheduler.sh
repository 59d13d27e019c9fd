# shellcheck shell=bash
# kube-scheduler: built with Kubernetes (cluster/k8s), a host process (health on 127.0.0.1:10259), no
# leader election (one node).

scheduler_start() {
  start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v 1
}

scheduler_status() { daemon_status kube-scheduler; }
