# shellcheck shell=bash
# Argo Workflows on the local cluster: build (workflow-controller, argoexec, the argo CLI that also
# serves `argo server`), images, and the install the way Argo's own manifests lay it out
# (Deployments workflow-controller and argo-server in namespace argo, Service argo-server:2746,
# the RBAC of manifests/cluster-install-no-crds). Sourced by cluster/node.sh, which
# provides ROOT, CLUSTER_DIR, CACHE, STATE, KUBECTL, ARGO_REQUEUE_TIME, TIMEOUT and the helpers
# log, die, kc, wait_for, source_key, go_build, image_archive.
#
# Two versions, pinned in versions.env (ARGO_VERSION: 3.7, ARGO_V4_VERSION: 4.0), each built from
# its own wrapper module: cluster/argo (github.com/argoproj/argo-workflows/v3) and cluster/argo-v4
# (.../v4). argo_select picks one; `local_cluster.sh up --argo-version 3.7|4.0` swaps it on a running node.

ARGO_NAMESPACE=argo
ARGO_UID=8737
ARGO_GRACE_SECONDS=3  # terminationGracePeriodSeconds of the controller and the server (see argo_install_dir)

# pin: the one reader of versions.env.
# shellcheck source=cluster/lib.sh
source "$ROOT/cluster/lib.sh"

# The UI embedded into argo server: built with yarn from the module's ui/ sources.
# shellcheck source=cluster/argo/ui.sh
source "$CLUSTER_DIR/argo/ui.sh"

