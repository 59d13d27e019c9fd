# shellcheck shell=bash
# Argo's web UI (ui/dist/app, embedded into the argo CLI and `argo server` by ui/embed.go), built
# the way Argo's release build does it (Dockerfile: `yarn --cwd ui install`, then
# `NODE_OPTIONS=--max-old-space-size=2048 yarn --cwd ui build`) from the ui/ sources of the Argo
# module zip, with every npm package exactly as ui/yarn.lock locks it (`--frozen-lockfile`).
# Sourced by cluster/argo/argo.sh (needs ROOT, CACHE, ARGO_VERSION, pin, log, die).
#
# The one dependency no package registry serves: ui/yarn.lock pins argo-ui to a git commit
# (`resolved "git+https://github.com/argoproj/argo-ui.git#<commit>"`). Where that git URL answers,
# yarn fetches it from there. Where it does not (offline machines), the commit comes from a mirror
# folder: $COGNIVERSE_VENDOR_DIR (default: shared/vendor beside the checkout, $ROOT/../shared/vendor,
# or, in a git worktree without one, beside the main checkout)
# must hold `<name>-<commit>.tar.gz`, a `git archive` of that commit (git get-tar-commit-id must
# name it). It is handed to yarn through yarn's offline mirror, the place yarn looks for a git
# dependency before cloning it, so the lockfile stays byte for byte Argo's.
#
# Cached by Argo version and a hash of its ui/ and api/ sources (yarn.lock names the git commits) and
# the yarn and Node versions: $CACHE/argo-ui/<version>-<key>/app. A warm run copies that folder and
# builds nothing, wherever the mirror folder is (or whether there is one).
# The key leaves this script out (a cold build costs 15-20 min on 2 busy cores): after changing how
# the UI is built, remove $CACHE/argo-ui. The yarn package cache ($CACHE/yarn-cache) is shared.

ARGO_UI_GIT_TIMEOUT="${ARGO_UI_GIT_TIMEOUT:-20}"   # seconds `git ls-remote` may take to say a git host answers
ARGO_UI_HEAP_MB="${ARGO_UI_HEAP_MB:-2048}"         # webpack's heap (Argo's release build uses 2048)

argo_ui_vendor_dir() {  # $COGNIVERSE_VENDOR_DIR, else shared/vendor beside the checkout (of a git worktree: beside the main one)
  local common
  if [[ -n "${COGNIVERSE_VENDOR_DIR:-}" ]]; then echo "$COGNIVERSE_VENDOR_DIR"; return; fi
  if [[ ! -d "$ROOT/../shared/vendor" ]] \
    && common="$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)" \
    && [[ -d "$(dirname "$common")/../shared/vendor" ]]; then
    (cd "$(dirname "$common")/../shared/vendor" && pwd)
    return
  fi
  echo "$ROOT/../shared/vendor"
}

argo_ui_git_deps() {  # argo_ui_git_deps UI_DIR: "URL COMMIT" of each yarn.lock entry resolved from git
  [[ -f "$1/yarn.lock" ]] || die "$1/yarn.lock not found: the Argo $ARGO_VERSION module has no UI lockfile"
  { grep -o 'resolved "git+[^"]*' "$1/yarn.lock" || true; } | sed 's/^resolved "git+//; s/#/ /' | sort -u
}

argo_ui_archive() {  # argo_ui_archive URL COMMIT: the mirror folder's archive of that commit
  local name
  name="$(basename "${1%.git}")"
  echo "$(argo_ui_vendor_dir)/$name-$2.tar.gz"
}

argo_ui_key() {  # argo_ui_key SRC: hash of everything the UI built from Argo's sources SRC depends on
  local src="$1"
  # ui/ and api/ (webpack copies api/openapi-spec/swagger.json and api/jsonschema/schema.json into the UI)
  { (cd "$src" && find ui api -path ui/node_modules -prune -o -path ui/dist -prune -o -type f -print | LC_ALL=C sort \
      | xargs -d '\n' sha256sum)
    echo "yarn $(pin ARGO_UI_YARN_VERSION) node $(node --version 2>/dev/null || echo none)"
  } | sha256sum | cut -c1-12
}

