"""`argo server` SIGKILLed while users drive workflows through it (its HTTP API and the `argo` CLI pointed at it with
ARGO_SERVER and a bearer token): kubelet restarts the container, the API and the CLI answer again, every workflow
submitted through it before the kill is still there and finishes as it would have, none is duplicated, and the
workflows never notice (argo server holds no state: the controller runs them from their Workflow objects).

The server is reached at its Service's ClusterIP, from this host (the node): what kube-proxy gives any client in
the cluster."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from chaoslib import (SERVER, Figures, as_without_fault, controller_back, expected_steps, repeated_steps,
                      sigkill_controller)
from cogniverse_chart import REPO_ROOT
from kubelib import account, account_token, kubectl
from smokelib import explain

pytestmark = pytest.mark.chaos

ARGO = str(REPO_ROOT / ".tools" / "bin" / "argo")
USER = "chaos-argo-user"
#: What a user of the API needs in the namespace (argo server acts with the caller's token: --auth-mode=client).
RIGHTS = (("argoproj.io", "workflows,workflowtemplates", "get,list,watch,create"),)
RECOVERY_TIMEOUT = 120
LABEL = "chaos=argo-server"


class Server:
    """argo server at its Service's address, for one namespace and one user's token."""

    def __init__(self, namespace: str):
        ip = kubectl("-n", SERVER["namespace"], "get", "service", SERVER["name"], "-o", "jsonpath={.spec.clusterIP}").stdout
        self.namespace, self.base = namespace, f"http://{ip}:2746"
        kubectl("-n", namespace, "apply", "-f", "-", input=account(USER, *RIGHTS))
        self.token = account_token(namespace, USER, duration="30m")
        self.env = {**os.environ, "ARGO_SERVER": f"{ip}:2746", "ARGO_SECURE": "false", "ARGO_HTTP1": "true",
                    "ARGO_TOKEN": f"Bearer {self.token}", "ARGO_NAMESPACE": namespace}
        self.env.pop("KUBECONFIG", None)  # the CLI must go through argo server, not to the API server

    def api_names(self) -> set[str] | None:
        """The names the API lists (GET /api/v1/workflows/NS with the label), None while it does not answer."""
        url = f"{self.base}/api/v1/workflows/{self.namespace}?listOptions.labelSelector={LABEL.replace('=', '%3D')}"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                return {i["metadata"]["name"] for i in json.load(resp).get("items") or []}
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def cli(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run([ARGO, *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def submit(self, template: str, *params: str) -> str:
        proc = self.cli("submit", "--from", f"workflowtemplate/{template}", "-l", LABEL, "-o", "name",
                        *[a for p in params for a in ("-p", p)])
        assert proc.returncode == 0, f"argo submit through argo server failed: {proc.stderr}"
        return proc.stdout.strip()

    def cli_names(self) -> set[str] | None:
        proc = self.cli("list", "-l", LABEL, "-o", "name", timeout=15)
        return set(proc.stdout.split()) if proc.returncode == 0 else None


def _until(what: str, check, since: float) -> float:
    """Seconds from `since` until `check()` is not None."""
    deadline = since + RECOVERY_TIMEOUT
    while time.monotonic() < deadline:
        if check() is not None:
            return time.monotonic() - since
        time.sleep(0.2)
    raise AssertionError(f"{what} did not answer within {RECOVERY_TIMEOUT} s of argo server's SIGKILL")


def test_argo_server_killed_answers_again_and_loses_nothing(chaos):
    fig = Figures("argo-server SIGKILL")
    argo, rel = chaos.rel.argo, chaos.rel
    server = Server(rel.namespace)
    assert server.api_names() == set(), f"argo server at {server.base} does not answer its API before the fault"
    before = {server.submit("batch-optimization", "tenant-id=chaos_server", "max-iterations=100"): "batch-optimization",
              server.submit("video-ingestion", "tenant-id=chaos_server"): "video-ingestion"}
    first = next(iter(before))
    rel.wait(first, until=lambda r: r.finished or any(n.type == "Pod" and n.phase == "Succeeded" for n in r.nodes))
    running = [n for n in before if not argo.status(n).finished]
    kill = sigkill_controller(chaos.core, SERVER)
    fig.faults, fig.affected = 1, len(running)
    # The Kubernetes API (and `argo` with a kubeconfig) never depended on argo server.
    direct = subprocess.run([ARGO, "list", "-n", rel.namespace, "-l", LABEL, "-o", "name"], text=True,
                            capture_output=True, timeout=30, env={**os.environ, "KUBECONFIG": rel.kubeconfig})
    fig.recovery["API answered again"] = _until("argo server's API", server.api_names, kill.at)
    fig.recovery["argo CLI (ARGO_SERVER) answered again"] = _until("argo list through argo server", server.cli_names,
                                                                   kill.at)
    fig.recovery["argo-server Ready again"] = controller_back(chaos.core, kill, component=SERVER)
    after = server.submit("video-ingestion", "tenant-id=chaos_server")
    listed_api, listed_cli = server.api_names(), server.cli_names()
    results = {name: rel.wait(name) for name in [*before, after]}
    templates = {**before, after: "video-ingestion"}
    fig.as_without = sum(1 for n in running if as_without_fault(results[n], expected_steps(argo, templates[n])))
    fig.repeated_steps = sum(sum(repeated_steps(r, chaos.ledger).values()) for r in results.values())
    in_cluster = {w.name for w in argo.list_workflows(selector=LABEL)}
    fig.lost = len(set(templates) - in_cluster)
    fig.duplicated = len(in_cluster - set(templates))
    fig.report()
    assert running, "every workflow had finished before the kill: the scenario proved nothing"
    assert direct.returncode == 0 and set(direct.stdout.split()) >= set(before), (
        f"argo with a kubeconfig while argo server was down: {direct.stdout}{direct.stderr}")
    assert listed_api == listed_cli == set(templates), (listed_api, listed_cli, set(templates))
    for name, result in results.items():
        assert as_without_fault(result, expected_steps(argo, templates[name])), explain(result)
    assert (fig.lost, fig.duplicated, fig.repeated_steps) == (0, 0, 0), in_cluster
