# shellcheck shell=bash
# The node add-ons a K3s node ships, each built from its Go module: CoreDNS (cluster DNS), the
# local-path provisioner (default StorageClass `local-path`) and metrics-server (`kubectl top`), each
# in an image of its own run as a Deployment in kube-system, and kube-router's network policy
# controller (NetworkPolicy enforcement), which programs the host's iptables and so runs on the node
# as a process (an add-on without an image: <name>.sh provides <name>_start and <name>_status).
# One folder per add-on under cluster/addons/: its wrapper Go module, its manifest and <name>.sh
# with what is particular to it.
# Sourced by cluster/node.sh, which provides ROOT, CLUSTER_DIR, CACHE, STATE, TIMEOUT,
# TOOLBOX_IMAGE, BRIDGE_IP, NODE_NAME and the helpers log, die, pin, kc, wait_for, source_key, go_build, image_archive.
#
# Versions: COREDNS_VERSION, LOCAL_PATH_PROVISIONER_VERSION, METRICS_SERVER_VERSION,
# KUBE_ROUTER_VERSION in versions.env; each wrapper go.mod requires exactly that version (checked here at build time and
# by tests/cluster/test_local_cluster.py). Binaries and images are cached by version and source hash.

ADDONS=(coredns local-path metrics-server kube-router)
# Cluster addresses the add-ons' manifests use (kubelet's clusterDNS is DNS_SERVICE_IP too);
# cluster/kubelet/kubelet.yaml and addon_render (${!var}) read them.
# shellcheck disable=SC2034
{ DNS_SERVICE_IP="10.96.0.10"; CLUSTER_DOMAIN="cluster.local"; }
STORAGE_DIR="$STATE/storage"

# Per add-on facts, filled by the <name>.sh files through addon_define.
declare -A ADDON_PIN=()     # versions.env key of its version
declare -A ADDON_MODULE=()  # the upstream Go module
declare -A ADDON_PKG=()     # the main package to build (in the wrapper module)
declare -A ADDON_BIN=()     # binary name, its path in the image (/NAME) and its Deployment's name
declare -A ADDON_IMAGE=()   # image name without tag (the tag is VERSION-KEY); empty: runs on the host
declare -A ADDON_UID=()     # user the image runs as (empty: root)

addon_define() {  # addon_define NAME PIN_KEY MODULE PACKAGE BINARY IMAGE UID
  ADDON_PIN[$1]="$2" ADDON_MODULE[$1]="$3" ADDON_PKG[$1]="$4" ADDON_BIN[$1]="$5" ADDON_IMAGE[$1]="$6" ADDON_UID[$1]="$7"
}

for _addon in "${ADDONS[@]}"; do
  # shellcheck source=/dev/null
  source "$CLUSTER_DIR/addons/$_addon/$_addon.sh"
done
unset _addon

addon_version() { pin "${ADDON_PIN[$1]}"; }

addon_check_gomod() {  # the wrapper module must require the version versions.env pins
  local name="$1" want have
  want="$(addon_version "$name")"
  have="$(gomod_version "$CLUSTER_DIR/addons/$name/go.mod" "${ADDON_MODULE[$name]}")"
  [[ "$have" == "$want" ]] || die "cluster/addons/$name/go.mod requires ${ADDON_MODULE[$name]} ${have:-nothing} but versions.env pins ${ADDON_PIN[$name]}=$want: run (cd cluster/addons/$name && go get ${ADDON_MODULE[$name]}@$want && go mod tidy)"
}

addon_key() { source_key "$CLUSTER_DIR/addons/$1"; }

addon_bin_dir() { echo "$CACHE/bin/$1-$(addon_version "$1")-$(addon_key "$1")"; }

addon_image_ref() {  # image name:tag; the tag changes with the version and the sources
  echo "${ADDON_IMAGE[$1]}:$(addon_version "$1")-$(addon_key "$1" | cut -c1-8)"
}

