# shellcheck shell=bash
# kubelet: built with Kubernetes (cluster/k8s), a host process on $BRIDGE_IP:10250 (health 127.0.0.1:10248)
# that runs pods through containerd (cluster/containerd). Configured by kubelet.yaml (cgroup v1 with
# cgroupfs, the cluster DNS, eviction thresholds), rendered into $STATE; its flags are below.

kubelet_configure() { render_to "$STATE/kubelet.yaml" "$CLUSTER_DIR/kubelet/kubelet.yaml"; }

kubelet_start() {
  start_daemon kubelet "$K8S_BIN/kubelet" --config "$STATE/kubelet.yaml" \
    --kubeconfig "$STATE/kubelet.kubeconfig" --hostname-override "$NODE_NAME" --node-ip "$BRIDGE_IP" \
    --root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" --v 1
}

kubelet_healthy() {  # start kubelet if it is not running, then its healthz; for wait_for
  # A kubelet started while containerd's CRI service still initializes (it answers `ctr version` before) exits at
  # once: "validate CRI v1 runtime API ...: server is not initialized yet" (seen after a containerd restart).
  # The node's Ready condition outlives a short kubelet outage (its lease): healthz is kubelet's own answer.
  kubelet_start
  curl -fsS http://127.0.0.1:10248/healthz
}

kubelet_wait() { wait_for "node $NODE_NAME Ready" kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=10s; }

kubelet_status() { daemon_status kubelet; }
