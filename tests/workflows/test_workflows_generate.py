"""The guide's workflows/*.yaml are generated from the chart (a test fails when they drift), hold what
`argo submit` / `argo cron create` / `kubectl apply` read, and `generate --from` mirrors
`argo submit --from`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cogniverse_chart import REPO_ROOT, generate
from cogniverse_chart.cli import main
from cogniverse_chart.documents import read_paths
from chart_utils import CRON_WORKFLOWS, OWN_CRON_WORKFLOWS, WORKFLOW_TEMPLATES, by_kind, parameters, render_chart
from cogniverse_chart.catalogue import catalogue

WORKFLOWS = REPO_ROOT / "workflows"


@pytest.fixture(scope="module")
def files():
    return generate.guide_files(generate.render_defaults())


def test_committed_workflow_files_match_the_chart(files):
    stale = generate.drift(files, WORKFLOWS)
    assert not stale, f"workflows/ drifted from the chart: {stale}; run `cogniverse-chart generate`"


def test_generate_check_cli_reports_drift(tmp_path, capsys):
    assert main(["generate", "--out-dir", str(tmp_path)]) == 0
    assert main(["generate", "--check", "--out-dir", str(tmp_path)]) == 0
    (tmp_path / "batch-optimization.yaml").write_text("# edited by hand\n")
    (tmp_path / "extra.yaml").write_text(generate.GENERATED_MARK + " (a file it no longer writes)\nkind: ConfigMap\n")
    assert main(["generate", "--check", "--out-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "batch-optimization.yaml" in err and "extra.yaml" in err and "cogniverse-chart generate" in err


def test_generate_removes_only_the_files_it_wrote(tmp_path, capsys):
    """D62: a stale generated file goes; the user's own YAML files beside (and below) the out dir stay."""
    out = tmp_path / "out"
    (out / "deep").mkdir(parents=True)
    mine = {out / "mine.yaml": "kind: ConfigMap\n", out / "deep" / "values.yaml": "a: 1\n",
            out / "late-header.yaml": "# notes\n" + generate.GENERATED_MARK + "\n"}
    for path, text in mine.items():
        path.write_text(text)
    (out / "old.yaml").write_text(generate.GENERATED_MARK + " from an older chart\n")
    assert main(["generate", "--out-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert not (out / "old.yaml").exists() and "removed" in printed and "old.yaml" in printed
    assert {p: p.read_text() for p in mine} == mine, "files generate did not write were removed"
    assert main(["generate", "--check", "--out-dir", str(out)]) == 0


@pytest.mark.parametrize("marker", ["Chart.yaml", ".git"])
def test_generate_refuses_an_out_dir_holding_a_chart_or_a_repository(tmp_path, capsys, marker):
    """D62: `generate --out-dir .` in a checkout is refused before anything is written or removed."""
    (tmp_path / marker).mkdir() if marker == ".git" else (tmp_path / marker).write_text("name: x\n")
    (tmp_path / "values.yaml").write_text("a: 1\n")
    assert main(["generate", "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"holds {marker}" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([marker, "values.yaml"])


@pytest.mark.parametrize("name", WORKFLOW_TEMPLATES)
def test_submit_files_hold_one_workflow_referencing_the_installed_template(name):
    docs = list(read_paths([str(WORKFLOWS / f"{name}.yaml")]))
    assert [d.kind for d in docs] == ["Workflow"], "argo submit reads only kind Workflow"
    wf = docs[0].obj
    assert wf["metadata"]["generateName"] == f"{name}-"
    assert "namespace" not in wf["metadata"], "argo submit -n decides the namespace"
    assert wf["spec"] == {"workflowTemplateRef": {"name": name}, **({"arguments": wf["spec"]["arguments"]}
                                                                     if "arguments" in wf["spec"] else {})}
    wft = by_kind(render_chart(profile=generate.DEFAULT_PROFILE), "WorkflowTemplate")[name]
    defaults = {k: v for k, v in parameters(wft).items() if v is not None}
    assert {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]} == defaults
    assert wf["metadata"]["labels"]["workflows.argoproj.io/workflow-template"] == name


def test_batch_optimization_submit_file_carries_the_optimization_label():
    wf = next(read_paths([str(WORKFLOWS / "batch-optimization.yaml")])).obj
    assert wf["metadata"]["labels"]["workflow-type"] == "optimization"


def test_committed_files_are_for_what_deploy_k3s_installs_without_values():
    """deploy_k3s.sh installs values/k3s.yaml by default; files for other values would reset that release."""
    script = (REPO_ROOT / "scripts" / "deploy_k3s.sh").read_text()
    assert f"DEFAULT_VALUES=${{DEFAULT_VALUES:-$ROOT/values/{generate.DEFAULT_PROFILE}.yaml}}" in script
    head = (WORKFLOWS / "scheduled-maintenance.yaml").read_text().splitlines()[:2]
    assert f"profile {generate.DEFAULT_PROFILE}" in " ".join(head)


def test_cron_files_hold_the_cron_workflows_as_the_chart_renders_them():
    chart = by_kind(render_chart(profile=generate.DEFAULT_PROFILE), "CronWorkflow")
    seen = []
    for fname, names in catalogue().cron_files.items():
        docs = list(read_paths([str(WORKFLOWS / f"{fname}.yaml")]))
        assert [d.name for d in docs] == list(names) and {d.kind for d in docs} == {"CronWorkflow"}
        for d in docs:
            expected = generate.strip_helm(chart[d.name])
            assert d.obj == expected
            assert "helm.sh/chart" not in d.obj["metadata"]["labels"]
            assert "app.kubernetes.io/managed-by" not in d.obj["metadata"]["labels"]
        seen += names
    assert sorted(seen) == sorted(CRON_WORKFLOWS + OWN_CRON_WORKFLOWS)


def test_templates_folder_has_every_workflow_template_and_its_prerequisites():
    docs = list(read_paths([str(WORKFLOWS / "templates")]))
    assert sorted(d.name for d in docs if d.kind == "WorkflowTemplate") == sorted(WORKFLOW_TEMPLATES + CRON_WORKFLOWS + OWN_CRON_WORKFLOWS)
    kinds = {d.kind for d in docs}
    assert kinds == {"WorkflowTemplate", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
                     "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                     "ConfigMap", "PersistentVolumeClaim"}
    assert not [d for d in docs if d.kind in ("Workflow", "CronWorkflow")]
    assert all("generateName" not in d.obj["metadata"] for d in docs), "kubectl apply cannot take generateName"


def test_generated_files_say_they_are_generated_and_how_to_use_them():
    for path in WORKFLOWS.rglob("*.yaml"):
        head = path.read_text().splitlines()[:3]
        assert head[0].startswith("# GENERATED by `cogniverse-chart generate`"), path
        assert "argo" in head[2] or "kubectl" in head[2], path


def test_from_workflow_template_like_argo_submit_from(capsys):
    assert main(["-o", "json", "generate", "--from", "workflowtemplate/batch-optimization",
                 "-p", "tenant-id=acme_corp", "-p", "max-iterations=200"]) == 0
    wf = json.loads(capsys.readouterr().out)
    assert wf["kind"] == "Workflow" and wf["metadata"]["generateName"] == "batch-optimization-"
    assert wf["spec"]["workflowTemplateRef"] == {"name": "batch-optimization"}
    params = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
    assert params["tenant-id"] == "acme_corp" and params["max-iterations"] == "200"
    assert params["optimizer-type"] == "GEPA"


def test_from_cron_workflow_copies_its_spec_with_parameters(capsys):
    assert main(["generate", "--from", "cronwf/daily-backup", "-p", "retention-days=3"]) == 0
    wf = yaml.safe_load(capsys.readouterr().out)
    cron = by_kind(render_chart(), "CronWorkflow")["daily-backup"]
    assert wf["metadata"]["generateName"] == "daily-backup-"
    assert wf["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"] == "daily-backup"
    expected = dict(cron["spec"]["workflowSpec"])
    expected["arguments"] = {"parameters": [{"name": "backup-dir", "value": "/backups"},
                                            {"name": "retention-days", "value": "3"},
                                            {"name": "keep-latest", "value": "1"}]}
    assert wf["spec"] == expected


def test_from_uses_the_chosen_profile(capsys):
    assert main(["generate", "--from", "cronwf/weekly-optimization", "--profile", "smoke"]) == 0
    wf = yaml.safe_load(capsys.readouterr().out)
    params = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
    assert params["tenant-id"] == "smoke_weekly"  # values/smoke.yaml, not the default profile's


@pytest.mark.parametrize("argv,message", [
    (["--from", "cronwf/daily-backup", "-p", "retntion-days=3"], "has no parameter retntion-days (it declares:"),
    (["--from", "cronwf/no-such"], "no CronWorkflow 'no-such'"),
    (["--from", "deployment/x"], "expected workflowtemplate/NAME or cronwf/NAME"),
    (["--from", "cronwf/daily-backup", "-p", "novalue"], "--parameter 'novalue' must be NAME=VALUE"),
    (["-p", "a=b"], "needs --from"),
])
def test_generate_errors_are_one_line_naming_the_problem(capsys, argv, message):
    assert main(["generate", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


# ---- files for a release other than the default one -----------------------------------------------

def test_files_are_generated_for_the_given_release_and_values(tmp_path, capsys):
    """Files generated for a release carry its namespace and values, so `kubectl apply` keeps it as is."""
    assert main(["generate", "--profile", "smoke", "--release", "cv", "-n", "team-a", "--out-dir", str(tmp_path)]) == 0
    docs = list(read_paths([str(tmp_path / "scheduled-maintenance.yaml")]))
    chart = by_kind(render_chart(profile="smoke", release="cv", namespace="team-a"), "CronWorkflow")
    assert {d.name: d.obj for d in docs} == {d.name: generate.strip_helm(chart[d.name]) for d in docs}
    assert {d.obj["metadata"]["namespace"] for d in docs} == {"team-a"}
    head = (tmp_path / "scheduled-maintenance.yaml").read_text().splitlines()[:2]
    assert "release cv in namespace" in head[0] and "team-a, values: profile smoke" in head[1]
    # the committed (default) files would reset that release: the check says so and how to fix it
    assert main(["generate", "--check", "--profile", "smoke", "--release", "cv", "-n", "team-a"]) == 1
    err = capsys.readouterr().err
    assert "scheduled-maintenance.yaml" in err and "cogniverse-chart generate --release cv -n team-a --profile smoke" in err


def test_object_drift_ignores_the_header_but_not_a_changed_object(tmp_path):
    files = generate.guide_files(generate.render_defaults())
    generate.write(files, tmp_path)
    other = generate.guide_files(generate.render_defaults(), generate.Target(values="those of the installed release"))
    assert generate.drift(other, tmp_path) != [] and generate.drift(other, tmp_path, objects_only=True) == []
    path = tmp_path / "scheduled-optimization.yaml"
    path.write_text(path.read_text().replace("0 4 * * *", "30 4 * * *"))
    assert generate.drift(other, tmp_path, objects_only=True) == ["scheduled-optimization.yaml"]


def test_from_release_without_a_reachable_release_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}], "users": [{"name": "x", "user": {}}]}))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert main(["generate", "--from-release", "--release", "cogniverse", "-n", "nowhere",
                 "--out-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "release 'cogniverse' in namespace 'nowhere'" in err[0] and "KUBECONFIG" in err[0], err
    assert not (tmp_path / "out").exists(), "nothing is written when the release cannot be read"
    assert main(["generate", "--from-release", "--profile", "smoke"]) == 2
    assert "takes the release's own values" in capsys.readouterr().err


def test_generate_from_on_a_foreign_chart_uses_its_namespace(capsys, tmp_path: Path) -> None:
    """D43: a WorkflowTemplate without metadata.namespace gave a Workflow in namespace `cogniverse` whatever the
    chart or --namespace; `--from ''` fell through to the guide files; --from with --out-dir ignored the folder."""
    from toolkit_utils import helm_create, run_cli

    chart = helm_create(tmp_path)
    (chart / "templates" / "wt.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: wt}\nspec:\n  entrypoint: m\n"
        "  templates: [{name: m, container: {image: 'alpine:3.20'}}]\n")
    for extra, namespace in (([], "demo"), (["--namespace", "team-a"], "team-a")):
        code, out, err = run_cli(capsys, chart, "-o", "json", "generate", "--from", "workflowtemplate/wt", *extra)
        assert code == 0 and json.loads(out)["metadata"]["namespace"] == namespace, (out, err)
    for argv, needle in ((["--from", ""], "--from '': name what to run"),
                         (["--from", "workflowtemplate/wt", "--out-dir", "x"], "drop --out-dir/--check")):
        code, _, err = run_cli(capsys, chart, "generate", *argv)
        assert code == 2 and needle in err, err
