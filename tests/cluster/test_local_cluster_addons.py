"""Fast tests for the local cluster's add-ons (cluster/addons: CoreDNS, local-path, metrics-server,
kube-router): their pinned versions and rendered manifests, and kube-router's start; no cluster."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cluster_utils import HOST, PINS, ROOT, module_require, script


ADDONS = {  # folder: (versions.env key, module)
    "coredns": ("COREDNS_VERSION", "github.com/coredns/coredns"),
    "local-path": ("LOCAL_PATH_PROVISIONER_VERSION", "github.com/rancher/local-path-provisioner"),
    "metrics-server": ("METRICS_SERVER_VERSION", "sigs.k8s.io/metrics-server"),
    "kube-router": ("KUBE_ROUTER_VERSION", "github.com/cloudnativelabs/kube-router/v2"),
}


@pytest.mark.parametrize("addon", ADDONS)
def test_addon_wrapper_requires_the_version_versions_env_pins(addon):
    key, module = ADDONS[addon]
    assert module_require(ROOT / "cluster" / "addons" / addon / "go.mod", module) == PINS[key]


def test_addon_build_refuses_a_wrapper_that_drifted_from_versions_env(tmp_path):
    env = tmp_path / "versions.env"
    env.write_text((ROOT / "versions.env").read_text().replace(
        f"METRICS_SERVER_VERSION={PINS['METRICS_SERVER_VERSION']}", "METRICS_SERVER_VERSION=v0.7.2"))
    proc = script(f'ROOT={tmp_path}; addon_check_gomod metrics-server')
    assert proc.returncode == 1
    assert "cluster/addons/metrics-server/go.mod requires sigs.k8s.io/metrics-server " in proc.stderr
    assert "versions.env pins METRICS_SERVER_VERSION=v0.7.2" in proc.stderr


def rendered(tmp_path: Path) -> dict[str, list[dict]]:
    import yaml
    out = {}
    for addon in ADDONS:
        proc = script(f'STATE={tmp_path}; STORAGE_DIR={tmp_path}/storage; addon_vars; addon_render {addon}')
        assert proc.returncode == 0, proc.stderr
        assert "@" not in "".join(re.findall(r"@[A-Z_]+@", proc.stdout))
        out[addon] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return out


def find(docs: list[dict], kind: str, name: str) -> dict:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_coredns_service_is_the_address_kubelet_gives_pods(tmp_path):
    docs = rendered(tmp_path)["coredns"]
    dns_ip = script('echo "$DNS_SERVICE_IP"').stdout.strip()
    svc = find(docs, "Service", "kube-dns")
    assert svc["metadata"]["namespace"] == "kube-system" and svc["spec"]["clusterIP"] == dns_ip
    assert {(p["port"], p["protocol"]) for p in svc["spec"]["ports"]} >= {(53, "UDP"), (53, "TCP")}
    corefile = find(docs, "ConfigMap", "coredns")["data"]["Corefile"]
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in corefile
    image = find(docs, "Deployment", "coredns")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith(f"cogniverse/coredns:{PINS['COREDNS_VERSION']}-")


def test_local_path_is_the_default_storage_class_with_volumes_under_the_state_dir(tmp_path):
    docs = rendered(tmp_path)["local-path"]
    sc = find(docs, "StorageClass", "local-path")
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert (sc["provisioner"], sc["volumeBindingMode"], sc["reclaimPolicy"]) == \
        ("rancher.io/local-path", "WaitForFirstConsumer", "Delete")
    config = json.loads(find(docs, "ConfigMap", "local-path-config")["data"]["config.json"])
    assert config["nodePathMap"][0]["paths"] == [f"{tmp_path}/storage"]
    helper = find(docs, "ConfigMap", "local-path-config")["data"]["helperPod.yaml"]
    assert "image: cogniverse/toolbox:1.0" in helper  # the busybox image built locally, never pulled


def test_local_path_data_lives_in_the_state_dir_that_only_down_purge_removes():
    proc = script('echo "$STORAGE_DIR"; echo "$STATE"')
    storage, state = proc.stdout.split()
    assert storage.startswith(state + "/")


def test_metrics_server_is_registered_as_the_metrics_api_and_verifies_kubelet_certificates(tmp_path):
    docs = rendered(tmp_path)["metrics-server"]
    api = find(docs, "APIService", "v1beta1.metrics.k8s.io")
    assert api["spec"]["service"] == {"name": "metrics-server", "namespace": "kube-system"}
    args = find(docs, "Deployment", "metrics-server")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--kubelet-insecure-tls" not in args
    assert "--kubelet-certificate-authority=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" in args


def kube_router_start_command(tmp_path: Path) -> list[str]:
    """The command kube_router_start runs (start_daemon and the certificate helpers stubbed)."""
    proc = script(f'CACHE={tmp_path}; STATE={tmp_path}; b="$(kube_router_bin)"; mkdir -p "$(dirname "$b")"; '
                  'printf "#!/bin/sh\\n" >"$b"; chmod +x "$b"; running() { return 1; }; gen_cert() { :; }; '
                  'write_kubeconfig() { :; }; start_daemon() { printf "%s\\n" "$@"; }; kube_router_start')
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_kube_router_runs_only_the_network_policy_controller_with_a_loopback_health_port(tmp_path):
    """As K3s runs the embedded controller: the firewall, no router, no service proxy; IPv4 like the node."""
    cmd = kube_router_start_command(tmp_path)
    assert cmd[0] == "kube-router" and cmd[1].startswith(str(tmp_path / "bin" / f"kube-router-{PINS['KUBE_ROUTER_VERSION']}-"))
    for flag in ("--run-firewall=true", "--run-router=false", "--run-service-proxy=false", "--enable-ipv6=false"):
        assert flag in cmd, cmd
    args = dict(zip(cmd, cmd[1:]))
    assert args["--health-addr"].startswith("127.0.0.1:")
    assert args["--kubeconfig"] == f"{tmp_path}/kube-router.kubeconfig"
    assert args["--service-cluster-ip-range"] == script('echo "$SERVICE_CIDR"').stdout.strip()
    assert args["--hostname-override"] == script('echo "$NODE_NAME"').stdout.strip()


def test_kube_router_may_only_read_and_is_bound_to_the_user_of_its_certificate(tmp_path):
    docs = rendered(tmp_path)["kube-router"]
    role = find(docs, "ClusterRole", "system:kube-router-netpol")
    assert {v for r in role["rules"] for v in r["verbs"]} <= {"get", "list", "watch"}
    assert {res for r in role["rules"] for res in r["resources"]} == {"nodes", "pods", "namespaces", "networkpolicies"}
    binding = find(docs, "ClusterRoleBinding", "system:kube-router-netpol")
    user = script('echo "$KUBE_ROUTER_USER"').stdout.strip()
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
    assert 'gen_cert kube-router "/CN=$KUBE_ROUTER_USER"' in (ROOT / "cluster/addons/kube-router/kube-router.sh").read_text()


def test_kube_router_is_a_host_process_without_an_image():
    proc = script('echo "[${ADDON_IMAGE[kube-router]}]"; declare -f addons_images')
    assert proc.stdout.startswith("[]")
    assert '[[ -n "${ADDON_IMAGE[$name]}" ]] || continue' in proc.stdout


def test_down_stops_kube_router_before_its_rules_go_and_removes_its_ipsets_after():
    """Stopped after it, the controller would put its chains back; ipsets in use by a rule cannot be destroyed."""
    body = script("declare -f cmd_down").stdout
    order = [body.index(s) for s in ("stop_daemon kube-router", "remove_iptables", "kube_router_remove_ipsets")]
    assert order == sorted(order), body
    assert "ipset" in re.search(r"^APT_PACKAGES=\(([^)]*)\)$", HOST.read_text(), re.M).group(1).split()


def test_addon_render_names_an_unset_placeholder(tmp_path):
    proc = script('unset COREDNS_IMAGE; addon_render coredns')
    assert proc.returncode == 1
    assert "cluster/addons/coredns/manifest.yaml uses @COREDNS_IMAGE@ but $COREDNS_IMAGE is not set" in proc.stderr
