#!/usr/bin/env bash
# Stages run through `timed STAGE function`, which shellcheck cannot follow: it reports the
# functions as unreachable (SC2317) or, in newer releases, never invoked (SC2329).
# shellcheck disable=SC2317,SC2329
# A real single-node Kubernetes + Argo Workflows cluster built offline from Go modules and Debian
# packages, for the smoke suite in CI and for local use. See docs/local-cluster.md.
#
#   scripts/local_cluster.sh up           build (cached) and start everything; idempotent
#   scripts/local_cluster.sh down         stop what `up` started, remove its mounts, cgroups, devices, rules
#   scripts/local_cluster.sh status       component health
#   scripts/local_cluster.sh kubeconfig   print the admin kubeconfig path
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_DIR="$ROOT/cluster"

CACHE="${COGNIVERSE_CLUSTER_CACHE:-$HOME/.cache/cogniverse-local-cluster}"
STATE="${COGNIVERSE_CLUSTER_STATE:-/var/lib/cogniverse-local-cluster}"
RUN="${COGNIVERSE_CLUSTER_RUN:-/run/cogniverse-local-cluster}"
KUBECTL="${COGNIVERSE_KUBECTL:-$ROOT/.tools/bin/kubectl}"
NODE_NAME="cogniverse-local"
BRIDGE="cv0"
BRIDGE_IP="10.244.0.1"
POD_SUBNET="10.244.0.0/24"
CLUSTER_CIDR="10.244.0.0/16"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SVC_IP="10.96.0.1"
APISERVER_PORT=6443
ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
TIMEOUT="${COGNIVERSE_CLUSTER_TIMEOUT:-180}"
LOCK="${COGNIVERSE_CLUSTER_LOCK:-/run/lock/cogniverse-local-cluster.lock}"
ARGO_REQUEUE_TIME="${COGNIVERSE_ARGO_REQUEUE_TIME:-250ms}"
PAUSE_IMAGE="cogniverse/pause:3.10"
TOOLBOX_IMAGE="cogniverse/toolbox:1.0"
# pin, gomod_version: the one reader of versions.env and go.mod requirements.
PROG=local_cluster.sh
# shellcheck source=scripts/lib/pins.sh
source "$ROOT/scripts/lib/pins.sh"
# Kubernetes (version selection, wrapper module, build, kubectl): cluster/k8s/k8s.sh.
# shellcheck source=cluster/k8s/k8s.sh
source "$CLUSTER_DIR/k8s/k8s.sh"
# Argo Workflows (build, images, install, CLI): cluster/argo/argo.sh; argo_select sets ARGO_VERSION & co.
# shellcheck source=cluster/argo/argo.sh
source "$CLUSTER_DIR/argo/argo.sh"
# Image archives into containerd, once each: cluster/images/import.sh.
# shellcheck source=cluster/images/import.sh
source "$CLUSTER_DIR/images/import.sh"
CONTAINERD_SOCK="$RUN/containerd/containerd.sock"
PKI="$STATE/pki"
# jq and curl: the smoke suite runs docs/guide.md, whose commands use them on the host (a fresh Debian has neither);
# ipset: kube-router's network policy controller (cluster/addons/kube-router) keeps its peer sets there;
# chromium: the browser tests (tests/smoke/test_browser.py).
APT_PACKAGES=(containerd runc containernetworking-plugins iptables ipset openssl iproute2 busybox-static jq curl chromium)
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy)
# CoreDNS, local-path provisioner, metrics-server, kube-router (NetworkPolicy): cluster/addons/addons.sh, one folder each.
# shellcheck source=cluster/addons/addons.sh
source "$CLUSTER_DIR/addons/addons.sh"

usage() {
  cat <<EOF
Usage: scripts/local_cluster.sh [--help] COMMAND [--argo-version 3.7|4.0] [--kubernetes-version vX.Y.Z]

Commands:
  build       only build what is missing (binaries and images) and print the build timings; starts nothing
  up          build what is missing (cached under \$COGNIVERSE_CLUSTER_CACHE) and start a single-node
              Kubernetes $K8S_VERSION with Argo Workflows $ARGO_VERSION, CoreDNS, the local-path
              StorageClass, metrics-server and NetworkPolicy enforcement (kube-router); safe to run again
  down        stop the processes 'up' started (by PID file) and remove its mounts, cgroups,
              network devices and iptables rules; keeps caches (add --purge to also drop cluster data)
  status      print the health of every component; exit 1 when one is down
  restart COMPONENT  stop one of the node's processes and start it again with the same flags (a fault the
              chaos suite injects, tests/smoke/chaos): apiserver, etcd, kubelet, containerd, or node (kubelet
              and containerd together; containers keep running); prints how long it took
  kubeconfig  print the path of the admin kubeconfig

