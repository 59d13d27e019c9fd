"""scripts/deploy_k3s.sh's install path without a cluster: every download pinned and checked by its
sha256, a private kubeconfig, OCI charts verified, values checked by --dry-run, and files that are no
files (FIFOs, devices) or charts from URLs refused."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from cogniverse_chart import versions

import registrylib
from registrylib import key, registry, registry_binary  # noqa: F401 (fixtures)
from deploy_utils import K3S_VERSION, VALUES, WRONG, run, sha256_of, source_text, steps_with, stub_path


def test_every_download_names_a_pin_in_versions_env():
    """One function downloads, and it takes the pin's name: no download without a checked digest."""
    text = source_text()
    calls = [line.strip() for line in text.splitlines() if line.strip().startswith(("if ! download ", "download "))]
    assert len(calls) == 3, calls  # the K3s installer, the Argo manifest, the argo CLI
    pins = {re.search(r'" ([A-Z0-9_]+_SHA256)\b', c)[1] for c in calls}  # the argument after the quoted ones
    assert pins == {"K3S_INSTALLER_SHA256", "ARGO_MANIFEST_SHA256", "ARGO_CLI_SHA256"}
    assert {"K3S_INSTALLER_SHA256", "ARGO_MANIFEST_SHA256", "ARGO_CLI_LINUX_AMD64_SHA256",
            "ARGO_CLI_LINUX_ARM64_SHA256"} <= set(versions.load())
    assert len(re.findall(r"^[^#\n]*\bcurl -", text, re.M)) == 1  # one fetch: inside download()


@pytest.mark.parametrize("pin, ran", [("wrong", False), ("right", True), ("", False)])
def test_the_k3s_installer_runs_only_with_its_pinned_sha256(tmp_path, pin, ran):
    """A local file stands in for the download (curl reads file:// URLs); the stand-in installer leaves a
    mark when it runs, and fails, so nothing is installed either way."""
    marker = tmp_path / "installer-ran"
    installer = tmp_path / "install.sh"
    installer.write_text(f"touch {marker}\nexit 3\n")
    digest = {"wrong": WRONG, "right": sha256_of(installer), "": ""}[pin]
    proc = run("--install-k3s", "--skip-chart", env={"K3S_INSTALL_URL": f"file://{installer}",
                                                     "K3S_INSTALLER_SHA256": digest},
               path=stub_path(tmp_path))
    assert proc.returncode == 1 and marker.exists() == ran, proc.stderr
    if pin == "wrong":
        assert f"has sha256 {sha256_of(installer)}, not the pinned {WRONG} (K3S_INSTALLER_SHA256): refused" in proc.stderr
    elif pin == "":
        assert "no sha256 pinned for the K3s installer (K3S_INSTALLER_SHA256 in versions.env" in proc.stderr
    else:
        assert "the K3s installer from file://" in proc.stderr and "failed" in proc.stderr
    assert "K3S_KUBECONFIG_MODE=644" not in source_text() and "K3S_KUBECONFIG_MODE=600" in source_text()


def test_a_manifest_with_the_wrong_sha256_is_never_applied(tmp_path):
    manifest = tmp_path / "install.yaml"
    manifest.write_text("# Argo\n")
    calls = tmp_path / "calls"
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!/bin/sh\necho \"$*\" >> {calls}\ncase \"$*\" in *deployment*) exit 1;; *templates.type*) echo array; exit 0;; esac\n"
                       "cat >/dev/null; exit 0\n")
    kubectl.chmod(0o755)
    proc = run("--install-argo", "--skip-chart", env={
        "ARGO_MANIFEST_URL": f"file://{manifest}", "ARGO_MANIFEST_SHA256": WRONG, "KUBECTL": str(kubectl),
        "KUBECONFIG": str(tmp_path / "kc"), "INSTALL_ARGO_CLI": "0"})
    assert proc.returncode == 1 and "(ARGO_MANIFEST_SHA256): refused, nothing was run" in proc.stderr
    assert not any("apply --server-side" in c for c in calls.read_text().splitlines())


