#!/usr/bin/env bash
# One-command local setup: (optionally) K3s, (optionally) Argo Workflows, then the Cogniverse
# chart with every WorkflowTemplate and CronWorkflow, installed by Helm.
#
#   scripts/deploy_k3s.sh --install-k3s --install-argo     # fresh Linux host with internet
#   scripts/deploy_k3s.sh                                  # chart only, into the cluster in KUBECONFIG
#   scripts/deploy_k3s.sh --install-argo --argo-manifest argo-install.yaml   # offline Argo install
#   scripts/deploy_k3s.sh --local-cluster                  # offline: the local node (scripts/local_cluster.sh)
#   scripts/deploy_k3s.sh --dry-run --install-k3s --install-argo            # print the plan, check the values
#   scripts/deploy_k3s.sh --chart oci://HOST/charts/cogniverse --version V --keyring pubring.gpg
#                                                          # a signed chart from a registry, verified
#
# Every step is idempotent: a second run upgrades in place (helm upgrade --install) and skips
# K3s/Argo when the installed version is already at least the pinned one.
# See docs/deploy.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=deploy_k3s.sh

# ---- pinned versions and sources (override through the environment or the flags) ------------
# shellcheck source=cluster/lib.sh
source "$ROOT/cluster/lib.sh"
K3S_VERSION=${K3S_VERSION:-$(pin K3S_VERSION)}
ARGO_VERSION=${ARGO_VERSION:-$(pin ARGO_VERSION)}
LOCAL_CLUSTER=${LOCAL_CLUSTER:-$ROOT/scripts/local_cluster.sh}
# The installer of the K3s release itself (a fixed file per version, so its sha256 can be pinned).
K3S_INSTALL_URL=${K3S_INSTALL_URL:-https://raw.githubusercontent.com/k3s-io/k3s/${K3S_VERSION//+/%2B}/install.sh}
# Where K3s writes its (cluster-admin) kubeconfig, mode 600; a non-root user gets a mode-600 copy.
K3S_KUBECONFIG=${K3S_KUBECONFIG:-/etc/rancher/k3s/k3s.yaml}
USER_KUBECONFIG=${USER_KUBECONFIG:-$HOME/.kube/k3s-cogniverse.yaml}
# The official Argo Workflows install manifest (controller + server + CRDs) for ARGO_VERSION.
ARGO_MANIFEST_URL=${ARGO_MANIFEST_URL:-}
# A local manifest (full install or CRDs only) used instead of the URL: offline clusters.
ARGO_MANIFEST=${ARGO_MANIFEST:-}
ARGO_NAMESPACE=${ARGO_NAMESPACE:-argo}
# The argo CLI (the guide's `argo submit/list/get/watch/logs/cron` commands) goes here with --install-argo.
ARGO_CLI_DIR=${ARGO_CLI_DIR:-/usr/local/bin}
ARGO_CLI_URL=${ARGO_CLI_URL:-}
INSTALL_ARGO_CLI=${INSTALL_ARGO_CLI:-1}       # 0: never install the argo CLI
RELEASE=${RELEASE:-cogniverse}
NAMESPACE=${NAMESPACE:-cogniverse}
CHART=${CHART:-$ROOT/charts/cogniverse}        # a chart folder, a .tgz, or oci://HOST/PATH/cogniverse
CHART_VERSION=${CHART_VERSION:-}               # with an oci:// chart: the version to install
CHART_KEYRING=${CHART_KEYRING:-}               # public keyring that verifies an oci:// chart's signature
DEFAULT_VALUES=${DEFAULT_VALUES:-$ROOT/values/k3s.yaml}
TIMEOUT=${TIMEOUT:-600}                       # seconds, for every wait
TOOLS_BIN=${TOOLS_BIN:-$ROOT/.tools/bin}
AUTO_BOOTSTRAP=${AUTO_BOOTSTRAP:-1}           # 0: never run scripts/bootstrap.sh to get helm
VENV_PYTHON=${VENV_PYTHON:-$ROOT/.venv/bin/python}

usage() {
  cat <<USAGE
Usage: $PROG [flags]

Installs the Cogniverse chart (and optionally K3s and Argo Workflows) into a Kubernetes cluster.
Without --install-k3s it uses the cluster in KUBECONFIG.

Flags:
  --install-k3s            install K3s $K3S_VERSION first (needs root or sudo, and curl)
  --local-cluster          offline instead of K3s: start the single-node cluster built from Go modules
                           (scripts/local_cluster.sh up, as root; it runs the Argo controller and server
                           and puts the argo CLI in .tools/bin), then install the chart into it
  --install-argo           install the Argo Workflows controller and server $ARGO_VERSION into
                           namespace '$ARGO_NAMESPACE', and the argo CLI into $ARGO_CLI_DIR
                           (each skipped when that version or newer is there)
  --argo-manifest PATH     apply this local Argo manifest file or directory (full install or CRDs only) instead of
                           downloading the official one (offline clusters); env ARGO_MANIFEST
  --argo-crds DIR          Argo's FULL CRDs (manifests/base/crds/full of Argo's source at the installed version),
                           applied when the cluster has the minimal ones of install.yaml (default: that folder of
                           the Argo module in the Go module cache, when there); env ARGO_CRDS. docs/security.md
                           says why they are required
  --namespace NAME         namespace for the chart (default: cogniverse)
  --release NAME           Helm release name (default: cogniverse)
  -f, --values FILE        extra values file; repeatable (default: values/k3s.yaml)
  --set KEY=VALUE          helm --set; repeatable
  --k3s-version VERSION    K3s version (default: $K3S_VERSION; env K3S_VERSION)
  --argo-version VERSION   Argo Workflows version (default: $ARGO_VERSION; env ARGO_VERSION)
  --timeout SECONDS        timeout of every wait (default: $TIMEOUT)
  --chart REF              the chart: a folder, a .tgz or oci://HOST/PATH/cogniverse (default: charts/cogniverse)
  --version VERSION        chart version, with an oci:// chart
  --keyring FILE           public keyring (gpg --export) that verifies an oci:// chart's signature: Helm's
                           provenance check (helm --verify); required for oci:// unless --no-verify
  --no-verify              install an oci:// chart without checking its signature (not recommended)
  --skip-chart             do not install the chart (K3s/Argo only)
  --smoke                  run the smoke suite (pytest -m smoke) afterwards
  --uninstall              helm uninstall the release (keeps data volumes, K3s and Argo)
  --dry-run                print the plan and change nothing
  -h, --help               this help

Environment: KUBECONFIG, K3S_VERSION, ARGO_VERSION, ARGO_MANIFEST, ARGO_MANIFEST_URL,
K3S_INSTALL_URL, ARGO_CLI_URL, ARGO_CLI_DIR, INSTALL_ARGO_CLI=0 (no argo CLI), HELM / KUBECTL
(binaries), TIMEOUT, AUTO_BOOTSTRAP=0 (never fetch helm), CHART, CHART_VERSION, CHART_KEYRING,
K3S_KUBECONFIG, USER_KUBECONFIG; the sha256 pins of versions.env (K3S_INSTALLER_SHA256,
ARGO_MANIFEST_SHA256, ARGO_CLI_SHA256): every download is checked against them and refused otherwise.
USAGE
}

