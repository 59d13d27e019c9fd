# shellcheck shell=bash
# The pause image (every pod's sandbox; containerd's sandbox_image): this folder's main.go, built with
# go_build into $PAUSE_BIN (cached by source hash) and packed as $PAUSE_IMAGE by cluster/images/oci_image.py.

PAUSE_IMAGE="cogniverse/pause:3.10"
PAUSE_BIN=""

pause_bin_dir() { echo "$CACHE/bin/pause-$(source_key "$CLUSTER_DIR/pause")"; }

pause_build() {
  go_build "$CLUSTER_DIR/pause" "$PAUSE_BIN" "-s -w" . >"$CACHE/logs/build-pause.log" 2>&1 \
    || { cat "$CACHE/logs/build-pause.log" >&2; die "pause build failed"; }
}

pause_image() {  # append the pause image's archive to IMAGES (packed when missing)
  local py="$CLUSTER_DIR/images/oci_image.py" out
  out="$(image_archive "pause-$(sha256sum "$py" | cut -c1-8)-$(basename "$PAUSE_BIN")")"
  [[ -f "$out" ]] || python3 "$py" --name "$PAUSE_IMAGE" --out "$out" --entrypoint '["/pause"]' \
    "$PAUSE_BIN/pause=/pause:0755" >&2
  IMAGES+=("$out")
}
