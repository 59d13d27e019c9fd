"""scripts/deploy_k3s.sh without a cluster: what it needs (helm, kubectl, curl, a reachable cluster, a
recent Helm), where its default versions come from, and what it says when a download cannot work offline."""

from __future__ import annotations


from cogniverse_chart import REPO_ROOT

from deploy_utils import ARGO_VERSION, K3S_VERSION, VALUES, WRONG, bare_path, plan, run, source_text, steps_with


def test_missing_helm_and_kubectl_are_reported_together(tmp_path):
    empty_tools = tmp_path / "tools"
    empty_tools.mkdir()
    proc = run("--dry-run", path=bare_path(tmp_path),
               env={"TOOLS_BIN": str(empty_tools), "AUTO_BOOTSTRAP": "0"})
    assert proc.returncode == 1
    assert "missing prerequisites" in proc.stderr
    assert "kubectl (on PATH or in .tools/bin: run scripts/bootstrap.sh --no-python)" in proc.stderr
    assert "helm (>= 3.14 or 4.x" in proc.stderr and "scripts/bootstrap.sh --no-python" in proc.stderr


def test_missing_curl_is_reported_for_downloads(tmp_path):
    proc = run("--dry-run", "--install-argo", path=bare_path(tmp_path))
    assert proc.returncode == 1 and "curl (downloads the K3s installer / the Argo manifest and CLI" in proc.stderr


def test_dry_run_plans_a_helm_bootstrap_when_none_is_found(tmp_path):
    empty_tools = tmp_path / "tools"
    empty_tools.mkdir()
    kubectl = REPO_ROOT / ".tools" / "bin" / "kubectl"
    lines = plan(path=bare_path(tmp_path), env={"TOOLS_BIN": str(empty_tools), "KUBECTL": str(kubectl)})
    assert steps_with(lines, "fetch pinned helm with scripts/bootstrap.sh --no-python")


def test_unreachable_cluster_fails_with_a_message_naming_kubeconfig(tmp_path):
    proc = run(env={"KUBECONFIG": str(tmp_path / "missing-kubeconfig")})
    assert proc.returncode == 1
    assert f"cannot reach the cluster (KUBECONFIG={tmp_path / 'missing-kubeconfig'})" in proc.stderr
    assert "pass --install-k3s" in proc.stderr


def test_a_helm_older_than_3_14_is_not_used(tmp_path):
    old = tmp_path / "old-helm"
    old.write_text("#!/bin/sh\necho v3.12.0+gabc\n")
    old.chmod(0o755)
    empty_tools = tmp_path / "tools"
    empty_tools.mkdir()
    kubectl = REPO_ROOT / ".tools" / "bin" / "kubectl"
    proc = run("--dry-run", path=bare_path(tmp_path),
               env={"HELM": str(old), "TOOLS_BIN": str(empty_tools), "KUBECTL": str(kubectl), "AUTO_BOOTSTRAP": "0"})
    assert proc.returncode == 1 and "helm (>= 3.14 or 4.x" in proc.stderr
    lines = plan(env={"HELM": str(REPO_ROOT / ".tools" / "bin" / "helm4")})
    assert steps_with(lines, "helm upgrade --install")


def test_default_versions_come_from_versions_env():
    text = source_text()
    assert "K3S_VERSION=${K3S_VERSION:-$(pin K3S_VERSION)}" in text  # no second pin in the script
    lines = plan("--install-k3s", "--install-argo")
    assert steps_with(lines, f"install K3s {K3S_VERSION} from")
    assert steps_with(lines, f"releases/download/{ARGO_VERSION}/install.yaml")
    assert f"--install-k3s            install K3s {K3S_VERSION} first" in run("--help").stdout


def test_offline_k3s_install_names_the_unreachable_url_and_the_offline_sequence(tmp_path):
    """The README's main command offline: it used to end in 0.3 s with 'the K3s installer failed
    (see its output above)' and nothing above. A closed loopback port stands in for the internet."""
    url = "http://127.0.0.1:9/k3s-install.sh"
    proc = run("--install-k3s", "--install-argo", "-f", str(REPO_ROOT / "values" / "smoke.yaml"),
               env={"K3S_INSTALL_URL": url, "K3S_INSTALLER_SHA256": WRONG})
    assert proc.returncode == 1
    assert f"could not download the K3s installer from {url}: curl: (7)" in proc.stderr
    assert "scripts/local_cluster.sh up\n" in proc.stderr
    assert "export KUBECONFIG=/" in proc.stderr and "admin.kubeconfig" in proc.stderr
    assert f"scripts/deploy_k3s.sh -f {REPO_ROOT / 'values' / 'smoke.yaml'}\n" in proc.stderr
    assert "scripts/deploy_k3s.sh --local-cluster -f" in proc.stderr
    assert "see its output above" not in proc.stderr


def test_offline_argo_manifest_download_names_the_url(tmp_path):
    url = "http://127.0.0.1:9/install.yaml"
    # A stand-in kubectl (a mock, named so): the cluster answers and has no Argo, so the script gets
    # to the download; no real cluster is needed to check the message.
    fake = tmp_path / "kubectl"
    fake.write_text("#!/bin/sh\ncase \"$*\" in *deployment*) exit 1;; *templates.type*) echo array; exit 0;; esac\ncat >/dev/null; exit 0\n")
    fake.chmod(0o755)
    proc = run("--install-argo", "--skip-chart", env={"ARGO_MANIFEST_URL": url, "KUBECTL": str(fake),
                                                      "ARGO_MANIFEST_SHA256": WRONG,
                                                      "KUBECONFIG": str(tmp_path / "kc")})
    assert proc.returncode == 1
    assert f"could not download the Argo Workflows {ARGO_VERSION} install manifest from {url}" in proc.stderr
    assert "deploy_k3s.sh --local-cluster" in proc.stderr


def test_the_offline_fallback_names_the_offline_profile_and_the_first_up_cost():
    proc = run("--install-k3s", env={"K3S_INSTALL_URL": "http://127.0.0.1:9/i.sh", "K3S_INSTALLER_SHA256": WRONG})
    assert proc.returncode == 1
    assert f"scripts/deploy_k3s.sh -f {VALUES / 'smoke.yaml'}\n" in proc.stderr  # not the default k3s.yaml
    assert "The profile that runs offline is values/smoke.yaml" in proc.stderr
    assert f"Not for the offline node: {VALUES / 'k3s.yaml'}" in proc.stderr
    assert "The first `up` builds Kubernetes" in proc.stderr and "about 15 min" in proc.stderr
