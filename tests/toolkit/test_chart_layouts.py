"""Common chart layouts and options `check` must handle (attack24c): scenario files that share a name,
the chart's own crds/ (validated, and the schemas of its custom resources), `--kube-version`, library
charts and an unrelated schema/ folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit_utils import CRD, helm_create, run_cli, run_json


def _crd_chart(tmp_path: Path, served: str, size: str) -> Path:
    chart = tmp_path / "crd2"
    (chart / "crds").mkdir(parents=True)
    (chart / "templates").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: crd2\nversion: 0.1.0\n"
                                      "maintainers: [{name: me, email: me@example.com}]\n")
    (chart / "crds" / "w.yaml").write_text(CRD.replace("SERVED", served))
    (chart / "templates" / "w.yaml").write_text(
        f"apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {{size: {size}}}\n")
    return chart


def test_check_validates_the_charts_crds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """E6: an invalid CRD in crds/ (which helm template leaves out) was `check: ok`."""
    chart = _crd_chart(tmp_path, '"yes"', "1")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(chart), "--helm", "3")
    bad = [f for f in result["findings"] if f["path"] == "$.spec.versions[0].served"]
    assert code == 1 and bad and bad[0]["file"].endswith("crds/w.yaml") and bad[0]["line"] >= 1, result


def test_check_uses_the_charts_crds_as_schemas_of_its_custom_resources(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """E7: a chart shipping a CRD and an object of its kind checks out of the box, and the CRD's schema applies."""
    chart = _crd_chart(tmp_path, "true", "1")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(chart), "--helm", "3")
    assert code == 0 and not [f for f in result["findings"] if f["severity"] == "error"], result
    (chart / "templates" / "w.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec: {size: big}\n")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(chart), "--helm", "3")
    assert code == 1 and [f for f in result["findings"] if f["path"] == "$.spec.size"], result


