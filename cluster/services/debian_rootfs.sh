#!/usr/bin/env bash
# Write a minimal Debian root filesystem as one uncompressed layer tar, for the service images
# (images/phoenix, images/ollama), with mmdebstrap from the Debian archive apt reaches.
#   --variant=essential: the Essential:yes packages (libc, coreutils, dash...) plus --include,
#   no apt, no docs/man pages/locales, no /dev (the runtime provides it), and the distroless
#   `nonroot` user (uid/gid 65532, home /home/nonroot) that the upstream non-root images run as.
# The suite is SERVICES_DEBIAN_SUITE in versions.env. Cached: an existing OUT is kept.
#
#   cluster/services/debian_rootfs.sh --out FILE.tar [--include pkg1,pkg2]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROG=debian_rootfs.sh
out="" include="ca-certificates"
# shellcheck source=cluster/lib.sh
source "$ROOT/cluster/lib.sh"

die() { echo "debian_rootfs.sh: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) [[ $# -ge 2 && -n "$2" ]] || die "--out needs a file"; out=$2; shift ;;
    --include) [[ $# -ge 2 && -n "$2" ]] || die "--include needs a comma-separated package list"; include=$2; shift ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown flag '$1' (see --help)" ;;
  esac
  shift
done
[[ -n "$out" ]] || die "--out FILE.tar is required"
[[ "$include" =~ ^[a-z0-9.+,-]+$ ]] || die "--include '$include' is not a comma-separated list of Debian package names"
if [[ -f "$out" ]]; then echo "debian_rootfs.sh: $out is cached" >&2; exit 0; fi

suite=$(pin SERVICES_DEBIAN_SUITE)
if ! command -v mmdebstrap >/dev/null; then
  [[ $EUID -eq 0 ]] || die "mmdebstrap is missing: run 'apt-get install -y mmdebstrap' as root"
  echo "debian_rootfs.sh: installing mmdebstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap >&2 || die "apt-get install mmdebstrap failed"
fi

mkdir -p "$(dirname "$out")"
# The hooks run in mmdebstrap's shell, where $1 is the new root: single quotes on purpose.
# shellcheck disable=SC2016
hooks=(
  --customize-hook='echo "nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin" >>"$1/etc/passwd"'
  --customize-hook='echo "nonroot:x:65532:" >>"$1/etc/group"'
  --customize-hook='mkdir -p "$1/home/nonroot" && chown 65532:65532 "$1/home/nonroot" && chmod 0755 "$1/home/nonroot"'
  --customize-hook='rm -rf "$1/var/cache/debconf/"*-old "$1/var/lib/dpkg/"*-old "$1/var/log/"*'
)
tmp="${out%.tar}.tmp$$.tar"
trap 'rm -f "$tmp"' EXIT
start=$(date +%s)
nice -n 10 mmdebstrap --quiet --variant=essential --include="$include" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' "${hooks[@]}" \
  --skip=output/dev --skip=output/mknod \
  "$suite" "$tmp" >&2
mv "$tmp" "$out"
echo "debian_rootfs.sh: $suite root filesystem ($include) in $(($(date +%s) - start))s: $out ($(du -h "$out" | cut -f1))" >&2
