# shellcheck shell=bash
# kube-proxy: built with Kubernetes (cluster/k8s), a host process in iptables mode (the kernel has no IPVS),
# health 127.0.0.1:10256. Configured by kube-proxy.yaml, rendered into $STATE (kept when unchanged: kube-proxy
# exits when its config file is rewritten). NetworkPolicy is kube-router's (cluster/addons/kube-router).

kube_proxy_configure() { render_to "$STATE/kube-proxy.yaml" "$CLUSTER_DIR/kube-proxy/kube-proxy.yaml"; }

kube_proxy_start() { start_daemon kube-proxy "$K8S_BIN/kube-proxy" --config "$STATE/kube-proxy.yaml" --v 1; }

kube_proxy_cleanup() {  # its own rules, with any release's binary (down)
  if [[ -n "$K8S_BIN" && -x "$K8S_BIN/kube-proxy" ]]; then
    "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  fi
}

kube_proxy_status() { daemon_status kube-proxy; }
