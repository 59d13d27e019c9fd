"""scripts/deploy_k3s.sh without a cluster: flag parsing, --dry-run plans, failure messages.

Every run here is either --dry-run/--help or fails before touching anything. The K3s/Argo
installs themselves run in CI's K3s job (.github/workflows/chart-ci.yaml) and on the local cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cogniverse_chart import REPO_ROOT, versions

import registrylib
from registrylib import key, registry, registry_binary  # noqa: F401 (fixtures)

SCRIPT = REPO_ROOT / "scripts" / "deploy_k3s.sh"
VALUES = REPO_ROOT / "values"
#: a digest no file has: the download runs, and its check must refuse it
WRONG = "0" * 64


def pinned(key: str) -> str:
    """The version versions.env pins (the script's only source for its defaults)."""
    return versions.get(key)


K3S_VERSION = pinned("K3S_VERSION")
ARGO_VERSION = pinned("ARGO_VERSION")


def run(*args: str, env: dict[str, str] | None = None, path: str | None = None) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k not in {"KUBECONFIG", "K3S_VERSION", "ARGO_VERSION",
                                                          "ARGO_MANIFEST", "NAMESPACE", "HELM"}}
    e.update(env or {})
    if path is not None:
        e["PATH"] = path
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=e, timeout=60)


def plan(*args: str, **kw) -> list[str]:
    proc = run("--dry-run", *args, **kw)
    assert proc.returncode == 0, proc.stderr
    assert "--dry-run: nothing was changed" in proc.stdout
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()[:1].isdigit()]


def steps_with(lines: list[str], needle: str) -> list[str]:
    return [line for line in lines if needle in line]


def test_help_lists_every_flag_and_exits_0():
    proc = run("--help")
    assert proc.returncode == 0
    for flag in ["--install-k3s", "--install-argo", "--namespace", "-f, --values", "--set", "--k3s-version",
                 "--argo-version", "--skip-chart", "--smoke", "--uninstall", "--dry-run", "-h, --help",
                 "--argo-manifest"]:
        assert flag in proc.stdout, flag


@pytest.mark.parametrize("order", [
    ["--install-k3s", "--install-argo"],
    ["--install-argo", "--install-k3s"],
])
def test_both_install_flags_are_honoured_in_either_order(order):
    # The upstream script read only its first flag, so --install-argo never ran.
    lines = plan(*order)
    assert steps_with(lines, f"install K3s {K3S_VERSION} ")
    assert steps_with(lines, "wait for the node to be Ready")
    assert steps_with(lines, f"install Argo Workflows {ARGO_VERSION} into namespace 'argo'")
    assert steps_with(lines, "CRDs to be Established")
    assert steps_with(lines, "helm upgrade --install cogniverse")
    # order of execution: K3s, then Argo, then the chart
    k3s, argo, chart = (next(i for i, l in enumerate(lines) if n in l)
                        for n in ("install K3s", "install Argo", "helm upgrade"))
    assert k3s < argo < chart


def test_without_install_flags_uses_the_kubeconfig_cluster_and_installs_only_the_chart():
    lines = plan(env={"KUBECONFIG": "/some/kubeconfig"})
    assert steps_with(lines, "use the existing cluster in KUBECONFIG=/some/kubeconfig")
    assert not steps_with(lines, "install K3s") and not steps_with(lines, "install Argo")


def test_chart_flags_reach_the_helm_command_in_order():
    smoke, local = VALUES / "smoke.yaml", VALUES / "local.yaml"
    lines = plan("--namespace", "demo", "-f", str(smoke), "--values=" + str(local),
                 "--set", "vespa.enabled=false", "--set", "runtime.enabled=false", "--release", "cv")
    (helm,) = steps_with(lines, "helm upgrade --install")
    assert "upgrade --install cv " in helm and "--namespace demo --create-namespace" in helm
    assert helm.index(f"--values {smoke}") < helm.index(f"--values {local}")
    assert helm.index("--set vespa.enabled=false") < helm.index("--set runtime.enabled=false")


def test_version_flags_override_the_pins():
    lines = plan("--install-k3s", "--install-argo", "--k3s-version", "v1.32.1+k3s2", "--argo-version", "v3.7.9")
    assert steps_with(lines, "install K3s v1.32.1+k3s2")
    assert steps_with(lines, "install Argo Workflows v3.7.9")
    assert steps_with(lines, "releases/download/v3.7.9/install.yaml")


def test_version_environment_overrides_the_pins():
    lines = plan("--install-argo", env={"ARGO_VERSION": "v3.6.12"})
    assert steps_with(lines, "install Argo Workflows v3.6.12")


