"""Fast tests for scripts/local_cluster.sh and its image tools; no cluster, no root actions."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from cogniverse_chart import versions
from cogniverse_dev import gobuild

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "local_cluster.sh"
OCI_IMAGE = ROOT / "cluster" / "images" / "oci_image.py"
OCI_NAMES = ROOT / "cluster" / "images" / "oci_names.py"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=60)


def module_require(gomod: Path, module: str) -> str:
    match = re.search(rf"^(?:require )?\s*{re.escape(module)} (v\S+)", gomod.read_text(), re.M)
    assert match, f"{gomod} does not require {module}"
    return match.group(1)


PINS = versions.load()
K8S_VERSION = PINS["KUBERNETES_VERSION"]
ARGO_VERSION = module_require(ROOT / "cluster" / "argo" / "go.mod", "github.com/argoproj/argo-workflows/v3")


def test_help_lists_commands_and_pinned_versions():
    proc = run("--help")
    assert proc.returncode == 0, proc.stderr
    for word in ("build", "up", "down", "status", "restart COMPONENT", "kubeconfig", "COGNIVERSE_CLUSTER_CACHE",
                 K8S_VERSION, ARGO_VERSION):
        assert word in proc.stdout


@pytest.mark.parametrize("args, message", [
    ((), "a command is required"),
    (("start",), "unknown command or option: start"),
    (("up", "--bogus"), "unknown command or option: --bogus"),
    (("up", "down"), "more than one command"),
    (("up", "--purge"), "--purge only goes with down"),
    (("restart",), "restart needs a component (apiserver etcd kubelet containerd node)"),
    (("restart", "--purge"), "restart needs a component (apiserver etcd kubelet containerd node)"),
    (("restart", "scheduler"), "restart: unknown component 'scheduler' (restartable: apiserver etcd kubelet containerd node)"),
    (("restart", "etcd kubelet"), "restart: unknown component 'etcd kubelet'"),
])
def test_bad_usage_exits_2_and_names_the_problem(args, message):
    proc = run(*args)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_kubeconfig_prints_the_admin_kubeconfig_under_the_state_dir(tmp_path):
    proc = run("kubeconfig", env={"COGNIVERSE_CLUSTER_STATE": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "admin.kubeconfig")


def test_status_without_a_cluster_reports_every_component_stopped(tmp_path):
    proc = run("status", env={"COGNIVERSE_CLUSTER_STATE": str(tmp_path), "COGNIVERSE_CLUSTER_RUN": str(tmp_path / "run")})
    assert proc.returncode == 1
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd",
                      "kubelet", "kube-proxy", "workflow-controller"):
        assert re.search(rf"^{component}\s+stopped$", proc.stdout, re.M), proc.stdout


def test_status_ignores_a_pid_file_of_a_foreign_process(tmp_path):
    """down/status trust only PID files that name a process started from our own paths."""
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "etcd.pid").write_text(f"{os.getpid()}\n")  # pytest itself: alive, not ours
    proc = run("status", env={"COGNIVERSE_CLUSTER_STATE": str(tmp_path)})
    assert re.search(r"^etcd\s+stopped$", proc.stdout, re.M), proc.stdout


def test_kubernetes_wrapper_builds_the_release_versions_env_pins():
    assert module_require(ROOT / "cluster" / "k8s" / "go.mod", "k8s.io/kubernetes") == K8S_VERSION


def test_kubernetes_wrapper_replaces_every_staging_module_at_the_matching_version():
    gomod = (ROOT / "cluster" / "k8s" / "go.mod").read_text()
    staging = f"v0.{K8S_VERSION.split('.', 1)[1]}"
    replaces = re.findall(r"^\s*(k8s\.io/\S+) => (k8s\.io/\S+) (v\S+)$", gomod, re.M)
    assert len(replaces) >= 25
    for old, new, version in replaces:
        assert old == new and version == staging, (old, new, version)


def test_argo_wrapper_pins_tablewriter_like_argo_itself():
    gomod = (ROOT / "cluster" / "argo" / "go.mod").read_text()
    assert re.search(r"^replace github.com/olekukonko/tablewriter => github.com/olekukonko/tablewriter v0\.0\.5$",
                     gomod, re.M)


# ---------------------------------------------------------------- image tools
def build_image(tmp_path: Path, name: str = "example/tool:1.0") -> Path:
    payload = tmp_path / "tool"
    payload.write_bytes(b"#!/bin/sh\necho hi\n")
    out = tmp_path / "image.tar"
    proc = subprocess.run([sys.executable, str(OCI_IMAGE), "--name", name, "--out", str(out),
                           "--entrypoint", '["/bin/tool"]', "--env", "A=b", "--dir", "/tmp:1777",
                           "--symlink", "/bin/alias=tool", f"{payload}=/bin/tool:0755"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def blob(tar: tarfile.TarFile, digest: str) -> bytes:
    data = tar.extractfile(f"blobs/sha256/{digest.split(':', 1)[1]}").read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


def test_oci_image_writes_a_valid_named_oci_layout(tmp_path):
    archive = build_image(tmp_path)
    with tarfile.open(archive) as tar:
        assert json.loads(tar.extractfile("oci-layout").read()) == {"imageLayoutVersion": "1.0.0"}
        index = json.loads(tar.extractfile("index.json").read())
        (desc,) = index["manifests"]
        assert desc["annotations"]["org.opencontainers.image.ref.name"] == "example/tool:1.0"
        manifest = json.loads(blob(tar, desc["digest"]))
        config = json.loads(blob(tar, manifest["config"]["digest"]))
        (layer_desc,) = manifest["layers"]
        layer = blob(tar, layer_desc["digest"])
    assert config["config"]["Entrypoint"] == ["/bin/tool"]
    assert "A=b" in config["config"]["Env"] and any(e.startswith("PATH=") for e in config["config"]["Env"])
    assert config["rootfs"]["diff_ids"] == [layer_desc["digest"]]  # uncompressed layer
    with tarfile.open(fileobj=io.BytesIO(layer)) as lt:
        members = {m.name: m for m in lt.getmembers()}
    assert members["bin/tool"].mode == 0o755 and members["bin/tool"].uid == 0
    assert members["tmp"].mode == 0o1777
    assert members["bin/alias"].issym() and members["bin/alias"].linkname == "tool"


def test_oci_image_is_reproducible(tmp_path):
    first = build_image(tmp_path).read_bytes()
    assert build_image(tmp_path).read_bytes() == first


def test_oci_image_rejects_a_missing_source_file(tmp_path):
    proc = subprocess.run([sys.executable, str(OCI_IMAGE), "--name", "x/y:1", "--out", str(tmp_path / "o.tar"),
                           f"{tmp_path}/nope=/bin/nope"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "nope is not a file" in proc.stderr


def test_oci_names_repacks_for_ctr_with_the_plain_name(tmp_path):
    archive = build_image(tmp_path, "argoproj/argoexec:v0.0.1")
    listed = subprocess.run([sys.executable, str(OCI_NAMES), "--list", str(archive)], capture_output=True, text=True)
    assert listed.stdout.split() == ["argoproj/argoexec:v0.0.1"]
    stream = tmp_path / "stream.tar"
    with stream.open("wb") as out:
        subprocess.run([sys.executable, str(OCI_NAMES), str(archive)], stdout=out, check=True)
    with tarfile.open(stream) as tar:
        (entry,) = json.loads(tar.extractfile("manifest.json").read())
        assert entry["RepoTags"] == ["argoproj/argoexec:v0.0.1"]
        for path in [entry["Config"], *entry["Layers"]]:
            assert tar.getmember(path).size > 0
        assert "oci-layout" not in tar.getnames()  # else containerd would take the OCI (un-normalised) path


def test_oci_names_rejects_an_archive_without_a_name(tmp_path):
    archive = build_image(tmp_path)
    unnamed = tmp_path / "unnamed.tar"
    with tarfile.open(archive) as src, tarfile.open(unnamed, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name == "manifest.json":
                continue
            if member.name == "index.json":
                index = json.loads(data)
                index["manifests"][0].pop("annotations")
                data = json.dumps(index).encode()
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    proc = subprocess.run([sys.executable, str(OCI_NAMES), "--list", str(unnamed)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "image has no name" in proc.stderr


# ---------------------------------------------------------------- the Kubernetes wrapper go.mod
sys.path.insert(0, str(ROOT / "cluster" / "k8s"))
import wrapper_gomod  # noqa: E402  (cluster/k8s/wrapper_gomod.py)

UPSTREAM_FIXTURE = """\
module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
\tgithub.com/spf13/cobra v1.10.2
\tgo.etcd.io/etcd/server/v3 v3.7.0 // indirect
\tk8s.io/api v0.0.0
\tk8s.io/streaming v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/streaming => ./staging/src/k8s.io/streaming
)
"""


def upstream_gomod(version: str) -> Path:
    """k8s.io/kubernetes' own go.mod for VERSION, from Go's module cache (downloaded if missing: ~1 s)."""
    proc = subprocess.run(["go", "mod", "download", "-json", f"k8s.io/kubernetes@{version}"], capture_output=True,
                          text=True, cwd=ROOT / "cluster" / "k8s", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Path(json.loads(proc.stdout)["GoMod"])


def test_wrapper_gomod_replaces_each_staging_module_of_the_release_and_keeps_its_etcd_and_godebug():
    text = wrapper_gomod.render("v1.37.2", UPSTREAM_FIXTURE)
    requires, replaces = wrapper_gomod.direct_facts(text)
    assert replaces == {"k8s.io/api": "k8s.io/api v0.37.2", "k8s.io/streaming": "k8s.io/streaming v0.37.2"}
    assert requires["k8s.io/kubernetes"] == "v1.37.2"
    assert requires["go.etcd.io/etcd/server/v3"] == "v3.7.0"  # the etcd that release is tested with
    assert "\ngo 1.26.0\n" in text and "\ngodebug default=go1.26\n" in text


@pytest.mark.parametrize("version", ["1.37.2", "v1.37", "v2.0.0", "v1.37.2; rm -rf /"])
def test_wrapper_gomod_rejects_a_malformed_version_by_name(version):
    with pytest.raises(wrapper_gomod.WrapperError, match=re.escape(repr(version))):
        wrapper_gomod.render(version, UPSTREAM_FIXTURE)


def test_wrapper_gomod_rejects_a_go_mod_that_is_not_kubernetes():
    with pytest.raises(wrapper_gomod.WrapperError, match="not k8s.io/kubernetes'"):
        wrapper_gomod.render("v1.37.2", "module example.com/x\n\ngo 1.24\n")


def test_checked_in_wrapper_is_what_the_generator_makes_for_the_pinned_release():
    """cluster/k8s/go.mod (after go mod tidy) keeps every direct requirement and replacement the
    generator writes from k8s.io/kubernetes' own go.mod: no staging module missing or stale."""
    upstream = upstream_gomod(K8S_VERSION).read_text()
    problems = wrapper_gomod.check(K8S_VERSION, upstream, (ROOT / "cluster" / "k8s" / "go.mod").read_text())
    assert problems == []


