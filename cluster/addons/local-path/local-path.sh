# shellcheck shell=bash
# The local-path provisioner and the default StorageClass `local-path` (volumes under $STORAGE_DIR,
# i.e. the cluster STATE dir: `down` keeps them, `down --purge` removes them with the rest).
# The module's main package is its root; the wrapper's go.mod names it with a `tool` directive.
#            name       versions.env key               module / package (both)
addon_define local-path LOCAL_PATH_PROVISIONER_VERSION github.com/rancher/local-path-provisioner \
  github.com/rancher/local-path-provisioner local-path-provisioner cogniverse/local-path-provisioner ""
#                                           binary                 image                             uid

local_path_ldflags() { echo "-X main.VERSION=$(addon_version local-path)"; }

local_path_wait() {
  addon_rollout local-path-provisioner
}
