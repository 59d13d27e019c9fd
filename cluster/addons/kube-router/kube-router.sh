# shellcheck shell=bash
# kube-router's network policy controller: enforces NetworkPolicy on the node, as K3s does with the
# same controller embedded in its agent. Built from this folder's main.go (the controller alone, with
# kube-router's own flags; see there). It programs the host's iptables and ipsets, so unlike the other
# add-ons it runs on the node as a root process beside kube-proxy (no image: ADDON_IMAGE is empty),
# with a client certificate of its own (user system:kube-router) and the read-only RBAC of manifest.yaml.
#            name        versions.env key    module                                   package binary      image uid
addon_define kube-router KUBE_ROUTER_VERSION github.com/cloudnativelabs/kube-router/v2 . kube-router "" ""

KUBE_ROUTER_HEALTH="127.0.0.1:20244"  # its /healthz (loopback; kube-router's own port number)
KUBE_ROUTER_USER="system:kube-router"

kube_router_ldflags() {  # the version kube-router prints and logs (its Makefile stamps the same variables)
  local pkg=github.com/cloudnativelabs/kube-router/v2/pkg/version
  echo "-X $pkg.Version=$(addon_version kube-router) -X $pkg.BuildDate=1970-01-01T00:00:00Z"
}

kube_router_bin() { echo "$(addon_bin_dir kube-router)/kube-router"; }

kube_router_start() {  # run the controller on the host (again when its binary changed since it started)
  local bin pid
  bin="$(kube_router_bin)"
  [[ -x "$bin" ]] || die "kube-router is not built ($bin missing): run scripts/local_cluster.sh build"
  if running kube-router; then
    pid="$(cat "$(pidfile kube-router)")"
    if ! grep -qaF -- "$bin" "/proc/$pid/cmdline"; then
      log "kube-router runs another build (pid $pid); restarting it with $bin"
      stop_daemon kube-router
    fi
  fi
  gen_cert kube-router "/CN=$KUBE_ROUTER_USER" clientAuth
  write_kubeconfig "$STATE/kube-router.kubeconfig" kube-router
  # kube-router's flags, as K3s sets them for its embedded controller: the firewall only.
  start_daemon kube-router "$bin" --run-firewall=true --run-router=false --run-service-proxy=false \
    --enable-ipv4=true --enable-ipv6=false --kubeconfig "$STATE/kube-router.kubeconfig" \
    --hostname-override "$NODE_NAME" --service-cluster-ip-range "$SERVICE_CIDR" \
    --service-node-port-range 30000:32767 --health-addr "$KUBE_ROUTER_HEALTH" --v 1
}

kube_router_synced() {  # healthy, and its first sync has hooked its chains into the filter table
  local forward
  curl -fsS --max-time 2 "http://$KUBE_ROUTER_HEALTH/healthz" >/dev/null || return 1
  forward="$(iptables -t filter -S FORWARD 2>/dev/null)"
  [[ "$forward" == *"-j KUBE-ROUTER-FORWARD"* ]]
}

kube_router_wait() {
  kube_router_start
  wait_for "kube-router's network policy controller synced (log $STATE/logs/kube-router.log)" kube_router_synced
}

kube_router_status() {  # the status line: host process and health
  local health
  if running kube-router; then
    health="$(curl -sS --max-time 2 "http://$KUBE_ROUTER_HEALTH/healthz" 2>/dev/null || true)"
    echo "running (pid $(cat "$(pidfile kube-router)")), healthz ${health:-unreachable}"
    [[ "$health" == OK* ]]
  else
    echo "stopped"
    return 1
  fi
}

kube_router_remove_ipsets() {  # after the KUBE-* iptables rules are gone (down): the sets it created
  command -v ipset >/dev/null || return 0
  local set
  for set in $(ipset list -n 2>/dev/null | grep -E '^(inet6:)?KUBE-' || true); do
    ipset destroy "$set" 2>/dev/null || log "ipset $set is still in use; left in place"
  done
}
