#!/usr/bin/env bash
# Build the smoke-runner image without Docker:
#   1. a static Go binary (CGO_ENABLED=0, stdlib only),
#   2. the image cogniverse/smoke-runner:<version> (just /usr/local/bin/cogniverse-workflow and /tmp)
#      packed by pack_oci.py twice from the same blobs:
#        DIR/smoke-runner-<version>-<arch>.oci.tar      OCI image layout (index.json): printed on stdout
#        DIR/import/smoke-runner-<version>-<arch>.tar   manifest.json archive for `ctr images import`,
#                                                       which names it as the kubelet looks it up
# The OCI archive path is the only stdout line; logs go to stderr.
# Cached: a second run with unchanged sources, version and Go toolchain only prints the path.
#
#   archive=$(images/smoke-runner/build.sh --out build/smoke-runner)
#   k3s ctr images import build/smoke-runner/import/smoke-runner-0.1.0-amd64.tar        # K3s
#   ctr -n k8s.io images import build/smoke-runner/import/smoke-runner-0.1.0-amd64.tar  # containerd
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VERSION=${SMOKE_RUNNER_VERSION:-0.1.0}
IMAGE=${SMOKE_RUNNER_IMAGE:-cogniverse/smoke-runner}
OUT=${OUT:-$ROOT/build/smoke-runner}
GOARCH=${GOARCH:-$(go env GOARCH 2>/dev/null || echo amd64)}
PYTHON=${PYTHON:-python3}
force=0

usage() {
  cat <<USAGE
Usage: images/smoke-runner/build.sh [--out DIR] [--version V] [--force] [-h|--help]
  Builds the static smoke runner and packs $IMAGE:<version> (OCI layout + import archive) in DIR
  (default build/smoke-runner). Prints the archive path. Env: SMOKE_RUNNER_VERSION, GOARCH.
USAGE
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) [[ $# -ge 2 && -n "$2" ]] || { echo "build.sh: --out needs a directory" >&2; exit 2; }; OUT=$2; shift ;;
    --version) [[ $# -ge 2 && -n "$2" ]] || { echo "build.sh: --version needs a value" >&2; exit 2; }; VERSION=$2; shift ;;
    --force) force=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown flag '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

command -v go >/dev/null || { echo "build.sh: go is required (apt-get install golang-go, or a Go toolchain >= 1.22)" >&2; exit 1; }
command -v "$PYTHON" >/dev/null || { echo "build.sh: python3 is required to pack the image" >&2; exit 1; }

mkdir -p "$OUT/import"
OUT=$(cd "$OUT" && pwd)
archive="$OUT/smoke-runner-$VERSION-$GOARCH.oci.tar"
import_archive="$OUT/import/smoke-runner-$VERSION-$GOARCH.tar"
stamp_value=$( { cat "$HERE/go.mod" "$HERE"/*.go "$HERE/pack_oci.py" "$ROOT/cluster/images/oci_image.py" "$HERE/build.sh"; \
                 echo "$VERSION $IMAGE $GOARCH"; go version; } | sha256sum | cut -d' ' -f1)
stamp="$archive.stamp"

if [[ $force == 0 && -f "$archive" && -f "$import_archive" && -f "$stamp" && "$(cat "$stamp")" == "$stamp_value" ]]; then
  echo "build.sh: $IMAGE:$VERSION is up to date (containerd import archive: $import_archive)" >&2
  echo "$archive"
  exit 0
fi

echo "build.sh: building the static binary ($GOARCH)" >&2
(cd "$HERE" && CGO_ENABLED=0 GOOS=linux GOARCH=$GOARCH GOFLAGS=-mod=mod \
  go build -trimpath -ldflags "-s -w -buildid= -X main.version=$VERSION" \
  -o "$OUT/cogniverse-workflow" .)

echo "build.sh: packing $IMAGE:$VERSION" >&2
"$PYTHON" "$HERE/pack_oci.py" --binary "$OUT/cogniverse-workflow" --image "$IMAGE" --tag "$VERSION" \
  --arch "$GOARCH" --output "$archive" --import-output "$import_archive" >&2
echo "$stamp_value" >"$stamp"
echo "build.sh: load into containerd with: ctr -n k8s.io images import $import_archive   (K3s: k3s ctr images import ...)" >&2
echo "$archive"
