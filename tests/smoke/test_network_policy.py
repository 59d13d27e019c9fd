"""The chart's NetworkPolicies (templates/networkpolicy/networkpolicies.yaml) enforced on the node by
kube-router's network policy controller (cluster/addons/kube-router), as on K3s: real connections from
real pods to the chart's real Services.

Rendered with every component enabled (runtime, vespa, phoenix, llm) and applied as Helm renders them:
the Services and the NetworkPolicies. Their backends are stand-ins, named as such: one pod per
component workload with the workload's own pod labels and named container ports, serving HTTP on each
of them (busybox httpd in the node's toolbox image) and on one port no policy lists (9999). The
component images are not what is under test, and vespa has none on this node.

Clients are pods in three namespaces: the release's (one plain, one with the release's selector
labels), a peer namespace that `networkPolicy.extraFrom` admits by label, and an outside namespace
(one plain, one forging the release's labels). Each probe is an HTTP GET to the Service's cluster IP
(or the pod IP for the unlisted port). Checked, in order:
- control: without policies every client reaches every port (so a refusal later is the policy's);
- allowSameNamespace=true: the release namespace and the peer reach the listed ports; the outside does
  not, labels or not; the unlisted port is closed to everyone;
- allowSameNamespace=false: only pods with the release's labels (and the peer) get through;
- the policies deleted: the outside reaches everything again.
A denied connection must fail as refused or timed out (no other error), an allowed one must succeed.
Enforcement follows a change within a few seconds (the controller syncs on each event): each step waits
up to SYNC_SECONDS for the expected matrix, then checks it once more.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from cogniverse_chart import CHART_DIR, versions
from cogniverse_chart.helm import find_helm
from kubelib import kubectl
from smokelib import RELEASE

pytestmark = [pytest.mark.smoke, pytest.mark.group("node")]

TOOLBOX = "cogniverse/toolbox:1.0"
UNLISTED_PORT = 9999
SYNC_SECONDS = 60
PROBE_TIMEOUT = 3  # seconds a probe may take before it counts as timed out
SUFFIX = secrets.token_hex(3)
NS = f"cvnp-{SUFFIX}"  # the release namespace
PEER_NS = f"cvnp-{SUFFIX}-peer"
OUT_NS = f"cvnp-{SUFFIX}-out"
PEER_LABEL = {"cogniverse.dev/np-peer": SUFFIX}
RELEASE_LABELS = {"app.kubernetes.io/name": "cogniverse", "app.kubernetes.io/instance": RELEASE}
# client name: (namespace, labels)
CLIENTS = {"same-ns": (NS, {}), "release-pod": (NS, RELEASE_LABELS), "peer-ns": (PEER_NS, {}),
           "outside": (OUT_NS, {}), "outside-forged": (OUT_NS, RELEASE_LABELS)}


def render(allow_same_namespace: bool) -> list[dict[str, Any]]:
    """The chart as Helm renders it with every component and the NetworkPolicies on."""
    import yaml

    extra = json.dumps([{"namespaceSelector": {"matchLabels": PEER_LABEL}}])
    proc = subprocess.run([find_helm().path, "template", RELEASE, str(CHART_DIR), "--namespace", NS,
                           "--set", "networkPolicy.enabled=true", "--set", "llm.enabled=true",
                           "--set", f"networkPolicy.allowSameNamespace={str(allow_same_namespace).lower()}",
                           "--set-json", f"networkPolicy.extraFrom={extra}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def policies(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == "NetworkPolicy"]


def pod(name: str, namespace: str, labels: dict[str, str], command: str, ports: list[dict[str, Any]] | None = None) -> dict:
    container: dict[str, Any] = {"name": "main", "image": TOOLBOX, "imagePullPolicy": "Never",
                                 "command": ["sh", "-c", command]}
    if ports:
        container["ports"] = [{"name": p["name"], "containerPort": p["containerPort"]} for p in ports]
        container["readinessProbe"] = {"tcpSocket": {"port": ports[0]["containerPort"]}, "periodSeconds": 1}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"containers": [container], "terminationGracePeriodSeconds": 0,
                     "automountServiceAccountToken": False}}


def stand_ins(docs: list[dict[str, Any]]) -> dict[str, dict]:
    """One stand-in pod per component workload: its labels and named ports, HTTP on each and on UNLISTED_PORT."""
    out = {}
    for d in docs:
        if d["kind"] not in ("Deployment", "StatefulSet"):
            continue
        tmpl = d["spec"]["template"]
        ports = tmpl["spec"]["containers"][0].get("ports") or []
        numbers = " ".join(str(p["containerPort"]) for p in ports) + f" {UNLISTED_PORT}"
        serve = (f"mkdir -p /tmp/www && echo ok >/tmp/www/index.html && for p in {numbers}; do "
                 "busybox httpd -f -p $p -h /tmp/www & done; wait")
        component = tmpl["metadata"]["labels"]["app.kubernetes.io/component"]
        out[component] = pod(f"stand-in-{component}", NS, tmpl["metadata"]["labels"], serve, ports)
    return out


def targets(services: dict[str, dict[str, Any]], pod_ips: dict[str, str]) -> dict[str, str]:
    """label -> ip:port: every port of every Service with a cluster IP (as created), and UNLISTED_PORT of
    every stand-in. By address, not DNS name: the toolbox's busybox-static wget crashes resolving names
    (see cluster/services/images.sh); the pods' DNS is checked by tests/smoke/test_node.py."""
    out = {}
    for name, svc in services.items():
        if svc["spec"].get("clusterIP") in (None, "", "None"):  # vespa's headless Service: the pod's own address
            continue
        for p in svc["spec"]["ports"]:
            out[f"{name}:{p['port']}"] = f"{svc['spec']['clusterIP']}:{p['port']}"
    for component, ip in pod_ips.items():
        out[f"{component}-pod:{UNLISTED_PORT}"] = f"{ip}:{UNLISTED_PORT}"
    return out


