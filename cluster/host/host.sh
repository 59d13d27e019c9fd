# shellcheck shell=bash
# The host the node runs on: the Debian packages `up` installs, the bridge $BRIDGE ($BRIDGE_IP/24, the pods'
# gateway and the API server's address), mount propagation and sysctls, and what `down` removes again
# (mounts, kubelet's cgroups, network namespaces, the KUBE-*/CNI-* iptables chains, the bridge).

# jq and curl: the smoke suite runs docs/guide.md, whose commands use them on the host (a fresh Debian has neither);
# ipset: kube-router's network policy controller (cluster/addons/kube-router) keeps its peer sets there;
# chromium: the browser tests (tests/smoke/test_browser.py).
APT_PACKAGES=(containerd runc containernetworking-plugins iptables ipset openssl iproute2 busybox-static jq curl chromium)

ensure_packages() {
  local missing=() cmd
  for cmd in containerd runc ctr iptables ipset openssl ip setsid jq curl; do
    command -v "$cmd" >/dev/null || missing+=("$cmd")
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(cni-plugins)
  # The toolbox image copies /bin/busybox: it must be busybox-static (ldd fails on static binaries).
  if [[ ! -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then missing+=(busybox-static); fi
  # The smoke suite's browser tests (tests/smoke/test_browser.py) drive the system Chromium headless.
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  if ((${#missing[@]})); then
    log "installing Debian packages (missing: ${missing[*]})"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  fi
}

setup_host() {
  # kubelet needs shared mount propagation (mount --make-rshared / is what a systemd host has).
  mount --make-rshared /
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $BRIDGE ($BRIDGE_IP/24) for pods and the API server address"
    ip link add "$BRIDGE" type bridge
  fi
  # Not `ip addr show | grep -q`: with pipefail, grep -q exiting at the match can SIGPIPE ip, the
  # pipeline fails, and `ip addr add` of an assigned address kills a second `up` (the Argo swap).
  local addrs
  addrs="$(ip addr show dev "$BRIDGE")"
  [[ "$addrs" == *"inet $BRIDGE_IP/"* ]] || ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  mkdir -p "$STATE"/{logs,pids,etcd,kubelet,cni/net.d,cni/ipam,containerd} "$RUN/containerd"
}

remove_netns() {
  # Sandboxes that kubelet could not tear down leave their network namespaces (named cni-<uuid>
  # by containerd's CRI) behind; with every container stopped, no process uses them any more.
  local ns
  for ns in /var/run/netns/cni-*; do
    [[ -e "$ns" ]] || continue
    if [[ -z "$(ip netns pids "$(basename "$ns")" 2>/dev/null)" ]]; then
      log "removing leftover network namespace $(basename "$ns")"
      umount "$ns" 2>/dev/null || true
      rm -f "$ns"
    fi
  done
}

unmount_under() {  # unmount every mount point below the given directories, deepest first
  local dir m
  for dir in "$@"; do
    [[ -d "$dir" ]] || continue
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(awk -v d="$dir" 'index($5, d "/") == 1 || $5 == d {print $5}' /proc/self/mountinfo | sort -r)
  done
}

remove_cgroups() {  # kubelet's pod cgroups (cgroupfs driver): /kubepods in every v1 hierarchy
  local h d
  for h in /sys/fs/cgroup/*/; do
    [[ -d "$h/kubepods" ]] || continue
    find "$h/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  for d in /sys/fs/cgroup/*/k8s.io; do  # containerd's own, when a container escaped kubelet's parents
    if [[ -d "$d" ]]; then find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
  done
}

remove_iptables() {  # kube-proxy's, kubelet's and the CNI plugins' chains (KUBE-*, CNI-*)
  kube_proxy_cleanup
  local table chain rule
  for table in filter nat mangle; do
    while read -r rule; do
      # iptables -S quotes its output (comments with spaces), so eval re-reads it as arguments.
      eval "iptables -t $table ${rule/#-A/-D}" 2>/dev/null || true
    done < <(iptables -t "$table" -S 2>/dev/null | grep -E '^-A ' | grep -E -- '-j (KUBE-|CNI-)|--comment "?(kubernetes|CNI)' || true)
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}

remove_bridge() {
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "removing bridge $BRIDGE"
    ip link delete "$BRIDGE" type bridge || true
  fi
}