argo_select() {  # argo_select SPEC: SPEC is 3.7, 4.0, or a full pinned version (v3.7.18); sets ARGO_*
  local spec="${1#v}" v3 v4
  v3="$(pin ARGO_VERSION)"
  v4="$(pin ARGO_V4_VERSION)"
  case "$spec" in
    "" | 3 | "$(echo "${v3#v}" | cut -d. -f1,2)" | "${v3#v}") ARGO_VERSION="$v3" ARGO_MAJOR=v3 ARGO_WRAPPER="$CLUSTER_DIR/argo" ;;
    4 | "$(echo "${v4#v}" | cut -d. -f1,2)" | "${v4#v}") ARGO_VERSION="$v4" ARGO_MAJOR=v4 ARGO_WRAPPER="$CLUSTER_DIR/argo-v4" ;;
    *) die "--argo-version $1: this node builds the versions pinned in versions.env: ${v3#v} (3.7) or ${v4#v} (4.0); to use another, change versions.env and the wrapper go.mod (see cluster/argo/README.md)" ;;
  esac
  ARGO_MODULE="github.com/argoproj/argo-workflows/$ARGO_MAJOR"
  EXECUTOR_IMAGE="argoproj/argoexec:$ARGO_VERSION"
  CONTROLLER_IMAGE="argoproj/workflow-controller:$ARGO_VERSION"
  SERVER_IMAGE="argoproj/argocli:$ARGO_VERSION"
  ARGO_BIN=""
}

argo_module_dir() {  # the Argo module's directory in Go's module cache (downloaded if needed)
  (cd "$ARGO_WRAPPER" && go mod download "$ARGO_MODULE" && go list -m -f '{{.Dir}}' "$ARGO_MODULE")
}

argo_key() {  # hash of everything the Argo binaries are built from: wrapper module, overlay, the UI's key, Go
  local moddir
  moddir="$(argo_module_dir)" || die "go mod download $ARGO_MODULE failed"
  { source_key "$ARGO_WRAPPER"
    cat "$CLUSTER_DIR/argo/overlay/osspecific_signal_linux.go.in"
    argo_ui_key "$moddir"; } \
    | sha256sum | cut -c1-12
}

argo_bin_dir() { echo "$CACHE/bin/argo-$ARGO_VERSION-$(argo_key)"; }

argo_built() { [[ -x "$1/workflow-controller" && -x "$1/argoexec" && -x "$1/argo" ]]; }

argo_sources() {  # prints the -modfile flag that builds from a patched copy of the module
  local moddir src key="$1"
  moddir="$(argo_module_dir)" || die "go mod download $ARGO_MODULE failed"
  [[ -d "$moddir" ]] || die "go list -m $ARGO_MODULE found no module directory"
  # go build may not touch the module cache, so build from a copy with what the zip lacks added,
  # through a generated go.mod (-modfile) that replaces the module with that copy:
  # - workflow/executor/osspecific/signal_linux.go ("undefined: Setpgid" without it; v3.7 and v4.0)
  # - ui/dist/app, embedded by ui/embed.go into the argo CLI: Argo's real UI (cluster/argo/ui.sh)
  src="$CACHE/src/argo-workflows-$ARGO_VERSION-$key"
  if [[ ! -f "$src/.complete" ]]; then
    rm -rf "$src" && mkdir -p "$CACHE/src"
    cp -r "$moddir" "$src" && chmod -R u+w "$src"
    if [[ ! -f "$src/workflow/executor/osspecific/signal_linux.go" ]]; then
      sed "s#github.com/argoproj/argo-workflows/v3/#$ARGO_MODULE/#" "$CLUSTER_DIR/argo/overlay/osspecific_signal_linux.go.in" \
        >"$src/workflow/executor/osspecific/signal_linux.go"
    fi
    argo_ui_build "$src" >&2
    touch "$src/.complete"
  fi
  # Named by the key too: a build of the same version from another tree (another key) keeps its own.
  cp "$ARGO_WRAPPER/go.sum" "$CACHE/src/argo-$ARGO_VERSION-$key.go.sum"
  { cat "$ARGO_WRAPPER/go.mod"; echo "replace $ARGO_MODULE => $src"; } >"$CACHE/src/argo-$ARGO_VERSION-$key.go.mod"
  echo "-modfile=$CACHE/src/argo-$ARGO_VERSION-$key.go.mod"
}

build_argo() {  # build workflow-controller, argoexec and argo into ARGO_BIN, one timing each
  local ld modfile piece start log="$CACHE/logs/build-argo.log" commit
  # The release's commit, as the module proxy recorded it (Origin.Hash of the .info file): with it,
  # `argo version` reports the plain tag like a release build, not "v3.7.18+unknown".
  commit="$(cd "$ARGO_WRAPPER" && go mod download -json "$ARGO_MODULE" | awk -F'"' '$2 == "Info" {print $4; exit}' \
    | xargs cat | grep -o '"Hash":"[0-9a-f]*"' | cut -d'"' -f4)" || true
  ld="-s -w -X $ARGO_MODULE.version=$ARGO_VERSION -X $ARGO_MODULE.gitTag=$ARGO_VERSION -X $ARGO_MODULE.gitTreeState=clean"
  if [[ -n "$commit" ]]; then ld+=" -X $ARGO_MODULE.gitCommit=$commit"
  else log "the module proxy recorded no commit for $ARGO_MODULE@$ARGO_VERSION: argo version will say +unknown"; fi
  ld+=" -X $ARGO_MODULE.buildDate=1970-01-01T00:00:00Z"
  log "building Argo Workflows $ARGO_VERSION (workflow-controller, argoexec, argo CLI+server); cold: 15-30 min, log $log"
  : >"$log"
  modfile="$(argo_sources "$(argo_key)")" || die "preparing the Argo $ARGO_VERSION sources failed"
  mkdir -p "$ARGO_BIN.parts"
  # One go build per binary, so each has its own time (the first also compiles the shared packages).
  for piece in workflow-controller argoexec argo; do
    start=$(date +%s)
    GOFLAGS="${GOFLAGS:-} $modfile" go_build "$ARGO_WRAPPER" "$ARGO_BIN.parts/$piece" "$ld" "$ARGO_MODULE/cmd/$piece" \
      >>"$log" 2>&1 || { tail -30 "$log" >&2; die "Argo $ARGO_VERSION build of $piece failed (log $log)"; }
    echo "build argo $ARGO_VERSION $piece $(($(date +%s) - start))s" >"$CACHE/logs/.timing-argo-$piece"
    echo "$(date -u +%FT%TZ) build argo $ARGO_VERSION $piece $(($(date +%s) - start))s" >>"$CACHE/timings.log"
  done
  rm -rf "$ARGO_BIN" && mkdir -p "$ARGO_BIN"
  for piece in workflow-controller argoexec argo; do mv "$ARGO_BIN.parts/$piece/$piece" "$ARGO_BIN/"; done
  rm -rf "$ARGO_BIN.parts"
}

argo_images() {  # append the archives of the argoexec, workflow-controller and argocli images to IMAGES
  local py="$CLUSTER_DIR/images/oci_image.py" key out
  key="$(sha256sum "$py" | cut -c1-8)"
  # argoexec runs as the init and wait containers of every workflow pod; resource templates exec kubectl.
  out="$(image_archive "argoexec-$key-$(basename "$ARGO_BIN")-$(sha256sum "$KUBECTL" | cut -c1-8)")"
  [[ -f "$out" ]] || python3 "$py" --name "$EXECUTOR_IMAGE" --out "$out" --entrypoint '["argoexec"]' \
    --dir /tmp:1777 --user "$ARGO_UID" --env HOME=/tmp "$ARGO_BIN/argoexec=/bin/argoexec:0755" "$KUBECTL=/bin/kubectl:0755" >&2
  IMAGES+=("$out")
  out="$(image_archive "workflow-controller-$key-$(basename "$ARGO_BIN")")"
  [[ -f "$out" ]] || python3 "$py" --name "$CONTROLLER_IMAGE" --out "$out" --entrypoint '["workflow-controller"]' \
    --dir /tmp:1777 --user "$ARGO_UID" "$ARGO_BIN/workflow-controller=/bin/workflow-controller:0755" >&2
  IMAGES+=("$out")
  # Upstream's argocli image: the argo binary, whose `argo server` serves the API and the UI.
  out="$(image_archive "argocli-$key-$(basename "$ARGO_BIN")")"
  [[ -f "$out" ]] || python3 "$py" --name "$SERVER_IMAGE" --out "$out" --entrypoint '["argo"]' \
    --dir /tmp:1777 --user "$ARGO_UID" --env HOME=/tmp "$ARGO_BIN/argo=/bin/argo:0755" >&2
  IMAGES+=("$out")
}

argo_install_dir() {  # argo_install_dir DIR: Argo's manifests/ from the module plus our overlay in DIR/local
  local dir="$1" moddir build
  moddir="$(argo_module_dir)" || die "go mod download $ARGO_MODULE failed"
  rm -rf "$dir" && mkdir -p "$dir"
  cp -r "$moddir/manifests" "$dir/manifests" && chmod -R u+w "$dir/manifests"
  mkdir -p "$dir/local"
  # The build the images hold (version and source hash, e.g. the UI's): the tags carry only the version,
  # so without it a rebuilt binary under the same tag left the running pods on the old image.
  build="$(basename "${ARGO_BIN:-unbuilt}")"
  # Upstream's cluster install without CRDs (those are applied in full, server-side, before).
  # Changed: the images (built here, never pulled), plain HTTP for argo-server (see docs/deploy.md)
  # with Argo's default --auth-mode=client kept explicit: every API request needs a Kubernetes bearer
  # token and acts with that token's rights (with --auth-mode=server any pod that reached the Service
  # drove Argo with the server's own account; the static UI at / needs none), quick probes, Recreate
  # (one controller at a time when versions swap), the controller's requeue time and no leader election (one replica). DEFAULT_REQUEUE_TIME (250ms
  # by default here, 1s in Argo's own test setup, 10s stock): workflows advance within a fraction of a
  # second of a pod finishing instead of up to 10s later (the smoke suite runs many short steps).
  # A 3s grace period for both: neither process exits on SIGTERM before the stock 30s SIGKILL (measured
  # 31.7s per `rollout restart`), and with Recreate each restart and version swap waited that long. Killing
  # them is safe: Argo keeps its state in the API objects (Workflow status, semaphore ConfigMaps).
  cat >"$dir/local/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $ARGO_NAMESPACE
resources:
- ../manifests/cluster-install-no-crds
images:
- {name: quay.io/argoproj/workflow-controller, newName: ${CONTROLLER_IMAGE%:*}, newTag: $ARGO_VERSION}
- {name: quay.io/argoproj/argocli, newName: ${SERVER_IMAGE%:*}, newTag: $ARGO_VERSION}
patches:
- target: {kind: ConfigMap, name: workflow-controller-configmap}
  patch: |-
    - op: add
      path: /data
      value:
        # The trailing newlines matter: Argo reads each value as YAML nested under its key.
        metricsConfig: "enabled: false\n"
        telemetryConfig: "enabled: false\n"
- target: {kind: Deployment, name: workflow-controller}
  patch: |-
    - op: add
      path: /spec/strategy
      value: {type: Recreate}
    - op: add
      path: /spec/template/metadata/annotations
      value: {cogniverse.dev/argo-build: "$build"}
    - op: add
      path: /spec/template/spec/containers/0/imagePullPolicy
      value: Never
    - op: replace
      path: /spec/template/spec/containers/0/args
      value: [--configmap, workflow-controller-configmap, --executor-image, $EXECUTOR_IMAGE,
              --executor-image-pull-policy, IfNotPresent, --loglevel, info]
    - op: add
      path: /spec/template/spec/containers/0/env/-
      value: {name: DEFAULT_REQUEUE_TIME, value: "$ARGO_REQUEUE_TIME"}
    - op: add
      path: /spec/template/spec/containers/0/env/-
      value: {name: LEADER_ELECTION_DISABLE, value: "true"}
    # Not /healthz: its verdict compares with the previous call, whoever made it, so a 1 s probe there
    # shrinks the liveness probe's "no progress" window to 1 s (docs/production.md, controller liveness).
    - op: add
      path: /spec/template/spec/containers/0/readinessProbe
      value: {tcpSocket: {port: 6060}, periodSeconds: 1}
    - op: add
      path: /spec/template/spec/terminationGracePeriodSeconds
      value: $ARGO_GRACE_SECONDS
- target: {kind: Deployment, name: argo-server}
  patch: |-
    - op: add
      path: /spec/strategy
      value: {type: Recreate}
    - op: add
      path: /spec/template/metadata/annotations
      value: {cogniverse.dev/argo-build: "$build"}
    - op: add
      path: /spec/template/spec/containers/0/imagePullPolicy
      value: Never
    - op: replace
      path: /spec/template/spec/containers/0/args
      value: [server, --auth-mode=client, --secure=false]
    - op: replace
      path: /spec/template/spec/containers/0/readinessProbe
      value: {httpGet: {port: 2746, scheme: HTTP, path: /}, periodSeconds: 1}
    - op: add
      path: /spec/template/spec/terminationGracePeriodSeconds
      value: $ARGO_GRACE_SECONDS
EOF
}

start_argo() {
  local crds dir="$STATE/argo-install"
  crds="$(argo_module_dir)/manifests/base/crds/full"
  [[ -d "$crds" ]] || die "Argo CRDs not found in the module: $crds"
  # Full CRDs carry the OpenAPI schema, so the API server rejects misspelled workflow fields the
  # way a real install with full CRDs does. They are too big for client-side apply: server-side.
  local files=() f
  for f in "$crds"/argoproj.io_*.yaml; do files+=(-f "$f"); done  # not kustomization.yaml
  kc apply --server-side --force-conflicts "${files[@]}" >/dev/null
  # 10 s a try: a watch's initial events took over 2 s at load 30 after an API server restart, so 2 s never passed.
  wait_for "Argo CRDs established" kc wait --for=condition=Established crd/workflows.argoproj.io \
    crd/workflowtemplates.argoproj.io crd/cronworkflows.argoproj.io crd/workflowtaskresults.argoproj.io --timeout=10s
  kc create namespace "$ARGO_NAMESPACE" --dry-run=client -o yaml | kc apply -f - >/dev/null
  argo_install_dir "$dir"
  kc apply --server-side --force-conflicts -k "$dir/local" >/dev/null \
    || die "kubectl apply -k $dir/local (Argo's cluster install) failed"
  log "waiting for the Argo $ARGO_VERSION workflow-controller and argo-server Deployments"
  local d
  for d in workflow-controller argo-server; do
    kc -n "$ARGO_NAMESPACE" rollout status "deployment/$d" --timeout="${TIMEOUT}s" >&2 \
      || { kc -n "$ARGO_NAMESPACE" get pods -o wide >&2; kc -n "$ARGO_NAMESPACE" logs "deployment/$d" --tail=20 >&2 || true
           die "Argo $ARGO_VERSION $d did not become ready in namespace $ARGO_NAMESPACE"; }
  done
  argo_install_cli
}

argo_install_cli() {  # the pinned argo CLI for the guide's `argo ...` commands: .tools/bin/argo
  mkdir -p "$ROOT/.tools/bin"
  install -m 0755 "$ARGO_BIN/argo" "$ROOT/.tools/bin/argo.tmp" && mv -f "$ROOT/.tools/bin/argo.tmp" "$ROOT/.tools/bin/argo"
  log "argo CLI $ARGO_VERSION installed as $ROOT/.tools/bin/argo"
}

argo_status() {  # one line per Argo Deployment; returns 1 when one is not ready
  local name line bad=0
  for name in workflow-controller argo-server; do
    line="$(kc -n "$ARGO_NAMESPACE" get deployment "$name" \
      -o jsonpath='{.status.readyReplicas}/{.spec.replicas} ready, {.spec.template.spec.containers[0].image}' 2>/dev/null)" || line=""
    if [[ "$line" == 1/1* ]]; then printf '%-24s %s\n' "$name" "running ($line)"
    else printf '%-24s %s\n' "$name" "stopped${line:+ ($line)}"; bad=1; fi
  done
  return "$bad"
}