Options:
  --argo-version V  Argo Workflows to build/run: 3.7 ($(pin ARGO_VERSION)) or 4.0 ($(pin ARGO_V4_VERSION)),
              pinned in versions.env; 'up' on a running node swaps controller, server and argoexec
              [\$COGNIVERSE_ARGO_VERSION, default 3.7]
  --kubernetes-version V  Kubernetes release to build/run (default KUBERNETES_VERSION=$(pin KUBERNETES_VERSION) in
              versions.env; any release from $(pin KUBERNETES_OLDEST_SUPPORTED_VERSION | cut -d. -f1,2) on, built from a generated
              wrapper go.mod cached per version); switching a node's release needs 'down --purge' first
              [\$COGNIVERSE_KUBERNETES_VERSION]

Environment:
  COGNIVERSE_CLUSTER_CACHE  build cache (binaries, images)   [$CACHE]
  COGNIVERSE_CLUSTER_STATE  certificates, data, logs, pids    [$STATE]
  COGNIVERSE_CLUSTER_RUN    sockets                           [$RUN]
  COGNIVERSE_KUBECTL        kubectl to use and to put in the argoexec image [default: the node's own,
                            built with Kubernetes and linked as .tools/bin/kubectl by build and up]
  COGNIVERSE_CLUSTER_TIMEOUT seconds to wait for each component [$TIMEOUT]
  COGNIVERSE_ARGO_REQUEUE_TIME the Argo controller's DEFAULT_REQUEUE_TIME [$ARGO_REQUEUE_TIME]
EOF
}

log() { printf '[local-cluster %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

declare -a TIMINGS=()
timed() {  # timed LABEL CMD...: run CMD, record its duration
  local label="$1" start end
  shift
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  TIMINGS+=("$label $((end - start))s")
  log "$label took $((end - start))s"
  echo "$(date -u +%FT%TZ) $label $((end - start))s" >>"$CACHE/timings.log"
}

print_timings() {
  local t
  log "timings:"
  for t in "${TIMINGS[@]}"; do printf '  %s\n' "$t" >&2; done
}

# ---------------------------------------------------------------- processes
pidfile() { echo "$STATE/pids/$1.pid"; }

running() {  # running NAME: the PID file names a live process started from our binary
  local pf pid
  pf="$(pidfile "$1")"
  [[ -f "$pf" ]] || return 1
  pid="$(cat "$pf")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  grep -qa -- "$STATE\|$CACHE\|$RUN" "/proc/$pid/cmdline" 2>/dev/null
}

start_daemon() {  # start_daemon NAME CMD...: background process, output to logs/NAME.log
  local name="$1"
  shift
  if running "$name"; then
    log "$name already running (pid $(cat "$(pidfile "$name")"))"
    return 0
  fi
  mkdir -p "$STATE/pids" "$STATE/logs"
  log "starting $name"
  # The daemon inherits no descriptor beyond 0-2: not our up/down lock (fd 9), nor a lock the caller
  # holds (`flock /run/lock/cogniverse-smoke.lock local_cluster.sh up`, test.sh's fd 9), or it would
  # hold that lock for as long as it runs.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if [[ $fd -gt 2 && -e /proc/self/fd/$fd ]]; then eval "exec $fd>&-"; fi
    done
    exec setsid "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null
  ) &
  echo $! >"$(pidfile "$name")"
}

stop_daemon() {  # stop_daemon NAME [GRACE]: SIGTERM, then SIGKILL after GRACE (20) s; only the PID we recorded
  local name="$1" grace="${2:-20}" pf pid i
  pf="$(pidfile "$name")"
  [[ -f "$pf" ]] || return 0
  pid="$(cat "$pf")"
  if running "$name"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 2; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop within ${grace}s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pf"
}

wait_for() {  # wait_for DESCRIPTION CMD...: poll until CMD succeeds or TIMEOUT
  local what="$1" i
  shift
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  die "timed out after ${TIMEOUT}s waiting for $what (logs: $STATE/logs/)"
}

