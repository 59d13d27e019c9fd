"""The node's kube-router policy controller binary enforcing a NetworkPolicy in private network namespaces,
independent of the node: a check of the binary and of this kernel's iptables (nft backend) and ipsets.

The API server here is a stand-in (named as such): a small HTTP server inside the private namespace that
serves a Node, three Pods, two Namespaces and the NetworkPolicies from a JSON file, and answers every
watch with nothing until the file changes, then with 410 Expired so the controller's informers list
again (what a real API server does after a compaction). The "pods" are network namespaces with a veth on
a bridge: a server (namespace a, app=srv, HTTP on 8000), a client in namespace a and one in namespace c.
Everything lives in namespaces this test creates (`nnx-<hex>-*`) and removes; the node is not touched.
Runs with the smoke suite (after `local_cluster.sh up` built the binary); needs root.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from cluster_utils import script

pytestmark = [pytest.mark.smoke, pytest.mark.group("node")]

PREFIX = f"nnx-{secrets.token_hex(2)}"
HOST_NS = f"{PREFIX}-host"
PODS = {"srv": ("a", "10.99.0.10", {"app": "srv"}), "cli-a": ("a", "10.99.0.11", {}), "cli-c": ("c", "10.99.0.12", {})}
API_PORT = 18080
FAKE_API = '''
import json, sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs
STATE = sys.argv[1]
LISTS = {"/api/v1/pods": ("PodList", "v1", "pods"), "/api/v1/namespaces": ("NamespaceList", "v1", "namespaces"),
         "/apis/networking.k8s.io/v1/networkpolicies": ("NetworkPolicyList", "networking.k8s.io/v1", "networkpolicies")}
def load():
    with open(STATE) as f:
        return json.load(f)
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, obj, code=200):
        body = json.dumps(obj).encode()
        self.send_response(code); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        url, st = urlparse(self.path), load()
        rv = str(st["rv"])
        if parse_qs(url.query).get("watch") == ["true"]:
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            start = time.time()
            while time.time() - start < 20 and str(load()["rv"]) == rv:
                time.sleep(0.2)
            if str(load()["rv"]) != rv:
                ev = json.dumps({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                 "reason": "Expired", "code": 410}}).encode() + b"\\n"
                self.wfile.write(b"%x\\r\\n%s\\r\\n" % (len(ev), ev))
            self.wfile.write(b"0\\r\\n\\r\\n")
        elif url.path == "/api/v1/nodes/" + st["node"]["metadata"]["name"]:
            self.reply(st["node"])
        elif url.path in LISTS:
            kind, api, key = LISTS[url.path]
            self.reply({"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": rv}, "items": st[key]})
        else:
            self.reply({"kind": "Status", "code": 404}, 404)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
'''


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)}: {proc.stderr}")
    return proc


def controller_binary() -> str:
    proc = script('echo "$(addon_bin_dir kube-router)/kube-router"')  # cluster/node.sh's own path for it
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def write_state(path: Path, rv: int, policy: bool) -> None:
    def pod(name: str) -> dict:
        ns, ip, labels = PODS[name]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels,
                                                                "uid": name, "resourceVersion": str(rv)},
                "spec": {"nodeName": "nnx-node", "containers": [{"name": "c", "image": "none"}]},
                "status": {"phase": "Running", "hostIP": "10.99.0.1", "podIP": ip, "podIPs": [{"ip": ip}]}}
    st = {"rv": rv, "pods": [pod(n) for n in PODS], "networkpolicies": [],
          "node": {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "nnx-node", "resourceVersion": "1"},
                   "status": {"addresses": [{"type": "InternalIP", "address": "10.99.0.1"}]}},
          "namespaces": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {
              "name": n, "resourceVersion": str(rv), "labels": {"kubernetes.io/metadata.name": n}}} for n in ("a", "c")]}
    if policy:  # what the chart renders, in small: only pods of the namespace reach app=srv, on 8000
        st["networkpolicies"] = [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                  "metadata": {"name": "srv", "namespace": "a", "resourceVersion": str(rv)},
                                  "spec": {"podSelector": {"matchLabels": {"app": "srv"}}, "policyTypes": ["Ingress"],
                                           "ingress": [{"ports": [{"port": 8000, "protocol": "TCP"}],
                                                        "from": [{"podSelector": {}}]}]}}]
    path.with_suffix(".tmp").write_text(json.dumps(st))
    path.with_suffix(".tmp").replace(path)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[Path]:
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("ipset"):
        pytest.skip("needs root, iproute2 and ipset (as scripts/local_cluster.sh up does)")
    binary = controller_binary()
    assert os.access(binary, os.X_OK), f"{binary} is not built: scripts/local_cluster.sh build"
    tmp = tmp_path_factory.mktemp("nnx")
    state = tmp / "state.json"
    write_state(state, 1, policy=False)
    (tmp / "api.py").write_text(FAKE_API)
    procs: list[subprocess.Popen] = []
    try:
        sh("ip", "netns", "add", HOST_NS)
        sh("ip", "-n", HOST_NS, "link", "set", "lo", "up")
        sh("ip", "-n", HOST_NS, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", HOST_NS, "addr", "add", "10.99.0.1/24", "dev", "br0")
        sh("ip", "-n", HOST_NS, "link", "set", "br0", "up")
        sh("ip", "netns", "exec", HOST_NS, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1")
        for i, (name, (_, ip, _)) in enumerate(PODS.items()):
            ns, veth = f"{PREFIX}-{name}", f"{PREFIX}-v{i}"
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", veth, "netns", HOST_NS)
            sh("ip", "-n", HOST_NS, "link", "set", veth, "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
        exec_in = ["ip", "netns", "exec"]
        procs.append(subprocess.Popen([*exec_in, f"{PREFIX}-srv", sys.executable, "-m", "http.server", "8000",
                                       "--directory", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen([*exec_in, HOST_NS, sys.executable, str(tmp / "api.py"), str(state), str(API_PORT)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1)
        log = open(tmp / "kube-router.log", "w")
        procs.append(subprocess.Popen([*exec_in, HOST_NS, binary, "--run-firewall=true", "--run-router=false",
                                       "--run-service-proxy=false", f"--master=http://127.0.0.1:{API_PORT}",
                                       "--hostname-override=nnx-node", "--service-cluster-ip-range=10.96.0.0/16",
                                       "--health-addr=127.0.0.1:20244", "--v=1"], stdout=log, stderr=log))
        yield state
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=20)
        for name in [*PODS, "host"]:
            sh("ip", "netns", "del", f"{PREFIX}-{name}", check=False)
        print((tmp / "kube-router.log").read_text()[-2000:] if (tmp / "kube-router.log").exists() else "")


def reaches(client: str) -> str:
    proc = sh("ip", "netns", "exec", f"{PREFIX}-{client}", "curl", "-sS", "-m", "3", "-o", "/dev/null",
              "-w", "%{http_code}", "http://10.99.0.10:8000/", check=False)
    return "ok" if proc.stdout == "200" else "refused" if "connect" in proc.stderr.lower() else f"?{proc.stderr}"


def settles(want: dict[str, str], seconds: float = 30) -> dict[str, str]:
    deadline = time.monotonic() + seconds
    while True:
        got = {c: reaches(c) for c in want}
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_the_controller_enforces_a_policy_and_lifts_it(sandbox):
    deadline = time.monotonic() + 30
    while (health := sh("ip", "netns", "exec", HOST_NS, "curl", "-sS", "-m", "3", "http://127.0.0.1:20244/healthz",
                        check=False)).stdout.strip() != "OK" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert health.stdout.strip() == "OK", health
    assert settles({"cli-a": "ok", "cli-c": "ok"}) == {"cli-a": "ok", "cli-c": "ok"}, "control: no policy, both connect"
    for rv, policy, want in ((2, True, {"cli-a": "ok", "cli-c": "refused"}), (3, False, {"cli-a": "ok", "cli-c": "ok"})):
        start = time.monotonic()
        write_state(sandbox, rv, policy=policy)
        assert settles(want) == want, f"policy {'applied' if policy else 'deleted'}"
        print(f"\nkube-router: policy {'applied' if policy else 'deleted'}, enforced after {time.monotonic() - start:.1f}s")
