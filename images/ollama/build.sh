#!/usr/bin/env bash
# Build the Ollama image the chart pins (ollama/ollama:<OLLAMA_VERSION>) offline, without Docker:
#   1. the server from the Go module github.com/ollama/ollama (this folder's wrapper go.mod), with
#      cgo on this machine's compilers, CPU only (ggml's CPU backend is compiled in; no GPU runtime);
#   2. a minimal Debian root filesystem (cluster/services/debian_rootfs.sh) with the C++ runtime;
#   3. packed with cluster/images/oci_image.py: the server at /usr/bin/ollama (/bin/ollama through
#      the merged /usr), entrypoint ["/bin/ollama"], cmd ["serve"], OLLAMA_HOST=0.0.0.0:11434 and
#      port 11434, as upstream (which runs as root; the chart runs it as a non-root uid).
# Go module zips drop vendor/ directories, so llama.cpp's vendored headers come from Debian
# (nlohmann-json3-dev, libstb-dev) and miniaudio.h from the PyPI sdist of `miniaudio`.
# The archive path is the only stdout line; logs and timings go to stderr. Cached by version and
# the hash of every input: a second run only prints the path.
#
#   archive=$(images/ollama/build.sh [--out DIR] [--force])
#   python3 cluster/images/oci_names.py "$archive" | ctr -n k8s.io images import -
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAME=ollama
IMAGE=ollama/ollama
# shellcheck source=images/lib.sh
source "$HERE/../lib.sh"
image_flags "$@"

VERSION=$(pin OLLAMA_VERSION)
MINIAUDIO=$(pin OLLAMA_MINIAUDIO_PYPI_VERSION)
have=$(gomod_version "$HERE/go.mod" github.com/ollama/ollama)
[[ "$have" == "v$VERSION" ]] || die "images/ollama/go.mod requires github.com/ollama/ollama ${have:-nothing} but versions.env pins OLLAMA_VERSION=$VERSION: run (cd images/ollama && go get github.com/ollama/ollama@v$VERSION && go mod tidy)"
command -v go >/dev/null || die "go is required"
{ command -v gcc && command -v g++; } >/dev/null || die "gcc and g++ are required (apt-get install build-essential)"

bin_key=$( { cat "$HERE/go.mod" "$HERE/go.sum"; echo "$VERSION $MINIAUDIO"; go env GOVERSION; g++ --version | head -1; } | sha256sum | cut -c1-12)
image_cached "$VERSION" "$( { echo "$bin_key"; cat "$HERE/build.sh" "$ROOT/cluster/services/debian_rootfs.sh" "$ROOT/cluster/images/oci_image.py"; pin SERVICES_DEBIAN_SUITE; })"

# llama.cpp's vendored headers (see the top).
missing=()
[[ -f /usr/include/nlohmann/json_fwd.hpp ]] || missing+=(nlohmann-json3-dev)
[[ -f /usr/include/stb/stb_image.h ]] || missing+=(libstb-dev)
if ((${#missing[@]})); then
  [[ $EUID -eq 0 ]] || die "missing headers: run 'apt-get install -y ${missing[*]}' as root"
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
fi
inc="$CACHE/src/ollama-include-miniaudio-$MINIAUDIO"
if [[ ! -f "$inc/miniaudio/miniaudio.h" ]]; then
  dl="$CACHE/src/miniaudio-sdist"
  mkdir -p "$dl" "$inc.tmp/miniaudio"
  python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary=:all: -d "$dl" "miniaudio==$MINIAUDIO" >&2 \
    || die "pip download miniaudio==$MINIAUDIO failed (PyPI unreachable?)"
  tar -xzf "$dl/miniaudio-$MINIAUDIO.tar.gz" -O "miniaudio-$MINIAUDIO/miniaudio/miniaudio.h" >"$inc.tmp/miniaudio/miniaudio.h" \
    || die "the miniaudio $MINIAUDIO sdist has no miniaudio/miniaudio.h"
  rm -rf "$inc" && mv "$inc.tmp" "$inc"
fi

bin="$CACHE/bin/ollama-$VERSION-$bin_key"
if [[ ! -x "$bin/ollama" ]]; then
  log "building the server (cgo, CPU only; about 25 min cold on 2 shared cores); log $CACHE/logs/build-ollama.log"
  mkdir -p "$bin.tmp" "$CACHE/logs"
  t=$(date +%s)
  (cd "$HERE" && CGO_ENABLED=1 CGO_CPPFLAGS="-I$inc" GOFLAGS=-mod=mod nice -n 10 go build -v -trimpath -buildmode=pie \
    -ldflags "-w -s -X=github.com/ollama/ollama/version.Version=$VERSION -X=github.com/ollama/ollama/server.mode=release" \
    -o "$bin.tmp/ollama" github.com/ollama/ollama) >"$CACHE/logs/build-ollama.log" 2>&1 \
    || { tail -30 "$CACHE/logs/build-ollama.log" >&2; die "go build github.com/ollama/ollama failed"; }
  rm -rf "$bin" && mv "$bin.tmp" "$bin"
  log "server built in $(($(date +%s) - t))s"
fi

rootfs="$CACHE/rootfs/ollama-$(pin SERVICES_DEBIAN_SUITE)-$(sha256sum "$ROOT/cluster/services/debian_rootfs.sh" | cut -c1-12).tar"
"$ROOT/cluster/services/debian_rootfs.sh" --out "$rootfs" --include ca-certificates,libstdc++6,libgomp1

image_pack "$IMAGE:$VERSION" --layer-tar "$rootfs" \
  --entrypoint '["/bin/ollama"]' --cmd '["serve"]' --env OLLAMA_HOST=0.0.0.0:11434 --expose 11434/tcp \
  "$bin/ollama=/usr/bin/ollama:0755"
