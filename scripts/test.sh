#!/usr/bin/env bash
# Run every test: the fast suite, then the smoke suite on a real cluster.
#   scripts/test.sh            fast tests, then smoke tests on the cluster in $KUBECONFIG if it answers,
#                              otherwise on a local single-node cluster built offline, once per Argo
#                              version of $COGNIVERSE_ARGO_MATRIX (default: the Argo versions of versions.env; scripts/local_cluster.sh
#                              up --argo-version V swaps Argo on the same node; down --purge at the end; root)
#   scripts/test.sh --fast     fast tests only (no cluster)
#   scripts/test.sh --provider k3s   the matrix on K3s (scripts/deploy_k3s.sh; the GitHub workflow) instead
#                              of the offline node (default; env COGNIVERSE_CLUSTER_PROVIDER)
#   scripts/test.sh --leg V    one leg of the matrix only (its suite and groups), on the node brought to Argo V
#                              (up is idempotent); no fast tests, and the node is left up (measuring a leg)
#   scripts/test.sh -- ARGS    extra pytest arguments for both runs (e.g. -- -k workflows -x)
# Sets up everything first (venv, packages, pinned Helm 3 and 4) via scripts/bootstrap.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

fast_only=0
leg_only=""
pytest_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --fast) fast_only=1 ;;
    --leg)
      [[ $# -ge 2 ]] || { echo "test.sh: --leg needs an Argo version of the matrix (python tests/placement.py matrix)" >&2; exit 2; }
      leg_only=$2; shift ;;
    --provider)
      [[ $# -ge 2 ]] || { echo "test.sh: --provider needs a value: node or k3s" >&2; exit 2; }
      export COGNIVERSE_CLUSTER_PROVIDER=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; pytest_args=("$@"); break ;;
    *) echo "test.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
# The cluster the matrix runs on: provider_up/_build/_kubeconfig/_import_services/_down.
# shellcheck source=scripts/lib/cluster_provider.sh
source "$ROOT/scripts/lib/cluster_provider.sh"
provider_check

declare -a stage_names=() stage_secs=()
stage() { # name command...
  local name=$1 start rc=0
  shift
  start=$(date +%s)
  echo "=== test.sh: $name" >&2
  "$@" || rc=$?
  stage_names+=("$name")
  stage_secs+=("$(( $(date +%s) - start ))")
  return "$rc"
}
report() {
  local i total=0
  for i in "${!stage_names[@]}"; do
    printf 'test.sh: stage %-30s %5ss\n' "${stage_names[$i]}" "${stage_secs[$i]}" >&2
    total=$((total + stage_secs[i]))
  done
  printf 'test.sh: stage %-30s %5ss\n' "total" "$total" >&2
  # benchmarks/bench_smoke.py --ci reads this file (one "name<TAB>seconds" line per stage).
  if [[ -n "${COGNIVERSE_STAGE_TIMES:-}" ]]; then
    for i in "${!stage_names[@]}"; do printf '%s\t%s\n' "${stage_names[$i]}" "${stage_secs[$i]}"; done \
      >"$COGNIVERSE_STAGE_TIMES"
  fi
}
trap report EXIT

# pytest exit 5 means "no tests collected": a run that proves nothing is a failure here.
run_pytest() {
  local rc=0
  "$ROOT/.venv/bin/python" -m pytest "$@" || rc=$?
  if [[ $rc -eq 5 ]]; then
    echo "test.sh: pytest collected no tests (exit 5) for: $*; failing on purpose" >&2
    return 1
  fi
  return "$rc"
}

cluster_answers() {
  [[ -n "${KUBECONFIG:-}" && -f "${KUBECONFIG%%:*}" ]] &&
    "$ROOT/.tools/bin/kubectl" --request-timeout=10s get --raw /readyz >/dev/null 2>&1
}

# Host tools no step installs (a fresh CI machine must have them): named all at once, before a long run
# fails on the first one deep inside a stage. The node's own packages (containerd, iptables, jq, curl...)
# are installed by local_cluster.sh up; Helm, kubectl and the venv by bootstrap.sh.
missing=()
for tool in "python3:python3 python3-venv" npm:npm git:git gpg:gnupg; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool%%:*} (apt-get install ${tool#*:})")
done
command -v go >/dev/null || missing+=("go (a Go toolchain as new as the go lines of tools/*/go.mod and cluster/*/go.mod, on PATH)")
if [[ ${#missing[@]} -gt 0 ]]; then
  printf -v list '%s; ' "${missing[@]}"
  echo "test.sh: missing prerequisites: ${list%; }" >&2
  exit 1
fi

stage bootstrap "$ROOT/scripts/bootstrap.sh"
export PATH="$ROOT/.tools/bin:$ROOT/.venv/bin:$PATH"

# The service images of values/local.yaml (Phoenix, Ollama; cached by version and inputs) build in the
# background beside the fast tests and the local cluster's build, and are imported into the node beside
# the first smoke leg (import_service_images); their smoke tests run once, in the last leg.
svc_build_rc="$ROOT/.tools/service-images.rc"
rm -f "$svc_build_rc"
if [[ $fast_only == 0 ]] && { [[ -n $leg_only ]] || ! cluster_answers; }; then
  ("$ROOT/cluster/services/images.sh" build >"$ROOT/.tools/service-images.log" 2>&1; echo $? >"$svc_build_rc") &
fi
# The Go helpers the fast tests run (Argo's own validator for 3.7 and 4.0, kube-apiserver's admission-
# policy code, the OCI registry of the packaging tests), built from their pinned modules and cached by version and source: a cold build does
# not belong inside a test.
stage go-helpers "$ROOT/.venv/bin/python" -m cogniverse_dev
# --durations=10: the ten slowest fast tests are printed in every run, so a slow one shows up in CI.
fast_tests() { stage fast-tests run_pytest -m "not smoke" --durations=10 "${pytest_args[@]}"; }
if [[ $fast_only == 1 ]]; then
  fast_tests
  exit 0
fi

if [[ -z $leg_only ]] && cluster_answers; then
  fast_tests
  echo "test.sh: smoke suite on the cluster in KUBECONFIG=$KUBECONFIG" >&2
  stage smoke-tests run_pytest -m smoke --durations=15 "${pytest_args[@]}"
  exit 0
fi
# The Argo matrix: the smoke suite once per Argo version on the same node; the first `up` starts the
# node, each later one swaps the workflow-controller, argo-server and argoexec (and the argo CLI).
read -r -a argo_matrix <<<"$("$ROOT/.venv/bin/python" tests/placement.py matrix)"
export COGNIVERSE_ARGO_MATRIX="${argo_matrix[*]}"  # the legs tests/placement.py places tests in
if [[ -n $leg_only ]] && ! "$ROOT/.venv/bin/python" tests/placement.py groups "$leg_only" >/dev/null; then
  exit 2  # placement.py named the versions of the matrix
fi
# One local cluster per machine (bridge, ports, iptables chains): hold a lock for the whole
# up/smoke/down sequence so an overlapping run cannot tear the cluster down under this one.
exec 9>"${COGNIVERSE_TEST_LOCK:-/run/lock/cogniverse-local-cluster-tests.lock}"
if ! flock -n 9; then
  echo "test.sh: another test run is using the local cluster; waiting for it" >&2
  flock 9
fi
down_cluster() { provider_down || echo "test.sh: cluster teardown ($PROVIDER) failed" >&2; }
[[ -n $leg_only ]] || trap 'down_cluster; report' EXIT
# The services (Phoenix, Ollama from local images, built in the background since the start): once the
# node is up, a background job waits for the build and imports them (start_service_import); the last
# leg waits for it (import_service_images) and its session runs their tests once per run.
svc_import=""
svc_import_rc="$ROOT/.tools/service-images-import.rc"  # the import's exit status, once it has ended
start_service_import() {
  rm -f "$svc_import_rc"
  (rc=0
   while [[ ! -s "$svc_build_rc" ]]; do sleep 2; done
   if [[ $(cat "$svc_build_rc") != 0 ]]; then
     echo "test.sh: cluster/services/images.sh build failed" >&2; rc=1
   else
     provider_import_services || rc=$?
   fi
   echo "$rc" >"$svc_import_rc"; exit "$rc") >>"$ROOT/.tools/service-images.log" 2>&1 &
  svc_import=$!
}
import_service_images() {
  if stage "service-images (build and import, beside the first leg)" wait "$svc_import"; then
    return 0
  fi
  tail -20 "$ROOT/.tools/service-images.log" >&2
  failed+=("service images: cluster/services/images.sh (log .tools/service-images.log)")
  return 1
}
# Which cluster test runs in which leg and session is decided in pytest, not here: tests/placement.py
# (markers group, argo_leg, service_images; docs/smoke.md) keeps, for `--argo-leg V --smoke-group NAME`, the
# tests placed there, and `python tests/placement.py groups V` prints the leg's groups besides its suite:
#   WHEN (beside|after) NAME MARKS NEEDS (images|-)
# A beside group runs in a pytest session of its own beside the leg's suite, in namespaces of its own (the
# sessions mostly wait on the node, so together they take about as long as the longest); it starts once the
# suite's session has recorded the namespaces that were there before it (test_security.py judges changes
# outside its own namespaces against that list), and a group that needs the service images (Phoenix,
# Ollama, PostgreSQL, imported beside the first leg) also waits for their import. An after group runs
# alone on the node once the suite and the beside sessions have ended (a controller-wide switch, faults).
# start_beside_session NAME MARKS NEEDS: one group's session in the background, its output in
# .tools/smoke-beside-NAME.log (printed after the leg's suite, each line marked [NAME]).
session_marker="$ROOT/.tools/smoke-session-recorded"
beside_pids=() beside_names=()
start_beside_session() {
  local name=$1 marks=$2 needs=$3
  echo "test.sh: on Argo $argo, beside the suite in a session of its own: group $name" >&2
  (for _ in $(seq 600); do [[ -e "$session_marker" ]] && break; sleep 1; done
   [[ -e "$session_marker" ]] || echo "test.sh: the leg's session did not start in 600 s; starting anyway" >&2
   if [[ $needs == images ]]; then
     while [[ ! -s "$svc_import_rc" ]]; do sleep 2; done
     [[ $(cat "$svc_import_rc") == 0 ]] ||
       { echo "test.sh: the service images were not imported (.tools/service-images.log); $name not run" >&2; exit 1; }
   fi
   COGNIVERSE_SMOKE_SESSION_MARKER="" COGNIVERSE_SESSION_NAME="argo $argo $name" run_pytest -m "$marks" tests/smoke --argo-leg "$argo" --smoke-group "$name" \
     -p no:cacheprovider --durations=15 "${pytest_args[@]}") >"$ROOT/.tools/smoke-beside-$name.log" 2>&1 &
  beside_pids+=("$!")
  beside_names+=("$name")
}
failed=()
# The first `up` (node and Argo; a cold one builds Kubernetes) runs beside the fast tests, which need no
# cluster: its log is printed when it ends, and the stage shows the time left to wait after the tests.
up_rc=0
if [[ -n $leg_only ]]; then  # one leg: its Argo on the node (idempotent), no fast tests, no other leg
  argo_matrix_all=("${argo_matrix[@]}") argo_matrix=("$leg_only")
  stage "local-cluster-up (argo $leg_only)" provider_up "$leg_only" >"$ROOT/.tools/local-cluster-up.log" 2>&1 || up_rc=$?
else
  provider_up "${argo_matrix[0]}" >"$ROOT/.tools/local-cluster-up.log" 2>&1 &
  up_pid=$!
  fast_tests || failed+=("fast tests")
  stage "local-cluster-up (argo ${argo_matrix[0]}, after the fast tests)" wait "$up_pid" || up_rc=$?
fi
cat "$ROOT/.tools/local-cluster-up.log" >&2
if [[ $up_rc != 0 ]]; then
  printf 'test.sh: FAILED: %s\n' "${failed[@]}" "cluster up ($PROVIDER) with argo ${argo_matrix[0]} (exit $up_rc)" >&2
  exit 1
fi
start_service_import
# Every smoke session appends its figures here (tests/smoke/figures.py); each leg's table is printed from it.
export COGNIVERSE_SESSION_FIGURES=${COGNIVERSE_SESSION_FIGURES:-$ROOT/.tools/session-figures.jsonl}
rm -f "$COGNIVERSE_SESSION_FIGURES" "$COGNIVERSE_SESSION_FIGURES.pods"
first=1
prebuild=""
last="${argo_matrix[${#argo_matrix[@]}-1]}"
[[ -z $leg_only ]] || last="${argo_matrix_all[${#argo_matrix_all[@]}-1]}"
for argo in "${argo_matrix[@]}"; do
  if [[ $first == 1 ]]; then
    KUBECONFIG=$(provider_kubeconfig)
    export KUBECONFIG
    first=0
    # Build the other Argo versions (cached after the first run) while this one's smoke suite runs.
    if [[ ${#argo_matrix[@]} -gt 1 ]]; then
      (for v in "${argo_matrix[@]:1}"; do provider_build "$v" || exit 1; done) \
        >"$ROOT/.tools/argo-prebuild.log" 2>&1 &
      prebuild=$!
    fi
  else
    if [[ -n "$prebuild" ]]; then
      if ! stage "argo-build (other versions)" wait "$prebuild"; then
        echo "test.sh: building the other Argo versions failed; the end of .tools/argo-prebuild.log:" >&2
        tail -20 "$ROOT/.tools/argo-prebuild.log" >&2
        failed+=("argo ${argo_matrix[*]:1}: build ($PROVIDER)")
        break
      fi
      prebuild=""
    fi
    if ! stage "argo-swap (argo $argo)" provider_up "$argo"; then
      failed+=("argo $argo: argo swap ($PROVIDER)")
      continue
    fi
  fi
  # The last leg waits for the service images' import; the suite's tests marked service_images (the browser's
  # Phoenix page) are left out when it failed (import_service_images reports it).
  leg_args=(--argo-leg "$argo")
  if [[ $argo == "$last" ]] && ! import_service_images; then
    leg_args+=(--no-service-images)
  fi
  if ! plan=$("$ROOT/.venv/bin/python" tests/placement.py groups "$argo"); then
    failed+=("argo $argo: tests/placement.py groups"); continue
  fi
  rm -f "$session_marker"
  export COGNIVERSE_SMOKE_SESSION_MARKER="$session_marker"
  beside_pids=() beside_names=() after_groups=()
  while read -r when name marks needs; do
    [[ -n $when ]] || continue  # a leg with no group: an empty plan
    if [[ $when == beside ]]; then start_beside_session "$name" "$marks" "$needs"; else after_groups+=("$name $marks"); fi
  done <<<"$plan"
  # The leg's suite: the smoke tests tests/placement.py places in this leg without a group.
  COGNIVERSE_SESSION_NAME="argo $argo suite" \
    stage "smoke-tests (argo $argo)" run_pytest -m smoke tests/smoke "${leg_args[@]}" --durations=15 "${pytest_args[@]}" ||
    failed+=("argo $argo: smoke suite")
  for i in "${!beside_pids[@]}"; do
    name=${beside_names[$i]}
    stage "smoke-tests beside it ($name, argo $argo, wait)" wait "${beside_pids[$i]}" ||
      failed+=("argo $argo: smoke session beside the suite: $name")
    sed "s/^/[$name] /" "$ROOT/.tools/smoke-beside-$name.log" >&2
  done
  # Alone on the node, after the suite and the sessions beside it: templateReferencing: Strict (a
  # controller-wide switch) after the first leg; the chaos suite's CI subset (`pytest -m chaos` runs all of
  # tests/smoke/chaos: the workflow-controller SIGKILLed mid-workflow, the kube-apiserver restarted, step
  # pods evicted) after the last, where a controller kill or an API server restart disturbs no other test.
  for group in "${after_groups[@]}"; do
    read -r name marks <<<"$group"
    COGNIVERSE_SESSION_NAME="argo $argo $name" \
      stage "smoke-$name (argo $argo)" run_pytest -m "$marks" tests/smoke --argo-leg "$argo" --smoke-group "$name" \
      --durations=15 "${pytest_args[@]}" || failed+=("argo $argo: $name (alone after the suite)")
  done
  # The leg's sessions: wall, pods, CPU-seconds (node's pods, its processes, pytest), the critical path.
  "$ROOT/.venv/bin/python" benchmarks/bench_smoke.py --sessions "$COGNIVERSE_SESSION_FIGURES" --leg "argo $argo" >&2 || true
done
if [[ ${#failed[@]} -gt 0 ]]; then
  printf 'test.sh: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
