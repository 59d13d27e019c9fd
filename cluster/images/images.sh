# shellcheck shell=bash
# Every image archive the node imports into containerd on `up` (IMAGES), built when missing: pause
# (cluster/pause), Argo's (cluster/argo), the add-ons' (cluster/addons), the toolbox below, the smoke
# runner's (images/smoke-runner/build.sh) and the service images already built (cluster/services).

TOOLBOX_IMAGE="cogniverse/toolbox:1.0"

toolbox_image() {  # a tiny shell image for tests and utility steps: busybox-static with its applets linked
  local py="$CLUSTER_DIR/images/oci_image.py" out links=() applet
  out="$(image_archive "toolbox-$(sha256sum "$py" | cut -c1-8)-$(sha256sum /bin/busybox | cut -c1-8)")"
  if [[ ! -f "$out" ]]; then
    for applet in sh ash cat echo ls sleep test true false env printf mkdir rm cp mv grep sed awk wc \
      head tail date id hostname wget nc nslookup ps kill touch tr cut sort uniq tee find xargs basename dirname; do
      links+=(--symlink "/bin/$applet=busybox")
    done
    python3 "$py" --name "$TOOLBOX_IMAGE" --out "$out" --cmd '["sh"]' --dir /tmp:1777 "${links[@]}" \
      "/bin/busybox=/bin/busybox:0755" >&2
  fi
  IMAGES+=("$out")
}

smoke_runner_images() {  # images/smoke-runner/build.sh (owned by the smoke-runner work): every archive it writes
  local smoke="$ROOT/images/smoke-runner/build.sh" dir="$CACHE/images/smoke-runner" f
  if [[ -x "$smoke" ]]; then
    log "building the smoke-runner image(s) with images/smoke-runner/build.sh"
    rm -rf "$dir" && mkdir -p "$dir"
    "$smoke" --out "$dir" >"$CACHE/logs/build-smoke-runner.log" 2>&1 \
      || { tail -30 "$CACHE/logs/build-smoke-runner.log" >&2; die "images/smoke-runner/build.sh --out $dir failed"; }
    for f in "$dir"/*.tar "$dir"/*.oci "$dir"/*.tar.gz; do
      if [[ -f "$f" ]]; then IMAGES+=("$f"); fi
    done
  else
    log "images/smoke-runner/build.sh not found: no smoke-runner image imported"
  fi
}

build_images() {
  mkdir -p "$CACHE/images"
  IMAGES=()
  pause_image
  argo_images  # cluster/argo/argo.sh: argoexec, workflow-controller, argocli
  addons_images  # cluster/addons: coredns, local-path-provisioner, metrics-server
  toolbox_image
  smoke_runner_images
  # The service images of values/local.yaml (Phoenix, Ollama): imported when already built, never
  # built here (a cold Ollama build is long); cluster/services/images.sh build|import builds them.
  if [[ -x "$ROOT/cluster/services/images.sh" ]]; then
    mapfile -t -O "${#IMAGES[@]}" IMAGES < <("$ROOT/cluster/services/images.sh" archives)
  fi
}

import_images() {  # each archive once per containerd root (cluster/images/import.sh)
  local out
  out="$(import_archives "$CONTAINERD_SOCK" "$STATE" "${IMAGES[@]}")" || die "importing the node's images failed"
  log "${#IMAGES[@]} image archive(s); $(grep -c '^already' <<<"$out" || true) already in containerd; $(grep '^imported' <<<"$out" | tr '\n' ' ')"
}
