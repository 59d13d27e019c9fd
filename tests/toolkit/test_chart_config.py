"""The chart in front of the toolkit: found from the current directory or --chart, its ci/*-values.yaml
as scenarios, and a config file that sets rules, severities and scenarios (suppressions:
test_chart_suppressions.py; `ct`: test_chart_ct.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from toolkit_utils import demo, helm_create, rules_of, run_cli, run_json  # noqa: F401 (demo: fixture)


def test_check_in_a_chart_folder_uses_its_ci_scenarios_and_no_cogniverse_checks(capsys, demo: Path) -> None:
    code, result = run_json(capsys, demo, "check", "--helm", "4")
    assert result["chart"] == str(demo) and set(result["profiles"]) == {"ha", "small"}
    assert code == 1 and "ct/maintainers" in rules_of(result)  # helm create lists no maintainers
    icon = [f for f in result["findings"] if f["rule"] == "helm/lint"]  # ct lint's `helm lint`, per scenario
    assert icon and icon[0]["severity"] == "info" and "icon is recommended" in icon[0]["message"]
    assert icon[0]["scenarios"] == "all profiles"
    assert not any(r.startswith(("generated/", "schema/")) for r in rules_of(result)), rules_of(result)
    # from the folder above, --chart names it; -f applies on top of every scenario
    (demo.parent / "bad.yaml").write_text("image:\n  tag: latest\n")
    code, result = run_json(capsys, demo.parent, "lint", "--chart", "demo", "-f", "bad.yaml", "--profile", "ha")
    latest = [f for f in result["findings"] if f["rule"] == "policy/image-tag"]
    assert latest and latest[0]["scenarios"] == "profile ha" and latest[0]["source"] == "demo/templates/deployment.yaml"
    assert latest[0]["name"] == "demo"  # released under the chart's own name, not this repository's


def test_chart_discovery_errors_name_what_to_do(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, tmp_path, "check")
    assert code == 2 and "no Helm chart here" in err and "--chart PATH" in err
    helm_create(tmp_path / "charts", "a")
    helm_create(tmp_path / "charts", "b")
    code, _, err = run_cli(capsys, tmp_path, "lint")
    assert code == 2 and "several charts here" in err
    code, _, err = run_cli(capsys, tmp_path, "render", "--chart", "charts/nope")
    assert code == 2 and "--chart charts/nope: no such file" in err
    code, _, err = run_cli(capsys, tmp_path, "lint", "--chart", "charts/a", "--profile", "nope")
    assert code == 2 and "unknown profile 'nope'" in err and "default" in err


def test_config_file_sets_severities_scenarios_and_versions(capsys, demo: Path) -> None:
    (demo / ".cogniverse-chart.toml").write_text(
        'scenarios = ["ci/ha-values.yaml"]\nkube-versions = ["1.33"]\n'
        '[rules]\n"policy/" = "warning"\n"policy/resources" = "off"\n"ct/maintainers" = "info"\n')
    code, result = run_json(capsys, demo, "check", "--helm", "3")
    assert list(result["profiles"]) == ["ha"]
    severities = {f["rule"]: f["severity"] for f in result["findings"]}
    assert "policy/resources" not in severities and severities["ct/maintainers"] == "info"
    assert severities["policy/security-context"] == "warning"
    assert code == 0  # nothing left at error severity
    code, out, _ = run_cli(capsys, demo, "lint", "--list-rules")
    line = next(l for l in out.splitlines() if l.startswith("policy/resources "))
    assert " off " in line and ".cogniverse-chart.toml rules.'policy/resources'" in line
    line = next(l for l in out.splitlines() if l.startswith("policy/image-tag "))
    assert " warning " in line and "rules.'policy/'" in line
    line = next(l for l in out.splitlines() if l.startswith("argo/unknown-step "))
    assert " error " in line and "from" not in line
    line = next(l for l in out.splitlines() if l.startswith("ct/maintainers "))  # the other checks' rules too
    assert " info " in line and "rules.'ct/maintainers'" in line


@pytest.mark.parametrize("text,needle", [
    ('colour = "red"\n', "unknown key 'colour'"),
    ('[rules]\n"policy/x" = "loud"\n', "expected one of error, warning, info, off"),
    ('scenarios = "ci/*.yaml"\n', "'scenarios' must be a list of strings"),
    ('scenarios = [\n', "not valid TOML"),
    ('scenarios = ["nothing/*.yaml"]\n', "match no file"),
    ('scenarios = ["."]\n', "scenarios '.': not a usable glob"),  # D11: tracebacks in pathlib
    ('scenarios = ["ci/***/x"]\n', "scenarios 'ci/***/x': not a usable glob (Invalid pattern"),
    ('scenarios = ["/etc/*"]\n', "relative to the config file"),
    ('scenarios = ["../../*.yaml"]\n', "without '..'"),
    ('chart = "nowhere"\n', "no Chart.yaml in"),
    ('scenarios = []\n', "'scenarios' is empty"),
    ('kube-versions = []\n', "'kube-versions' is empty"),
    ('[rules]\n"policy/image-tags" = "off"\n', "rules.'policy/image-tags': no such rule or family"),
    ('[rules]\n"nonexistent/rule" = "off"\n', "rules.'nonexistent/rule': no such rule or family"),
    ('namespace = "--set=x"\n', "namespace = '--set=x': a namespace name"),
    ('release = "Bad_Name!"\n', "release = 'Bad_Name!': a Helm release name"),
    ('kube-version = 1' + '1' * 5000 + '\n', "not valid TOML: Exceeds the limit"),
    ('kube-versions = ["1.30", " 1.31"]\n', "kube-versions: bad version ' 1.31'"),
    ('argo-versions = ["4.x"]\n', "argo-versions: bad version '4.x'"),
    ('kube-version = "--post-renderer=x"\n', "kube-version: bad version '--post-renderer=x'"),
    ('chart = ""\n', 'chart = "": name the chart'),
])
def test_bad_config_is_one_line_naming_the_file_and_key(capsys, demo: Path, text: str, needle: str) -> None:
    (demo / ".cogniverse-chart.toml").write_text(text)
    code, _, err = run_cli(capsys, demo, "check", "--helm", "4")
    assert code == 2 and needle in err and ".cogniverse-chart.toml" in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize("key,command", [("workflows-dir", "generate"), ("diagrams", "docs"), ("diagrams", "check")])
@pytest.mark.parametrize("where", ["../victim", "ABSOLUTE", "link/victim"])
def test_config_paths_the_toolkit_writes_stay_in_the_project(capsys, demo: Path, tmp_path: Path, key: str,
                                                               command: str, where: str) -> None:
    """D62/D12: a config file (say one added by a pull request) cannot point generate/docs outside its folder."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "important.yaml").write_text("keep: me\n")
    (demo / "link").symlink_to(tmp_path)
    value = str(victim) if where == "ABSOLUTE" else where
    (demo / ".cogniverse-chart.toml").write_text(f'{key} = "{value}"\n')
    code, _, err = run_cli(capsys, demo, command)
    assert code == 2 and len(err.strip().splitlines()) == 1 and f"{key} '{value}'" in err and "refused" in err, err
    assert [p.name for p in victim.iterdir()] == ["important.yaml"]
    assert (victim / "important.yaml").read_text() == "keep: me\n"