def probe(client: str, tgts: dict[str, str]) -> dict[str, str]:
    """From the client pod, one HTTP GET per target, all at once: label -> ok | refused | timeout | error: ..."""
    ns = CLIENTS[client][0]
    # busybox wget's own -T crashes in the static build: busybox timeout ends a connection that hangs.
    lines = [f'(out=$(busybox timeout {PROBE_TIMEOUT} wget -q -O /dev/null http://{hp}/ 2>&1); rc=$?; '
             f'if test $rc = 0; then echo "{label} ok"; elif test -z "$out"; then echo "{label} timed out (exit $rc)"; '
             f'else echo "{label} $out"; fi) &' for label, hp in tgts.items()]
    proc = kubectl("-n", ns, "exec", client, "--", "sh", "-c", "\n".join(lines + ["wait"]), timeout=60)
    got = {}
    for line in proc.stdout.splitlines():
        label, _, rest = line.partition(" ")
        if rest == "ok":
            got[label] = "ok"
        elif "refused" in rest:
            got[label] = "refused"
        elif "timed out" in rest:
            got[label] = "timeout"
        else:
            got[label] = f"error: {rest}"
    return got


def matrix(tgts: dict[str, str]) -> dict[str, dict[str, str]]:
    with ThreadPoolExecutor(len(CLIENTS)) as pool:
        return dict(zip(CLIENTS, pool.map(lambda c: probe(c, tgts), CLIENTS)))


def outcome(m: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """ok / denied per client and target; anything else (a DNS error, a missing line) stays as it is."""
    return {c: {t: "denied" if r in ("refused", "timeout") else r for t, r in row.items()} for c, row in m.items()}


def expect_settled(tgts: dict[str, str], allowed: dict[str, set[str]]) -> dict[str, dict[str, str]]:
    """Wait up to SYNC_SECONDS until every client gets exactly `allowed` (client -> labels that connect) and
    the rest denied, then check it once more (no flapping). Returns the raw matrix."""
    want = {c: {t: "ok" if t in allowed[c] else "denied" for t in tgts} for c in CLIENTS}
    deadline = time.monotonic() + SYNC_SECONDS
    while True:
        m = matrix(tgts)
        if outcome(m) == want:
            break
        if time.monotonic() > deadline:
            diff = {c: {t: f"got {outcome(m)[c].get(t)}, want {w}" for t, w in row.items() if outcome(m)[c].get(t) != w}
                    for c, row in want.items()}
            raise AssertionError(f"after {SYNC_SECONDS}s: {json.dumps({c: d for c, d in diff.items() if d}, indent=1)}")
        time.sleep(1)
    again = matrix(tgts)
    assert outcome(again) == want, f"enforcement flapped: {again}"
    return m


class Setup:
    def __init__(self) -> None:
        self.docs = {True: render(True), False: render(False)}
        self.tgts: dict[str, str] = {}

    def listed(self) -> set[str]:
        return {t for t in self.tgts if not t.endswith(f":{UNLISTED_PORT}")}

    def apply_policies(self, allow_same_namespace: bool) -> None:
        items = policies(self.docs[allow_same_namespace])
        kubectl("-n", NS, "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))


@pytest.fixture(scope="module")
def setup(kube_cluster: Any) -> Iterator[Setup]:
    s = Setup()
    for ns, labels in ((NS, {}), (PEER_NS, PEER_LABEL), (OUT_NS, {})):
        kubectl("create", "namespace", ns)
        for k, v in labels.items():
            kubectl("label", "namespace", ns, f"{k}={v}")
    try:
        docs = s.docs[True]
        services = [d for d in docs if d["kind"] == "Service"]
        backends = stand_ins(docs)
        assert set(backends) == {"runtime", "vespa", "phoenix", "llm"}, sorted(backends)
        clients = [pod(name, ns, labels, "sleep 3600") for name, (ns, labels) in CLIENTS.items()]
        kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                        "items": [*services, *backends.values(), *clients]}))
        for ns in (NS, PEER_NS, OUT_NS):
            kubectl("-n", ns, "wait", "--for=condition=Ready", "pod", "--all", "--timeout=180s", timeout=200)
        ips = {c: kubectl("-n", NS, "get", "pod", f"stand-in-{c}", "-o", "jsonpath={.status.podIP}").stdout
               for c in backends}
        created = {d["metadata"]["name"]: json.loads(kubectl("-n", NS, "get", "service", d["metadata"]["name"], "-o", "json").stdout)
                   for d in services}
        s.tgts = targets(created, ips)
        yield s
    finally:
        for ns in (NS, PEER_NS, OUT_NS):
            kubectl("delete", "namespace", ns, "--wait=false", check=False)


