# shellcheck shell=bash
# The one reader of versions.env, the file that pins every version: every shell script that needs a
# pin sources this file (with ROOT set to the checkout) instead of parsing versions.env itself.
#
#   pin KEY           KEY's value; when versions.env has none, "PROG: versions.env has no KEY" on
#                     stderr and exit 1 (PROG: the caller's name, the script's file name by default)
#   pin_optional KEY  KEY's value, or nothing: for pins a user may also give through the environment
#   gomod_version GO_MOD MODULE   the version of MODULE that the go.mod file GO_MOD requires

pin_optional() {
  awk -F= -v k="$1" '$1 == k {print $2; exit}' "$ROOT/versions.env" 2>/dev/null
}

pin() {
  local v
  v="$(pin_optional "$1")"
  if [[ -z "$v" ]]; then
    printf '%s: versions.env has no %s\n' "${PROG:-$(basename "$0")}" "$1" >&2
    exit 1
  fi
  printf '%s\n' "$v"
}

gomod_version() {
  awk -v m="$2" '$1 == "require" && $2 == m {print $3; exit} $1 == m && $2 ~ /^v/ {print $2; exit}' "$1"
}
