"""scripts/deploy_k3s.sh without a cluster: flag parsing, --dry-run plans, failure messages.

Every run here is either --dry-run/--help or fails before touching anything. The K3s/Argo
installs themselves run in CI's K3s job (.github/workflows/chart-ci.yaml) and on the local cluster.
"""

from __future__ import annotations


import pytest


from deploy_utils import ARGO_VERSION, K3S_VERSION, VALUES, plan, run, steps_with


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
