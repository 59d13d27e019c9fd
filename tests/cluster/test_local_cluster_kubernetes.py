"""Fast tests for how scripts/local_cluster.sh builds and configures Kubernetes: the wrapper go.mod of
the pinned or a chosen release (cluster/k8s/wrapper_gomod.py), version stamps, the kubelet and API
server configuration; no cluster."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cogniverse_dev import gobuild
from cluster_utils import K8S_VERSION, PINS, ROOT, module_require, run, script


sys.path.insert(0, str(ROOT / "cluster" / "k8s"))
import wrapper_gomod  # noqa: E402  (cluster/k8s/wrapper_gomod.py)


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


def test_a_release_the_module_proxy_does_not_serve_is_named(tmp_path):
    proc = script(f'CACHE={tmp_path}; k8s_select v1.36.99; k8s_wrapper_gomod')
    assert proc.returncode == 1
    assert "k8s.io/kubernetes@v1.36.99 could not be downloaded" in proc.stderr
    assert "could not write the wrapper go.mod for Kubernetes v1.36.99" in proc.stderr


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


def test_api_server_runs_the_aggregation_layer_metrics_server_needs():
    text = (ROOT / "cluster" / "apiserver" / "apiserver.sh").read_text()
    start = text[text.index("apiserver_start() {"):]
    start = start[:start.index("\n}\n")]
    for flag in ("--requestheader-client-ca-file", "--requestheader-allowed-names front-proxy-client",
                 "--proxy-client-cert-file", "--proxy-client-key-file", "--enable-aggregator-routing=true"):
        assert flag in start