def test_wrapper_check_names_a_stale_staging_replacement():
    upstream = upstream_gomod(K8S_VERSION).read_text()
    stale = (ROOT / "cluster" / "k8s" / "go.mod").read_text().replace(
        f"k8s.io/client-go => k8s.io/client-go v0.{K8S_VERSION.split('.', 1)[1]}", "k8s.io/client-go => k8s.io/client-go v0.34.4")
    problems = wrapper_gomod.check(K8S_VERSION, upstream, stale)
    assert any("replace k8s.io/client-go" in p and "have k8s.io/client-go v0.34.4" in p for p in problems), problems


# ---------------------------------------------------------------- script logic, sourced without running main
def script(body: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run BODY in bash with local_cluster.sh's functions and settings loaded (its last line, the
    call of main, dropped)."""
    prelude = f'set -euo pipefail; source <(sed -e "\\$d" -e "s|^ROOT=.*|ROOT={ROOT}|" "{SCRIPT}")\n'
    return subprocess.run(["bash", "-c", prelude + body], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=240)


@pytest.mark.parametrize("version, message", [
    ("banana", "--kubernetes-version banana: not a Kubernetes release (expected vMAJOR.MINOR.PATCH"),
    ("v1.34.4", f"--kubernetes-version v1.34.4: older than KUBERNETES_OLDEST_SUPPORTED_VERSION={PINS['KUBERNETES_OLDEST_SUPPORTED_VERSION']}"),
    ("v1.37.2-rc.0", "--kubernetes-version v1.37.2-rc.0: not a Kubernetes release"),
])
def test_kubernetes_version_option_rejects_what_the_node_cannot_build(version, message):
    proc = run("status", "--kubernetes-version", version)
    assert proc.returncode == 1
    assert message in proc.stderr


def test_kubernetes_version_option_needs_a_value():
    proc = run("up", "--kubernetes-version")
    assert proc.returncode == 2
    assert "--kubernetes-version needs a value" in proc.stderr


def test_default_release_builds_from_the_checked_in_wrapper():
    proc = script('k8s_select ""; echo "$K8S_VERSION $K8S_GENERATED"')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [K8S_VERSION, "0"]


def test_other_release_gets_a_generated_wrapper_cached_per_version():
    """`up --kubernetes-version <oldest supported>`: the wrapper go.mod is generated from that
    release's own go.mod and tidied once, then reused; the binaries' cache directory differs.
    The cache is a build cache of its own (keyed, as the script keys it, by the release, the wrapper's
    sources, the generator and Go), kept between runs: `go mod tidy` of a Kubernetes release takes
    15 s, so a warm run checks the kept wrapper and its reuse, and a change to any input generates anew."""
    oldest = PINS["KUBERNETES_OLDEST_SUPPORTED_VERSION"]
    cache = gobuild.cache_dir("k8s-wrapper-test")
    body = f'CACHE={cache}; k8s_select {oldest}; k8s_wrapper_gomod; echo "$K8S_MODFILE"; k8s_bin_dir'
    proc = script(body)
    assert proc.returncode == 0, proc.stderr
    if "generating the wrapper go.mod" in proc.stderr:  # a new key: stale wrappers of old keys go
        keep = Path(proc.stdout.split()[0]).parent.name
        for old in (cache / "k8s-wrapper").glob(f"{oldest}-*"):
            if old.name != keep:
                shutil.rmtree(old)
    modfile, bindir = proc.stdout.split()
    requires, replaces = wrapper_gomod.direct_facts(Path(modfile).read_text())
    staging = "v0." + oldest.split(".", 1)[1]
    assert requires["k8s.io/kubernetes"] == oldest
    assert len(replaces) >= 25 and all(r.endswith(" " + staging) for r in replaces.values())
    assert Path(modfile).with_suffix(".sum").stat().st_size > 0  # go mod tidy ran
    assert f"/bin/k8s-{oldest}-" in bindir
    again = script(body)
    assert again.returncode == 0 and again.stdout.split() == [modfile, bindir]
    assert "generating the wrapper go.mod" not in again.stderr  # cached


def test_switching_release_on_existing_cluster_data_asks_for_a_purge(tmp_path):
    (tmp_path / "kubernetes-version").write_text("v1.35.4\n")
    proc = script(f'STATE={tmp_path}; k8s_select ""; k8s_check_state')
    assert proc.returncode == 1
    assert f"created by Kubernetes v1.35.4; to run {K8S_VERSION}, first: scripts/local_cluster.sh down --purge" in proc.stderr


def test_version_stamp_covers_both_version_packages():
    """Without it /version says v0.0.0 and Helm's kubeVersion checks fail."""
    proc = script(f'k8s_ldflags {K8S_VERSION}')
    minor = K8S_VERSION.split(".")[1]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        for flag in (f"{pkg}.gitVersion={K8S_VERSION}", f"{pkg}.gitMajor=1", f"{pkg}.gitMinor={minor}"):
            assert f"-X {flag}" in proc.stdout