def test_scenario_files_with_one_name_are_refused_naming_both(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """E5: the documented `scenarios` example with ci/prod-values.yaml and values/prod.yaml left one unchecked."""
    chart = helm_create(tmp_path)
    (chart / "ci").mkdir()
    (chart / "ci" / "prod-values.yaml").write_text("replicaCount: 2\n")
    (chart / "values").mkdir()
    (chart / "values" / "prod.yaml").write_text("bogus: {{ fail }}\n")
    (chart / ".cogniverse-chart.toml").write_text('scenarios = ["ci/*-values.yaml", "values/*.yaml"]\n')
    code, _, err = run_cli(capsys, chart, "check", "--helm", "3")
    assert code == 2 and "ci/prod-values.yaml" in err and "values/prod.yaml" in err and "same name 'prod'" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    (chart / ".cogniverse-chart.toml").unlink()
    (chart / "ci" / "prod-values.yml").write_text("replicaCount: 3\n")
    (chart / ".cogniverse-chart.toml").write_text('scenarios = ["ci/*"]\n')
    code, _, err = run_cli(capsys, chart, "lint")
    assert code == 2 and "prod-values.yml" in err and "prod-values.yaml" in err


@pytest.mark.parametrize("versions", [["1.35"], ["1.30", "1.37"]])
def test_check_kube_version_reaches_helm_as_a_version(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      versions: list[str]) -> None:
    """E8: helm template got the Python list "['1.35']" for every value; it renders for the newest given."""
    chart = helm_create(tmp_path)
    want = versions[-1].split(".")[1]
    (chart / "templates" / "kv.yaml").write_text(
        f'{{{{ if ne .Capabilities.KubeVersion.Minor "{want}" }}}}{{{{ fail (printf "rendered for minor %s" '
        f'.Capabilities.KubeVersion.Minor) }}}}{{{{ end }}}}\n')
    args = [a for v in versions for a in ("--kube-version", v)]
    code, out, err = run_cli(capsys, chart, "check", "--helm", "3", *args)
    assert code in (0, 1) and "check: " in out and "rendered for minor" not in err + out, err


def test_library_chart_is_checked_without_rendering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """E9: `type: library` made check and lint exit 2 (helm template refuses library charts; helm lint passes them)."""
    chart = helm_create(tmp_path)
    text = (chart / "Chart.yaml").read_text().replace("type: application", "type: library")
    (chart / "Chart.yaml").write_text(text + "maintainers: [{name: me, email: me@example.com}]\n")
    for p in (chart / "templates").rglob("*"):
        if p.is_file() and p.name != "_helpers.tpl":
            p.unlink()
    code, result = run_json(capsys, chart, "check")
    assert code == 0 and result["checked"] == 0, result
    code, result = run_json(capsys, chart, "lint")
    assert code == 0, result
    (chart / "Chart.yaml").write_text(text)  # its Chart.yaml checks still run: no maintainers
    code, result = run_json(capsys, chart, "check", "--helm", "3")
    assert code == 1 and {f["rule"] for f in result["findings"]} >= {"ct/maintainers"}, result


def test_an_unrelated_schema_folder_turns_no_values_schema_check_on(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """E15: schema/app-config.json (the app's own config schema) gave an error whose advice failed."""
    chart = helm_create(tmp_path)
    (chart / "schema").mkdir()
    (chart / "schema" / "app-config.json").write_text('{"type": "object"}\n')
    code, result = run_json(capsys, chart, "check", "--helm", "3")
    assert "generated/values-schema" not in {f["rule"] for f in result["findings"]}, result
    code, _, err = run_cli(capsys, chart, "schema")
    assert code == 2 and "no schema/_root.yaml to build values.schema.json from" in err


@pytest.mark.parametrize("command", ["ct", "lint", "check"])
def test_chart_yaml_above_helms_limit_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         command: str) -> None:
    """E42: a 15 MB Chart.yaml ran ct/lint past 120 s and near 1 GB; Helm refuses it at 5 MiB."""
    import time

    chart = helm_create(tmp_path)
    with (chart / "Chart.yaml").open("a") as f:
        f.write("keywords:\n" + "- abcdefgh\n" * 600_000)
    started = time.monotonic()
    code, _, err = run_cli(capsys, tmp_path, command, "--chart", str(chart))
    assert code == 2 and "Chart.yaml: larger than 5 MiB" in err and len(err.strip().splitlines()) == 1, err
    assert time.monotonic() - started < 10


def test_a_subcharts_finding_points_at_its_folder_whatever_the_folder_is_called(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """E17: charts/foo-dir/ holding chart `child`: its findings named demo/charts/child/templates/bad.yaml (Helm's
    `# Source:`, no such file), line 0; they point at the file in charts/foo-dir/ and its line."""
    chart = helm_create(tmp_path)
    sub = chart / "charts" / "foo-dir"
    (sub / "templates").mkdir(parents=True)
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: child\nversion: 0.1.0\n")
    (sub / "templates" / "bad.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n"
                                                "data:\n  port: 8080\n")
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(chart), "--helm", "3")
    bad = [f for f in result["findings"] if f["name"] == "bad"]
    assert code == 1 and bad and {(f["file"], f["line"]) for f in bad} == {("demo/charts/foo-dir/templates/bad.yaml", 6)}


def test_a_chart_name_helm_accepts_is_a_finding_not_the_end_of_the_run(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """E20: `name: My_Chart` (helm lint passes it) ended check with exit 2 and no lint or validation at all."""
    chart = helm_create(tmp_path)
    (chart / "Chart.yaml").write_text((chart / "Chart.yaml").read_text().replace("name: demo", "name: My_Chart"))
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(chart), "--helm", "3")
    named = [f for f in result["findings"] if f["rule"] == "ct/chart-yaml" and f["path"] == "$.name"]
    assert code == 1 and result["checked"] >= 4 and named and named[0]["severity"] == "warning", result
    assert "my-chart-My_Chart" in {f["name"] for f in result["findings"]}  # rendered as release my-chart
    (chart / "Chart.yaml").write_text((chart / "Chart.yaml").read_text().replace("name: My_Chart", "name: ''"))
    code, _, err = run_cli(capsys, tmp_path, "check", "--chart", str(chart), "--helm", "3")
    assert code == 2 and "`name` must be a chart name" in err


def test_disable_takes_every_rule_and_family_the_toolkit_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """E23: `check --disable ct/maintainers` (or schema/k8s-1.30, helm/lint) and `lint --disable policy` said
    "unknown rule id" although `lint --list-rules` lists them; each now turns its findings off."""
    chart = helm_create(tmp_path)  # no maintainers, and Helm's starter breaks the Cogniverse policy
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(chart), "--helm", "3")
    assert code == 1 and {"ct/maintainers", "policy/resources", "helm/lint"} <= {f["rule"] for f in result["findings"]}
    code, result = run_json(capsys, tmp_path, "check", "--chart", str(chart), "--helm", "3", "--disable", "policy",
                            "--disable", "ct/maintainers", "--disable", "helm/lint", "--disable", "schema/k8s-1.30")
    assert code == 0 and result["findings"] == [], result
    code, result = run_json(capsys, tmp_path, "lint", "--chart", str(chart), "--disable", "policy")
    assert code == 0, result
    code, _, err = run_cli(capsys, tmp_path, "check", "--chart", str(chart), "--disable", "ct/maintainer")
    assert code == 2 and "--disable ct/maintainer: unknown rule id" in err