@pytest.mark.parametrize("right", [False, True])
def test_the_argo_cli_is_installed_only_with_its_pinned_sha256(tmp_path, right):
    import gzip
    cli = tmp_path / "argo.gz"
    cli.write_bytes(gzip.compress(b"#!/bin/sh\necho argo: v99.0.0\n"))
    (tmp_path / "crds.yaml").write_text("# CRDs\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    kubectl = "case \"$*\" in *deployment*) exit 1;; *templates.type*) echo array; exit 0;; esac; cat >/dev/null; exit 0"
    proc = run("--install-argo", "--argo-manifest", str(tmp_path / "crds.yaml"), "--skip-chart", env={
        "ARGO_CLI_URL": f"file://{cli}", "ARGO_CLI_SHA256": sha256_of(cli) if right else WRONG,
        "ARGO_CLI_DIR": str(bindir), "KUBECTL": str(tmp_path / "stubs" / "kubectl"),
        "KUBECONFIG": str(tmp_path / "kc")}, path=stub_path(tmp_path, kubectl=kubectl))
    assert (bindir / "argo").exists() == right, proc.stderr
    assert (proc.returncode == 0) == right and ("(ARGO_CLI_SHA256): refused" in proc.stderr) != right


@pytest.mark.parametrize("user", ["root", "a user with sudo"])
def test_the_k3s_kubeconfig_is_made_private(tmp_path, user):
    """K3s already installed (a stand-in k3s reports the pinned version): the script still makes its
    cluster-admin kubeconfig mode 600, which an earlier install may have left world-readable; a user who
    is not root (a stand-in `id`) gets a mode-600 copy and uses it."""
    kc = tmp_path / "k3s.yaml"
    kc.write_text("apiVersion: v1\nkind: Config\n")
    kc.chmod(0o644)
    stubs = {"k3s": f"echo 'k3s version {K3S_VERSION} (stand-in)'", "kubectl": "echo 'node Ready control-plane 1m v1'"}
    if user != "root":
        stubs["id"] = "echo 1000"
    copy = tmp_path / "home" / ".kube" / "k3s.yaml"
    proc = run("--install-k3s", "--skip-chart", env={"K3S_KUBECONFIG": str(kc), "USER_KUBECONFIG": str(copy),
                                                     "KUBECTL": str(tmp_path / "stubs" / "kubectl")},
               path=stub_path(tmp_path, **stubs))
    assert proc.returncode == 0, proc.stderr
    assert kc.stat().st_mode & 0o777 == 0o600
    if user == "root":
        assert not copy.exists() and f"kubeconfig: {kc} (mode 600): export KUBECONFIG={kc}\n" in proc.stdout
    else:
        assert copy.stat().st_mode & 0o777 == 0o600 and copy.read_text() == kc.read_text()
        assert f"kubeconfig for you: {copy} (mode 600): export KUBECONFIG={copy}\n" in proc.stdout


def test_an_oci_chart_is_verified_by_default(tmp_path):
    ref = "oci://127.0.0.1:9/charts/cogniverse"
    proc = run("--dry-run", "--chart", ref, "--version", "0.4.0", env={"KUBECONFIG": "/k"})
    assert proc.returncode == 2 and "pass --keyring PUBRING" in proc.stderr and "--no-verify" in proc.stderr
    keyring = tmp_path / "pubring.gpg"
    keyring.write_bytes(b"\x99")
    # the dry run pulls the chart as the install would: from this closed port it cannot, and says so
    proc = run("--dry-run", "--chart", ref, "--version", "0.4.0", "--keyring", str(keyring), env={"KUBECONFIG": "/k"})
    assert proc.returncode == 1 and f"Helm cannot pull a verified {ref}" in proc.stderr
    (helm,) = steps_with(proc.stdout.splitlines(), "helm upgrade --install")
    assert f"{ref} " in helm and "--version 0.4.0" in helm and f"--verify --keyring {keyring}" in helm
    if versions.get("HELM3_VERSION") == "v3.18.0" and shutil.which("helm") is None:
        assert not helm.endswith("helm3]")  # 3.18.0 cannot pull a chart with provenance (helm/helm#30890)
    proc = run("--dry-run", "--chart", ref, "--no-verify", env={"KUBECONFIG": "/k"})
    assert f"Helm cannot pull {ref}" in proc.stderr
    assert "WARNING --no-verify" in proc.stdout and "--verify" not in steps_with(proc.stdout.splitlines(), "helm upgrade")[0]


def test_dry_run_renders_the_values_and_names_what_helm_refuses(tmp_path):
    ok = run("--dry-run", "-f", str(VALUES / "smoke.yaml"), env={"KUBECONFIG": "/k"})
    assert ok.returncode == 0 and "values checked: helm template renders the chart" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflows:\n  enabled: maybe\n")
    proc = run("--dry-run", "-f", str(bad), env={"KUBECONFIG": "/k"})
    assert proc.returncode == 1 and 'a real run would stop at "helm upgrade --install"' in proc.stderr
    assert "workflows" in proc.stderr and "enabled" in proc.stderr, proc.stderr


def test_dry_run_pulls_an_oci_chart_verified_from_a_real_registry(key, registry, tmp_path):
    """The CNCF registry on loopback (tests/lib/registrylib.py) serves the chart signed by `key`: the dry run
    pulls it as the install would (`helm pull --verify`), renders it with the values, and refuses it when
    the keyring holds another key. Helm 4 pulls (Helm 3.18.0 cannot pull a chart with provenance)."""
    from cogniverse_chart import package as pkg, release
    from cogniverse_chart.helm import find_helm

    helm = find_helm(4)
    reg = pkg.Registry(registry.url, registry.username, registry.password, registry.ca_file, tmp_path / "login.json")
    pkg.run_pipeline(helm, tmp_path / "dist", signing=pkg.Signing(key.name, key.secring), registry=reg)
    pkg.login(helm, reg)  # the push logged in for itself only; the reader logs in as a user would
    env = {"HELM": helm.path, "HELM_REGISTRY_CONFIG": str(reg.config), "SSL_CERT_FILE": str(registry.ca_file),
           "KUBECONFIG": "/k"}
    ref, version = f"{registry.url}/cogniverse", release.chart_version()
    ok = run("--dry-run", "--chart", ref, "--version", version, "--keyring", str(key.pubring),
             "-f", str(VALUES / "smoke.yaml"), env=env)
    assert ok.returncode == 0, ok.stderr
    assert f"{ref} verified: signed by a key in {key.pubring}" in ok.stdout and "values checked" in ok.stdout
    other = registrylib.make_gpg_key(tmp_path / "other", name="Someone Else")
    bad = run("--dry-run", "--chart", ref, "--version", version, "--keyring", str(other.pubring), env=env)
    assert bad.returncode == 1 and f"Helm cannot pull a verified {ref}" in bad.stderr, bad.stderr


def test_fifos_and_devices_are_refused_where_files_belong(tmp_path):
    """A FIFO would block Helm or kubectl, /dev/zero never ends: refused before any step runs."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for args, needle in ((["-f", str(fifo)], f"values file '{fifo}' does not exist"),
                         (["--install-argo", "--argo-manifest", "/dev/zero"], "is not a file or directory"),
                         (["--chart", "oci://h/c", "--keyring", str(fifo)], "--keyring"),
                         (["-f", "/dev/zero"], "values file '/dev/zero'")):
        proc = run("--dry-run", *args, env={"KUBECONFIG": "/k"})
        assert proc.returncode == 1 and needle in proc.stderr, (args, proc.stderr)


def test_a_chart_from_a_url_or_a_repository_is_refused(tmp_path):
    """Only oci:// charts are verified (--keyring); one from a URL or a Helm repository would be installed
    unchecked without a word (attack21 D01, D02), and a FIFO named as the chart would block Helm."""
    fifo = tmp_path / "chart.tgz"
    os.mkfifo(fifo)
    for ref in ("https://127.0.0.1:9/cogniverse-0.5.0.tgz", "myrepo/cogniverse", str(fifo)):
        proc = run("--dry-run", "--chart", ref, env={"KUBECONFIG": "/k"})
        assert proc.returncode == 2 and f"--chart {ref}: not a chart folder or a .tgz file" in proc.stderr, (ref, proc.stderr)
        assert "helm pull --verify" in proc.stderr and "oci://" in proc.stderr
