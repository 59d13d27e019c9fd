# shellcheck shell=bash
# Kubernetes on the local cluster: which release, the wrapper module it builds from, the build
# (one multi-call binary for the components, etcd, kubectl) and the kubectl it installs.
# Sourced by cluster/node.sh, which provides ROOT, CLUSTER_DIR, CACHE, STATE and the
# helpers log, die, pin, source_key, go_build.
#
# KUBERNETES_VERSION in versions.env is the default and the release cluster/k8s/go.mod is written
# for (tests/cluster/test_local_cluster.py checks the two agree). Any other release from
# KUBERNETES_OLDEST_SUPPORTED_VERSION's minor on (`up --kubernetes-version vX.Y.Z`) builds from a
# wrapper go.mod that cluster/k8s/wrapper_gomod.py generates from that release's own go.mod and
# `go mod tidy` completes, kept in $CACHE/k8s-wrapper/<version>-<key>/ (go build -modfile).

K8S_WRAPPER="$CLUSTER_DIR/k8s"
K8S_VERSION=""
K8S_GENERATED=0  # 1: K8S_VERSION is not the checked-in cluster/k8s/go.mod's release
K8S_MODFILE=""  # the generated go.mod (go build -modfile); empty: the checked-in one
K8S_BIN=""

k8s_minor() { local v="${1#v}"; v="${v#1.}"; echo "${v%%.*}"; }

k8s_select() {  # k8s_select [VERSION]: validate the release and set K8S_VERSION and K8S_MODFILE
  local want="${1:-}" oldest checked_in
  oldest="$(pin KUBERNETES_OLDEST_SUPPORTED_VERSION)"
  [[ -n "$want" ]] || want="$(pin KUBERNETES_VERSION)"
  [[ "$want" == v* ]] || want="v$want"
  [[ "$want" =~ ^v1\.[0-9]+\.[0-9]+$ ]] \
    || die "--kubernetes-version ${1:-$want}: not a Kubernetes release (expected vMAJOR.MINOR.PATCH, e.g. $(pin KUBERNETES_VERSION))"
  if (($(k8s_minor "$want") < $(k8s_minor "$oldest"))); then
    die "--kubernetes-version $want: older than KUBERNETES_OLDEST_SUPPORTED_VERSION=$oldest in versions.env; this node builds 1.$(k8s_minor "$oldest") or newer"
  fi
  K8S_VERSION="$want"
  checked_in="$(gomod_version "$K8S_WRAPPER/go.mod" k8s.io/kubernetes)"
  K8S_GENERATED=1
  [[ "$K8S_VERSION" != "$checked_in" ]] || K8S_GENERATED=0
  K8S_MODFILE=""  # set by k8s_wrapper_gomod (it needs go, which status and down do not)
}

k8s_wrapper_key() {  # what a generated wrapper go.mod depends on: the generator and the sources' imports
  { cd "$K8S_WRAPPER" && find cmd -name '*.go' | LC_ALL=C sort | xargs sha256sum && sha256sum wrapper_gomod.py; go env GOVERSION; } \
    | sha256sum | cut -c1-12
}

k8s_wrapper_gomod() {  # write the generated wrapper go.mod/go.sum for K8S_VERSION, once per version and key
  ((K8S_GENERATED)) || return 0
  local dir
  dir="$CACHE/k8s-wrapper/$K8S_VERSION-$(k8s_wrapper_key)"
  K8S_MODFILE="$dir/go.mod"
  [[ -f "$dir/.complete" ]] && return 0
  log "generating the wrapper go.mod for Kubernetes $K8S_VERSION in $dir"
  rm -rf "$dir" && mkdir -p "$dir"
  # wrapper_gomod.py fetches the release's own go.mod (go mod download) and names a failure.
  (cd "$K8S_WRAPPER" && python3 wrapper_gomod.py --version "$K8S_VERSION") >"$K8S_MODFILE" \
    || die "cluster/k8s/wrapper_gomod.py could not write the wrapper go.mod for Kubernetes $K8S_VERSION (see above)"
  (cd "$K8S_WRAPPER" && go mod tidy -modfile="$K8S_MODFILE") >"$dir/tidy.log" 2>&1 \
    || { tail -20 "$dir/tidy.log" >&2; die "go mod tidy of the Kubernetes $K8S_VERSION wrapper failed (log $dir/tidy.log)"; }
  touch "$dir/.complete"
}

k8s_key() {  # hash of what the binaries are built from: sources, the go.mod/go.sum in use, Go
  if [[ -z "$K8S_MODFILE" ]]; then
    source_key "$K8S_WRAPPER"
  else
    { cd "$K8S_WRAPPER" && find cmd -name '*.go' | LC_ALL=C sort | xargs sha256sum
      sha256sum "$K8S_MODFILE" "${K8S_MODFILE%.mod}.sum"; go env GOVERSION; } | sha256sum | cut -c1-12
  fi
}

k8s_bin_dir() { echo "$CACHE/bin/k8s-$K8S_VERSION-$(k8s_key)"; }

k8s_built() { [[ -x "$1/kube" && -x "$1/etcd" && -x "$1/kubectl" ]]; }

k8s_ldflags() {  # version stamping: without it /version says v0.0.0 and Helm's kubeVersion checks fail
  local v="$1" minor ld pkg
  minor="$(k8s_minor "$v")"
  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$ld"
}

build_k8s() {
  local flags=""
  [[ -n "$K8S_MODFILE" ]] && flags="-modfile=$K8S_MODFILE"
  log "building Kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl) and etcd; cold: 20-40 min on 2 cores, log $CACHE/logs/build-k8s.log"
  GOFLAGS="${GOFLAGS:-} $flags" go_build "$K8S_WRAPPER" "$K8S_BIN" "$(k8s_ldflags "$K8S_VERSION")" \
    ./cmd/kube ./cmd/etcd ./cmd/kubectl >"$CACHE/logs/build-k8s.log" 2>&1 \
    || { tail -30 "$CACHE/logs/build-k8s.log" >&2; die "Kubernetes build failed"; }
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
    ln -sf kube "$K8S_BIN/$c"
  done
}

k8s_check_state() {  # refuse to start a release on data another release wrote (no supported downgrade or skip)
  local f="$STATE/kubernetes-version" have
  [[ -f "$f" ]] || return 0
  have="$(cat "$f")"
  [[ "$have" == "$K8S_VERSION" ]] && return 0
  die "the cluster in $STATE was created by Kubernetes $have; to run $K8S_VERSION, first: scripts/local_cluster.sh down --purge"
}

k8s_record_state() { mkdir -p "$STATE" && echo "$K8S_VERSION" >"$STATE/kubernetes-version"; }

install_kubectl() {  # the node's own kubectl becomes .tools/bin/kubectl (unless COGNIVERSE_KUBECTL names another)
  [[ -z "${COGNIVERSE_KUBECTL:-}" ]] || return 0
  mkdir -p "$ROOT/.tools/bin"
  ln -sfn "$K8S_BIN/kubectl" "$ROOT/.tools/bin/kubectl"
  # shellcheck disable=SC2034  # local_cluster.sh's kc and the argoexec image use it
  KUBECTL="$ROOT/.tools/bin/kubectl"
}
