#!/usr/bin/env bash
# Build the Phoenix image the chart pins (arizephoenix/phoenix:version-<PHOENIX_VERSION>-nonroot)
# offline, without Docker, laid out like upstream's non-root image:
#   1. a minimal Debian root filesystem with python3 (cluster/services/debian_rootfs.sh);
#   2. arize-phoenix[pg] and its dependencies from PyPI, pinned by requirements.lock, installed as
#      wheels into /phoenix/env (upstream: `pip install --target ./env`), byte-compiled with
#      unchecked-hash .pyc files because the chart runs it on a read-only root filesystem;
#   3. packed with cluster/images/oci_image.py: user 65532:65532 (nonroot), workdir /phoenix,
#      PYTHONPATH=/phoenix/env, entrypoint ["/usr/bin/python3"], cmd ["-m", "phoenix.server.main",
#      "serve"], ports 6006 (UI/HTTP API), 4317 (OTLP gRPC), 9090 (Prometheus).
# Not installed: upstream's `container` extra (LLM provider SDKs for the playground).
# The archive path is the only stdout line; logs and timings go to stderr. Cached by version and
# the hash of every input: a second run only prints the path.
#
#   archive=$(images/phoenix/build.sh [--out DIR] [--force])
#   images/phoenix/build.sh --relock      re-resolve requirements.lock for PHOENIX_VERSION
#   python3 cluster/images/oci_names.py "$archive" | ctr -n k8s.io images import -
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAME=phoenix
IMAGE=arizephoenix/phoenix
PYVER=3.11  # python3 of SERVICES_DEBIAN_SUITE (bookworm)
LOCK="$HERE/requirements.lock"
# shellcheck source=images/lib.sh
source "$HERE/../lib.sh"
relock=0
image_flag() { [[ $1 == --relock ]] && relock=1; }
image_flags "$@"

VERSION=$(pin PHOENIX_VERSION)
TAG="version-$VERSION-nonroot"
# Wheels for the image's python, whatever python runs pip here.
WHEELS=(--only-binary=:all: --python-version "$PYVER" --implementation cp --platform manylinux2014_x86_64
        --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_34_x86_64
        --platform linux_x86_64)

if ((relock)); then
  report=$(mktemp)
  trap 'rm -f "$report"' EXIT
  python3 -m pip install -q --disable-pip-version-check --dry-run --ignore-installed --report "$report" \
    "${WHEELS[@]}" --target "$(mktemp -d)" "arize-phoenix[pg]==$VERSION" >&2 || die "resolving arize-phoenix[pg]==$VERSION failed"
  { sed -n '1,3p' "$LOCK" | sed "s/arize-phoenix\[pg\]==[^ ]*/arize-phoenix[pg]==$VERSION/"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
for n, v in sorted((i["metadata"]["name"].lower(), i["metadata"]["version"]) for i in r["install"]): print(f"{n}=={v}")' "$report"
  } >"$LOCK.tmp" && mv "$LOCK.tmp" "$LOCK"
  log "wrote $LOCK ($(grep -vc '^#' "$LOCK") packages)"
  exit 0
fi
grep -qx "arize-phoenix==$VERSION" "$LOCK" || die "requirements.lock does not pin arize-phoenix==$VERSION (versions.env PHOENIX_VERSION): run images/phoenix/build.sh --relock"

image_cached "$VERSION" "$({ cat "$LOCK" "$HERE/build.sh" "$ROOT/cluster/services/debian_rootfs.sh" "$ROOT/cluster/images/oci_image.py"; pin SERVICES_DEBIAN_SUITE; })"

rootfs="$CACHE/rootfs/phoenix-$(pin SERVICES_DEBIAN_SUITE)-$(sha256sum "$ROOT/cluster/services/debian_rootfs.sh" | cut -c1-12).tar"
"$ROOT/cluster/services/debian_rootfs.sh" --out "$rootfs" --include ca-certificates,python3,libstdc++6,tzdata

# The /phoenix/env layer, cached by the lock.
envtar="$CACHE/rootfs/phoenix-env-$VERSION-$( { cat "$LOCK"; sed -n '/^# env layer/,/^# end env layer/p' "$HERE/build.sh"; } | sha256sum | cut -c1-12).tar"
# env layer
if [[ ! -f "$envtar" ]]; then
  t=$(date +%s)
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  log "installing $(grep -vc '^#' "$LOCK") wheels into /phoenix/env"
  nice -n 10 python3 -m pip install -q --disable-pip-version-check --no-compile --no-deps "${WHEELS[@]}" \
    --target "$stage/phoenix/env" -r "$LOCK" >&2 || die "pip install -r images/phoenix/requirements.lock failed (PyPI unreachable?)"
  rm -rf "$stage/phoenix/env/bin"  # console scripts with this machine's interpreter path
  # Read-only root filesystem: Python cannot write .pyc files at run time; unchecked-hash .pyc
  # stay valid whatever the layer's file times are.
  nice -n 10 python3 -m compileall -q -j 0 --invalidation-mode unchecked-hash "$stage/phoenix/env" >/dev/null \
    || die "byte-compiling /phoenix/env failed"
  chmod -R a+rX,go-w "$stage/phoenix"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$stage" -cf "$envtar.tmp" phoenix
  mv "$envtar.tmp" "$envtar"
  rm -rf "$stage"
  log "/phoenix/env layer in $(($(date +%s) - t))s: $(du -h "$envtar" | cut -f1)"
fi
# end env layer

image_pack "$IMAGE:$TAG" \
  --layer-tar "$rootfs" --layer-tar "$envtar" --user 65532:65532 --workdir /phoenix \
  --env PYTHONPATH=/phoenix/env --env PYTHONUNBUFFERED=1 \
  --entrypoint '["/usr/bin/python3"]' --cmd '["-m", "phoenix.server.main", "serve"]' \
  --expose 6006/tcp --expose 4317/tcp --expose 9090/tcp --dir /phoenix:0755