def test_a_version_flag_wins_over_the_environment():
    lines = plan("--install-argo", "--argo-version", "v3.7.1", env={"ARGO_VERSION": "v3.6.12"})
    assert steps_with(lines, "install Argo Workflows v3.7.1")


def test_install_argo_also_installs_the_argo_cli_the_guide_uses():
    lines = plan("--install-argo", "--argo-version", "v3.7.5")
    (cli,) = steps_with(lines, "install the argo CLI v3.7.5 as /usr/local/bin/argo")
    assert "releases/download/v3.7.5/argo-linux-" in cli


def test_install_argo_cli_0_skips_the_cli():
    lines = plan("--install-argo", env={"INSTALL_ARGO_CLI": "0"})
    assert steps_with(lines, "no argo CLI install") and not steps_with(lines, "install the argo CLI")


def test_argo_cli_dir_and_url_are_overridable():
    lines = plan("--install-argo", env={"ARGO_CLI_DIR": "/opt/bin", "ARGO_CLI_URL": "http://127.0.0.1:8000/argo.gz"})
    assert steps_with(lines, "as /opt/bin/argo from http://127.0.0.1:8000/argo.gz")


def test_local_argo_manifest_replaces_the_download(tmp_path):
    manifest = tmp_path / "argo-crds.yaml"
    manifest.write_text("# CRDs\n")
    lines = plan("--install-argo", "--argo-manifest", str(manifest))
    assert steps_with(lines, f"from {manifest}")
    assert not steps_with(lines, "releases/download")
    # offline: no CLI download either; the toolkit's commands replace it
    assert steps_with(lines, "no argo CLI install (offline or INSTALL_ARGO_CLI=0): use cogniverse-chart")
    lines = plan("--install-argo", env={"ARGO_MANIFEST": str(manifest)})
    assert steps_with(lines, f"from {manifest}")
    lines = plan("--install-argo", env={"ARGO_MANIFEST_URL": "http://127.0.0.1:8000/install.yaml"})
    assert steps_with(lines, "from http://127.0.0.1:8000/install.yaml")


def test_install_argo_ends_with_the_full_crds(tmp_path):
    """--install-argo ends with Argo's full CRDs (install.yaml ships the minimal ones, which keep any key of a spec:
    attack21c #2): from --argo-crds, else Argo's module in the Go module cache, else a loud warning."""
    crds = tmp_path / "full"
    crds.mkdir()
    (crds / "argoproj.io_workflows.yaml").write_text("# CRD\n")
    lines = plan("--install-argo", "--argo-crds", str(crds))
    assert steps_with(lines, f"end with Argo's full CRDs: if the cluster's are the minimal ones (install.yaml), apply those of {crds}")
    lines = plan("--install-argo", "--argo-version", "v3.0.0")  # no such module in the cache
    assert steps_with(lines, "if they are the minimal ones (install.yaml), WARN: pass --argo-crds DIR")
    proc = run("--dry-run", "--install-argo", "--argo-crds", str(tmp_path / "bin"))
    assert proc.returncode == 1 and f"--argo-crds '{tmp_path / 'bin'}' has no argoproj.io_workflows.yaml" in proc.stderr


def test_skip_chart_plans_no_helm():
    lines = plan("--install-argo", "--skip-chart")
    assert steps_with(lines, "skip the chart") and not steps_with(lines, "helm upgrade")


def test_smoke_flag_runs_the_smoke_suite_last():
    lines = plan("--smoke")
    assert lines[-1].endswith("run the smoke suite: python -m pytest -m smoke tests/smoke")


def test_uninstall_is_the_only_step():
    lines = plan("--uninstall", "--namespace", "demo")
    assert lines == ["1. uninstall Helm release 'cogniverse' from namespace 'demo' (data PVCs are kept)"]


@pytest.mark.parametrize("args, message", [
    (["--bogus"], "unknown flag '--bogus'"),
    (["--install-k3s", "--instal-argo"], "unknown flag '--instal-argo'"),
    (["--namespace"], "--namespace needs a value"),
    (["--namespace", "--dry-run"], "--namespace needs a value"),
    (["-f"], "-f needs a value"),
    (["--set"], "--set needs a value"),
    (["--values="], "--values needs a value"),
    (["--k3s-version"], "--k3s-version needs a value"),
    (["--argo-version", "3.7"], "--argo-version '3.7' is not a version"),
    (["--namespace", "Bad_NS"], "--namespace 'Bad_NS' is not a valid namespace name"),
    (["--timeout", "soon"], "--timeout 'soon' is not a positive number"),
    (["--uninstall", "--install-k3s"], "--uninstall cannot be combined"),
    (["--argo-manifest", "/x.yaml"], "--argo-manifest is only used with --install-argo"),
])
def test_bad_flags_fail_with_usage_and_exit_2(args, message):
    proc = run(*args, "--dry-run")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Usage: deploy_k3s.sh" in proc.stderr
    assert "Plan:" not in proc.stdout


