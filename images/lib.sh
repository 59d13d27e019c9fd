# shellcheck shell=bash
# What every service image build (images/NAME/build.sh) shares: paths, log, flags, the cache check
# and the packing. A build script sets HERE (its folder), NAME (the archive's prefix) and IMAGE (the
# image's name), sources this file, then calls:
#   image_flags "$@"              --out DIR, --force, --help; any other flag goes to the script's
#                                 image_flag function (return 1: unknown) when it defines one
#   image_cached VERSION KEY      sets archive=$OUT/NAME-VERSION-HASH.tar (HASH: KEY and this file);
#                                 when it exists and --force was not given, prints it and exits
#   image_pack REF OCI_ARGS...    packs the archive with cluster/images/oci_image.py (older archives of
#                                 NAME are removed), logs the times and prints the archive's path
# Logs and timings go to stderr; the archive's path is the only stdout line.
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${COGNIVERSE_CLUSTER_CACHE:-$HOME/.cache/cogniverse-local-cluster}
OUT=$CACHE/images/services
PROG=images/$NAME/build.sh
force=0
start=$(date +%s)
# shellcheck source=cluster/lib.sh
source "$ROOT/cluster/lib.sh"

die() { echo "$PROG: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

image_flags() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --out) [[ $# -ge 2 && -n "$2" ]] || die "--out needs a directory"; OUT=$2; shift ;;
      --force) force=1 ;;
      -h|--help) sed -n '2,/^set -euo/p' "$HERE/build.sh" | sed '$d'; exit 0 ;;
      *) { declare -F image_flag >/dev/null && image_flag "$1"; } || die "unknown flag '$1' (see --help)" ;;
    esac
    shift
  done
}

image_cached() {
  local hash
  hash=$( { echo "$2"; cat "$ROOT/images/lib.sh"; } | sha256sum | cut -c1-12)
  mkdir -p "$OUT"
  OUT=$(cd "$OUT" && pwd)
  archive="$OUT/$NAME-$1-$hash.tar"
  if [[ $force == 0 && -f "$archive" ]]; then
    log "$IMAGE:${TAG:-$1} is up to date"
    echo "$archive"
    exit 0
  fi
}

image_pack() {
  local ref=$1 t
  shift
  t=$(date +%s)
  rm -f "$OUT/$NAME"-*.tar
  python3 "$ROOT/cluster/images/oci_image.py" --name "$ref" --out "$archive" "$@" >&2
  log "packed in $(($(date +%s) - t))s; $ref $(du -h "$archive" | cut -f1) in $(($(date +%s) - start))s total"
  echo "$archive"
}
