"""Smoke checks of the local cluster (scripts/local_cluster.sh up): the Kubernetes version Helm sees,
a Helm 3 install of a trivial chart, and an Argo Workflow with a container step and a resource
template running to Succeeded on real containers.

They need KUBECONFIG (skipped without one, see conftest.py) and use the images that `up` imports
(`cogniverse/toolbox:1.0`, `argoproj/argoexec:<argo>`); on another cluster they are skipped with the
reason, because those images exist only on the local node.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
KUBECTL = str(ROOT / ".tools" / "bin" / "kubectl")
HELM3 = str(ROOT / ".tools" / "bin" / "helm3")
TOOLBOX_IMAGE = "cogniverse/toolbox:1.0"
K8S_VERSION = re.search(r"^\s*k8s.io/kubernetes (v\S+)", (ROOT / "cluster/k8s/go.mod").read_text(), re.M).group(1)

pytestmark = pytest.mark.smoke


def kubectl(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
    return proc


@pytest.fixture(scope="module", autouse=True)
def local_cluster_only():
    context = subprocess.run([KUBECTL, "config", "current-context"], capture_output=True, text=True).stdout.strip()
    if context != "cogniverse-local":
        pytest.skip(f"local-cluster checks need the cluster of scripts/local_cluster.sh (context {context!r})")


@pytest.fixture
def namespace():
    name = f"lc-smoke-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_server_reports_the_pinned_kubernetes_version():
    version = json.loads(kubectl("version", "-o", "json").stdout)["serverVersion"]
    assert version["gitVersion"] == K8S_VERSION
    assert (int(version["major"]), int(version["minor"])) >= (1, 30)


def test_node_is_ready_and_runs_real_containers():
    node = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"][0]
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")


def test_helm3_installs_a_trivial_chart(tmp_path, namespace):
    chart = tmp_path / "trivial"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v2", "name": "trivial", "version": "0.1.0", "kubeVersion": ">=1.30.0-0"}))
    (chart / "templates" / "deploy.yaml").write_text("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}-sleeper}
spec:
  replicas: 1
  selector: {matchLabels: {app: sleeper}}
  template:
    metadata: {labels: {app: sleeper}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: sleeper
        image: %s
        imagePullPolicy: IfNotPresent
        command: [sleep, "3600"]
""" % TOOLBOX_IMAGE)
    proc = subprocess.run([HELM3, "install", "smoke", str(chart), "-n", namespace, "--wait", "--timeout", "180s"],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pods = json.loads(kubectl("-n", namespace, "get", "pods", "-l", "app=sleeper", "-o", "json").stdout)["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running"]
    assert subprocess.run([HELM3, "uninstall", "smoke", "-n", namespace, "--wait"],
                          capture_output=True, text=True, timeout=120).returncode == 0


WORKFLOW = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: wf}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: wf}
rules:
- apiGroups: [argoproj.io]
  resources: [workflowtaskresults]
  verbs: [create, patch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, create, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: wf}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: wf}
subjects: [{kind: ServiceAccount, name: wf}]
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: smoke}
spec:
  entrypoint: main
  serviceAccountName: wf
  arguments:
    parameters: [{name: greeting, value: hello-local-cluster}]
  templates:
  - name: main
    steps:
    - - name: say
        template: say
    - - name: record
        template: record
        arguments:
          parameters: [{name: said, value: "{{steps.say.outputs.parameters.said}}"}]
  - name: say
    container:
      image: %s
      imagePullPolicy: IfNotPresent
      command: [sh, -c]
      args: ["mkdir -p /tmp/outputs && printf %%s \\"$GREETING\\" > /tmp/outputs/said"]
      env: [{name: GREETING, value: "{{workflow.parameters.greeting}}"}]
    outputs:
      parameters:
      - name: said
        valueFrom: {path: /tmp/outputs/said}
  - name: record
    inputs:
      parameters: [{name: said}]
    resource:
      action: apply
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: smoke-record}
        data: {said: "{{inputs.parameters.said}}"}
""" % TOOLBOX_IMAGE


def test_argo_workflow_with_container_step_and_resource_template_succeeds(namespace):
    kubectl("-n", namespace, "apply", "-f", "-", input=WORKFLOW)
    deadline = time.monotonic() + 240
    phase, wf = "", {}
    while time.monotonic() < deadline:
        wf = json.loads(kubectl("-n", namespace, "get", "workflow", "smoke", "-o", "json").stdout)
        phase = wf.get("status", {}).get("phase", "")
        if phase in ("Succeeded", "Failed", "Error"):
            break
        time.sleep(2)
    nodes = {n["displayName"]: (n["phase"], n.get("message", "")) for n in wf.get("status", {}).get("nodes", {}).values()}
    assert phase == "Succeeded", f"workflow phase {phase!r}: {wf.get('status', {}).get('message')} nodes={nodes}"
    data = json.loads(kubectl("-n", namespace, "get", "configmap", "smoke-record", "-o", "json").stdout)["data"]
    assert data == {"said": "hello-local-cluster"}


def test_no_cluster_daemon_holds_the_up_down_lock():
    """`up` runs under a lock; a daemon that inherited it would hold it for its whole life and make
    `down` (which takes the same lock) wait forever."""
    state = Path(os.environ.get("COGNIVERSE_CLUSTER_STATE", "/var/lib/cogniverse-local-cluster")) / "pids"
    lock = Path(os.environ.get("COGNIVERSE_CLUSTER_LOCK", "/run/lock/cogniverse-local-cluster.lock")).resolve()
    pidfiles = sorted(state.glob("*.pid")) if state.is_dir() else []
    assert pidfiles, f"no daemon pid files in {state}"
    holders = []
    for pf in pidfiles:
        fds = Path("/proc") / pf.read_text().strip() / "fd"
        if fds.is_dir() and any(Path(f).resolve() == lock for f in (str(p.readlink()) for p in fds.iterdir())):
            holders.append(pf.stem)
    assert not holders, f"daemons holding {lock}: {holders}"