def test_missing_values_file_and_manifest_are_named():
    proc = run("--dry-run", "-f", "/no/such/values.yaml")
    assert proc.returncode == 1 and "values file '/no/such/values.yaml' does not exist" in proc.stderr
    proc = run("--dry-run", "--install-argo", "--argo-manifest", "/no/such/argo.yaml")
    assert proc.returncode == 1 and "Argo manifest '/no/such/argo.yaml' does not exist" in proc.stderr


def _bare_path(tmp_path: Path, *tools: str) -> str:
    """A PATH with only the basic tools the script needs plus the named ones."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "dirname", "id", "uname", "env", "sort", "head", "awk", "sed", "mktemp", *tools):
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    return str(bindir)


def test_missing_helm_and_kubectl_are_reported_together(tmp_path):
    empty_tools = tmp_path / "tools"
    empty_tools.mkdir()
    proc = run("--dry-run", path=_bare_path(tmp_path),
               env={"TOOLS_BIN": str(empty_tools), "AUTO_BOOTSTRAP": "0"})
    assert proc.returncode == 1
    assert "missing prerequisites" in proc.stderr
    assert "kubectl (on PATH or in .tools/bin: run scripts/bootstrap.sh --no-python)" in proc.stderr
    assert "helm (>= 3.14 or 4.x" in proc.stderr and "scripts/bootstrap.sh --no-python" in proc.stderr


def test_missing_curl_is_reported_for_downloads(tmp_path):
    proc = run("--dry-run", "--install-argo", path=_bare_path(tmp_path))
    assert proc.returncode == 1 and "curl (downloads the K3s installer / the Argo manifest and CLI" in proc.stderr


def test_dry_run_plans_a_helm_bootstrap_when_none_is_found(tmp_path):
    empty_tools = tmp_path / "tools"
    empty_tools.mkdir()
    kubectl = REPO_ROOT / ".tools" / "bin" / "kubectl"
    lines = plan(path=_bare_path(tmp_path), env={"TOOLS_BIN": str(empty_tools), "KUBECTL": str(kubectl)})
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
    proc = run("--dry-run", path=_bare_path(tmp_path),
               env={"HELM": str(old), "TOOLS_BIN": str(empty_tools), "KUBECTL": str(kubectl), "AUTO_BOOTSTRAP": "0"})
    assert proc.returncode == 1 and "helm (>= 3.14 or 4.x" in proc.stderr
    lines = plan(env={"HELM": str(REPO_ROOT / ".tools" / "bin" / "helm4")})
    assert steps_with(lines, "helm upgrade --install")


def test_default_versions_come_from_versions_env():
    text = SCRIPT.read_text()
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


def test_local_cluster_flag_plans_the_offline_node_instead_of_k3s():
    lines = plan("--local-cluster", "--install-argo", "-f", str(VALUES / "smoke.yaml"))
    (node,) = steps_with(lines, "start the local node:")
    assert f"scripts/local_cluster.sh up --argo-version {ARGO_VERSION}" in node
    assert "KUBECONFIG=" in node and node.endswith("admin.kubeconfig")
    assert steps_with(lines, "--install-argo: nothing more to do")
    assert not steps_with(lines, "install K3s") and not steps_with(lines, "releases/download")
    assert steps_with(lines, "helm upgrade --install cogniverse")


@pytest.mark.parametrize("args, message", [
    (["--local-cluster", "--install-k3s"], "--local-cluster and --install-k3s both create the cluster"),
    (["--local-cluster", "--uninstall"], "--uninstall cannot be combined with --local-cluster"),
])
def test_local_cluster_conflicts_are_usage_errors(args, message):
    proc = run(*args, "--dry-run")
    assert proc.returncode == 2 and message in proc.stderr


def test_helm_does_not_wait_for_claims_the_script_waits_for_workloads():
    """helm --wait waits for every PVC to bind; a local-path claim that only a CronWorkflow mounts binds at
    its first run, so the install must not wait for it: the script waits for Deployments/StatefulSets."""
    lines = plan(env={"KUBECONFIG": "/some/kubeconfig"})
    (helm,) = steps_with(lines, "helm upgrade --install")
    assert "--wait" not in helm.split()
    later = lines[lines.index(helm) + 1:]
    assert steps_with(later, "wait for the rollout of every Deployment/StatefulSet")


def test_a_real_run_executes_the_planned_steps_in_order(tmp_path):
    """The plan and the run come from one list of steps: run the Argo-only plan against a stand-in
    kubectl (a mock, named so: it records its calls and answers as an empty cluster would)."""
    manifest = tmp_path / "argo-crds.yaml"
    manifest.write_text("# CRDs\n")
    calls = tmp_path / "calls"
    fake = tmp_path / "kubectl"
    fake.write_text(f"""#!/bin/sh