def node_configs(tmp_path: Path) -> Path:
    proc = script(f'STATE={tmp_path}; PKI={tmp_path}/pki; mkdir -p {tmp_path}/cni/net.d; write_configs')
    assert proc.returncode == 0, proc.stderr
    return tmp_path


def test_kubelet_config_runs_on_cgroup_v1_and_hands_pods_the_cluster_dns(tmp_path):
    import ipaddress
    import yaml
    kubelet = yaml.safe_load((node_configs(tmp_path) / "kubelet.yaml").read_text())
    assert kubelet["failCgroupV1"] is False  # 1.35+ refuse cgroup v1 hosts without it
    assert kubelet["cgroupDriver"] == "cgroupfs"
    dns = script('echo "$DNS_SERVICE_IP $SERVICE_CIDR $KUBERNETES_SVC_IP $CLUSTER_DOMAIN"').stdout.split()
    assert kubelet["clusterDNS"] == [dns[0]] and kubelet["clusterDomain"] == dns[3] == "cluster.local"
    assert ipaddress.ip_address(dns[0]) in ipaddress.ip_network(dns[1]) and dns[0] != dns[2]


# ---------------------------------------------------------------- add-ons
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
    assert "ipset" in re.search(r"^APT_PACKAGES=\(([^)]*)\)$", SCRIPT.read_text(), re.M).group(1).split()