die_usage() { printf '%s: %s\n' "$PROG" "$*" >&2; usage >&2; exit 2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*"; }

# ---- arguments: every flag, in one loop ------------------------------------------------------
install_k3s=0 install_argo=0 skip_chart=0 smoke=0 uninstall=0 dry_run=0 local_cluster=0 no_verify=0
values_files=() set_values=()

need_value() { # flag remaining-arg-count next-arg
  if [[ $2 -lt 2 || -z "$3" || "$3" == -* ]]; then
    die_usage "$1 needs a value"
  fi
}

while [[ $# -gt 0 ]]; do
  flag=$1 value=""
  if [[ "$flag" == --*=* ]]; then           # --flag=value form
    value=${flag#*=} flag=${flag%%=*}
    [[ -n "$value" ]] || die_usage "$flag needs a value"
    set -- "$flag" "$value" "${@:2}"
  fi
  case "$flag" in
    --install-k3s) install_k3s=1 ;;
    --install-argo) install_argo=1 ;;
    --local-cluster) local_cluster=1 ;;
    --skip-chart) skip_chart=1 ;;
    --smoke) smoke=1 ;;
    --uninstall) uninstall=1 ;;
    --dry-run) dry_run=1 ;;
    --no-verify) no_verify=1 ;;
    --chart) need_value "$flag" $# "${2:-}"; CHART=$2; shift ;;
    --version) need_value "$flag" $# "${2:-}"; CHART_VERSION=$2; shift ;;
    --keyring) need_value "$flag" $# "${2:-}"; CHART_KEYRING=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    --namespace|-n) need_value "$flag" $# "${2:-}"; NAMESPACE=$2; shift ;;
    --release) need_value "$flag" $# "${2:-}"; RELEASE=$2; shift ;;
    -f|--values) need_value "$flag" $# "${2:-}"; values_files+=("$2"); shift ;;
    --set) need_value "$flag" $# "${2:-}"; set_values+=("$2"); shift ;;
    --k3s-version) need_value "$flag" $# "${2:-}"; K3S_VERSION=$2; shift ;;
    --argo-version) need_value "$flag" $# "${2:-}"; ARGO_VERSION=$2; shift ;;
    --argo-manifest) need_value "$flag" $# "${2:-}"; ARGO_MANIFEST=$2; shift ;;
    --argo-crds) need_value "$flag" $# "${2:-}"; ARGO_CRDS=$2; shift ;;
    --timeout) need_value "$flag" $# "${2:-}"; TIMEOUT=$2; shift ;;
    *) die_usage "unknown flag '$flag'" ;;
  esac
  shift
