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

# The step functions (the --dry-run values check, waits, downloads, every do_* step): scripts/deploy/steps.sh.
# shellcheck source=scripts/deploy/steps.sh
source "$ROOT/scripts/deploy/steps.sh"

printf 'Plan:\n'
for i in "${!step_texts[@]}"; do printf '  %d. %s\n' $((i + 1)) "${step_texts[$i]}"; done
if [[ $dry_run == 1 ]]; then
  check_values_dry_run
  printf '%s: --dry-run: nothing was changed\n' "$PROG"
  exit 0
fi

# ---- run the steps of the plan, in its order -------------------------------------------------------
for fn in "${step_fns[@]}"; do "$fn"; done
