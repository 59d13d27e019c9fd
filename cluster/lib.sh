# shellcheck shell=bash
# What every shell script of the project shares: the one reader of versions.env (pins) and, for the
# node's scripts (cluster/node.sh and the component files it sources), logs, timings, daemons, waits,
# templates and Go builds. Sourcing it only defines functions (once: a second source returns at once);
# a log or die the script defined before (or defines after) wins.
#
#   pin KEY           KEY's value; when versions.env has none, "PROG: versions.env has no KEY" on
#                     stderr and exit 1 (PROG: the caller's name, the script's file name by default)
#   pin_optional KEY  KEY's value, or nothing: for pins a user may also give through the environment
#   gomod_version GO_MOD MODULE   the version of MODULE that the go.mod file GO_MOD requires
#
# The node's helpers read ROOT, CACHE, STATE, RUN, TIMEOUT and KUBECTL (set by cluster/node.sh).

[[ -z "${_COGNIVERSE_LIB:-}" ]] || return 0
_COGNIVERSE_LIB=1

# ---------------------------------------------------------------- pins
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

# ---------------------------------------------------------------- logs and timings
declare -F log >/dev/null || log() { printf '[local-cluster %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
declare -F die >/dev/null || die() { log "ERROR: $*"; exit 1; }

declare -a TIMINGS=()
timed() {  # timed LABEL CMD...: run CMD, record its duration
  local label="$1" start end
  shift
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  TIMINGS+=("$label $((end - start))s")
  log "$label took $((end - start))s"
  echo "$(date -u +%FT%TZ) $label $((end - start))s" >>"$CACHE/timings.log"
}

print_timings() {
  local t
  log "timings:"
  for t in "${TIMINGS[@]}"; do printf '  %s\n' "$t" >&2; done
}

# ---------------------------------------------------------------- daemons
pidfile() { echo "$STATE/pids/$1.pid"; }

running() {  # running NAME: the PID file names a live process started from our binary
  local pf pid
  pf="$(pidfile "$1")"
  [[ -f "$pf" ]] || return 1
  pid="$(cat "$pf")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  grep -qa -- "$STATE\|$CACHE\|$RUN" "/proc/$pid/cmdline" 2>/dev/null
}

same_command() {  # same_command NAME CMD...: the running NAME was started with exactly CMD (argv)
  # shellcheck disable=SC2155  # pidfile only prints
  local pf="$(pidfile "$1")" want have
  shift
  want="$(printf '%s\n' "$@")"
  have="$(tr '\0' '\n' <"/proc/$(cat "$pf")/cmdline" 2>/dev/null)" || return 1
  [[ "$have" == "$want" ]]
}

start_daemon() {  # start_daemon NAME CMD...: background process, output to logs/NAME.log
  local daemon="$1"
  shift
  if running "$daemon"; then
    if same_command "$daemon" "$@"; then
      log "$daemon already running (pid $(cat "$(pidfile "$daemon")"))"
      return 0
    fi
    # A changed flag (a new release of this tree, etcd's TLS) takes effect: `up` brings the node to this tree.
    log "$daemon runs with other flags than this tree gives it: restarting it"
    stop_daemon "$daemon" 5
  fi
  mkdir -p "$STATE/pids" "$STATE/logs"
  log "starting $daemon"
  # The daemon inherits no descriptor beyond 0-2: not our up/down lock (fd 9), nor a lock the caller
  # holds (`flock /run/lock/cogniverse-smoke.lock local_cluster.sh up`, test.sh's fd 9), or it would
  # hold that lock for as long as it runs.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if [[ $fd -gt 2 && -e /proc/self/fd/$fd ]]; then eval "exec $fd>&-"; fi
    done
    exec setsid "$@" >>"$STATE/logs/$daemon.log" 2>&1 </dev/null
  ) &
  echo $! >"$(pidfile "$daemon")"
}

stop_daemon() {  # stop_daemon NAME [GRACE]: SIGTERM, then SIGKILL after GRACE (20) s; only the PID we recorded
  local daemon="$1" grace="${2:-20}" pf pid i
  pf="$(pidfile "$daemon")"
  [[ -f "$pf" ]] || return 0
  pid="$(cat "$pf")"
  if running "$daemon"; then
    log "stopping $daemon (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 2; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$daemon did not stop within ${grace}s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      # Gone before we return: a successor started at once found the old API server's port still bound
      # ("bind: address already in use", seen when `up` restarted it with new flags under load).
      for ((i = 0; i < 20; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
    fi
  fi
  rm -f "$pf"
}

daemon_status() {  # daemon_status NAME: one status line; 1 when it is not running
  if running "$1"; then
    printf '%-24s %s\n' "$1" "running (pid $(cat "$(pidfile "$1")"))"
  else
    printf '%-24s %s\n' "$1" stopped
    return 1
  fi
}

wait_for() {  # wait_for DESCRIPTION CMD...: poll until CMD succeeds or TIMEOUT seconds (wall clock) have passed
  local what="$1" deadline=$((SECONDS + TIMEOUT))
  shift
  # A deadline, not a count of tries: a try that itself waits (kubectl wait --timeout=10s) must not stretch it.
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  die "timed out after ${TIMEOUT}s waiting for $what (logs: $STATE/logs/)"
}

kc() { "$KUBECTL" --kubeconfig "$STATE/admin.kubeconfig" "$@"; }

# ---------------------------------------------------------------- templates (the one manifest style)
render() {  # render FILE: FILE with every @VAR@ replaced by the shell variable VAR (an unset one: an error)
  local file="$1" var text
  [[ -f "$file" ]] || die "no template $file"
  text="$(cat "$file")"
  for var in $(grep -o '@[A-Z_][A-Z0-9_]*@' "$file" | sort -u | tr -d @); do
    [[ -n "${!var:-}" ]] || die "${file#"$ROOT/"} uses @$var@ but \$$var is not set"
    # Quoted: bash 5.2 reads an unquoted & in the replacement as the match (a state dir "a&b" became "a@STATE@b").
    text="${text//@$var@/"${!var}"}"
  done
  printf '%s\n' "$text"
}

render_to() {  # render_to FILE TEMPLATE: render TEMPLATE into FILE, kept (and its mtime) when unchanged
  local text
  text="$(render "$2")" || exit 1
  printf '%s\n' "$text" | write_if_changed "$1"
}

write_if_changed() {  # write_if_changed FILE < content: keep the file (and its mtime) when unchanged;
  # kube-proxy exits when its config file is rewritten, even with the same content.
  local tmp="$1.new"
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

# ---------------------------------------------------------------- Go builds
source_key() {  # source_key DIR: hash of the wrapper module's inputs (go.mod, go.sum, *.go) and the Go version
  { (cd "$1" && find . -name '*.go' -o -name '*.go.in' -o -name go.mod -o -name go.sum | LC_ALL=C sort | xargs sha256sum)
    go env GOVERSION; } | sha256sum | cut -c1-12
}

go_build() {  # go_build MODULE_DIR OUT_DIR LDFLAGS PACKAGES...
  local dir="$1" out="$2" ldflags="$3"
  shift 3
  mkdir -p "$out.tmp"
  # -v names each package as it compiles: the progress lines count them (see build_binaries).
  (cd "$dir" && CGO_ENABLED=0 nice -n 10 go build -v -trimpath -ldflags "$ldflags" -o "$out.tmp/" "$@")
  rm -rf "$out" && mv "$out.tmp" "$out"
}

image_archive() { echo "$CACHE/images/$1.tar"; }