def test_a_bad_version_in_the_config_is_named(capsys, demo: Path) -> None:
    (demo / ".cogniverse-chart.toml").write_text('kube-versions = ["banana"]\n')
    code, _, err = run_cli(capsys, demo, "check", "--helm", "4")
    assert code == 2 and "bad version 'banana'" in err and len(err.strip().splitlines()) == 1
    assert ".cogniverse-chart.toml: kube-versions:" in err  # the file and key, before anything is rendered


def test_pyproject_table_is_a_config_and_stops_at_the_repository_root(capsys, demo: Path, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.cogniverse-chart]\nchart = "demo"\n[tool.other]\nx = 1\n')
    code, result = run_json(capsys, tmp_path, "lint")
    assert result["chart"] == str(demo)
    sub = tmp_path / "repo"
    sub.mkdir()
    subprocess.run(["git", "init", "-q", str(sub)], check=True)
    code, _, err = run_cli(capsys, sub, "lint")  # the pyproject above the repository is not its config
    assert code == 2 and "no Helm chart here" in err


def test_global_options_work_anywhere_and_errors_follow_the_format(capsys, demo: Path) -> None:
    code, out, _ = run_cli(capsys, demo, "lint", "-o", "json")
    assert out.lstrip().startswith("{") and code == 1
    (demo / "templates" / "broken.yaml").write_text("{{ .Values.nope.deeper }}\n")
    code, result = run_json(capsys, demo, "check", "--helm", "4")
    assert code == 2 and result["ok"] is False and "nil pointer" in result["error"]
    code, out, err = run_cli(capsys, demo, "check", "--helm", "4", "-o", "github")
    assert code == 2 and out.startswith("::error file=templates/broken.yaml,line=1,col=10,title=cogniverse-chart check::")
    code, out, err = run_cli(capsys, demo, "validate", "--bogus", "-o", "json")
    assert code == 2 and '"ok": false' in out and "unrecognized arguments: --bogus" in err


