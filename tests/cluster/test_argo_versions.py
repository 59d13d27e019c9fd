"""Argo Workflows 3.7 and 4.0 on the local cluster (cluster/argo/argo.sh), without a cluster:
the wrapper modules against versions.env, version selection, the install manifests built from
Argo's own (images, RBAC, auth mode, Service). The UI build: tests/cluster/test_argo_ui.py.

The manifest checks read the Argo modules from Go's module cache (`go mod download`
fetches them through the Go module proxy on a new machine).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cogniverse_chart import versions

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "local_cluster.sh"
ARGO_SH = ROOT / "cluster" / "argo" / "argo.sh"
KUBECTL = ROOT / ".tools" / "bin" / "kubectl"
WRAPPERS = {"3.7": ("ARGO_VERSION", ROOT / "cluster" / "argo", "github.com/argoproj/argo-workflows/v3"),
            "4.0": ("ARGO_V4_VERSION", ROOT / "cluster" / "argo-v4", "github.com/argoproj/argo-workflows/v4")}


def required(gomod: Path, module: str) -> str:
    m = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", gomod.read_text(), re.M)
    assert m, f"{gomod} does not require {module}"
    return m.group(1)


def go() -> str:
    found = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(found).exists():
        pytest.fail("the Argo module checks need Go (the local cluster is built with it); install Go 1.25+")
    return found


def module_dir(minor: str) -> Path:
    _, wrapper, module = WRAPPERS[minor]
    proc = subprocess.run([go(), "mod", "download", "-json", module], cwd=wrapper, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return Path(json.loads(proc.stdout)["Dir"])


def argo_sh(minor: str, body: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run BODY after sourcing cluster/argo/argo.sh with `argo_select MINOR` (stub log/die, temp cache)."""
    script = f"""set -euo pipefail
ROOT={ROOT} CLUSTER_DIR={ROOT}/cluster CACHE={tmp_path}/cache ARGO_REQUEUE_TIME=1s
log() {{ echo "log: $*" >&2; }}
die() {{ echo "die: $*" >&2; exit 1; }}
source {ARGO_SH}
argo_select {minor}
{body}
"""
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=600)


# ---------------------------------------------------------------- versions
@pytest.mark.parametrize("minor", WRAPPERS)
def test_wrapper_module_requires_the_version_pinned_in_versions_env(minor):
    key, wrapper, module = WRAPPERS[minor]
    pinned = versions.get(key)
    assert pinned.startswith(f"v{minor}."), f"versions.env {key}={pinned} is not a {minor} release"
    assert required(wrapper / "go.mod", module) == pinned, f"{wrapper}/go.mod and versions.env {key} disagree"
    tools = re.search(r"^tool \(\n(.*?)^\)", (wrapper / "go.mod").read_text(), re.M | re.S).group(1).split()
    assert sorted(tools) == [f"{module}/cmd/{c}" for c in ("argo", "argoexec", "workflow-controller")]