def test_addon_render_names_an_unset_placeholder(tmp_path):
    proc = script('unset COREDNS_IMAGE; addon_render coredns')
    assert proc.returncode == 1
    assert "cluster/addons/coredns/manifest.yaml uses @COREDNS_IMAGE@ but $COREDNS_IMAGE is not set" in proc.stderr


def test_api_server_runs_the_aggregation_layer_metrics_server_needs():
    text = SCRIPT.read_text()
    start = text[text.index("start_apiserver() {"):]
    start = start[:start.index("\n}\n")]
    for flag in ("--requestheader-client-ca-file", "--requestheader-allowed-names front-proxy-client",
                 "--proxy-client-cert-file", "--proxy-client-key-file", "--enable-aggregator-routing=true"):
        assert flag in start


def test_bootstrap_takes_every_pin_from_versions_env():
    text = (ROOT / "scripts" / "bootstrap.sh").read_text()
    for key in ("HELM3_NPM", "HELM3_SHA256", "KUBECTL_SHA256", "HELM4_NPM", "HELM4_SHA256"):
        assert f"{key}=${{{key}:-$(pin {key})}}" in text
        assert PINS[key] not in text, f"{key}'s value is written in bootstrap.sh as well as versions.env"


def test_a_release_the_module_proxy_does_not_serve_is_named(tmp_path):
    proc = script(f'CACHE={tmp_path}; k8s_select v1.36.99; k8s_wrapper_gomod')
    assert proc.returncode == 1
    assert "k8s.io/kubernetes@v1.36.99 could not be downloaded" in proc.stderr
    assert "could not write the wrapper go.mod for Kubernetes v1.36.99" in proc.stderr