def test_check_includes_generate_check_where_the_config_names_the_workflows(capsys, tmp_path: Path) -> None:
    """With `workflows-dir`, `check` compares the committed guide workflows with the chart (generate --check)."""
    import shutil

    from cogniverse_chart import CHART_DIR, PROFILES_DIR, REPO_ROOT

    shutil.copytree(REPO_ROOT / "workflows", tmp_path / "workflows")
    (tmp_path / "values").mkdir()
    shutil.copy(PROFILES_DIR / "k3s.yaml", tmp_path / "values" / "k3s.yaml")
    (tmp_path / ".cogniverse-chart.toml").write_text(
        f'chart = "{CHART_DIR}"\nscenarios = ["values/*.yaml"]\nworkflows-dir = "workflows"\n')
    code, result = run_json(capsys, tmp_path, "check", "--helm", "4", "--no-docs")
    assert code == 0 and "generated/workflows" not in rules_of(result), result["findings"]
    stale = tmp_path / "workflows" / "video-ingestion.yaml"
    stale.write_text(stale.read_text().replace("generateName: video-ingestion-", "generateName: edited-"))
    code, result = run_json(capsys, tmp_path, "check", "--helm", "4", "--no-docs")
    found = [f for f in result["findings"] if f["rule"] == "generated/workflows"]
    assert code == 1 and [f["file"] for f in found] == ["workflows/video-ingestion.yaml"]


def test_rule_settings_and_families_that_exist_are_accepted(capsys, demo: Path) -> None:
    (demo / ".cogniverse-chart.toml").write_text('[rules]\n"policy" = "off"\n"schema/k8s-1.30" = "off"\n"ct/" = "off"\n'
                                                '"argo/cron-spec" = "warning"\n"helm/lint" = "off"\n')
    code, result = run_json(capsys, demo, "check", "--helm", "4")
    assert code == 0 and result["findings"] == [], result["findings"]


def test_config_discovery_trusts_no_shared_folder_and_no_other_account(capsys, tmp_path: Path, monkeypatch) -> None:
    """A .cogniverse-chart.toml planted in a folder anyone may write to (/tmp), or owned by another account,
    switched schema validation off for a run in a folder below it ("validate: ok" on an invalid object): the
    first is not looked at, the second is refused, naming it (as git refuses a repository of another owner)."""
    bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {y: 2}\n"
    planted = '[rules]\n"schema" = "off"\n'
    shared = tmp_path / "shared"
    (shared / "work").mkdir(parents=True)
    shared.chmod(0o1777)  # as /tmp: sticky, anyone may write
    (shared / ".cogniverse-chart.toml").write_text(planted)
    (shared / "work" / "bad.yaml").write_text(bad)
    code, out, _ = run_cli(capsys, shared / "work", "validate", "bad.yaml")
    assert code == 1 and "error[schema/" in out, out
    own = tmp_path / "own"
    (own / "work").mkdir(parents=True)
    (own / ".cogniverse-chart.toml").write_text(planted)
    (own / "work" / "bad.yaml").write_text(bad)
    code, out, _ = run_cli(capsys, own / "work", "validate", "bad.yaml")
    assert code == 0, out  # the user's own config above the folder still applies
    if os.getuid() == 0:  # only root can give a file away: the same config, owned by another account
        os.chown(own / ".cogniverse-chart.toml", 4242, -1)
        code, out, err = run_cli(capsys, own / "work", "validate", "bad.yaml")
        assert code == 0, out  # root trusts every file (a container job on a checkout another uid owns)
        monkeypatch.setattr(os, "getuid", lambda: 4243)  # an ordinary account: another one's file is refused
        code, out, err = run_cli(capsys, own / "work", "validate", "bad.yaml")
        assert code == 2 and "owned by another account (uid 4242, not 4243)" in err and "--config" in err, err
        code, out, _ = run_cli(capsys, own / "work", "--config", str(own / ".cogniverse-chart.toml"), "validate",
                               "bad.yaml")
        assert code == 0, out  # named on the command line: the user's choice