done

# ---- argument checks ---------------------------------------------------------------------------
[[ "$NAMESPACE" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] \
  || die_usage "--namespace '$NAMESPACE' is not a valid namespace name (lowercase letters, digits, '-', at most 63)"
[[ "$RELEASE" =~ ^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$ ]] \
  || die_usage "--release '$RELEASE' is not a valid release name (lowercase letters, digits, '-', at most 53)"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die_usage "--timeout '$TIMEOUT' is not a positive number of seconds"
[[ "$K3S_VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(\+k3s[0-9]+)?$ ]] \
  || die_usage "--k3s-version '$K3S_VERSION' is not a K3s version like v1.33.5+k3s1"
[[ "$ARGO_VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  || die_usage "--argo-version '$ARGO_VERSION' is not a version like v3.7.3"
if [[ $uninstall == 1 && ( $install_k3s == 1 || $install_argo == 1 || $smoke == 1 ) ]]; then
  die_usage "--uninstall cannot be combined with --install-k3s, --install-argo or --smoke"
fi
if [[ $uninstall == 1 && $skip_chart == 1 ]]; then
  die_usage "--uninstall and --skip-chart together do nothing"
fi
if [[ $local_cluster == 1 && $install_k3s == 1 ]]; then
  die_usage "--local-cluster and --install-k3s both create the cluster: pick one (--local-cluster works offline)"
fi
if [[ $local_cluster == 1 && $uninstall == 1 ]]; then
  die_usage "--uninstall cannot be combined with --local-cluster (stop the node with scripts/local_cluster.sh down)"
fi
if [[ $local_cluster == 1 && -n "$ARGO_MANIFEST" ]]; then
  die_usage "--argo-manifest does not apply to --local-cluster (the local node installs Argo from its Go module)"
fi
if [[ -n "$ARGO_MANIFEST" && $install_argo == 0 ]]; then
  die_usage "--argo-manifest is only used with --install-argo"
fi
if [[ -n "${ARGO_CRDS:-}" && $install_argo == 1 && $local_cluster == 0 && ! -f "$ARGO_CRDS/argoproj.io_workflows.yaml" ]]; then
  die "--argo-crds '$ARGO_CRDS' has no argoproj.io_workflows.yaml: give manifests/base/crds/full of Argo's source at $ARGO_VERSION"
fi
if [[ -n "$ARGO_MANIFEST" && ! -e "$ARGO_MANIFEST" ]]; then
  die "Argo manifest '$ARGO_MANIFEST' does not exist"
fi
if [[ -n "$ARGO_MANIFEST" && ! -f "$ARGO_MANIFEST" && ! -d "$ARGO_MANIFEST" ]]; then
  die "Argo manifest '$ARGO_MANIFEST' is not a file or directory (a FIFO or a device would block kubectl apply)"
fi
if [[ ${#values_files[@]} -eq 0 && -f "$DEFAULT_VALUES" ]]; then
  values_files=("$DEFAULT_VALUES")
fi
for f in "${values_files[@]}"; do
  [[ -f "$f" ]] || die "values file '$f' does not exist"
done
if [[ "$CHART" == oci://* && $no_verify == 0 && -z "$CHART_KEYRING" && $uninstall == 0 && $skip_chart == 0 ]]; then
  die_usage "--chart $CHART: a chart from a registry is verified before it is installed (Helm's provenance check): pass --keyring PUBRING, the publisher's public key (docs/distribution.md), or --no-verify to install it unverified"
fi
# Only an oci:// chart can be verified here (--keyring); a URL or a repository chart (repo/name) would be
# installed unchecked, and a FIFO named as the chart would block Helm.
if [[ "$CHART" != oci://* && $uninstall == 0 && $skip_chart == 0 && ! -d "$CHART" && ! -f "$CHART" ]]; then
  die_usage "--chart $CHART: not a chart folder or a .tgz file here, nor oci://HOST/PATH: a chart from a URL or a Helm repository would be installed without checking its signature; fetch it with 'helm pull --verify --keyring PUBRING' and pass the .tgz, or use oci:// with --keyring"
fi
if [[ -n "$CHART_KEYRING" && ! -f "$CHART_KEYRING" ]]; then
  die "--keyring '$CHART_KEYRING' is not a file (the publisher's public keyring: gpg --export KEY > pubring.gpg)"
fi
if [[ "$CHART" != oci://* && -n "$CHART_VERSION" ]]; then
  die_usage "--version applies to an oci:// chart; $CHART is local"
fi
ARGO_MANIFEST_URL=${ARGO_MANIFEST_URL:-https://github.com/argoproj/argo-workflows/releases/download/$ARGO_VERSION/install.yaml}
case "$(uname -m)" in
  x86_64|amd64) cli_arch=amd64 ;;
  aarch64|arm64) cli_arch=arm64 ;;
  *) cli_arch=$(uname -m) ;;
esac
cli_os=$(uname -s)
cli_os=${cli_os,,}
# Offline (--argo-manifest) there is nothing to download the CLI from, unless ARGO_CLI_URL says where.
if [[ -z "$ARGO_CLI_URL" && -n "$ARGO_MANIFEST" ]]; then INSTALL_ARGO_CLI=0; fi
ARGO_CLI_URL=${ARGO_CLI_URL:-https://github.com/argoproj/argo-workflows/releases/download/$ARGO_VERSION/argo-$cli_os-$cli_arch.gz}
argo_source=${ARGO_MANIFEST:-$ARGO_MANIFEST_URL}
# Argo's full CRDs: given, or Argo's module of ARGO_VERSION in the Go module cache (v3@v3.7.18, v4@v4.0.7).
if [[ -z "${ARGO_CRDS:-}" && $install_argo == 1 ]]; then
  gomod=$( (command -v go >/dev/null && go env GOMODCACHE 2>/dev/null) || printf '%s/go/pkg/mod' "$HOME")
  candidate="$gomod/github.com/argoproj/argo-workflows/${ARGO_VERSION%%.*}@$ARGO_VERSION/manifests/base/crds/full"
  if [[ -f "$candidate/argoproj.io_workflows.yaml" ]]; then ARGO_CRDS=$candidate; fi
fi
ARGO_CRDS=${ARGO_CRDS:-}
# The sha256 every download must have (versions.env, for the pinned versions; the environment overrides).
K3S_INSTALLER_SHA256=${K3S_INSTALLER_SHA256:-$(pin_optional K3S_INSTALLER_SHA256)}
ARGO_MANIFEST_SHA256=${ARGO_MANIFEST_SHA256:-$(pin_optional ARGO_MANIFEST_SHA256)}
ARGO_CLI_SHA256=${ARGO_CLI_SHA256:-$(pin_optional "ARGO_CLI_${cli_os^^}_${cli_arch^^}_SHA256")}

# ---- tools ---------------------------------------------------------------------------------------
SUDO=()
if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi

helm_ok() { # helm binary: Helm >= 3.14 or Helm 4+; for an oci:// chart not 3.18.0, which cannot pull a
  # chart with a provenance layer (helm/helm#30890, docs/distribution.md)
  local v
  v=$("$1" version --short 2>/dev/null) || return 1
  if [[ "$CHART" == oci://* && "$v" == v3.18.0* ]]; then return 1; fi
  [[ "$v" =~ ^v3\.(1[4-9]|[2-9][0-9])\. || "$v" =~ ^v([4-9]|[1-9][0-9])\. ]]
}

find_helm() {
  local c
  for c in "${HELM:-}" "$(command -v helm || true)" "$TOOLS_BIN/helm3" "$TOOLS_BIN/helm4"; do
    if [[ -n "$c" && -x "$c" ]] && helm_ok "$c"; then printf '%s\n' "$c"; return 0; fi
  done
  return 1
}

find_kubectl() {
  local c
  for c in "${KUBECTL:-}" "$TOOLS_BIN/kubectl" "$(command -v kubectl || true)"; do
    if [[ -n "$c" && -x "$c" ]]; then printf '%s\n' "$c"; return 0; fi
  done
  if command -v k3s >/dev/null; then printf '%s\n' "k3s kubectl"; return 0; fi
  return 1
}

# Prerequisites: collect every missing one, then fail once with all of them.
missing=()
HELM_BIN=$(find_helm || true) helm_fetch=0
KUBECTL_BIN=$(find_kubectl || true)
if [[ $install_k3s == 1 || ( $install_argo == 1 && ( -z "$ARGO_MANIFEST" || $INSTALL_ARGO_CLI == 1 ) ) ]]; then
  command -v curl >/dev/null || missing+=("curl (downloads the K3s installer / the Argo manifest and CLI; apt-get install curl)")
  command -v sha256sum >/dev/null || missing+=("sha256sum (checks every download against its pin; coreutils)")
fi
if [[ $install_argo == 1 && $INSTALL_ARGO_CLI == 1 ]]; then
  command -v gunzip >/dev/null || missing+=("gunzip (unpacks the argo CLI; apt-get install gzip)")
fi
if [[ $install_k3s == 1 && ${#SUDO[@]} -gt 0 ]] && ! command -v sudo >/dev/null; then
  missing+=("root or sudo (K3s installs system-wide)")
fi
if [[ $install_k3s == 1 && "$(uname -s)" != Linux ]]; then
  missing+=("Linux (K3s runs on Linux only; on macOS/Windows use a Linux VM)")
fi
if [[ -z "$KUBECTL_BIN" && $install_k3s == 0 ]]; then
  missing+=("kubectl (on PATH or in .tools/bin: run scripts/bootstrap.sh --no-python)")
fi
if [[ -z "$HELM_BIN" && ( $skip_chart == 0 || $uninstall == 1 ) ]]; then
  if [[ $AUTO_BOOTSTRAP == 1 && $dry_run == 0 ]]; then
    log "no helm on PATH or in .tools/bin: running scripts/bootstrap.sh --no-python to fetch the pinned ones"
    "$ROOT/scripts/bootstrap.sh" --no-python || true
    HELM_BIN=$(find_helm || true)
  fi
  if [[ -z "$HELM_BIN" ]]; then
    if [[ $dry_run == 1 && $AUTO_BOOTSTRAP == 1 ]]; then
      HELM_BIN="$TOOLS_BIN/helm3" helm_fetch=1   # the plan notes that bootstrap.sh would fetch it
    else
      missing+=("helm (>= 3.14 or 4.x on PATH, \$HELM, or .tools/bin/helm3|helm4: run scripts/bootstrap.sh --no-python)")
    fi
  fi
fi
if [[ $smoke == 1 && ! -x "$VENV_PYTHON" && $dry_run == 0 ]]; then
  missing+=("the Python venv for the smoke suite ($VENV_PYTHON: run scripts/bootstrap.sh)")
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  printf '%s: missing prerequisites:\n' "$PROG" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

# ---- cluster access ----------------------------------------------------------------------------
if [[ $install_k3s == 1 ]]; then
  export KUBECONFIG=$K3S_KUBECONFIG
elif [[ -z "${KUBECONFIG:-}" ]]; then
  if [[ -f "$HOME/.kube/config" ]]; then export KUBECONFIG=$HOME/.kube/config
  elif [[ -r $K3S_KUBECONFIG ]]; then export KUBECONFIG=$K3S_KUBECONFIG
  fi
fi

kc() { # kubectl with the chosen binary (word-split on purpose for "k3s kubectl")
  # shellcheck disable=SC2086
  $KUBECTL_BIN "$@"
}

# No `helm --wait`: it also waits for every PVC to be Bound, and on local-path (K3s's default class,
# WaitForFirstConsumer) the backups claim binds only when the first backup mounts it, so the install
# would hang until its timeout. The script waits for the release's Deployments and StatefulSets itself.
helm_args=(upgrade --install "$RELEASE" "$CHART" --namespace "$NAMESPACE" --create-namespace
           --timeout "${TIMEOUT}s")
values_args=()   # what `helm upgrade --install` and the --dry-run render share
for f in "${values_files[@]}"; do values_args+=(--values "$f"); done
for s in "${set_values[@]}"; do values_args+=(--set "$s"); done
if [[ -n "$CHART_VERSION" ]]; then helm_args+=(--version "$CHART_VERSION"); fi
helm_args+=("${values_args[@]}")
if [[ "$CHART" == oci://* && $no_verify == 0 ]]; then
  helm_args+=(--verify --keyring "$CHART_KEYRING")
fi

# ---- the steps: one list, printed by --dry-run and run in this order otherwise ------------------
step_fns=() step_texts=()
step() { # function text: append one step
  step_fns+=("$1")
  step_texts+=("$2")
}
if [[ $uninstall == 1 ]]; then
  step do_uninstall "uninstall Helm release '$RELEASE' from namespace '$NAMESPACE' (data PVCs are kept)"
else
  if [[ $local_cluster == 1 ]]; then
    step do_local_cluster "start the local node: $LOCAL_CLUSTER up --argo-version $ARGO_VERSION (Kubernetes, Argo $ARGO_VERSION controller and server, argo CLI in $TOOLS_BIN); KUBECONFIG=$("$LOCAL_CLUSTER" kubeconfig)"
  elif [[ $install_k3s == 1 ]]; then
    step do_install_k3s "install K3s $K3S_VERSION from $K3S_INSTALL_URL, sha256 checked (skipped if $K3S_VERSION or newer is installed); KUBECONFIG=$K3S_KUBECONFIG, mode 600$([[ ${#SUDO[@]} -gt 0 ]] && printf ' (a copy for you: %s, mode 600)' "$USER_KUBECONFIG")"
    step wait_node_ready "wait for the node to be Ready (timeout ${TIMEOUT}s)"
  else
    step check_cluster "use the existing cluster in KUBECONFIG=${KUBECONFIG:-<unset>}"
  fi
  if [[ $install_argo == 1 && $local_cluster == 1 ]]; then
    step : "--install-argo: nothing more to do, the local node runs Argo $ARGO_VERSION the way Argo's install manifests lay it out"
  elif [[ $install_argo == 1 ]]; then
    step do_install_argo "install Argo Workflows $ARGO_VERSION into namespace '$ARGO_NAMESPACE' from $argo_source$([[ -z "$ARGO_MANIFEST" ]] && printf ', sha256 checked') (skipped if $ARGO_VERSION or newer is installed)"
    step wait_argo "wait for the Argo CRDs to be Established and the workflow-controller and argo-server to be Ready (timeout ${TIMEOUT}s)"
    if [[ -n "$ARGO_CRDS" ]]; then
      step ensure_full_crds "end with Argo's full CRDs: if the cluster's are the minimal ones (install.yaml), apply those of $ARGO_CRDS server-side"
    else
      step ensure_full_crds "check that Argo's CRDs are the full ones; if they are the minimal ones (install.yaml), WARN: pass --argo-crds DIR (docs/security.md)"
    fi
    if [[ $INSTALL_ARGO_CLI == 1 ]]; then
      step do_install_argo_cli "install the argo CLI $ARGO_VERSION as $ARGO_CLI_DIR/argo from $ARGO_CLI_URL, sha256 checked (skipped if $ARGO_VERSION or newer is there)"
    else
      step : "no argo CLI install (offline or INSTALL_ARGO_CLI=0): use cogniverse-chart submit/trigger/wait/list"
    fi
  fi
  if [[ $skip_chart == 0 ]]; then
    if [[ $helm_fetch == 1 ]]; then
      step fetch_helm "fetch pinned helm with scripts/bootstrap.sh --no-python"
    fi
    if [[ "$CHART" == oci://* && $no_verify == 1 ]]; then
      step warn_unverified "WARNING --no-verify: $CHART is installed without checking its signature"
    fi
    step do_helm "helm ${helm_args[*]}   [helm: $HELM_BIN]"
    step wait_chart "wait for the rollout of every Deployment/StatefulSet of release '$RELEASE' (timeout ${TIMEOUT}s)"
  else
    step : "skip the chart (--skip-chart)"
  fi
  if [[ $smoke == 1 ]]; then
    step do_smoke "run the smoke suite: python -m pytest -m smoke tests/smoke"
  fi
fi

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

printf 'Plan:\n'
for i in "${!step_texts[@]}"; do printf '  %d. %s\n' $((i + 1)) "${step_texts[$i]}"; done
if [[ $dry_run == 1 ]]; then
  check_values_dry_run
  printf '%s: --dry-run: nothing was changed\n' "$PROG"
  exit 0
fi

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

# ---- run the steps of the plan, in its order -------------------------------------------------------
for fn in "${step_fns[@]}"; do "$fn"; done