echo "$*" >> {calls}
case "$*" in
  *"get deployment"*) exit 1 ;;
  *"templates.type"*) echo array ;;
  *"apply"*) cat >/dev/null ;;
esac
exit 0
""")
    fake.chmod(0o755)
    args = ("--install-argo", "--argo-manifest", str(manifest), "--skip-chart")
    env = {"KUBECTL": str(fake), "KUBECONFIG": str(tmp_path / "kc")}
    planned = plan(*args, env=env)
    assert [line.split(". ", 1)[1].split(" ")[0:2] for line in planned] == [
        ["use", "the"], ["install", "Argo"], ["wait", "for"], ["end", "with"], ["no", "argo"], ["skip", "the"]]
    proc = run(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    done = calls.read_text().splitlines()
    first = {what: next(i for i, c in enumerate(done) if what in c)
             for what in ("get --raw /readyz", "apply --server-side", "wait --for=condition=Established")}
    assert first["get --raw /readyz"] < first["apply --server-side"] < first["wait --for=condition=Established"], done
    assert "Plan:" in proc.stdout and "Argo CRDs Established" in proc.stdout


# --- install path: checked downloads, private kubeconfigs, verified charts, values checked by --dry-run ---

def _stubs(tmp_path: Path, **scripts: str) -> str:
    """A PATH of stand-ins (mocks, named so) before the system's: `sudo` runs its command, others as given."""
    d = tmp_path / "stubs"
    d.mkdir(exist_ok=True)
    for name, body in {"sudo": 'exec "$@"', **scripts}.items():
        (d / name).write_text(f"#!/bin/sh\n{body}\n")
        (d / name).chmod(0o755)
    return f"{d}:/usr/bin:/bin"


def _sha(path: Path) -> str:
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_download_names_a_pin_in_versions_env():
    """One function downloads, and it takes the pin's name: no download without a checked digest."""
    text = SCRIPT.read_text()
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
    digest = {"wrong": WRONG, "right": _sha(installer), "": ""}[pin]
    proc = run("--install-k3s", "--skip-chart", env={"K3S_INSTALL_URL": f"file://{installer}",
                                                     "K3S_INSTALLER_SHA256": digest},
               path=_stubs(tmp_path))
    assert proc.returncode == 1 and marker.exists() == ran, proc.stderr
    if pin == "wrong":
        assert f"has sha256 {_sha(installer)}, not the pinned {WRONG} (K3S_INSTALLER_SHA256): refused" in proc.stderr
    elif pin == "":
        assert "no sha256 pinned for the K3s installer (K3S_INSTALLER_SHA256 in versions.env" in proc.stderr
    else:
        assert "the K3s installer from file://" in proc.stderr and "failed" in proc.stderr
    assert "K3S_KUBECONFIG_MODE=644" not in SCRIPT.read_text() and "K3S_KUBECONFIG_MODE=600" in SCRIPT.read_text()


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
        "ARGO_CLI_URL": f"file://{cli}", "ARGO_CLI_SHA256": _sha(cli) if right else WRONG,
        "ARGO_CLI_DIR": str(bindir), "KUBECTL": str(tmp_path / "stubs" / "kubectl"),
        "KUBECONFIG": str(tmp_path / "kc")}, path=_stubs(tmp_path, kubectl=kubectl))
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
               path=_stubs(tmp_path, **stubs))
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


def test_the_offline_fallback_names_the_offline_profile_and_the_first_up_cost():
    proc = run("--install-k3s", env={"K3S_INSTALL_URL": "http://127.0.0.1:9/i.sh", "K3S_INSTALLER_SHA256": WRONG})
    assert proc.returncode == 1
    assert f"scripts/deploy_k3s.sh -f {VALUES / 'smoke.yaml'}\n" in proc.stderr  # not the default k3s.yaml
    assert "The profile that runs offline is values/smoke.yaml" in proc.stderr
    assert f"Not for the offline node: {VALUES / 'k3s.yaml'}" in proc.stderr
    assert "The first `up` builds Kubernetes" in proc.stderr and "about 15 min" in proc.stderr


def test_dry_run_pulls_an_oci_chart_verified_from_a_real_registry(key, registry, tmp_path):
    """The CNCF registry on loopback (tests/registrylib.py) serves the chart signed by `key`: the dry run
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