argo_ui_yarn() {  # the pinned yarn (npm package yarn@ARGO_UI_YARN_VERSION), unpacked once into the cache
  local v dir tmp tgz
  v="$(pin ARGO_UI_YARN_VERSION)"
  dir="$CACHE/tools/yarn-$v"
  if [[ ! -f "$dir/bin/yarn.js" ]]; then
    command -v npm >/dev/null || die "npm is required to fetch yarn $v for the Argo UI (apt-get install nodejs npm)"
    tmp="$(mktemp -d)"
    tgz="$(cd "$tmp" && npm pack --silent "yarn@$v" | tail -n 1)" || die "npm pack yarn@$v failed"
    tar -xzf "$tmp/$tgz" -C "$tmp" && rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && mv "$tmp/package" "$dir"
    rm -rf "$tmp"
  fi
  echo "$dir/bin/yarn.js"
}

argo_ui_git_reachable() {  # argo_ui_git_reachable URL: the git host answers (then yarn clones from it)
  [[ "${ARGO_UI_GIT:-try}" != never ]] || return 1
  command -v git >/dev/null || return 1
  GIT_TERMINAL_PROMPT=0 timeout "$ARGO_UI_GIT_TIMEOUT" git ls-remote --heads "$1" >/dev/null 2>&1
}

