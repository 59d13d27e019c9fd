# shellcheck shell=bash
# Moved to cluster/lib.sh (pin, pin_optional, gomod_version): kept one release for scripts that source this path.
# shellcheck source=cluster/lib.sh
source "$ROOT/cluster/lib.sh"