def node_controller() -> Path:
    """The kube-router binary the node runs (its PID file, as scripts/local_cluster.sh up wrote it)."""
    pidfile = Path(os.environ.get("COGNIVERSE_CLUSTER_STATE", "/var/lib/cogniverse-local-cluster")) / "pids" / "kube-router.pid"
    assert pidfile.is_file(), f"{pidfile} missing: the node runs no network policy controller (scripts/local_cluster.sh up)"
    return Path(os.readlink(f"/proc/{pidfile.read_text().strip()}/exe"))


def test_the_node_runs_kube_routers_policy_controller_alone_healthy_and_read_only(kube_cluster):
    context = kubectl("config", "current-context").stdout.strip()
    if context != "cogniverse-local":
        pytest.skip(f"checks the controller of scripts/local_cluster.sh's node (context {context!r})")
    with urllib.request.urlopen("http://127.0.0.1:20244/healthz", timeout=10) as resp:
        assert resp.read().decode().strip() == "OK"
    binary = str(node_controller())
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    assert version.startswith(f"kube-router-netpol {versions.load()['KUBE_ROUTER_VERSION']} "), version
    for flag in ("--run-router=true", "--run-service-proxy=true", "--run-loadbalancer=true"):
        proc = subprocess.run([binary, flag], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 1 and "only the network policy controller is built in" in proc.stderr, (flag, proc)
    for verb, resource, allowed in (("list", "networkpolicies", "yes"), ("watch", "pods", "yes"),
                                    ("create", "pods", "no"), ("patch", "networkpolicies", "no"),
                                    ("delete", "namespaces", "no"), ("get", "secrets", "no")):
        got = kubectl("auth", "can-i", verb, resource, "-A", "--as", "system:kube-router", check=False).stdout.strip()
        assert got == allowed, (verb, resource, got)


def test_the_chart_renders_one_ingress_policy_per_component_with_its_ports(setup):
    got = {p["metadata"]["name"]: sorted(port["port"] for port in p["spec"]["ingress"][0]["ports"])
           for p in policies(setup.docs[True])}
    assert got == {f"{RELEASE}-runtime": [8000], f"{RELEASE}-vespa": [8080, 19071],
                   f"{RELEASE}-phoenix": [4317, 6006], f"{RELEASE}-llm": [11434]}, got
    # 6 Service ports (vespa's headless one, the pod's own address, left out) + 4 unlisted pod ports
    assert len(setup.tgts) == 10, setup.tgts
    # The release-pod client carries exactly what allowSameNamespace=false admits; the peer, what extraFrom names.
    for p in policies(setup.docs[False]):
        assert p["spec"]["ingress"][0]["from"] == [{"podSelector": {"matchLabels": RELEASE_LABELS}},
                                                   {"namespaceSelector": {"matchLabels": PEER_LABEL}}], p


def test_without_policies_every_client_reaches_every_port(setup):
    """The control: the stand-ins serve, DNS answers, and nothing but a policy could refuse later."""
    expect_settled(setup.tgts, {c: set(setup.tgts) for c in CLIENTS})


def test_same_namespace_and_the_extra_peer_get_in_and_nobody_else(setup):
    setup.apply_policies(allow_same_namespace=True)
    listed = setup.listed()
    expect_settled(setup.tgts, {"same-ns": listed, "release-pod": listed, "peer-ns": listed,
                                "outside": set(), "outside-forged": set()})


def test_without_same_namespace_only_the_releases_own_pods_and_the_peer_get_in(setup):
    setup.apply_policies(allow_same_namespace=False)
    listed = setup.listed()
    expect_settled(setup.tgts, {"same-ns": set(), "release-pod": listed, "peer-ns": listed,
                                "outside": set(), "outside-forged": set()})


def test_deleting_the_policies_opens_the_ports_again(setup):
    kubectl("-n", NS, "delete", "networkpolicy", "--all")
    expect_settled(setup.tgts, {c: set(setup.tgts) for c in CLIENTS})
