# shellcheck shell=bash
# scripts/deploy_k3s.sh's step functions: the --dry-run values check, the waits and diagnostics, the pinned
# downloads and every do_* step of the plan. Sourced by deploy_k3s.sh after its arguments, prerequisites and
# plan are settled (it provides PROG, ROOT, the flags' variables, HELM_BIN, kc, log, die); defines functions only.
# shellcheck disable=SC2153,SC2154  # the flags' variables (CHART, ...) are set by deploy_k3s.sh

# --dry-run: render the chart with these values as `helm upgrade --install` would, so a values file the
# chart's schema refuses fails here, naming the key, and not halfway through a real run.
check_values_dry_run() {
  if [[ $skip_chart == 1 || $uninstall == 1 ]]; then return 0; fi
  if [[ $helm_fetch == 1 ]]; then
    printf '%s: --dry-run: values not checked: no helm yet (a real run fetches it first)\n' "$PROG"
    return 0
  fi
  local out kube chart=$CHART
  if [[ "$CHART" == oci://* ]]; then # pull it as the install will: verified, unless --no-verify
    local pull=(pull "$CHART")
    dry_pulled=$(mktemp -d)
    trap 'rm -rf "$dry_pulled"' EXIT
    if [[ -n "$CHART_VERSION" ]]; then pull+=(--version "$CHART_VERSION"); fi
    if [[ $no_verify == 0 ]]; then pull+=(--verify --keyring "$CHART_KEYRING"); fi
    if ! out=$(timeout "$TIMEOUT" "$HELM_BIN" "${pull[@]}" --destination "$dry_pulled" 2>&1); then
      printf '%s: --dry-run: a real run would stop at "helm upgrade --install": Helm cannot pull%s %s:\n%s\n' \
        "$PROG" "$([[ $no_verify == 0 ]] && printf ' a verified')" "$CHART" "$out" >&2
      exit 1
    fi
    chart=$(find "$dry_pulled" -name '*.tgz' | head -n 1)
    if [[ $no_verify == 0 ]]; then
      printf '%s: --dry-run: %s verified: signed by a key in %s, digest matches\n' "$PROG" "$CHART" "$CHART_KEYRING"
    fi
  fi
  kube=$(pin KUBERNETES_VERSION)
  if ! out=$("$HELM_BIN" template "$RELEASE" "$chart" --namespace "$NAMESPACE" --kube-version "$kube" \
        --api-versions argoproj.io/v1alpha1 "${values_args[@]}" 2>&1 >/dev/null); then
    printf '%s: --dry-run: a real run would stop at "helm upgrade --install": Helm refuses the chart with these values:\n%s\n' \
      "$PROG" "$out" >&2
    exit 1
  fi
  printf '%s: --dry-run: values checked: helm template renders the chart with them (Kubernetes %s, Argo CRDs present)\n' \
    "$PROG" "$kube"
}

warn_unverified() {
  printf '%s: WARNING: --no-verify: installing %s without checking its signature; whoever can push to that registry, or sits between it and you, decides what runs in your cluster\n' \
    "$PROG" "$CHART" >&2
}

# ---- waits and diagnostics -----------------------------------------------------------------------
diagnose() { # namespace
  local ns=$1
  {
    printf '\n---- diagnostics: nodes ----\n'
    kc get nodes -o wide 2>&1 || true
    printf -- '---- diagnostics: pods in %s ----\n' "$ns"
    kc get pods -n "$ns" -o wide 2>&1 || true
    printf -- '---- diagnostics: pods not Running/Succeeded in %s ----\n' "$ns"
    local p
    for p in $(kc get pods -n "$ns" --field-selector=status.phase!=Running,status.phase!=Succeeded -o name 2>/dev/null); do
      kc describe -n "$ns" "$p" 2>&1 | tail -n 25 || true
    done
    printf -- '---- diagnostics: recent events in %s ----\n' "$ns"
    kc get events -n "$ns" --sort-by=.lastTimestamp 2>&1 | tail -n 30 || true
  } >&2
}

wait_node_ready() {
  local deadline=$((SECONDS + TIMEOUT))
  log "waiting for a Ready node (timeout ${TIMEOUT}s)"
  until kc get nodes --no-headers 2>/dev/null | awk '$2 == "Ready" {found=1} END {exit !found}'; do
    if (( SECONDS >= deadline )); then
      diagnose kube-system
      die "no node became Ready within ${TIMEOUT}s (K3s logs: journalctl -u k3s)"
    fi
    sleep 3
  done
}

wait_crds() {
  local crd
  for crd in workflows workflowtemplates cronworkflows workflowtaskresults; do
    if ! kc wait --for=condition=Established "crd/$crd.argoproj.io" --timeout="${TIMEOUT}s" >/dev/null; then
      kc get crd 2>&1 | grep argoproj >&2 || true
      die "CRD $crd.argoproj.io not Established within ${TIMEOUT}s (is it in $argo_source?)"
    fi
  done
  log "Argo CRDs Established"
}

wait_rollout() { # namespace resource...
  local ns=$1 r
  shift
  for r in "$@"; do
    if ! kc rollout status -n "$ns" "$r" --timeout="${TIMEOUT}s"; then
      diagnose "$ns"
      die "$r in namespace $ns not Ready within ${TIMEOUT}s"
    fi
  done
}

offline_help() { # what to run instead when a download fails: the same stack on the local node
  local args="" f swapped=""
  # The offline node pulls no images: values/smoke.yaml runs right after `up` (values/local.yaml once
  # cluster/services/images.sh build has built Phoenix and Ollama); other values files pull from registries.
  for f in "${values_files[@]}"; do
    case "$(basename "$f")" in
      smoke.yaml|local.yaml) args+=" -f $f" ;;
      *) swapped+=" $f" ;;
    esac
  done
  [[ -n "$args" ]] || args=" -f $ROOT/values/smoke.yaml"
  for f in "${set_values[@]}"; do args+=" --set $f"; done
  cat >&2 <<EOF
$PROG: offline? The same stack runs on the local single-node cluster built from Go modules
(Kubernetes, the Argo controller and server, the argo CLI); as root, from $ROOT:
  scripts/local_cluster.sh up
  export KUBECONFIG=$("$LOCAL_CLUSTER" kubeconfig)
  scripts/deploy_k3s.sh$args
or in one step: scripts/deploy_k3s.sh --local-cluster$args
The profile that runs offline is values/smoke.yaml (its workflows run the smoke-runner image the node
builds; nothing is pulled); values/local.yaml adds Phoenix and Ollama once cluster/services/images.sh build
has built their images.${swapped:+ Not for the offline node:$swapped (its images come from registries).}
The first \`up\` builds Kubernetes, etcd, Argo and the node add-ons from Go modules (needs Go and the module
proxy or a filled module cache): about 15 min on a quiet 2-core machine, up to an hour under load
(docs/local-cluster.md has the figures); later \`up\`s take under a minute.
EOF
}

download() { # url file what pin-name: curl with a short connect timeout, then the file's sha256 must be the pin's
  local err want=${!4:-}
  if [[ -z "$want" ]]; then
    printf '%s: error: no sha256 pinned for %s (%s in versions.env, or the environment): an unchecked download is never run; set %s to the digest its release publishes, or install offline\n' \
      "$PROG" "$3" "$4" "$4" >&2
    return 1
  fi
  if ! err=$(curl -fsSL --connect-timeout 15 --max-time "$TIMEOUT" --retry 1 "$1" -o "$2" 2>&1); then
    err=${err%$'\n'}
    printf '%s: error: could not download %s from %s: %s\n' "$PROG" "$3" "$1" "${err##*$'\n'}" >&2
    return 1
  fi
  check_sha256 "$2" "$want" "$3 from $1" "$4"
}

check_sha256() { # file expected what pin-name: refuse (and delete) a file whose sha256 is not the pinned one
  local have
  have=$(sha256sum "$1" | awk '{print $1}')
  if [[ "${have,,}" != "${2,,}" ]]; then
    rm -f "$1"
    printf '%s: error: %s has sha256 %s, not the pinned %s (%s): refused, nothing was run; a different version needs its own pin\n' \
      "$PROG" "$3" "$have" "$2" "$4" >&2
    return 1
  fi
}

version_ge() { # a b: true if a >= b (v-prefixed semver, +k3sN suffix compared too)
  [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" == "$2" ]]
}

# ---- steps --------------------------------------------------------------------------------------
do_install_k3s() {
  local have=""
  if command -v k3s >/dev/null; then
    have=$(k3s --version 2>/dev/null | awk 'NR == 1 {print $3}')
  fi
  if [[ -n "$have" ]] && version_ge "$have" "$K3S_VERSION"; then
    log "K3s $have is installed (>= $K3S_VERSION): not reinstalling"
  else
    log "installing K3s $K3S_VERSION${have:+ (upgrading from $have)} with the installer from $K3S_INSTALL_URL"
    local installer
    installer=$(mktemp)
    if ! download "$K3S_INSTALL_URL" "$installer" "the K3s installer" K3S_INSTALLER_SHA256; then
      rm -f "$installer"
      offline_help
      exit 1
    fi
    # The installer downloads the K3s binary itself, checks it against the release's sha256 list, and prints
    # what it does; a failure there names its URL. The kubeconfig is cluster-admin: mode 600, never 644.
    if ! "${SUDO[@]}" env INSTALL_K3S_VERSION="$K3S_VERSION" K3S_KUBECONFIG_MODE=600 \
        K3S_KUBECONFIG_OUTPUT="$K3S_KUBECONFIG" sh "$installer"; then
      rm -f "$installer"
      printf '%s: error: the K3s installer from %s failed (its output is above)\n' "$PROG" "$K3S_INSTALL_URL" >&2
      offline_help
      exit 1
    fi
    rm -f "$installer"
  fi
  # shellcheck disable=SC2034  # deploy_k3s.sh's kc runs it
  KUBECTL_BIN=$(find_kubectl) || die "K3s installed but no kubectl found (expected /usr/local/bin/kubectl)"
  for _ in $(seq 1 60); do "${SUDO[@]}" test -s "$K3S_KUBECONFIG" && break; sleep 2; done
  "${SUDO[@]}" test -s "$K3S_KUBECONFIG" || die "$K3S_KUBECONFIG not written by the K3s install"
  private_kubeconfig
}

private_kubeconfig() { # K3s's kubeconfig mode 600 (an earlier install may have left 644); a copy for a non-root user
  "${SUDO[@]}" chmod 600 "$K3S_KUBECONFIG"
  if [[ ${#SUDO[@]} -eq 0 ]]; then
    export KUBECONFIG=$K3S_KUBECONFIG
    log "kubeconfig: $K3S_KUBECONFIG (mode 600): export KUBECONFIG=$K3S_KUBECONFIG"
    return 0
  fi
  mkdir -p "$(dirname "$USER_KUBECONFIG")"
  (umask 077 && "${SUDO[@]}" cat "$K3S_KUBECONFIG" > "$USER_KUBECONFIG.tmp") \
    || die "cannot copy $K3S_KUBECONFIG to $USER_KUBECONFIG"
  chmod 600 "$USER_KUBECONFIG.tmp" && mv "$USER_KUBECONFIG.tmp" "$USER_KUBECONFIG"
  export KUBECONFIG=$USER_KUBECONFIG
  log "kubeconfig for you: $USER_KUBECONFIG (mode 600): export KUBECONFIG=$USER_KUBECONFIG"
}

installed_argo_version() {
  kc get deployment workflow-controller -n "$ARGO_NAMESPACE" \
    -o jsonpath='{.spec.template.spec.containers[0].image}' 2>/dev/null | sed -n 's/.*:\(v[0-9][0-9.]*\)$/\1/p'
}

do_install_argo() {
  local have
  have=$(installed_argo_version || true)
  if [[ -n "$have" ]] && version_ge "$have" "$ARGO_VERSION"; then
    log "Argo Workflows $have is installed in '$ARGO_NAMESPACE' (>= $ARGO_VERSION): not reinstalling"
  else
    log "installing Argo Workflows $ARGO_VERSION into '$ARGO_NAMESPACE' from $argo_source"
    kc create namespace "$ARGO_NAMESPACE" --dry-run=client -o yaml | kc apply -f - >/dev/null
    local manifest=$ARGO_MANIFEST
    if [[ -z "$manifest" ]]; then
      manifest=$(mktemp)
      trap 'rm -f "$manifest"' EXIT
      if ! download "$ARGO_MANIFEST_URL" "$manifest" "the Argo Workflows $ARGO_VERSION install manifest" ARGO_MANIFEST_SHA256; then
        offline_help
        exit 1
      fi
    fi
    # Server-side apply: the full Argo CRDs are too large for the last-applied annotation.
    local how=(-f "$manifest")
    if [[ -d "$manifest" && -f "$manifest/kustomization.yaml" ]]; then how=(-k "$manifest"); fi
    kc apply --server-side --force-conflicts -n "$ARGO_NAMESPACE" "${how[@]}" >/dev/null \
      || die "kubectl apply of the Argo manifest failed"
  fi
}

wait_argo() {
  wait_crds
  local deploys=()
  kc get deployment workflow-controller -n "$ARGO_NAMESPACE" >/dev/null 2>&1 && deploys+=(deployment/workflow-controller)
  kc get deployment argo-server -n "$ARGO_NAMESPACE" >/dev/null 2>&1 && deploys+=(deployment/argo-server)
  if [[ ${#deploys[@]} -eq 0 ]]; then
    log "note: no workflow-controller Deployment in '$ARGO_NAMESPACE' (CRDs-only manifest): a controller must run elsewhere"
  else
    log "waiting for ${deploys[*]} in '$ARGO_NAMESPACE' (timeout ${TIMEOUT}s)"
    wait_rollout "$ARGO_NAMESPACE" "${deploys[@]}"
  fi
}

# The full CRDs carry Argo's OpenAPI schema: the API server refuses misspelt fields and drops unknown ones.
# The minimal CRDs of install.yaml keep any key of a spec, which Argo's controller may read in another case
# (docs/security.md, "Argo's CRDs").
crds_are_full() {
  [[ "$(kc get crd workflows.argoproj.io -o jsonpath='{.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.templates.type}' 2>/dev/null)" == array ]]
}

ensure_full_crds() {
  if crds_are_full; then
    log "Argo's CRDs are the full ones (with Argo's OpenAPI schema)"
    return 0
  fi
  if [[ -z "$ARGO_CRDS" ]]; then
    printf '%s: WARNING: Argo'"'"'s CRDs in this cluster are the MINIMAL ones (x-kubernetes-preserve-unknown-fields, as in install.yaml).\n' "$PROG" >&2
    printf '%s: WARNING: the API server then keeps misspelt and case-folded keys of every workflow spec, which Argo'"'"'s controller may read;\n' "$PROG" >&2
    printf '%s: WARNING: the chart'"'"'s admission policies refuse the ones that matter, but apply the full CRDs: --argo-crds DIR\n' "$PROG" >&2
    printf '%s: WARNING: (manifests/base/crds/full of Argo'"'"'s source at %s; docs/security.md, "Argo'"'"'s CRDs").\n' "$PROG" "$ARGO_VERSION" >&2
    return 0
  fi
  local files=() f
  for f in "$ARGO_CRDS"/argoproj.io_*.yaml; do files+=(-f "$f"); done  # not kustomization.yaml
  log "applying Argo's full CRDs from $ARGO_CRDS (server-side: too big for client-side apply)"
  kc apply --server-side --force-conflicts "${files[@]}" >/dev/null || die "kubectl apply of Argo's full CRDs from $ARGO_CRDS failed"
  wait_crds
  crds_are_full || die "the CRDs of $ARGO_CRDS are not Argo's full CRDs (workflows.argoproj.io has no schema for spec.templates)"
}

do_install_argo_cli() {
  local have="" tmp
  if command -v argo >/dev/null; then
    have=$(argo version --short 2>/dev/null | sed -n 's/.*\(v[0-9][0-9.]*\).*/\1/p' | head -n 1)
  fi
  if [[ -n "$have" ]] && version_ge "$have" "$ARGO_VERSION"; then
    log "argo CLI $have is installed (>= $ARGO_VERSION)"
    return 0
  fi
  log "installing the argo CLI $ARGO_VERSION as $ARGO_CLI_DIR/argo"
  tmp=$(mktemp -d)
  if ! download "$ARGO_CLI_URL" "$tmp/argo.gz" "the argo CLI $ARGO_VERSION" ARGO_CLI_SHA256 || ! gunzip -f "$tmp/argo.gz"; then
    rm -rf "$tmp"
    die "no argo CLI from $ARGO_CLI_URL (set ARGO_CLI_URL, or INSTALL_ARGO_CLI=0 and use cogniverse-chart submit/trigger/wait/list; the local node's is $TOOLS_BIN/argo)"
  fi
  if [[ -w "$ARGO_CLI_DIR" ]]; then
    install -m 0755 "$tmp/argo" "$ARGO_CLI_DIR/argo"
  else
    "${SUDO[@]}" install -m 0755 "$tmp/argo" "$ARGO_CLI_DIR/argo"
  fi
  rm -rf "$tmp"
}

check_cluster() {
  kc get --raw /readyz >/dev/null 2>&1 \
    || die "cannot reach the cluster (KUBECONFIG=${KUBECONFIG:-<unset>}): pass --install-k3s, or point KUBECONFIG at a running cluster"
}

fetch_helm() {
  "$ROOT/scripts/bootstrap.sh" --no-python
  HELM_BIN=$(find_helm) || die "scripts/bootstrap.sh --no-python did not provide a helm"
}

do_helm() {
  if ! kc get crd workflowtemplates.argoproj.io >/dev/null 2>&1; then
    log "note: the Argo Workflows CRDs are not installed (pass --install-argo); the chart refuses to install its workflows without them"
  fi
  log "helm ${helm_args[*]}"
  if ! "$HELM_BIN" "${helm_args[@]}"; then
    diagnose "$NAMESPACE"
    die "helm upgrade --install failed (diagnostics above)"
  fi
}

wait_chart() {
  local objs=()
  mapfile -t objs < <(kc get deployments,statefulsets -n "$NAMESPACE" \
    -l "app.kubernetes.io/instance=$RELEASE" -o name 2>/dev/null)
  if [[ ${#objs[@]} -gt 0 ]]; then
    log "waiting for the rollout of ${#objs[@]} workloads"
    wait_rollout "$NAMESPACE" "${objs[@]}"
  fi
  log "chart installed: release '$RELEASE' in namespace '$NAMESPACE'"
  print_access
}

print_access() {
  # The local node's argo-server serves plain HTTP (as the guide expects), Argo's upstream install
  # HTTPS; both ask every API request for a token (--auth-mode=client).
  local argo_ui_url="https://localhost:2746 (token: argo auth token)"
  if [[ $local_cluster == 1 ]]; then argo_ui_url="http://localhost:2746 (token: kubectl create token, see docs/deploy.md)"; fi
  cat <<EOF

Cogniverse is installed (release '$RELEASE', namespace '$NAMESPACE').
  export KUBECONFIG=${KUBECONFIG:-<your kubeconfig>}
  Argo UI:      kubectl port-forward -n $ARGO_NAMESPACE svc/argo-server 2746:2746   then open $argo_ui_url
  Templates:    kubectl get workflowtemplates,cronworkflows -n $NAMESPACE
  Services:     kubectl get svc -n $NAMESPACE
                kubectl port-forward -n $NAMESPACE svc/<service> <local-port>:<port>   (e.g. the runtime API, Phoenix 6006, Vespa 8080)
  Run a workflow: cogniverse-chart submit video-ingestion -n $NAMESPACE -p tenant-id=acme_corp --wait
EOF
}

do_uninstall() {
  check_cluster
  log "helm uninstall $RELEASE -n $NAMESPACE"
  "$HELM_BIN" uninstall "$RELEASE" --namespace "$NAMESPACE" --wait --timeout "${TIMEOUT}s" \
    || die "helm uninstall failed"
  log "uninstalled; data PVCs are kept: kubectl get pvc -n $NAMESPACE"
}

do_local_cluster() {
  log "starting the local node: $LOCAL_CLUSTER up --argo-version $ARGO_VERSION"
  "$LOCAL_CLUSTER" up --argo-version "$ARGO_VERSION" || die "$LOCAL_CLUSTER up failed (its log is above)"
  KUBECONFIG=$("$LOCAL_CLUSTER" kubeconfig)
  export KUBECONFIG
  check_cluster
}

do_smoke() {
  log "running the smoke suite"
  (cd "$ROOT" && "$VENV_PYTHON" -m pytest -m smoke tests/smoke)
}
