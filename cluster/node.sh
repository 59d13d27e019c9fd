#!/usr/bin/env bash
# Stages run through `timed STAGE function`, which shellcheck cannot follow: it reports the
# functions as unreachable (SC2317) or, in newer releases, never invoked (SC2329).
# shellcheck disable=SC2317,SC2329
# A real single-node Kubernetes + Argo Workflows cluster built offline from Go modules and Debian
# packages, for the smoke suite in CI and for local use. See docs/local-cluster.md.
# The command line and the order of things; each component's build, config, flags, start, wait and
# status live in its folder under cluster/ (the table in docs/local-cluster.md), shared helpers in cluster/lib.sh.
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
# The node's names and addresses; the config templates (cluster/NAME/*.yaml, .toml, .conflist) read them as @VAR@.
NODE_NAME="cogniverse-local"
# shellcheck disable=SC2034  # BRIDGE and POD_SUBNET: only the templates use them
{ BRIDGE="cv0"; POD_SUBNET="10.244.0.0/24"; }
BRIDGE_IP="10.244.0.1"
CLUSTER_CIDR="10.244.0.0/16"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SVC_IP="10.96.0.1"
TIMEOUT="${COGNIVERSE_CLUSTER_TIMEOUT:-180}"
LOCK="${COGNIVERSE_CLUSTER_LOCK:-/run/lock/cogniverse-local-cluster.lock}"
ARGO_REQUEUE_TIME="${COGNIVERSE_ARGO_REQUEUE_TIME:-250ms}"
CONTAINERD_SOCK="$RUN/containerd/containerd.sock"
PKI="$STATE/pki"
PROG=local_cluster.sh

# shellcheck source=cluster/lib.sh
source "$CLUSTER_DIR/lib.sh"
# One file per component (cluster/NAME/NAME.sh); Kubernetes' build (cluster/k8s), Argo (cluster/argo),
# the images (cluster/images, cluster/pause) and the add-ons (cluster/addons) the same way.
# shellcheck source=cluster/host/host.sh
source "$CLUSTER_DIR/host/host.sh"
# shellcheck source=cluster/pki/pki.sh
source "$CLUSTER_DIR/pki/pki.sh"
# shellcheck source=cluster/etcd/etcd.sh
source "$CLUSTER_DIR/etcd/etcd.sh"
# shellcheck source=cluster/apiserver/apiserver.sh
source "$CLUSTER_DIR/apiserver/apiserver.sh"
# shellcheck source=cluster/controller-manager/controller-manager.sh
source "$CLUSTER_DIR/controller-manager/controller-manager.sh"
# shellcheck source=cluster/scheduler/scheduler.sh
source "$CLUSTER_DIR/scheduler/scheduler.sh"
# shellcheck source=cluster/containerd/containerd.sh
source "$CLUSTER_DIR/containerd/containerd.sh"
# shellcheck source=cluster/kubelet/kubelet.sh
source "$CLUSTER_DIR/kubelet/kubelet.sh"
# shellcheck source=cluster/kube-proxy/kube-proxy.sh
source "$CLUSTER_DIR/kube-proxy/kube-proxy.sh"
# shellcheck source=cluster/pause/pause.sh
source "$CLUSTER_DIR/pause/pause.sh"
# shellcheck source=cluster/images/images.sh
source "$CLUSTER_DIR/images/images.sh"
# shellcheck source=cluster/images/import.sh
source "$CLUSTER_DIR/images/import.sh"
# shellcheck source=cluster/k8s/k8s.sh
source "$CLUSTER_DIR/k8s/k8s.sh"
# shellcheck source=cluster/argo/argo.sh
source "$CLUSTER_DIR/argo/argo.sh"
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

# ---------------------------------------------------------------- build
build_binaries() {
  command -v go >/dev/null || die "go is required to build the cluster (Go module proxy must be reachable on a cold machine)"
  mkdir -p "$CACHE/logs" "$CACHE/bin"
  k8s_wrapper_gomod
  K8S_BIN="$(k8s_bin_dir)"
  ARGO_BIN="$(argo_bin_dir)"
  PAUSE_BIN="$(pause_bin_dir)"
  local pids=() start ok=0 f
  start=$(date +%s)
  rm -f "$CACHE"/logs/.timing-* "$CACHE"/logs/.ok-*
  local jobs=()  # each background build touches logs/.ok-JOB when it succeeded
  [[ -x "$PAUSE_BIN/pause" ]] || timed "build pause" pause_build
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

cmd_build() {
  local total_start
  total_start=$(date +%s)
  mkdir -p "$CACHE/logs"
  build_binaries
  install_kubectl
  timed "build images" build_images
  TIMINGS+=("build total $(($(date +%s) - total_start))s")
  print_timings
}

# ---------------------------------------------------------------- up
write_configs() {  # every component's config file, rendered from its folder into $STATE
  containerd_configure
  kubelet_configure
  kube_proxy_configure
}

start_controllers() { controller_manager_start; scheduler_start; }

start_node() {
  containerd_start
  timed "import images" import_images
  kubelet_start
  kube_proxy_start
  kubelet_wait
  wait_for "default service account" kc -n default get serviceaccount default
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
  timed "build images" build_images
  timed "certificates" make_pki
  setup_host
  write_configs
  timed "start etcd" etcd_start
  k8s_record_state
  timed "start kube-apiserver" apiserver_start
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
  containerd_kill_containers
  stop_daemon containerd
  stop_daemon kube-apiserver
  stop_daemon etcd
  remove_netns
  unmount_under "$STATE" "$RUN"
  remove_cgroups
  remove_iptables
  kube_router_remove_ipsets
  remove_bridge
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
    kube-apiserver) apiserver_start ;;
    etcd) etcd_start; apiserver_wait ;;
    kubelet) wait_for "kubelet healthz" kubelet_healthy ;;
    containerd) containerd_start ;;
    node) containerd_start; wait_for "kubelet healthz" kubelet_healthy ;;
  esac
  log "$component restarted: back after $(( ($(date +%s%N) - start) / 1000000 )) ms"
}

# ---------------------------------------------------------------- status
cmd_status() {
  local bad=0
  etcd_status || bad=1
  apiserver_status || bad=1
  controller_manager_status || bad=1
  scheduler_status || bad=1
  containerd_status || bad=1
  kubelet_status || bad=1
  kube_proxy_status || bad=1
  if running kube-apiserver; then
    printf '%-24s %s\n' "apiserver /readyz" "$(kc get --raw /readyz 2>&1 | head -1)"
    printf '%-24s %s\n' "version" "$(kc version -o json 2>/dev/null | awk -F'"' '/gitVersion/ {v=$4} END {print v}')"
    printf '%-24s %s\n' "node $NODE_NAME" \
      "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>&1 | sed 's/^True$/Ready/')"
    addons_status || bad=1
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
