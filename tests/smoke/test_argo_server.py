"""Smoke checks of Argo on the local cluster as the online install lays it out: the workflow-controller
and `argo server` as Deployments in namespace argo, the UI and API through
`kubectl port-forward -n argo svc/argo-server 2746:2746` (plain HTTP, --auth-mode=client: every API
request carries a ServiceAccount's bearer token and acts with its rights; without one, or from a pod
without one, the server refuses), and the pinned `argo` CLI that `local_cluster.sh up` puts in .tools/bin
(it talks to the API server with the kubeconfig, not through argo server).

Local cluster only (the images and the auth mode are the local node's); elsewhere skipped with the
reason. Run by scripts/test.sh once per Argo version of the matrix.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from cogniverse_chart import versions
from kubelib import KUBECTL, TASK_RESULTS, account, account_token, kubectl

ROOT = Path(__file__).resolve().parents[2]
ARGO = str(ROOT / ".tools" / "bin" / "argo")
TOOLBOX_IMAGE = "cogniverse/toolbox:1.0"
# How long the UI may take to list a workflow just submitted (its store follows a watch).
LIST_WAIT_SECONDS = 30

pytestmark = pytest.mark.smoke


def argo(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ARGO, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module", autouse=True)
def local_cluster_only():
    context = subprocess.run([KUBECTL, "config", "current-context"], capture_output=True, text=True).stdout.strip()
    if context != "cogniverse-local":
        pytest.skip(f"Argo server checks need the cluster of scripts/local_cluster.sh (context {context!r})")


@pytest.fixture(scope="module")
def running_version() -> str:
    """The Argo version the argo-server Deployment runs (its image tag), one of the pinned ones."""
    image = kubectl("-n", "argo", "get", "deployment", "argo-server",
                    "-o", "jsonpath={.spec.template.spec.containers[0].image}").stdout
    version = image.rpartition(":")[2]
    assert version in (versions.get("ARGO_VERSION"), versions.get("ARGO_V4_VERSION")), f"argo-server runs {image}"
    return version


@pytest.fixture(scope="module")
def server() -> str:
    """`kubectl port-forward -n argo svc/argo-server` on a free loopback port; yields its base URL."""
    proc = subprocess.Popen([KUBECTL, "-n", "argo", "port-forward", "--address", "127.0.0.1", "svc/argo-server", ":2746"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else ""
        # "Forwarding from 127.0.0.1:41234 -> 2746"
        assert line.startswith("Forwarding from 127.0.0.1:"), f"port-forward did not start: {line!r}"
        port = int(line.split("127.0.0.1:", 1)[1].split()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def get(url: str, method: str = "GET", body: dict | None = None, token: str | None = None) -> tuple[int, str, str]:
    """The answer (status, content type, body), also for an HTTP error status."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def test_controller_and_server_run_as_deployments_in_namespace_argo(running_version):
    for name in ("workflow-controller", "argo-server"):
        d = json.loads(kubectl("-n", "argo", "get", "deployment", name, "-o", "json").stdout)
        assert d["status"].get("readyReplicas") == 1, f"{name}: {d['status']}"
        assert d["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":" + running_version)
        assert d["spec"]["template"]["spec"]["serviceAccountName"] in ("argo", "argo-server")
    state = Path(os.environ.get("COGNIVERSE_CLUSTER_STATE", "/var/lib/cogniverse-local-cluster"))
    assert not (state / "pids" / "workflow-controller.pid").exists(), "a host workflow-controller process is left"


def test_ui_index_page_is_served_through_the_port_forward(server):
    status, ctype, body = get(server + "/")
    assert status == 200 and ctype.startswith("text/html")
    assert "<title>Argo" in body and '<base href="/">' in body


def test_api_and_cli_report_the_running_version(server, running_version, namespace):
    status, _, body = get(server + "/api/v1/version", token=account_token(namespace, "wf"))
    assert status == 200
    assert json.loads(body)["version"] == running_version
    proc = argo("version", "--short")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["argo:", running_version]


@pytest.fixture
def namespace():
    name = f"argo-srv-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    # The workflows' account, and what a user of the API needs in the namespace: their token goes with
    # every request (auth-mode client).
    kubectl("-n", name, "apply", "-f", "-", input=account("wf", TASK_RESULTS) + "---\n" +
            account("api-user", ("argoproj.io", "workflows", "create,get,list,watch")))
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_a_workflow_submitted_through_the_api_is_listed_there_and_the_cli_follows_it(server, namespace):
    greeting = f"hello-{uuid.uuid4().hex[:6]}"
    wf = {"metadata": {"generateName": "api-"},
          "spec": {"entrypoint": "main", "serviceAccountName": "wf",
                   "templates": [{"name": "main", "container": {
                       "image": TOOLBOX_IMAGE, "imagePullPolicy": "IfNotPresent",
                       "command": ["sh", "-c", f"echo {greeting}"]}}]}}
    token = account_token(namespace, "api-user")
    status, _, body = get(f"{server}/api/v1/workflows/{namespace}", "POST", {"workflow": wf}, token=token)
    assert status == 200, body
    name = json.loads(body)["metadata"]["name"]

    # The server lists live workflows from a store its informer fills (Argo 3.6+), not from the
    # API server, so a workflow created a moment ago shows up after the watch event: wait for it.
    listed_names: list[str] = []
    deadline = time.monotonic() + LIST_WAIT_SECONDS
    while name not in listed_names and time.monotonic() < deadline:
        status, _, body = get(f"{server}/api/v1/workflows/{namespace}", token=token)
        assert status == 200, body
        listed_names = [w["metadata"]["name"] for w in json.loads(body).get("items") or []]
        if name not in listed_names:
            time.sleep(0.5)
    assert name in listed_names, f"{name} not listed by the server within {LIST_WAIT_SECONDS} s: {listed_names}"

    proc = argo("wait", "-n", namespace, name, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(argo("get", "-n", namespace, name, "-o", "json").stdout)
    assert got["status"]["phase"] == "Succeeded", got["status"].get("message")
    listed = argo("list", "-n", namespace)
    assert listed.returncode == 0 and name in listed.stdout, listed.stderr
    deadline = time.monotonic() + 60
    logs = ""
    while greeting not in logs and time.monotonic() < deadline:
        logs = argo("logs", "-n", namespace, name).stdout
        time.sleep(1)
    assert greeting in logs


def hello_workflow(name_prefix: str) -> dict:
    return {"metadata": {"generateName": name_prefix},
            "spec": {"entrypoint": "main", "serviceAccountName": "wf",
                     "templates": [{"name": "main", "container": {"image": TOOLBOX_IMAGE, "command": ["true"]}}]}}


def test_the_api_refuses_a_request_without_a_token(server, namespace):
    """--auth-mode=client: without a token no API call answers (not even the version) and nothing is
    created; the static page at / stays open (it asks for the token)."""
    for path in ("/api/v1/version", f"/api/v1/workflows/{namespace}", "/api/v1/workflows/"):
        status, _, body = get(server + path)
        assert status == 401, (path, status, body[:300])
    status, _, body = get(f"{server}/api/v1/workflows/{namespace}", "POST", {"workflow": hello_workflow("anon-")})
    assert status == 401, body[:300]
    assert kubectl("-n", namespace, "get", "workflows", "-o", "name").stdout == ""
    assert get(server + "/")[0] == 200


def test_a_forged_token_or_one_without_the_rights_gets_nothing(server, namespace):
    """argo server passes the token on to the API server: a made-up one is refused, and a real one acts
    only with its own account's rights (wf may write task results, not list or create workflows)."""
    url = f"{server}/api/v1/workflows/{namespace}"
    for token in (f"forged.{uuid.uuid4().hex}", account_token(namespace, "wf")):
        status, _, body = get(url, token=token)
        assert status in (401, 403), (status, body[:300])
        status, _, body = get(url, "POST", {"workflow": hello_workflow("forged-")}, token=token)
        assert status in (401, 403), (status, body[:300])
    assert kubectl("-n", namespace, "get", "workflows", "-o", "name").stdout == ""


def test_a_pod_on_the_node_cannot_drive_argo_through_its_service(namespace):
    """What --auth-mode=server allowed: any pod reaching argo-server.argo:2746 acted with the server's
    account. Now a pod gets 401 without a token and 403 with its own (default) account's token."""
    # By the Service's address: the toolbox's busybox-static wget crashes resolving names.
    ip = kubectl("-n", "argo", "get", "service", "argo-server", "-o", "jsonpath={.spec.clusterIP}").stdout.strip()
    url = f"http://{ip}:2746/api/v1/workflows/{namespace}"
    body = json.dumps({"workflow": hello_workflow("from-pod-")}).replace("'", "")
    token = "$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)"
    script = "\n".join([
        f"wget -q -O- {url} 2>&1 | tail -1 | sed 's/^/list-anonymous: /'",
        f"wget -q -O- --header \"Authorization: Bearer {token}\" {url} 2>&1 | tail -1 | sed 's/^/list-own-token: /'",
        f"wget -q -O- --header 'Content-Type: application/json' --post-data '{body}' {url} 2>&1 | tail -1 | sed 's/^/submit-anonymous: /'",
        f"wget -q -O- --header \"Authorization: Bearer {token}\" --header 'Content-Type: application/json' "
        f"--post-data '{body}' {url} 2>&1 | tail -1 | sed 's/^/submit-own-token: /'",
    ])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api-probe", "namespace": namespace},
           "spec": {"restartPolicy": "Never", "containers": [
               {"name": "probe", "image": TOOLBOX_IMAGE, "imagePullPolicy": "Never", "command": ["sh", "-c", script]}]}}
    kubectl("apply", "-f", "-", input=json.dumps(pod))
    kubectl("-n", namespace, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/api-probe", "--timeout=120s")
    out = dict(line.split(": ", 1) for line in kubectl("-n", namespace, "logs", "api-probe").stdout.splitlines())
    assert set(out) == {"list-anonymous", "list-own-token", "submit-anonymous", "submit-own-token"}, out
    for what, answer in out.items():
        want = "401 Unauthorized" if what.endswith("anonymous") else "403 Forbidden"
        assert answer.endswith(want), (what, answer)
    assert kubectl("-n", namespace, "get", "workflows", "-o", "name").stdout == ""
