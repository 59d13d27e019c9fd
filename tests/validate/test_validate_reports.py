"""What validate reports (attack24c): a Secret's values never reach a CI log or report (E12: every output
format names the key and the problem, never the value), and one unparsable file does not hide the others (E11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit_utils import run_cli

SECRET = """apiVersion: v1
kind: Secret
metadata:
  name: s
data:
  password: "hunter2-SUPERSECRET"
stringData:
  token: 123456789012
  nested: {a: "TOPSECRETVALUE"}
"""


@pytest.mark.parametrize("fmt", ["human", "json", "sarif", "github", "junit"])
def test_secret_values_are_hidden_in_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    (tmp_path / "sec.yaml").write_text(SECRET)
    code, out, err = run_cli(capsys, tmp_path, "-o", fmt, "validate", "sec.yaml")
    assert code == 1, err
    for secret in ("hunter2", "SUPERSECRET", "123456789012", "TOPSECRETVALUE"):
        assert secret not in out + err
    assert "password" in out and "token" in out and "nested" in out  # the keys are still named
    assert "<hidden Secret value, 19 characters> is not base64" in out or fmt != "human"


def test_other_kinds_keep_their_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cm.yaml").write_text(SECRET.replace("kind: Secret", "kind: ConfigMap").replace("data:", "binaryData:")
                                      .replace("stringData:", "data:"))
    code, out, _ = run_cli(capsys, tmp_path, "validate", "cm.yaml")
    assert code == 1 and "123456789012" in out


def test_an_unparsable_file_is_a_finding_and_the_others_are_still_validated(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """attack24c E11: one unparsable file hid every other file's findings (SARIF with 0 results)."""
    import json

    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  port: 8080\n"
    (tmp_path / "a.yaml").write_text(cm)
    (tmp_path / "b.yaml").write_text("a: [\n")
    (tmp_path / "c.yaml").write_text(cm.replace("name: x", "name: y"))
    code, out, err = run_cli(capsys, tmp_path, "-o", "sarif", "validate", ".")
    results = json.loads(out)["runs"][0]["results"]
    files = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert code == 1 and files == {"a.yaml", "b.yaml", "c.yaml"}, err
    assert [r for r in results if r["ruleId"] == "schema/invalid-yaml"]
    code, _, err = run_cli(capsys, tmp_path, "validate", "b.yaml")  # nothing could be read: bad input
    assert code == 2 and "b.yaml:2:1: invalid YAML" in err


