"""Smoke checks of the local cluster (scripts/local_cluster.sh up): the Kubernetes version Helm sees,
a Helm 3 install of a trivial chart, an Argo Workflow with a container step and a resource
template running to Succeeded on real containers, and what a K3s node gives every user: cluster
DNS (CoreDNS), the default `local-path` StorageClass, and `kubectl top` (metrics-server).

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

from cogniverse_chart import versions
from kubelib import KUBECTL, TASK_RESULTS, account, kubectl

ROOT = Path(__file__).resolve().parents[2]
HELM3 = str(ROOT / ".tools" / "bin" / "helm3")
TOOLBOX_IMAGE = "cogniverse/toolbox:1.0"
# The release `up` runs: versions.env's KUBERNETES_VERSION unless `up` was given another one.
K8S_VERSION = os.environ.get("COGNIVERSE_KUBERNETES_VERSION") or versions.get("KUBERNETES_VERSION")

pytestmark = pytest.mark.smoke  # argo_leg("first"): a check of the node, not of Argo, runs in one leg of the matrix


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


@pytest.mark.argo_leg("first")
def test_server_reports_the_pinned_kubernetes_version():
    version = json.loads(kubectl("version", "-o", "json").stdout)["serverVersion"]
    assert version["gitVersion"] == K8S_VERSION
    assert (int(version["major"]), int(version["minor"])) >= (1, 30)


@pytest.mark.argo_leg("first")
def test_kubectl_is_within_one_minor_of_the_server():
    """The kubectl in .tools/bin is the node's own build (kubectl supports one minor of skew)."""
    version = json.loads(kubectl("version", "-o", "json").stdout)
    client, server = (int(version[k]["minor"].rstrip("+")) for k in ("clientVersion", "serverVersion"))
    assert abs(client - server) <= 1, version


@pytest.mark.argo_leg("first")
def test_node_is_ready_and_runs_real_containers():
    node = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"][0]
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")


@pytest.mark.argo_leg("first")
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


WORKFLOW = account("wf", TASK_RESULTS, ("", "configmaps", "get,create,patch,update")) + """\
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


def _fd_target(fd: Path) -> Path | None:
    """Where an open descriptor points, or None when the process closed it (or ended) since it was listed."""
    try:
        return Path(os.readlink(fd))
    except (FileNotFoundError, ProcessLookupError):
        return None


@pytest.mark.argo_leg("first")
def test_no_cluster_daemon_holds_the_up_down_lock():
    """`up` runs under a lock (and callers wrap it in the smoke lock, `flock /run/lock/cogniverse-smoke.lock
    local_cluster.sh up`); a daemon that inherited either would hold it for its whole life and make
    `down`, or every later smoke run, wait forever. So no daemon holds any file under /run/lock."""
    state = Path(os.environ.get("COGNIVERSE_CLUSTER_STATE", "/var/lib/cogniverse-local-cluster")) / "pids"
    lock = Path(os.environ.get("COGNIVERSE_CLUSTER_LOCK", "/run/lock/cogniverse-local-cluster.lock")).resolve()
    lock_dirs = {lock.parent, Path("/run/lock").resolve()}
    pidfiles = sorted(state.glob("*.pid")) if state.is_dir() else []
    assert pidfiles, f"no daemon pid files in {state}"
    holders = []
    for pf in pidfiles:
        fds = Path("/proc") / pf.read_text().strip() / "fd"
        try:
            listed = list(fds.iterdir())
        except (FileNotFoundError, ProcessLookupError):
            continue  # the daemon is not running (or ended while we looked)
        held = [t for t in map(_fd_target, listed) if t is not None and t.parent in lock_dirs]
        if held:
            holders.append(f"{pf.stem}: {', '.join(map(str, held))}")
    assert not holders, f"daemons holding lock files: {holders}"


# ---------------------------------------------------------------- what K3s gives every user
def run_pod(namespace: str, name: str, script: str, volumes: str = "", timeout: int = 120) -> tuple[str, str]:
    """Run SCRIPT in a toolbox pod to completion; return (phase, logs)."""
    kubectl("-n", namespace, "apply", "-f", "-", input=f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {TOOLBOX_IMAGE}
    imagePullPolicy: IfNotPresent
    command: [sh, -c, {json.dumps(script)}]
{volumes}""")
    deadline = time.monotonic() + timeout
    phase = ""
    while time.monotonic() < deadline:
        phase = kubectl("-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}").stdout
        if phase in ("Succeeded", "Failed"):
            break
        time.sleep(1)
    logs = kubectl("-n", namespace, "logs", name, check=False)
    return phase, logs.stdout + logs.stderr


def resolved(nslookup_output: str) -> list[str]:
    """The answer addresses of busybox nslookup (the lines after 'Name:', not the server's)."""
    answer = nslookup_output.split("Name:", 1)[1] if "Name:" in nslookup_output else ""
    return re.findall(r"Address(?: \d+)?:\s*([0-9.]+)", answer)