kc() { "$KUBECTL" --kubeconfig "$STATE/admin.kubeconfig" "$@"; }

# ---------------------------------------------------------------- build
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

source_key() {  # source_key DIR: hash of the wrapper module's inputs (go.mod, go.sum, *.go) and the Go version
  { (cd "$1" && find . -name '*.go' -o -name '*.go.in' -o -name go.mod -o -name go.sum | LC_ALL=C sort | xargs sha256sum)
    go env GOVERSION; } | sha256sum | cut -c1-12
}

go_build() {  # go_build MODULE_DIR OUT_DIR LDFLAGS PACKAGES...
  local dir="$1" out="$2" ldflags="$3"
  shift 3
  mkdir -p "$out.tmp"
  # -v names each package as it compiles: the progress lines count them (see build_binaries).
  (cd "$dir" && CGO_ENABLED=0 nice -n 10 go build -v -trimpath -ldflags "$ldflags" -o "$out.tmp/" "$@")
  rm -rf "$out" && mv "$out.tmp" "$out"
}

ARGO_BIN=""
PAUSE_BIN=""

build_pause() {
  go_build "$CLUSTER_DIR/pause" "$PAUSE_BIN" "-s -w" . >"$CACHE/logs/build-pause.log" 2>&1 \
    || { cat "$CACHE/logs/build-pause.log" >&2; die "pause build failed"; }
}