@pytest.mark.parametrize("row, key", [
    ("| kube-apiserver, kube-controller-manager", "KUBERNETES_VERSION"),
    ("| kubectl |", "KUBERNETES_VERSION"),
    ("| CoreDNS |", "COREDNS_VERSION"),
    ("| local-path provisioner |", "LOCAL_PATH_PROVISIONER_VERSION"),
    ("| metrics-server |", "METRICS_SERVER_VERSION"),
])
def test_docs_component_table_names_the_pinned_versions(row, key):
    """docs/local-cluster.md's components table is a copy of versions.env: it must not drift."""
    line = next(ln for ln in (ROOT / "docs" / "local-cluster.md").read_text().splitlines() if ln.startswith(row))
    cells = line.split("|")
    assert PINS[key] in cells[2], f"docs/local-cluster.md row {row!r} says {cells[2].strip()!r}; versions.env pins {key}={PINS[key]}"


def test_docs_etcd_row_names_the_etcd_the_wrapper_builds():
    line = next(ln for ln in (ROOT / "docs" / "local-cluster.md").read_text().splitlines() if ln.startswith("| etcd |"))
    etcd = module_require(ROOT / "cluster" / "k8s" / "go.mod", "go.etcd.io/etcd/server/v3")
    assert etcd in line.split("|")[2]


def test_up_installs_every_host_tool_the_smoke_suites_guide_commands_use():
    """The smoke suite runs docs/guide.md's commands on the host after `up`: a tool they call that neither
    the project builds nor a base Debian system has must be among the packages ensure_packages installs,
    or a fresh CI machine fails the smoke run with 'command not found'."""
    from cogniverse_dev import guide

    base = {"echo", "grep", "head", "tail", "sed", "awk", "cat", "sort", "cut", "tr", "wc", "sleep", "test", "true",
            "false", "printf", "export", "cd", "mkdir", "rm", "ls", "env", "xargs", "tee", "date", "for", "while",
            "if", "do", "done", "then", "fi", "until"}
    built = {"argo", "kubectl", "helm", "cogniverse-chart"}  # local_cluster.sh builds argo/kubectl; bootstrap helm
    used = set()
    for command in guide.read(ROOT / "docs" / "guide.md"):
        for segment in re.split(r"\|\|?|&&|;|\$\(", command.text):
            words = segment.split()
            if words and re.fullmatch(r"[a-z][a-z0-9-]*", words[0]):
                used.add(words[0])
    host_tools = used - base - built
    assert {"jq", "curl"} <= host_tools, host_tools  # what the guide uses today: the parse still finds them
    text = SCRIPT.read_text(encoding="utf-8")
    checked = set(re.search(r"^  for cmd in ([^;]+); do$", text, re.M).group(1).split())
    packages = set(re.search(r"^APT_PACKAGES=\(([^)]*)\)$", text, re.M).group(1).split())
    missing = sorted(t for t in host_tools if t not in checked or t not in packages)
    assert not missing, (f"docs/guide.md uses {missing} on the host but scripts/local_cluster.sh ensure_packages "
                         "does not check and install them: add each to its `for cmd in` list and APT_PACKAGES")