@pytest.mark.parametrize("spec, minor", [("3.7", "3.7"), ("4.0", "4.0"), ("", "3.7")])
def test_argo_select_picks_the_pinned_version_and_its_images(spec, minor, tmp_path):
    key, wrapper, module = WRAPPERS[minor]
    pinned = versions.get(key)
    proc = argo_sh(spec or '""', 'echo "$ARGO_VERSION $ARGO_MODULE $ARGO_WRAPPER $EXECUTOR_IMAGE $SERVER_IMAGE"', tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [pinned, module, str(wrapper), f"argoproj/argoexec:{pinned}", f"argoproj/argocli:{pinned}"]
    full = argo_sh(pinned, 'echo "$ARGO_VERSION"', tmp_path)
    assert full.stdout.strip() == pinned


@pytest.mark.parametrize("args", [("status", "--argo-version", "3.6"), ("status", "--argo-version", "v4.0.1")])
def test_an_unpinned_argo_version_is_refused_with_the_pinned_ones(args, tmp_path):
    proc = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COGNIVERSE_CLUSTER_STATE": str(tmp_path)})
    assert proc.returncode != 0
    p = versions.load()
    assert f"--argo-version {args[-1]}" in proc.stderr
    assert p["ARGO_VERSION"][1:] in proc.stderr and p["ARGO_V4_VERSION"][1:] in proc.stderr


def test_argo_version_without_a_value_is_a_usage_error():
    proc = subprocess.run([str(SCRIPT), "up", "--argo-version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--argo-version needs a value" in proc.stderr


# ---------------------------------------------------------------- install manifests
@pytest.fixture(scope="module", params=list(WRAPPERS))
def install(request, tmp_path_factory):
    """kubectl kustomize of the install dir argo.sh writes for one version: (minor, pinned, {(kind, name): obj})."""
    minor = request.param
    tmp = tmp_path_factory.mktemp(f"argo-{minor}")
    proc = argo_sh(minor, f'ARGO_BIN={tmp}/bin/{BUILD}; argo_install_dir {tmp}/install && {KUBECTL} kustomize {tmp}/install/local', tmp)
    assert proc.returncode == 0, proc.stderr
    objs = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(proc.stdout) if o}
    return minor, versions.get(WRAPPERS[minor][0]), objs


BUILD = "argo-vX.Y.Z-0123456789ab"  # the cached build's folder name: version and source hash (UI included)


def container(objs, name):
    (c,) = objs[("Deployment", name)]["spec"]["template"]["spec"]["containers"]
    return c


def test_controller_and_server_run_as_deployments_of_the_local_images(install):
    minor, pinned, objs = install
    for name, image in (("workflow-controller", "argoproj/workflow-controller"), ("argo-server", "argoproj/argocli")):
        deploy = objs[("Deployment", name)]
        assert deploy["metadata"]["namespace"] == "argo"
        assert deploy["spec"]["strategy"] == {"type": "Recreate"}  # never two controllers during a swap
        # neither exits on SIGTERM: a stock 30s grace period made every restart and swap wait 30s
        assert deploy["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 3
        c = container(objs, name)
        assert c["image"] == f"{image}:{pinned}" and c["imagePullPolicy"] == "Never"
        assert c["securityContext"]["runAsNonRoot"] is True  # upstream's hardening is kept
        # The tags carry only the version: a rebuild (e.g. the UI) changes the pod template, so `up` rolls the pods
        assert deploy["spec"]["template"]["metadata"]["annotations"] == {"cogniverse.dev/argo-build": BUILD}
    args = container(objs, "workflow-controller")["args"]
    assert args[args.index("--executor-image") + 1] == f"argoproj/argoexec:{pinned}"
    env = {e["name"]: e.get("value") for e in container(objs, "workflow-controller")["env"]}
    assert env["DEFAULT_REQUEUE_TIME"] == "1s"
    # Argo nests each ConfigMap value under its key as YAML: a value without its final newline
    # ("metricsConfig: enabled: false") crashes the controller and the server at start.
    data = objs[("ConfigMap", "workflow-controller-configmap")]["data"]
    assert data and all(v.endswith("\n") for v in data.values()), data


def test_only_the_liveness_probe_calls_the_controllers_stateful_healthz(install):
    """Argo's /healthz fails when a never-reconciled Workflow is older than 5 minutes and nothing was reconciled
    since the previous call, whoever made it: a readiness probe there every second would make the liveness
    probe (upstream's: every 60 s, 3 failures) judge progress over one second and restart a loaded controller."""
    _, _, objs = install
    c = container(objs, "workflow-controller")
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" and c["livenessProbe"]["periodSeconds"] == 60
    assert "httpGet" not in c["readinessProbe"] and c["readinessProbe"]["tcpSocket"] == {"port": 6060}


def test_argo_server_serves_plain_http_with_client_auth_on_2746(install):
    """Every API request needs a bearer token (--auth-mode=client, Argo's default); never the server's
    own account for whoever reaches the Service (tests/smoke/test_argo_server.py checks it live)."""
    _, _, objs = install
    c = container(objs, "argo-server")
    assert c["args"] == ["server", "--auth-mode=client", "--secure=false"]
    assert c["readinessProbe"]["httpGet"]["scheme"] == "HTTP"
    svc = objs[("Service", "argo-server")]
    assert svc["metadata"]["namespace"] == "argo"
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(2746, 2746)]
    assert svc["spec"]["selector"] == objs[("Deployment", "argo-server")]["spec"]["template"]["metadata"]["labels"]


def test_rbac_is_argos_own_cluster_install_unchanged(install):
    minor, _, objs = install
    upstream = module_dir(minor) / "manifests" / "cluster-install-no-crds"
    roles = {}
    for f in upstream.rglob("*.yaml"):
        for o in yaml.safe_load_all(f.read_text()):
            if o and o["kind"] in ("ClusterRole", "Role"):
                roles[(o["kind"], o["metadata"]["name"])] = o["rules"]
    assert ("ClusterRole", "argo-cluster-role") in roles and ("ClusterRole", "argo-server-cluster-role") in roles
    for key, rules in roles.items():
        assert objs[key]["rules"] == rules, f"{key} differs from Argo's own manifest"
    bindings = {(o["roleRef"]["name"], s["name"]) for (kind, _), o in objs.items() if kind == "ClusterRoleBinding"
                for s in o["subjects"]}
    assert bindings == {("argo-cluster-role", "argo"), ("argo-server-cluster-role", "argo-server")}
    assert not any(o["roleRef"]["name"] == "cluster-admin" for (k, _), o in objs.items() if k.endswith("Binding"))
