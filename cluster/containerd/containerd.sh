# shellcheck shell=bash
# containerd (Debian package) with runc and the CNI plugins (/usr/lib/cni): the node's container runtime,
# a host process on the unix socket $CONTAINERD_SOCK. Configured by config.toml (the CRI plugin: cgroupfs,
# restrict_oom_score_adj, the pause image of cluster/pause) and cni.conflist (bridge $BRIDGE, pod subnet
# $POD_SUBNET, host-local IPAM), both rendered into $STATE. Images come from archives (cluster/images/import.sh).

containerd_configure() {
  render_to "$STATE/containerd.toml" "$CLUSTER_DIR/containerd/config.toml"
  mkdir -p "$STATE/containerd/certs.d"
  render_to "$STATE/cni/net.d/10-cogniverse.conflist" "$CLUSTER_DIR/containerd/cni.conflist"
}

containerd_start() {
  start_daemon containerd containerd --config "$STATE/containerd.toml"
  wait_for "containerd" ctr --address "$CONTAINERD_SOCK" version
}

containerd_status() { daemon_status containerd; }

containerd_kill_containers() {  # every container still running (down, after kubelet stopped)
  running containerd || return 0
  local id
  for id in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  sleep 1
  for id in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true
  done
}