argo_ui_archive_pin() {  # argo_ui_archive_pin COMMIT: the pinned sha256 of that commit's archive, or nothing
  local pair pins
  [[ "$1" =~ ^[0-9a-f]{40}$ ]] || return 0  # a lockfile entry without a full commit has no pin
  pins="${ARGO_UI_ARCHIVE_SHA256S:-$(pin ARGO_UI_ARCHIVE_SHA256S)}"
  for pair in ${pins//,/ }; do
    if [[ "${pair%%:*}" == "$1" ]]; then echo "${pair#*:}"; return 0; fi
  done
  return 0
}

argo_ui_mirror() {  # argo_ui_mirror UI_DIR MIRROR: put each unreachable git dependency into yarn's offline mirror
  local ui="$1" mirror="$2" url commit archive found want have tmp top
  mkdir -p "$mirror"
  while read -r url commit; do
    [[ -n "$url" ]] || continue
    if argo_ui_git_reachable "$url"; then
      log "Argo $ARGO_VERSION UI: $url answers; yarn fetches commit $commit from git"
      continue
    fi
    archive="$(argo_ui_archive "$url" "$commit")"
    [[ -f "$archive" ]] || die "Argo $ARGO_VERSION ui/yarn.lock pins $url#$commit; git cannot reach it and the mirror folder has no $archive (a \`git archive\` of that commit; set COGNIVERSE_VENDOR_DIR to the folder that holds it)"
    # git get-tar-commit-id reads the first header only: gzip's SIGPIPE after it is no failure.
    found="$({ gzip -dc "$archive" 2>/dev/null || true; } | { git get-tar-commit-id 2>/dev/null || true; })"
    [[ "$found" == "$commit" ]] || die "$archive is not a \`git archive\` of commit $commit (git get-tar-commit-id says '${found:-nothing}'): replace it with the archive of the commit ui/yarn.lock pins"
    want="$(argo_ui_archive_pin "$commit")"
    [[ -n "$want" ]] || die "no sha256 is pinned for the archive of $url#$commit (ARGO_UI_ARCHIVE_SHA256S in versions.env, COMMIT:SHA256 pairs): an unchecked archive is never built"
    have="$(sha256sum "$archive" | cut -d' ' -f1)"
    [[ "$have" == "$want" ]] || die "$archive has sha256 $have, not the pinned $want (ARGO_UI_ARCHIVE_SHA256S in versions.env): refused, nothing was mirrored"
    tmp="$(mktemp -d)"
    tar -xzf "$archive" -C "$tmp" || { rm -rf "$tmp"; die "$archive: not a readable tar.gz"; }
    top="$(find "$tmp" -mindepth 1 -maxdepth 1)"
    [[ -d "$top" && "$(printf '%s\n' "$top" | wc -l)" == 1 && -f "$top/package.json" ]] \
      || { rm -rf "$tmp"; die "$archive: expected one top folder holding package.json"; }
    # yarn reads a git dependency from its offline mirror as `<repository>.git-<commit>`: a plain tar
    # without a top folder, as `git archive` writes it.
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$top" -cf "$mirror/$(basename "$url")-$commit" .
    rm -rf "$tmp"
    log "Argo $ARGO_VERSION UI: $url is unreachable; commit $commit comes from $archive"
  done < <(argo_ui_git_deps "$ui")
}

argo_ui_fail() {  # argo_ui_fail STEP LOG: say which locked package could not be had, and why
  local errors
  errors="$(grep -E '^error|ERROR in|Error:' "$2" | head -15)"
  die "Argo $ARGO_VERSION UI: $1 failed (log $2):
${errors:-$(tail -15 "$2")}"
}

argo_ui_build() {  # argo_ui_build SRC: write SRC/ui/dist/app (Argo's sources SRC), from the cache when warm
  local src="$1" key out work yarn start t_install t_build log
  start=$(date +%s)
  [[ -d "$src/ui" && -d "$src/api" ]] || die "$src is not Argo's source tree (no ui/ or api/)"
  key="$(argo_ui_key "$src")"
  out="$CACHE/argo-ui/$ARGO_VERSION-$key"
  if [[ ! -f "$out/.complete" ]]; then
    command -v node >/dev/null || die "Node.js is required to build the Argo UI (apt-get install nodejs npm)"
    yarn="$(argo_ui_yarn)"
    work="$CACHE/argo-ui/work-$ARGO_VERSION"
    log="$CACHE/logs/build-argo-ui-$ARGO_VERSION.log"
    mkdir -p "$CACHE/logs" && : >"$log"
    rm -rf "$work" && mkdir -p "$work" && cp -r "$src/ui" "$src/api" "$work/" && chmod -R u+w "$work" && rm -rf "$work/ui/dist"
    argo_ui_mirror "$work/ui" "$work/mirror"
    printf 'yarn-offline-mirror "%s"\nyarn-offline-mirror-pruning false\n' "$work/mirror" >"$work/yarnrc"
    log "building the Argo $ARGO_VERSION UI (yarn install --frozen-lockfile, webpack); cold: 10-25 min, log $log"
    (cd "$work/ui" && YARN_CACHE_FOLDER="$CACHE/yarn-cache" nice -n 10 node "$yarn" install --frozen-lockfile \
      --non-interactive --network-timeout 600000 --use-yarnrc "$work/yarnrc") >>"$log" 2>&1 \
      || argo_ui_fail "yarn install --frozen-lockfile" "$log"
    t_install=$(($(date +%s) - start))
    (cd "$work/ui" && NODE_OPTIONS="--max-old-space-size=$ARGO_UI_HEAP_MB" YARN_CACHE_FOLDER="$CACHE/yarn-cache" \
      nice -n 10 node "$yarn" build) >>"$log" 2>&1 || argo_ui_fail "yarn build (webpack)" "$log"
    [[ -f "$work/ui/dist/app/index.html" ]] || argo_ui_fail "yarn build wrote no dist/app/index.html;" "$log"
    t_build=$(($(date +%s) - start - t_install))
    rm -rf "$out" && mkdir -p "$out" && mv "$work/ui/dist/app" "$out/app" && touch "$out/.complete"
    log "Argo $ARGO_VERSION UI built in $(($(date +%s) - start))s (yarn install ${t_install}s, webpack ${t_build}s): $out"
    echo "$(date -u +%FT%TZ) build argo-ui $ARGO_VERSION cold $(($(date +%s) - start))s (install ${t_install}s, webpack ${t_build}s)" >>"$CACHE/timings.log"
    rm -rf "$work"  # node_modules (~550 MB; 1-2 min to delete on a busy disk); the yarn cache keeps the packages
  else
    log "Argo $ARGO_VERSION UI cached in $out ($(($(date +%s) - start))s)"
  fi
  rm -rf "$src/ui/dist/app" && mkdir -p "$src/ui/dist" && cp -r "$out/app" "$src/ui/dist/app"
}
