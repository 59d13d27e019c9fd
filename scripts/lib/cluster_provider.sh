# shellcheck shell=bash
# The cluster scripts/test.sh runs its Argo matrix on (sourced by it; ROOT set): one runner for `.ci/run`
# and .github/workflows/chart-ci.yaml, two providers.
#
#   node  the offline single node of scripts/local_cluster.sh (root; .ci/run, this machine)
#   k3s   K3s with Argo from scripts/deploy_k3s.sh (a fresh CI machine with sudo and the internet: the
#         GitHub workflow); the smoke-runner and service images are imported into K3s's containerd
#
#   provider_check                 exit 2 with one line when COGNIVERSE_CLUSTER_PROVIDER names no provider
#   provider_up VERSION            start the cluster with Argo VERSION (a matrix entry such as 3.7), or swap
#                                  its Argo to VERSION when it runs
#   provider_build VERSION         build what a later provider_up VERSION needs, beside a leg (node only)
#   provider_kubeconfig            the cluster's kubeconfig path
#   provider_import_services       import the service images (cluster/services/images.sh build, done before)
#   provider_down                  tear the cluster down at the end (node: down --purge; k3s: the CI machine
#                                  is thrown away)

PROVIDER=${COGNIVERSE_CLUSTER_PROVIDER:-node}
# deploy_k3s.sh leaves a mode-600 copy of K3s's kubeconfig for a user other than root.
if [[ $EUID == 0 ]]; then K3S_CONFIG=${K3S_KUBECONFIG:-/etc/rancher/k3s/k3s.yaml}
else K3S_CONFIG=${USER_KUBECONFIG:-$HOME/.kube/k3s-cogniverse.yaml}; fi

provider_check() {
  case "$PROVIDER" in
    node|k3s) ;;
    *) echo "test.sh: cluster provider '$PROVIDER' (COGNIVERSE_CLUSTER_PROVIDER or --provider): expected node or k3s" >&2
       exit 2 ;;
  esac
}

# shellcheck source=cluster/lib.sh
source "$ROOT/cluster/lib.sh"

# The full pin of versions.env for a matrix entry (3.7 -> v3.7.18): deploy_k3s.sh installs exact versions.
_argo_pin() {
  local key v
  for key in ARGO_VERSION ARGO_V4_VERSION; do
    v=$(pin_optional "$key")
    [[ $v == "v$1."* || $v == "v$1" ]] && { echo "$v"; return 0; }
  done
  echo "test.sh: no Argo pin in versions.env for the matrix entry $1" >&2
  return 1
}

_k3s_import() {  # _k3s_import ARCHIVE...: OCI archives into K3s's containerd, names as the CRI looks them up
  local f
  for f in "$@"; do
    python3 "$ROOT/cluster/images/oci_names.py" "$f" | sudo k3s ctr -n k8s.io images import - >/dev/null ||
      { echo "test.sh: importing $f into K3s failed" >&2; return 1; }
    echo "test.sh: imported into K3s: $f" >&2
  done
}

provider_up() {
  if [[ $PROVIDER == node ]]; then
    "$ROOT/scripts/local_cluster.sh" up --argo-version "$1"
    return
  fi
  local pin
  pin=$(_argo_pin "$1") || return 1
  "$ROOT/scripts/deploy_k3s.sh" --install-k3s --install-argo --argo-version "$pin" --skip-chart || return 1
  # The image every smoke workflow step runs (values/smoke.yaml), once: a swap finds it there.
  sudo k3s ctr -n k8s.io images ls -q | grep -q smoke-runner && return 0
  "$ROOT/images/smoke-runner/build.sh" --out "$ROOT/build/smoke-runner" >&2 || return 1
  _k3s_import "$ROOT"/build/smoke-runner/import/smoke-runner-*-amd64.tar
}

provider_build() {
  [[ $PROVIDER == node ]] || return 0
  "$ROOT/scripts/local_cluster.sh" build --argo-version "$1"
}

provider_kubeconfig() {
  if [[ $PROVIDER == node ]]; then "$ROOT/scripts/local_cluster.sh" kubeconfig; else echo "$K3S_CONFIG"; fi
}

provider_import_services() {
  if [[ $PROVIDER == node ]]; then
    "$ROOT/cluster/services/images.sh" import
    return
  fi
  local archives
  mapfile -t archives < <("$ROOT/cluster/services/images.sh" archives)
  [[ ${#archives[@]} -gt 0 ]] || { echo "test.sh: cluster/services/images.sh archives lists none" >&2; return 1; }
  _k3s_import "${archives[@]}"
}

provider_down() {
  [[ $PROVIDER == node ]] || return 0
  "$ROOT/scripts/local_cluster.sh" down --purge
}