addon_build() {  # addon_build NAME: build its binary with CGO_ENABLED=0 (go_build)
  local name="$1" out
  out="$(addon_bin_dir "$name")"
  log "building $name $(addon_version "$name") from ${ADDON_MODULE[$name]}; log $CACHE/logs/build-$name.log"
  go_build "$CLUSTER_DIR/addons/$name" "$out" "-s -w $("${name//-/_}_ldflags")" "${ADDON_PKG[$name]}" \
    >"$CACHE/logs/build-$name.log" 2>&1 || { tail -30 "$CACHE/logs/build-$name.log" >&2; die "$name build failed"; }
}

addons_build() {  # build every add-on binary that is not cached; each build is timed on its own
  local name
  for name in "${ADDONS[@]}"; do
    addon_check_gomod "$name"
    if [[ -x "$(addon_bin_dir "$name")/${ADDON_BIN[$name]}" ]]; then
      log "$name $(addon_version "$name") cached in $(addon_bin_dir "$name")"
    else
      timed "build $name" addon_build "$name"
    fi
  done
}

addons_images() {  # append the add-ons' image archives to IMAGES (built when missing)
  local py="$CLUSTER_DIR/images/oci_image.py" name out bin user
  for name in "${ADDONS[@]}"; do
    [[ -n "${ADDON_IMAGE[$name]}" ]] || continue  # a host process, no image
    bin="$(addon_bin_dir "$name")/${ADDON_BIN[$name]}"
    [[ -x "$bin" ]] || die "$name is not built ($bin missing): run scripts/local_cluster.sh build"
    out="$(image_archive "$name-$(sha256sum "$py" | cut -c1-8)-$(basename "$(addon_bin_dir "$name")")")"
    user=()
    [[ -z "${ADDON_UID[$name]}" ]] || user=(--user "${ADDON_UID[$name]}")
    [[ -f "$out" ]] || python3 "$py" --name "$(addon_image_ref "$name")" --out "$out" \
      --entrypoint "[\"/${ADDON_BIN[$name]}\"]" --dir /tmp:1777 "${user[@]}" "$bin=/${ADDON_BIN[$name]}:0755" >&2 \
      || die "building the $name image failed"
    IMAGES+=("$out")
  done
}

addon_render() {  # addon_render NAME: its manifest with every @VAR@ replaced by the shell variable VAR (lib.sh render)
  render "$CLUSTER_DIR/addons/$1/manifest.yaml"
}

# shellcheck disable=SC2034  # read through ${!var} by addon_render
addon_vars() {  # the values the manifests' placeholders name
  COREDNS_IMAGE="$(addon_image_ref coredns)"
  LOCAL_PATH_IMAGE="$(addon_image_ref local-path)"
  METRICS_SERVER_IMAGE="$(addon_image_ref metrics-server)"
  HELPER_IMAGE="$TOOLBOX_IMAGE"
  NODE_IP="$BRIDGE_IP"  # the node's InternalIP (kubelet --node-ip)
}

addons_apply() {
  local name
  addon_vars
  mkdir -p "$STORAGE_DIR"
  for name in "${ADDONS[@]}"; do
    addon_render "$name" | kc apply -f - >/dev/null || die "applying the $name manifest failed (scripts/local_cluster.sh renders cluster/addons/$name/manifest.yaml)"
  done
}

addons_start() {  # apply every add-on's manifest, then wait for each to serve (timed one by one)
  local name
  timed "apply add-on manifests" addons_apply
  for name in "${ADDONS[@]}"; do
    timed "start $name" "${name//-/_}_wait"
  done
}

addon_rollout() {  # addon_rollout DEPLOYMENT: wait until the kube-system Deployment's new pods are ready
  wait_for "kube-system/$1 rolled out" kc -n kube-system rollout status "deployment/$1" --timeout=10s
}

addons_status() {  # one line per add-on: its Deployment's ready replicas (or host process); 1 when one is not ready
  local name deploy ready bad=0
  for name in "${ADDONS[@]}"; do
    if [[ -z "${ADDON_IMAGE[$name]}" ]]; then
      ready="$("${name//-/_}_status")" || bad=1
      printf '%-24s %s\n' "$name" "$ready"
      continue
    fi
    deploy="${ADDON_BIN[$name]}"  # each manifest names its Deployment after the binary
    ready="$(kc -n kube-system get deployment "$deploy" -o jsonpath='{.status.readyReplicas}/{.spec.replicas}' 2>/dev/null)" || ready="missing"
    [[ "$ready" == 1/1 ]] || bad=1
    printf '%-24s %s\n' "$name" "$ready ready"
  done
  return "$bad"
}