def test_the_browser_tests_chromium_is_checked_and_installed_with_the_nodes_packages():
    """tests/smoke/test_browser.py drives the Debian Chromium at /usr/bin/chromium through Playwright's
    Python client (a dev dependency): `up` must install the package when that binary is missing."""
    text = SCRIPT.read_text(encoding="utf-8")
    browser = (ROOT / "tests" / "smoke" / "test_browser.py").read_text(encoding="utf-8")
    path = re.search(r'^CHROMIUM = os.environ.get\("COGNIVERSE_CHROMIUM", "([^"]+)"\)$', browser, re.M).group(1)
    assert f"[[ -x {path} ]] || missing+=(chromium)" in text
    assert "chromium" in re.search(r"^APT_PACKAGES=\(([^)]*)\)$", text, re.M).group(1).split()
    dev = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^  "playwright>=1\.65,<2",', dev, re.M), "pyproject.toml dev extras lack playwright"

# ---------------------------------------------------------------- import once (cluster/images/import.sh)
# `ctr` here is a stand-in script (no containerd runs in the fast tests): it records each call and lists
# the references in $FAKE_CTR_LISTED. The real import runs on every `up` of the smoke suite.
FAKE_CTR = """#!/bin/sh
echo "$*" >>"$FAKE_CTR_CALLS"
case "$*" in
  *"images ls -q"*) cat "$FAKE_CTR_LISTED" ;;
  *"images import -"*) cat >/dev/null ;;
esac
"""


def import_archives(tmp_path: Path, *archives: Path, listed: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    (bindir / "ctr").write_text(FAKE_CTR)
    (bindir / "ctr").chmod(0o755)
    (tmp_path / "listed").write_text(listed)
    calls = tmp_path / "calls"
    calls.write_text("")
    proc = subprocess.run(["bash", "-c", f'source {ROOT}/cluster/images/import.sh && import_archives SOCK "$1" "${{@:2}}"',
                           "x", str(tmp_path / "state"), *map(str, archives)], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "FAKE_CTR_CALLS": str(calls),
                               "FAKE_CTR_LISTED": str(tmp_path / "listed")}, timeout=60)
    return proc, [c for c in calls.read_text().splitlines() if "images import" in c]


def test_an_archive_is_imported_once_per_containerd_root(tmp_path):
    archive = build_image(tmp_path, "example/tool:1.0")
    listed = "docker.io/example/tool:1.0\n"
    proc, imports = import_archives(tmp_path, archive, listed=listed)
    assert proc.returncode == 0, proc.stderr
    assert len(imports) == 1 and proc.stdout.startswith("imported: example/tool:1.0")
    proc, imports = import_archives(tmp_path, archive, listed=listed)  # a version swap: nothing to do
    assert proc.returncode == 0 and not imports and proc.stdout.startswith("already imported: example/tool:1.0")


def test_an_archive_is_imported_again_when_its_image_is_gone_or_the_archive_changed(tmp_path):
    archive = build_image(tmp_path, "example/tool:1.0")
    import_archives(tmp_path, archive, listed="docker.io/example/tool:1.0\n")
    _, imports = import_archives(tmp_path, archive, listed="docker.io/example/other:1.0\n")  # removed from containerd
    assert len(imports) == 1
    os.utime(archive, (1, 1))  # rebuilt in place
    _, imports = import_archives(tmp_path, archive, listed="docker.io/example/tool:1.0\n")
    assert len(imports) == 1
    # down --purge drops containerd's root, and the markers with it
    shutil.rmtree(tmp_path / "state")
    _, imports = import_archives(tmp_path, archive, listed="docker.io/example/tool:1.0\n")
    assert len(imports) == 1


@pytest.mark.parametrize("name, ref", [("busybox:1", "docker.io/library/busybox:1"),
                                       ("argoproj/argoexec:v4.0.7", "docker.io/argoproj/argoexec:v4.0.7"),
                                       ("registry.example:5000/a/b:1", "registry.example:5000/a/b:1"),
                                       ("localhost/a:1", "localhost/a:1")])
def test_plain_names_are_matched_as_containerd_lists_them(name, ref):
    proc = subprocess.run(["bash", "-c", f'source {ROOT}/cluster/images/import.sh && _normalised_ref "$1"', "x", name],
                          capture_output=True, text=True, timeout=30)
    assert proc.stdout.strip() == ref