@pytest.mark.parametrize("text", ['tool = 5 # cogniverse-chart\n', 'tool = "cogniverse-chart"\n'])
def test_a_pyproject_whose_tool_is_not_a_table_is_no_config(capsys, demo: Path, text: str) -> None:
    (demo / "pyproject.toml").write_text(text)
    code, result = run_json(capsys, demo, "check", "--helm", "4")
    assert code == 1 and set(result["profiles"]) == {"ha", "small"}
    code, _, err = run_cli(capsys, demo, "--config", "pyproject.toml", "check", "--helm", "4")
    assert code == 2 and "has no [tool.cogniverse-chart] table" in err and "Traceback" not in err


def test_a_scenario_symlink_leading_out_of_the_project_is_refused(capsys, demo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret-values.yaml").write_text("replicaCount: 2\n")
    (demo / "escape").symlink_to(outside)
    (demo / ".cogniverse-chart.toml").write_text('scenarios = ["escape/*.yaml"]\n')
    code, _, err = run_cli(capsys, demo, "check", "--helm", "4")
    assert code == 2 and f"leads to {outside / 'secret-values.yaml'}, outside {demo}; refused" in err, err
    (demo / ".cogniverse-chart.toml").unlink()
    (demo / "ci" / "outside-values.yaml").symlink_to(outside / "secret-values.yaml")
    code, _, err = run_cli(capsys, demo, "check", "--helm", "4")
    assert code == 2 and "ci/outside-values.yaml leads to" in err, err
    (demo / "ci" / "outside-values.yaml").unlink()
    (demo / "ci" / "shared-values.yaml").symlink_to(demo / "values.yaml")  # inside the project: followed
    code, result = run_json(capsys, demo, "check", "--helm", "4")
    assert "shared" in result["profiles"]


@pytest.mark.parametrize("command", ["ct", "check", "lint"])
def test_a_chart_path_that_is_no_chart_says_so(capsys, tmp_path: Path, command: str) -> None:
    (tmp_path / "notes.txt").write_text("x")
    code, _, err = run_cli(capsys, tmp_path, command, "--chart", "notes.txt")
    assert code == 2 and "--chart notes.txt: neither a chart folder nor a packaged chart (.tgz)" in err, err
    code, _, err = run_cli(capsys, tmp_path, command, "--chart", "/dev/null")
    assert code == 2 and "neither a chart folder" in err, err


def test_validate_values_of_a_chart_without_a_schema_says_so(capsys, demo: Path) -> None:
    """A `helm create` chart has no values.schema.json: "is --chart a chart directory?" asked about a chart."""
    code, _, err = run_cli(capsys, demo, "validate", "--values", "values.yaml")
    assert code == 2 and "values.schema.json: not found: the chart has no values schema" in err, err
    code, _, err = run_cli(capsys, demo.parent, "validate", "--values", "demo/values.yaml", "--chart", "demo/templates")
    assert code == 2 and "no Chart.yaml in it" in err, err


def test_check_reads_chart_yaml_from_a_packaged_chart(capsys, demo: Path, tmp_path: Path) -> None:
    """`check --chart demo-0.1.0.tgz` renders the package (as render and lint do) and runs chart-testing's
    Chart.yaml and maintainers checks on the Chart.yaml inside it (it failed: "demo-0.1.0.tgz/Chart.yaml:
    cannot read: Not a directory"); a file that is no package is an error naming it."""
    from cogniverse_chart.helm import find_helm

    find_helm().run(["package", str(demo), "-d", str(tmp_path)])
    code, result = run_json(capsys, tmp_path, "check", "--chart", "demo-0.1.0.tgz", "--helm", "3")
    maintainers = [f for f in result["findings"] if f["rule"] == "ct/maintainers"]
    assert code == 1 and "error" not in result, result
    assert [f["source"] for f in maintainers] == ["demo-0.1.0.tgz/demo/Chart.yaml"], maintainers
    (tmp_path / "fake.tgz").write_bytes(b"not gzip")
    code, _, err = run_cli(capsys, tmp_path, "check", "--chart", "fake.tgz", "--helm", "3")
    assert code == 2 and "Traceback" not in err and "fake.tgz" in err, err


@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_config_option_is_refused_not_the_nearest_config(capsys, tmp_path: Path, value: str) -> None:
    """D40: `--config "$CONFIG"` with the variable unset used the nearest config file without a word."""
    (tmp_path / ".cogniverse-chart.toml").write_text('[rules]\n"schema" = "off"\n')
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: 1}\n")
    for argv in (["--config", value, "validate", "bad.yaml"], ["validate", "bad.yaml", "--config", value]):
        code, _, err = run_cli(capsys, tmp_path, *argv)
        assert code == 2 and "--config '': name a config file" in err, err


