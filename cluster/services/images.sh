#!/usr/bin/env bash
# The service images of the offline profile (values/local.yaml): Phoenix, Ollama and PostgreSQL (Phoenix
# on PostgreSQL: phoenix.database), built by images/<name>/build.sh (cached by version and inputs under
# ${COGNIVERSE_CLUSTER_CACHE:-~/.cache/cogniverse-local-cluster}/images/services).
#   cluster/services/images.sh build     build them (cold: Ollama's cgo build is the long part); print the archives
#   cluster/services/images.sh import    build what is missing, then import them into the running local
#                                         node's containerd (as scripts/local_cluster.sh imports its images)
#   cluster/services/images.sh archives  print the archives already built (nothing is built)
# A third image, cogniverse/service-check:1.0 (GNU wget on the same Debian base), runs values/local.yaml's
# `helm test`: the node's toolbox is busybox-static, whose wget crashes (SIGSEGV) resolving any name
# (static glibc cannot load its NSS modules), so it cannot reach a Service by its DNS name.
# scripts/local_cluster.sh `up` imports the archives already built; scripts/test.sh builds them
# beside the fast tests and imports them before the smoke suite (docs/local-cluster.md, "Services").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${COGNIVERSE_CLUSTER_CACHE:-$HOME/.cache/cogniverse-local-cluster}
RUN=${COGNIVERSE_CLUSTER_RUN:-/run/cogniverse-local-cluster}
OUT=$CACHE/images/services
STATE=${COGNIVERSE_CLUSTER_STATE:-/var/lib/cogniverse-local-cluster}
SOCK=$RUN/containerd/containerd.sock
PROG=cluster/services/images.sh
# shellcheck source=cluster/lib.sh
source "$ROOT/cluster/lib.sh"
# shellcheck source=cluster/images/import.sh
source "$ROOT/cluster/images/import.sh"

die() { echo "cluster/services/images.sh: $*" >&2; exit 1; }
log() { echo "cluster/services/images.sh: $*" >&2; }

CHECK_IMAGE=cogniverse/service-check:1.0  # values/local.yaml tests.image (tests/cluster/test_service_images.py)

check_image() {  # the helm-test image: cached by the inputs' hash
  local key rootfs archive suite
  suite=$(pin SERVICES_DEBIAN_SUITE)
  key=$(cat "$ROOT/cluster/services/debian_rootfs.sh" "$ROOT/cluster/images/oci_image.py" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)
  rootfs="$CACHE/rootfs/service-check-$suite-$(sha256sum "$ROOT/cluster/services/debian_rootfs.sh" | cut -c1-12).tar"
  archive="$OUT/service-check-$key.tar"
  if [[ ! -f "$archive" ]]; then
    "$ROOT/cluster/services/debian_rootfs.sh" --out "$rootfs" --include ca-certificates,wget
    rm -f "$OUT"/service-check-*.tar
    python3 "$ROOT/cluster/images/oci_image.py" --name "$CHECK_IMAGE" --out "$archive" --layer-tar "$rootfs" \
      --user 65532:65532 --cmd '["wget", "--version"]' >&2
  fi
  echo "$archive"
}

build() {
  local name start archive
  mkdir -p "$OUT"
  start=$(date +%s)
  archive=$(check_image) || die "the $CHECK_IMAGE image failed"
  log "service-check: $(du -h "$archive" | cut -f1) $archive ($(($(date +%s) - start))s)"
  echo "$archive"
  for name in phoenix ollama postgresql; do
    start=$(date +%s)
    archive=$("$ROOT/images/$name/build.sh" --out "$OUT") || die "images/$name/build.sh failed"
    log "$name: $(du -h "$archive" | cut -f1) $archive ($(($(date +%s) - start))s)"
    echo "$archive"
  done
}

case "${1:-}" in
  build) build ;;
  archives) ls "$OUT"/phoenix-*.tar "$OUT"/ollama-*.tar "$OUT"/postgresql-*.tar "$OUT"/service-check-*.tar 2>/dev/null || true ;;
  import)
    [[ -S "$SOCK" ]] || die "no local node running ($SOCK missing): start it with scripts/local_cluster.sh up"
    mapfile -t archives < <(build)
    start=$(date +%s)
    out=$(import_archives "$SOCK" "$STATE" "${archives[@]}") || die "importing failed"
    while read -r line; do log "$line"; done <<<"$out"
    log "import took $(($(date +%s) - start))s" ;;
  -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" ;;
  *) die "unknown command '${1:-}': use build, import or archives (see --help)" ;;
esac