build_binaries() {
  command -v go >/dev/null || die "go is required to build the cluster (Go module proxy must be reachable on a cold machine)"
  mkdir -p "$CACHE/logs" "$CACHE/bin"
  k8s_wrapper_gomod
  K8S_BIN="$(k8s_bin_dir)"
  ARGO_BIN="$(argo_bin_dir)"
  PAUSE_BIN="$CACHE/bin/pause-$(source_key "$CLUSTER_DIR/pause")"
  local pids=() start ok=0 f
  start=$(date +%s)
  rm -f "$CACHE"/logs/.timing-* "$CACHE"/logs/.ok-*
  local jobs=()  # each background build touches logs/.ok-JOB when it succeeded
  [[ -x "$PAUSE_BIN/pause" ]] || timed "build pause" build_pause
  # Kubernetes and Argo build side by side: the link steps are single threaded, so the other
  # build's compile jobs fill the second core. Each logs its own duration.
  if k8s_built "$K8S_BIN"; then
    log "Kubernetes $K8S_VERSION binaries cached in $K8S_BIN"
  else
    (timed "build kubernetes+etcd" build_k8s && echo "${TIMINGS[-1]}" >"$CACHE/logs/.timing-k8s" \
      && touch "$CACHE/logs/.ok-k8s") & pids+=($!) jobs+=(k8s)
  fi
  if argo_built "$ARGO_BIN"; then
    log "Argo $ARGO_VERSION binaries cached in $ARGO_BIN"
  else
    (timed "build argo $ARGO_VERSION" build_argo && echo "${TIMINGS[-1]}" >"$CACHE/logs/.timing-argo" \
      && touch "$CACHE/logs/.ok-argo") & pids+=($!) jobs+=(argo)
  fi
  # The add-ons (cluster/addons) build one after another beside them; each records its own time.
  (n=${#TIMINGS[@]} && addons_build && if ((${#TIMINGS[@]} > n)); then
    printf '%s\n' "${TIMINGS[@]:n}" >"$CACHE/logs/.timing-addons"; fi && touch "$CACHE/logs/.ok-addons") & pids+=($!) jobs+=(addons)
  local pid tick=0 progress
  while true; do
    ok=1
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && ok=0; done
    ((ok)) && break
    if ((++tick % 60 == 0)); then
      progress=""
      for f in k8s argo; do
        [[ -f "$CACHE/logs/build-$f.log" ]] && progress+=" $f: $(wc -l <"$CACHE/logs/build-$f.log") packages compiled;"
      done
      log "still building after $(($(date +%s) - start))s;${progress} (about 2600 for k8s, 2100 for argo when cold)"
    fi
    sleep 1
  done
  # Success is read from the marker files, not from `wait PID`: during a cold build (~50 min on a busy
  # machine) the PIDs wrap (pid_max 32768) and bash drops a finished job's saved status once one of its
  # own later children (the sleep above) gets the same PID; `wait` then says "not a child of this shell".
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for f in "${jobs[@]}"; do [[ -f "$CACHE/logs/.ok-$f" ]] || die "the $f build failed (see above)"; done
  rm -f "$CACHE"/logs/.ok-*
  for f in "$CACHE"/logs/.timing-*; do
    if [[ -f "$f" ]]; then mapfile -t -O "${#TIMINGS[@]}" TIMINGS <"$f" && rm -f "$f"; fi
  done
  TIMINGS+=("build binaries (wall) $(($(date +%s) - start))s")
}

image_archive() { echo "$CACHE/images/$1.tar"; }

build_images() {
  mkdir -p "$CACHE/images"
  local py="$CLUSTER_DIR/images/oci_image.py" key out
  key="$(sha256sum "$py" | cut -c1-8)"
  out="$(image_archive "pause-$key-$(basename "$PAUSE_BIN")")"
  [[ -f "$out" ]] || python3 "$py" --name "$PAUSE_IMAGE" --out "$out" --entrypoint '["/pause"]' \
    "$PAUSE_BIN/pause=/pause:0755" >&2
  IMAGES=("$out")
  argo_images  # cluster/argo/argo.sh: argoexec, workflow-controller, argocli
  addons_images  # cluster/addons: coredns, local-path-provisioner, metrics-server
  # A tiny shell image for tests and utility steps: busybox-static with its applets linked.
  out="$(image_archive "toolbox-$key-$(sha256sum /bin/busybox | cut -c1-8)")"
  if [[ ! -f "$out" ]]; then
    local links=() applet
    for applet in sh ash cat echo ls sleep test true false env printf mkdir rm cp mv grep sed awk wc \
      head tail date id hostname wget nc nslookup ps kill touch tr cut sort uniq tee find xargs basename dirname; do
      links+=(--symlink "/bin/$applet=busybox")
    done
    python3 "$py" --name "$TOOLBOX_IMAGE" --out "$out" --cmd '["sh"]' --dir /tmp:1777 "${links[@]}" \
      "/bin/busybox=/bin/busybox:0755" >&2
  fi
  IMAGES+=("$out")
  # The smoke runner (images/smoke-runner/build.sh, owned by the smoke-runner work): every archive it writes.
  local smoke="$ROOT/images/smoke-runner/build.sh" dir="$CACHE/images/smoke-runner" f
  if [[ -x "$smoke" ]]; then
    log "building the smoke-runner image(s) with images/smoke-runner/build.sh"
    rm -rf "$dir" && mkdir -p "$dir"
    "$smoke" --out "$dir" >"$CACHE/logs/build-smoke-runner.log" 2>&1 \
      || { tail -30 "$CACHE/logs/build-smoke-runner.log" >&2; die "images/smoke-runner/build.sh --out $dir failed"; }
    for f in "$dir"/*.tar "$dir"/*.oci "$dir"/*.tar.gz; do
      if [[ -f "$f" ]]; then IMAGES+=("$f"); fi
    done
  else
    log "images/smoke-runner/build.sh not found: no smoke-runner image imported"
  fi
  # The service images of values/local.yaml (Phoenix, Ollama): imported when already built, never
  # built here (a cold Ollama build is long); cluster/services/images.sh build|import builds them.
  if [[ -x "$ROOT/cluster/services/images.sh" ]]; then
    mapfile -t -O "${#IMAGES[@]}" IMAGES < <("$ROOT/cluster/services/images.sh" archives)
  fi
}

# ---------------------------------------------------------------- certificates
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

write_kubeconfig() {  # write_kubeconfig FILE CERT_NAME [NAMESPACE]
  local file="$1" cert="$2" ns="${3:-default}"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cogniverse-local
  cluster:
    server: https://$BRIDGE_IP:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $cert
  user:
    client-certificate: $PKI/$cert.crt
    client-key: $PKI/$cert.key
contexts:
- name: cogniverse-local
  context: {cluster: cogniverse-local, user: $cert, namespace: $ns}
current-context: cogniverse-local
EOF
  chmod 600 "$file"
}

make_pki() {
  mkdir -p "$PKI" && chmod 700 "$PKI"
  if [[ ! -f "$PKI/ca.crt" ]]; then
    openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=cogniverse-local-ca" -days 3650 -out "$PKI/ca.crt" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  fi
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
  if [[ ! -f "$PKI/front-proxy-ca.crt" ]]; then
    openssl genrsa -out "$PKI/front-proxy-ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$PKI/front-proxy-ca.key" -subj "/CN=cogniverse-local-front-proxy-ca" -days 3650 \
      -out "$PKI/front-proxy-ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  fi
  CA_NAME=front-proxy-ca gen_cert front-proxy-client "/CN=front-proxy-client" clientAuth
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

# ---------------------------------------------------------------- host setup
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

write_if_changed() {  # write_if_changed FILE < content: keep the file (and its mtime) when unchanged;
  # kube-proxy exits when its config file is rewritten, even with the same content.
  local tmp="$1.new"
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

write_configs() {
  write_if_changed "$STATE/containerd.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$RUN/containerd/state"
oom_score = 0
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$RUN/containerd/containerd.sock.ttrpc"
[debug]
  address = "$RUN/containerd/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$STATE/containerd/certs.d"
EOF
  mkdir -p "$STATE/containerd/certs.d"
  write_if_changed "$STATE/cni/net.d/10-cogniverse.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "cogniverse",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$BRIDGE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  write_if_changed "$STATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $BRIDGE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet-server.crt
tlsPrivateKeyFile: $PKI/kubelet-server.key
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: $CLUSTER_DOMAIN
failSwapOn: false
resolvConf: /etc/resolv.conf
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
maxPods: 110
EOF
  write_if_changed "$STATE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $STATE/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
clusterCIDR: $CLUSTER_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$BRIDGE_IP/32"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false}
EOF
}

# ---------------------------------------------------------------- components
start_etcd() {
  start_daemon etcd "$K8S_BIN/etcd" --name "$NODE_NAME" --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "$NODE_NAME=http://127.0.0.1:$ETCD_PEER_PORT" \
    --quota-backend-bytes 2147483648 --log-level warn
  wait_for "etcd health" curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"
}

start_apiserver() {
  start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address "$BRIDGE_IP" --advertise-address "$BRIDGE_IP" --secure-port "$APISERVER_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" --service-node-port-range 30000-32767 \
    --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    --allow-privileged=true --profiling=false --event-ttl 1h --v 1
  wait_for "kube-apiserver /readyz" kc get --raw /readyz
}

start_controllers() {
  start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$CLUSTER_CIDR" --allocate-node-cidrs=false \
    --profiling=false --v 1
  start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v 1
}

import_images() {  # each archive once per containerd root (cluster/images/import.sh)
  local out
  out="$(import_archives "$CONTAINERD_SOCK" "$STATE" "${IMAGES[@]}")" || die "importing the node's images failed"
  log "${#IMAGES[@]} image archive(s); $(grep -c '^already' <<<"$out" || true) already in containerd; $(grep '^imported' <<<"$out" | tr '\n' ' ')"
}

start_containerd() {
  start_daemon containerd containerd --config "$STATE/containerd.toml"
  wait_for "containerd" ctr --address "$CONTAINERD_SOCK" version
}

start_kubelet() {
  start_daemon kubelet "$K8S_BIN/kubelet" --config "$STATE/kubelet.yaml" \
    --kubeconfig "$STATE/kubelet.kubeconfig" --hostname-override "$NODE_NAME" --node-ip "$BRIDGE_IP" \
    --root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" --v 1
}

start_node() {
  start_containerd
  timed "import images" import_images
  start_kubelet
  start_daemon kube-proxy "$K8S_BIN/kube-proxy" --config "$STATE/kube-proxy.yaml" --v 1
  wait_for "node $NODE_NAME Ready" kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
  wait_for "default service account" kc -n default get serviceaccount default
}

cmd_build() {
  local total_start
  total_start=$(date +%s)
  mkdir -p "$CACHE/logs"
  build_binaries
  install_kubectl
  IMAGES=()
  timed "build images" build_images
  TIMINGS+=("build total $(($(date +%s) - total_start))s")
  print_timings
}

cmd_up() {
  [[ $EUID -eq 0 ]] || die "run as root (the node needs mounts, cgroups, bridge and iptables)"
  local total_start
  total_start=$(date +%s)
  mkdir -p "$CACHE/logs"
  log "Kubernetes $K8S_VERSION, Argo Workflows $ARGO_VERSION; cache $CACHE, state $STATE"
  k8s_check_state
  timed "debian packages" ensure_packages
  build_binaries
  install_kubectl
  IMAGES=()
  timed "build images" build_images
  timed "certificates" make_pki
  setup_host
  write_configs
  timed "start etcd" start_etcd
  k8s_record_state
  timed "start kube-apiserver" start_apiserver
  timed "start controller-manager+scheduler" start_controllers
  timed "start node (containerd, kubelet, kube-proxy)" start_node
  addons_start  # times each add-on: start coredns, start local-path, start metrics-server, start kube-router
  timed "start argo" start_argo
  TIMINGS+=("up total $(($(date +%s) - total_start))s")
  print_timings
  log "cluster ready: export KUBECONFIG=$STATE/admin.kubeconfig"
}

# ---------------------------------------------------------------- down
drain_pods() {
  # Delete every pod while kubelet still runs, so kubelet stops the sandboxes through CRI and CNI
  # releases their veth pairs, network namespaces and IPs.
  running kube-apiserver && running kubelet || return 0
  log "deleting all pods (kubelet tears down their sandboxes)"
  kc delete pods --all-namespaces --all --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
  local i
  for ((i = 0; i < 60; i++)); do
    [[ -z "$(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null)" ]] && return 0
    sleep 1
  done
  log "some containers still run after 60s; killing them"
}

kill_containers() {
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
  if [[ -n "$K8S_BIN" && -x "$K8S_BIN/kube-proxy" ]]; then
    "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  fi
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

cmd_down() {
  [[ $EUID -eq 0 ]] || die "run as root"
  local purge="$1" k8s_bins
  k8s_bins=("$CACHE"/bin/k8s-v*)  # any release's kube-proxy --cleanup will do
  [[ -x "${k8s_bins[0]}/kube" ]] && K8S_BIN="${k8s_bins[0]}"
  stop_daemon workflow-controller
  stop_daemon kube-controller-manager
  stop_daemon kube-scheduler
  drain_pods
  stop_daemon kube-router  # before its chains are removed, or its next sync puts them back
  stop_daemon kube-proxy
  stop_daemon kubelet
  kill_containers
  stop_daemon containerd
  stop_daemon kube-apiserver
  stop_daemon etcd
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
  unmount_under "$STATE" "$RUN"
  remove_cgroups
  remove_iptables
  kube_router_remove_ipsets
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "removing bridge $BRIDGE"
    ip link delete "$BRIDGE" type bridge || true
  fi
  rm -rf "$RUN"
  if [[ "$purge" == 1 ]]; then
    log "purging cluster data in $STATE"
    rm -rf "$STATE"
  fi
  log "down"
}

# ---------------------------------------------------------------- restart
RESTARTABLE=(apiserver etcd kubelet containerd node)
cmd_restart() {  # restart COMPONENT: one of the node's processes stopped and started again as `up` starts it
  [[ $EUID -eq 0 ]] || die "run as root"
  local component="$1" pid start name names=("$1")
  # node: kubelet and containerd both down, then up again (a node reboot whose containers survive in their shims)
  [[ $component != node ]] || names=(kubelet containerd)
  for name in "${names[@]}"; do
    running "$name" || die "$name is not running: start the node with scripts/local_cluster.sh up"
  done
  # The binary it was started from (argv[0]), so a restart never switches release or build.
  pid="$(cat "$(pidfile "${names[0]}")")"
  K8S_BIN="$(dirname "$(tr '\0' '\n' <"/proc/$pid/cmdline" | head -1)")"
  start=$(date +%s%N)
  # kube-apiserver stops serving within a second of SIGTERM (its log: HTTPServerStoppedListening), then its
  # process lingers for more than 20 s (seen on 1.37.2); 5 s is enough for the graceful part. etcd, kubelet
  # and containerd stop within a second (containerd leaves the containers running in their shims).
  for name in "${names[@]}"; do stop_daemon "$name" 5; done
  case "$component" in
    kube-apiserver) start_apiserver ;;
    etcd) start_etcd; wait_for "kube-apiserver /readyz" kc get --raw /readyz ;;
    kubelet) wait_for "kubelet healthz" kubelet_healthy ;;
    containerd) start_containerd ;;
    node) start_containerd; wait_for "kubelet healthz" kubelet_healthy ;;
  esac
  log "$component restarted: back after $(( ($(date +%s%N) - start) / 1000000 )) ms"
}

kubelet_healthy() {  # start kubelet if it is not running, then its healthz; for wait_for
  # A kubelet started while containerd's CRI service still initializes (it answers `ctr version` before) exits at
  # once: "validate CRI v1 runtime API ...: server is not initialized yet" (seen after a containerd restart).
  # The node's Ready condition outlives a short kubelet outage (its lease): healthz is kubelet's own answer.
  start_kubelet
  curl -fsS http://127.0.0.1:10248/healthz
}

# ---------------------------------------------------------------- status
cmd_status() {
  local name bad=0 state
  for name in "${COMPONENTS[@]}"; do
    if running "$name"; then state="running (pid $(cat "$(pidfile "$name")"))"; else state="stopped"; bad=1; fi
    printf '%-24s %s\n' "$name" "$state"
  done
  if running kube-apiserver; then
    printf '%-24s %s\n' "apiserver /readyz" "$(kc get --raw /readyz 2>&1 | head -1)"
    printf '%-24s %s\n' "version" "$(kc version -o json 2>/dev/null | awk -F'"' '/gitVersion/ {v=$4} END {print v}')"
    printf '%-24s %s\n' "node $NODE_NAME" \
      "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>&1 | sed 's/^True$/Ready/')"
    addons_status || bad=1
  fi
  if running kube-apiserver; then
    argo_status || bad=1
  else
    printf '%-24s %s\n' workflow-controller stopped argo-server stopped
    bad=1
  fi
  printf '%-24s %s\n' "kubeconfig" "$STATE/admin.kubeconfig"
  return "$bad"
}

main() {
  local cmd="" purge=0 component=""
  argo_select "${COGNIVERSE_ARGO_VERSION:-}"
  k8s_select "${COGNIVERSE_KUBERNETES_VERSION:-}"
  while (($#)); do
    case "$1" in
      -h | --help) usage; exit 0 ;;
      --purge) purge=1 ;;
      --argo-version)
        [[ $# -ge 2 && -n "$2" ]] || { usage >&2; echo "error: --argo-version needs a value (3.7 or 4.0)" >&2; exit 2; }
        argo_select "$2"
        shift ;;
      --kubernetes-version)
        [[ $# -ge 2 && -n "$2" ]] || { usage >&2; echo "error: --kubernetes-version needs a value (e.g. $(pin KUBERNETES_VERSION))" >&2; exit 2; }
        k8s_select "$2"
        shift ;;
      build | up | down | status | kubeconfig | restart)
        [[ -z "$cmd" ]] || { usage >&2; echo "error: more than one command ($cmd, $1)" >&2; exit 2; }
        cmd="$1"
        if [[ $cmd == restart ]]; then
          [[ $# -ge 2 && $2 != -* ]] || { usage >&2; echo "error: restart needs a component (${RESTARTABLE[*]})" >&2; exit 2; }
          printf '%s\n' "${RESTARTABLE[@]}" kube-apiserver | grep -qxF -- "$2" ||
            { usage >&2; echo "error: restart: unknown component '$2' (restartable: ${RESTARTABLE[*]})" >&2; exit 2; }
          component=$2
          [[ $component != apiserver ]] || component=kube-apiserver
          shift
        fi ;;
      *) usage >&2; echo "error: unknown command or option: $1" >&2; exit 2 ;;
    esac
    shift
  done
  [[ -n "$cmd" ]] || { usage >&2; echo "error: a command is required" >&2; exit 2; }
  [[ "$purge" == 0 || "$cmd" == down ]] || { echo "error: --purge only goes with down" >&2; exit 2; }
  if [[ "$cmd" == up || "$cmd" == down || "$cmd" == build || "$cmd" == restart ]]; then
    # One up/down/build at a time per machine: the node's bridge, ports and iptables are global.
    mkdir -p "$(dirname "$LOCK")"
    exec 9>"$LOCK"
    if ! flock -n 9; then
      log "waiting for another local_cluster.sh up/down/build to finish (lock $LOCK)"
      flock -w 3600 9 || die "timed out waiting for the lock $LOCK"
    fi
  fi
  case "$cmd" in
    build) cmd_build ;;
    up) cmd_up ;;
    down) cmd_down "$purge" ;;
    status) cmd_status ;;
    restart) cmd_restart "$component" ;;
    kubeconfig) echo "$STATE/admin.kubeconfig" ;;
  esac
}

# Braces: bash reads the whole group before running it, so editing this file while it runs
# (e.g. a git pull during a long `up`) cannot make bash read a fragment afterwards.
{ main "$@"; exit $?; }