def test_values_files_with_a_comma_or_quote_in_the_name_reach_helm_whole(capsys, tmp_path: Path) -> None:
    """D50: Helm reads --values as a comma-separated list, so `ci/eu,prod-values.yaml` became `ci/eu` and
    `prod-values.yaml` (`open ci/eu: no such file`); each name is now one quoted field, on Helm 3 and 4."""
    chart = helm_create(tmp_path)
    (chart / "ci").mkdir()
    (chart / "ci" / "eu,prod-values.yaml").write_text("replicaCount: 3\n")
    (chart / 'my"q,values.yaml').write_text("replicaCount: 4\n")
    for helm in ("3", "4"):
        code, result = run_json(capsys, chart, "check", "--helm", helm)
        assert "eu,prod" in result["profiles"] and "no such file" not in json.dumps(result), result
    code, out, err = run_cli(capsys, chart, "render", "-f", 'my"q,values.yaml')
    assert code == 0 and "replicas: 4" in out, err


def test_a_config_that_turns_rules_off_is_named_with_what_it_hid(capsys, demo: Path) -> None:
    """D59: a config file beside the chart (a pull request can add one) switched whole families off and the
    run said `check: ok` without a word of it; the report now names the file, the rules and the count."""
    (demo / ".cogniverse-chart.toml").write_text('[rules]\n"policy" = "off"\n"ct" = "warning"\n')
    code, result = run_json(capsys, demo, "check", "--helm", "3")
    note = result["config"]
    assert note["file"].endswith(".cogniverse-chart.toml") and note["rules_off"] == ["policy"] and note["hidden"] > 0
    assert not any(f["rule"].startswith("policy/") for f in result["findings"])
    for argv in (["check", "--helm", "3"], ["lint", "--helm", "3"]):
        code, out, _ = run_cli(capsys, demo, *argv)
        config_line, summary = out.strip().splitlines()[-2:]
        assert config_line.startswith("config: ") and "turns off policy (" in config_line and "hidden)" in config_line
        assert summary.startswith(f"{argv[0]}: ")
    (demo / ".cogniverse-chart.toml").write_text('[rules]\n"ct" = "warning"\n')
    assert "config" not in run_json(capsys, demo, "check", "--helm", "3")[1]


def test_docs_of_schema_text_with_markers_and_html_is_idempotent(capsys, demo: Path) -> None:
    """D54: a description holding `<!-- values-table:end -->` ended the table early, so every `docs` run added
    another copy of its tail and `docs --check` right after `docs` said stale.
    A README with two pairs of markers is refused instead of having only the first pair replaced."""
    from cogniverse_chart.docs import END, START

    schema = {"type": "object", "properties": {
        "replicaCount": {"type": "integer", "description": f"a | b\nc {END} <script>x</script>"},
        "note": {"type": "string", "description": "plain"}}}
    (demo / "values.schema.json").write_text(json.dumps(schema))
    (demo / "README.md").write_text(f"# demo\n\n{START}\n{END}\n\nafter\n")
    assert run_cli(capsys, demo, "docs")[0] == 0
    first = (demo / "README.md").read_text()
    assert run_cli(capsys, demo, "docs", "--check")[0] == 0
    assert run_cli(capsys, demo, "docs")[0] == 0 and (demo / "README.md").read_text() == first
    assert first.count(END) == 1 and "&lt;!-- values-table:end -->" in first and "a \\| b c" in first
    (demo / "README.md").write_text(f"{START}\n{END}\n{START}\n{END}\n")
    code, _, err = run_cli(capsys, demo, "docs")
    assert code == 2 and "appear more than once" in err, err


