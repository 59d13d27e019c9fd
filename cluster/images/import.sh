# shellcheck shell=bash
# Import OCI image archives into the local node's containerd, once per archive: sourced by
# cluster/node.sh (its images, on every `up` and Argo swap) and cluster/services/images.sh
# (the service images). Needs python3 and ctr.
#
#   import_archives SOCK STATE ARCHIVE...     (STATE: the node's state dir, cluster/node.sh)
#
# Each archive is re-packed on the fly as a docker-save stream so containerd normalises the plain
# names the way the CRI plugin looks them up (see cluster/images/oci_names.py). An archive already
# imported into this containerd (a marker named by its path, size and mtime, kept in containerd's root
# directory $STATE/containerd/root so that `down --purge` drops both) whose every image name is still
# listed is skipped. Before, a version swap re-imported all twelve archives (Phoenix and Ollama too) in 34 s.

_import_images_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

_normalised_ref() {  # _normalised_ref NAME: the reference containerd lists for a plain image name
  local name="$1" first="${1%%/*}"
  if [[ "$name" != */* ]]; then
    echo "docker.io/library/$name"
  elif [[ "$first" == *.* || "$first" == *:* || "$first" == localhost ]]; then
    echo "$name"
  else
    echo "docker.io/$name"
  fi
}

import_archives() {
  local sock="$1" markers="$2/containerd/root/cogniverse-imported" f key names name listed missing
  shift 2
  mkdir -p "$markers"
  listed="$(ctr --address "$sock" -n k8s.io images ls -q)" || return 1
  for f in "$@"; do
    key="$(printf '%s %s' "$(realpath "$f")" "$(stat -c '%s %Y' "$f")" | sha256sum | cut -c1-16)"
    names="$(python3 "$_import_images_dir/oci_names.py" --list "$f")" || return 1
    missing=0
    while read -r name; do
      grep -qxF "$(_normalised_ref "$name")" <<<"$listed" || missing=1
    done <<<"$names"
    if [[ -f "$markers/$key" && $missing == 0 ]]; then
      echo "already imported: $(tr '\n' ' ' <<<"$names")"
      continue
    fi
    python3 "$_import_images_dir/oci_names.py" "$f" | ctr --address "$sock" -n k8s.io images import - >/dev/null \
      || { echo "importing $f failed (python3 cluster/images/oci_names.py $f | ctr -n k8s.io images import -)" >&2
           return 1; }
    echo "$f" >"$markers/$key"
    echo "imported: $(tr '\n' ' ' <<<"$names")"
  done
}