@pytest.mark.parametrize("fmt", ["sarif", "junit", "github"])
def test_unparsable_file_is_placed_at_the_parsers_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                   fmt: str) -> None:
    """An unreadable file beside readable ones is a finding at the line and column where the parser stopped
    (here line 7, column 1), in SARIF, JUnit and GitHub annotations alike, never at line 1."""
    import json
    import xml.etree.ElementTree as ET

    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: [\n")
    (tmp_path / "ok.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n")
    code, out, err = run_cli(capsys, tmp_path, "-o", fmt, "validate", "bad.yaml", "ok.yaml")
    assert code == 1, err
    if fmt == "sarif":
        [result] = json.loads(out)["runs"][0]["results"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert (result["ruleId"], region["startLine"], region["startColumn"]) == ("schema/invalid-yaml", 7, 1)
    elif fmt == "junit":
        case = next(c for c in ET.fromstring(out).iter("testcase") if c.get("file") == "bad.yaml")
        assert case.get("line") == "7"
    else:
        assert "::error file=bad.yaml,line=7,col=1,title=schema/invalid-yaml::line 7, column 1: invalid YAML" in out


@pytest.mark.parametrize("fmt", ["sarif", "junit", "github"])
def test_staleness_checks_are_reports_in_ci_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """attack24c E45: `-o sarif docs --check` (and generate/schema/annotations) printed nothing or plain text."""
    import json
    import xml.etree.ElementTree as ET

    from toolkit_utils import helm_create

    chart = helm_create(tmp_path, "dc")
    (chart / "values.schema.json").write_text(json.dumps({"type": "object", "properties": {
        "replicaCount": {"type": "integer", "description": "replicas"}}}))
    (chart / "README.md").write_text("# dc\n<!-- values-table:start -->\n<!-- values-table:end -->\n")
    code, out, err = run_cli(capsys, tmp_path, "-o", fmt, "docs", "--check", "--chart", str(chart))
    assert code == 1, err
    if fmt == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        assert {r["ruleId"] for r in results} == {"generated/docs"}
        assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} >= {"dc/README.md"}
    elif fmt == "junit":
        assert int(ET.fromstring(out).get("failures")) >= 1 and "dc/README.md" in out
    else:
        assert "::error file=dc/README.md" in out and "title=generated/docs" in out
    code, out, err = run_cli(capsys, tmp_path, "docs", "--chart", str(chart))
    assert code == 0, err
    code, out, err = run_cli(capsys, tmp_path, "-o", fmt, "docs", "--check", "--chart", str(chart))
    assert code == 0 and (fmt == "github" or out.strip()), err  # a clean run is still a (clean) report
    if fmt == "sarif":
        assert json.loads(out)["runs"][0]["results"] == []


def test_a_short_secret_value_does_not_blank_the_rest_of_the_message(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n"
                                     "  v: \"1.30\"\n  n: 7\n  bad: {a: 1}\n")
    code, out, _ = run_cli(capsys, tmp_path, "validate", "--kube-version", "1.30", "s.yaml")
    assert code == 1 and "(Kubernetes 1.30 Secret schema)" in out and '"a"' not in out


def test_check_calls_a_symlinked_readme_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`docs` refuses to write through a link, so `check` must not pass a linked README whose table happens to
    be current: it is a generated/docs finding that says why (a current regular README passes)."""
    import json

    from cogniverse_chart.chart import Generated, generated_files
    from toolkit_utils import helm_create

    chart = helm_create(tmp_path, "dl")
    (chart / "values.schema.json").write_text(json.dumps({"type": "object", "properties": {
        "replicaCount": {"type": "integer", "description": "replicas"}}}))
    (chart / "README.md").write_text("# dl\n<!-- values-table:start -->\n<!-- values-table:end -->\n")
    code, _, err = run_cli(capsys, tmp_path, "docs", "--chart", str(chart))
    assert code == 0, err
    assert [f for f in generated_files(chart, Generated(values_schema=False)) if f.rule == "generated/docs"] == []
    outside = tmp_path / "outside-readme.md"
    (chart / "README.md").rename(outside)
    (chart / "README.md").symlink_to(outside)
    [finding] = [f for f in generated_files(chart, Generated(values_schema=False)) if f.rule == "generated/docs"]
    assert finding.source == str(chart / "README.md") and "is a symbolic link" in finding.message
    code, _, err = run_cli(capsys, tmp_path, "docs", "--check", "--chart", str(chart))
    assert code == 1  # docs --check agrees


def test_docs_json_result_says_command_and_ok_and_a_table_without_schema_says_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """E46: `-o json docs --check` had no `command`/`ok`; E16: a README table without values.schema.json gave
    "values.schema.json: not found" in check, read as a missing input."""
    import json

    from cogniverse_chart.chart import Generated, generated_files
    from toolkit_utils import helm_create

    chart = helm_create(tmp_path, "dj")
    (chart / "values.schema.json").write_text(json.dumps({"type": "object", "properties": {
        "replicaCount": {"type": "integer", "description": "replicas"}}}))
    (chart / "README.md").write_text("# dj\n<!-- values-table:start -->\n<!-- values-table:end -->\n")
    code, out, _ = run_cli(capsys, tmp_path, "-o", "json", "docs", "--check", "--chart", str(chart))
    result = json.loads(out)
    assert code == 1 and (result["command"], result["ok"]) == ("docs", False) and result["stale"]
    assert run_cli(capsys, tmp_path, "docs", "--chart", str(chart))[0] == 0
    code, out, _ = run_cli(capsys, tmp_path, "-o", "json", "docs", "--check", "--chart", str(chart))
    assert code == 0 and json.loads(out)["ok"] is True
    (chart / "values.schema.json").unlink()
    [finding] = generated_files(chart, Generated(values_schema=False))
    assert "has no values.schema.json" in finding.message and "docs = false" in finding.message


def test_package_destination_that_is_no_folder_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """E35: `package -d /dev/null` said "/dev/null: File exists"."""
    from toolkit_utils import helm_create

    chart = helm_create(tmp_path, "pk")
    code, _, err = run_cli(capsys, tmp_path, "package", "--chart", str(chart), "-d", "/dev/null")
    assert code == 2 and "--destination /dev/null: not a directory" in err, err


@pytest.mark.parametrize("fmt", ["human", "json", "sarif", "github"])
@pytest.mark.parametrize("setting, want", [("off", 0), ("warning", 0), ("error", 1)])
def test_staleness_checks_follow_the_configs_severity(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str,
                                                      setting: str, want: int) -> None:
    """attack24d F12: `[rules] "generated/docs" = "off"` was honoured by `check` and ignored by `docs --check`
    (rc 1 in every format); the config is named where it changes the verdict."""
    import json

    from toolkit_utils import helm_create

    chart = helm_create(tmp_path, "dc")
    (chart / "values.schema.json").write_text(json.dumps({"type": "object", "properties": {
        "replicaCount": {"type": "integer", "description": "replicas"}}}))
    (chart / "README.md").write_text("# dc\n<!-- values-table:start -->\n<!-- values-table:end -->\n")
    (chart / ".cogniverse-chart.toml").write_text(f'[rules]\n"generated/docs" = "{setting}"\n')
    code, out, err = run_cli(capsys, chart, "-o", fmt, "docs", "--check")
    assert code == want and "Traceback" not in err, out + err
    if fmt == "human" and setting == "off":
        assert "turns off generated/docs" in out, out
    if fmt == "json":
        assert json.loads(out)["ok"] is (want == 0), out