def test_check_says_which_helms_rendered_and_which_were_not_found(capsys, monkeypatch, demo: Path) -> None:
    """D53: `check --helm all` with only Helm 3 installed (a pip user) rendered with Helm 3 alone and never
    said so; the report now names the Helms used and the major it could not find."""
    from cogniverse_chart import helm

    code, out, _ = run_cli(capsys, demo, "check")
    assert out.splitlines()[0] == f"rendered with {helm.find_helm(3).label}, {helm.find_helm(4).label}", out
    monkeypatch.setattr(helm, "available_helms", lambda: [helm.find_helm(3)])
    code, out, _ = run_cli(capsys, demo, "check")
    assert out.splitlines()[0] == f"rendered with {helm.find_helm(3).label} (Helm 4 not found)", out
    code, result = run_json(capsys, demo, "check")
    assert result["helm"] == [helm.find_helm(3).label] and result["helm_missing"] == ["Helm 4"]


def test_docs_refuses_a_schema_without_properties(capsys, demo: Path) -> None:
    """D55: a schema `{"type": "object", "properties": {}}` gave an empty values table without a word."""
    from cogniverse_chart.docs import END, START

    (demo / "values.schema.json").write_text('{"type": "object", "properties": {}}')
    (demo / "README.md").write_text(f"{START}\n{END}\n")
    code, _, err = run_cli(capsys, demo, "docs")
    assert code == 2 and "the schema has no properties" in err and (demo / "README.md").read_text() == f"{START}\n{END}\n"


def test_two_config_files_in_one_folder_are_refused_naming_both(capsys, tmp_path: Path) -> None:
    """E27: a .cogniverse-chart.toml beside a pyproject.toml with [tool.cogniverse-chart]: the dotfile won
    and the pyproject table (even a broken `chart`) was never read or mentioned."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".cogniverse-chart.toml").write_text('[rules]\n"policy/" = "off"\n')
    (tmp_path / "pyproject.toml").write_text('[tool.cogniverse-chart]\nchart = "nonexist"\n')
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    code, _, err = run_cli(capsys, tmp_path, "validate", "cm.yaml")
    assert code == 2 and ".cogniverse-chart.toml and " in err and "pyproject.toml [tool.cogniverse-chart]" in err, err
    code, _, err = run_cli(capsys, tmp_path, "--config", ".cogniverse-chart.toml", "validate", "cm.yaml")
    assert code == 0, err  # naming one is the way out
    (tmp_path / "pyproject.toml").write_text('[tool.black]\nline-length = 100\n')  # another tool's table is fine
    assert run_cli(capsys, tmp_path, "validate", "cm.yaml")[0] == 0


def test_a_release_that_is_no_namespace_name_is_blamed_for_the_default_namespace(capsys, demo: Path) -> None:
    """E26: `release = "a.b"` said "--namespace 'a.b': ... (it defaults to the chart's name)": an option not given
    and a default that was not used. The namespace defaults to the release; the message says so."""
    (demo / ".cogniverse-chart.toml").write_text('release = "a.b"\n')
    code, _, err = run_cli(capsys, demo, "render")
    assert code == 2 and "the namespace defaults to the release name 'a.b', which is not a namespace name" in err, err
    (demo / ".cogniverse-chart.toml").write_text('release = "a.b"\nnamespace = "a-b"\n')
    assert run_cli(capsys, demo, "render")[0] == 0


def test_values_from_stdin_are_refused_saying_why(capsys, demo: Path) -> None:
    """E37: `check -f -` said "values file not found: -" (Helm takes `-f -`)."""
    code, _, err = run_cli(capsys, demo, "render", "-f", "-")
    assert code == 2 and "values from standard input are not taken here" in err, err