@pytest.mark.argo_leg("first")
def test_pods_resolve_services_by_fqdn_and_by_short_name(namespace):
    kubectl("-n", namespace, "create", "service", "clusterip", "web", "--tcp=80:8080")
    ip = kubectl("-n", namespace, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}").stdout
    phase, logs = run_pod(namespace, "dns", f"nslookup web.{namespace}.svc.cluster.local; echo ===; "
                                            "nslookup web; echo ===; cat /etc/resolv.conf")
    fqdn, short, resolv = (logs.split("===") + ["", "", ""])[:3]
    assert phase == "Succeeded", logs
    assert resolved(fqdn) == [ip], f"FQDN did not resolve to the Service's {ip}:\n{logs}"
    assert resolved(short) == [ip], f"short name did not resolve to the Service's {ip}:\n{logs}"
    assert f"search {namespace}.svc.cluster.local svc.cluster.local cluster.local" in resolv


@pytest.mark.argo_leg("first")
def test_pvc_binds_on_the_default_local_path_class_and_keeps_written_data(namespace):
    kubectl("-n", namespace, "apply", "-f", "-", input="""\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
""")  # no storageClassName: the default class, as charts written for K3s assume
    volumes = """\
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
"""
    phase, logs = run_pod(namespace, "writer", "echo kept-across-pods > /data/file && cat /data/file", volumes)
    assert phase == "Succeeded", logs
    pvc = json.loads(kubectl("-n", namespace, "get", "pvc", "data", "-o", "json").stdout)
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["spec"]["storageClassName"] == "local-path"
    pv = json.loads(kubectl("get", "pv", pvc["spec"]["volumeName"], "-o", "json").stdout)
    path = Path(pv["spec"]["hostPath"]["path"])
    state = Path(os.environ.get("COGNIVERSE_CLUSTER_STATE", "/var/lib/cogniverse-local-cluster"))
    assert path.is_relative_to(state / "storage"), path
    assert (path / "file").read_text() == "kept-across-pods\n"
    phase, logs = run_pod(namespace, "reader", "cat /data/file", volumes)
    assert phase == "Succeeded" and logs == "kept-across-pods\n", logs


@pytest.mark.argo_leg("first")
def test_kubectl_top_pods_answers():
    """metrics-server behind the aggregated metrics.k8s.io API; its first scrape takes up to a
    --metric-resolution (15 s) after it starts."""
    deadline = time.monotonic() + 120
    proc = None
    while time.monotonic() < deadline:
        proc = kubectl("top", "pods", "-n", "kube-system", check=False)
        if proc.returncode == 0 and "coredns" in proc.stdout:
            break
        time.sleep(3)
    assert proc is not None and proc.returncode == 0 and "coredns" in proc.stdout, proc and (proc.stdout + proc.stderr)
    row = next(line.split() for line in proc.stdout.splitlines() if line.startswith("coredns"))
    assert re.fullmatch(r"\d+m", row[1]) and re.fullmatch(r"\d+Mi", row[2]), row  # CPU(cores), MEMORY(bytes)
    node = kubectl("top", "node").stdout
    assert "cogniverse-local" in node


# ---------------------------------------------------------------- etcd: TLS and client certificates only
ETCD = ("127.0.0.1", 2379)
PKI = Path(os.environ.get("COGNIVERSE_CLUSTER_STATE", "/var/lib/cogniverse-local-cluster")) / "pki"


def _etcd_get(path: str, tls: bool, cert: str | None = None) -> str:
    """GET path from etcd's client port as a host process (or a hostNetwork pod) could; the answer's first
    line, or the error that ended the exchange."""
    import http.client
    import ssl

    if tls:
        context = ssl.create_default_context(cafile=str(PKI / "etcd-ca.crt"))
        if cert:
            context.load_cert_chain(str(PKI / f"{cert}.crt"), str(PKI / f"{cert}.key"))
        conn = http.client.HTTPSConnection(*ETCD, context=context, timeout=5)
    else:
        conn = http.client.HTTPConnection(*ETCD, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return f"{response.status} {response.read(200).decode(errors='replace')}"
    except (OSError, http.client.HTTPException) as err:
        return f"error {type(err).__name__}: {err}"
    finally:
        conn.close()


@pytest.mark.argo_leg("first")
def test_etcd_answers_only_tls_clients_with_the_api_servers_certificate():
    """attack21d #12: a plain-HTTP etcd on 127.0.0.1:2379 let any hostNetwork pod read every Secret. Now a
    plain request, a TLS request without a certificate and one with a cluster-CA certificate (the admin's) get
    nothing, while the API server's etcd client certificate does, and the API reads etcd."""
    assert _etcd_get("/health", tls=True, cert="apiserver-etcd-client").startswith("200 "), "etcd is not serving"
    for answer in (_etcd_get("/version", tls=False), _etcd_get("/version", tls=True),
                   _etcd_get("/version", tls=True, cert="admin")):
        assert not answer.startswith("200") and "etcdserver" not in answer, answer
    assert kubectl("get", "--raw", "/readyz/etcd").stdout.strip() == "ok"
    assert kubectl("-n", "kube-system", "get", "secrets", "-o", "name").returncode == 0
