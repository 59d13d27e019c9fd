"""One bad document in a file does not hide the documents after it (attack24d F1): kubeconform reports the
bad document and checks the rest of the file; validate checked nothing after it (on a 20,000-object stream
with a bad document in the middle, 10,000 objects and their errors were lost)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from toolkit_utils import run_cli

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  port: 8080\n"


@pytest.mark.parametrize("bad", ["just a string\n", "a: [\n", "- a list\n"])
def test_the_documents_after_a_bad_one_are_still_validated(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           bad: str) -> None:
    (tmp_path / "m.yaml").write_text(CM.format(name="a") + "---\n" + bad + "---\n" + CM.format(name="c"))
    code, out, err = run_cli(capsys, tmp_path, "-o", "json", "validate", "m.yaml")
    findings = json.loads(out)["findings"]
    assert code == 1, err
    assert {f["name"] for f in findings if f["rule"].startswith("schema/k8s")} == {"a", "c"}, findings
    assert [f["rule"] for f in findings].count("schema/invalid-yaml") == 1
    code, out, _ = run_cli(capsys, tmp_path, "-o", "github", "validate", "m.yaml")
    assert out.count("title=schema/invalid-yaml::") == 1 and "file=m.yaml" in out, out  # (its line: tool24d)


def test_a_file_of_bad_documents_only_is_still_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "b.yaml").write_text("just a string\n---\na: [\n")
    code, _, err = run_cli(capsys, tmp_path, "validate", "b.yaml")
    assert code == 2 and "b.yaml" in err


def test_a_bad_document_in_a_large_stream_loses_nothing_on_two_cores(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """1 MB+ streams are split in two processes (perf/parallel.py): the result equals one pass."""
    docs = [CM.format(name=f"cm{i}").replace("  port: 8080\n", "  k: v\n" if i % 997 else "  port: 8080\n")
            for i in range(16000)]
    (tmp_path / "big.yaml").write_text("---\n".join(docs[:8000]) + "---\nnot an object\n---\n" + "---\n".join(docs[8000:]))
    assert os.path.getsize(tmp_path / "big.yaml") > 1 << 20
    outs = []
    for jobs in ("1", "2"):
        monkeypatch.setenv("COGNIVERSE_CHART_JOBS", jobs)
        code, out, err = run_cli(capsys, tmp_path, "-o", "json", "validate", "big.yaml")
        assert code == 1, err
        outs.append(json.loads(out))
    assert outs[0] == outs[1]
    names = {f["name"] for f in outs[0]["findings"]}
    assert {"cm0", "cm6979", "cm8973", "cm15952"} <= names  # before and after the bad document


WF = ("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: {name}\nspec:\n  entrypoint: main\n"
      "  templates:\n  - name: mian\n    container: {{image: 'busybox:1.36'}}\n")


@pytest.mark.parametrize("bad", ["just a string\n", "a: [\n"])
def test_lint_goes_on_after_a_bad_document(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    """attack24d F14: `lint FILE` stopped at a bad document (rc 2, nothing linted); now the bad document is a
    finding at its line and the workflows around it are linted; a file with nothing readable is still bad input."""
    (tmp_path / "l1.yaml").write_text(WF.format(name="a") + "---\n" + bad + "---\n" + WF.format(name="c"))
    code, out, err = run_cli(capsys, tmp_path, "-o", "json", "lint", "--disable", "policy/", "l1.yaml")
    findings = json.loads(out)["findings"]
    assert code == 1, err
    assert {f["name"] for f in findings if f["rule"] == "argo/missing-entrypoint"} == {"a", "c"}, findings
    [invalid] = [f for f in findings if f["rule"] == "schema/invalid-yaml"]
    assert invalid["line"] >= 11, invalid
    (tmp_path / "only.yaml").write_text(bad)
    code, _, err = run_cli(capsys, tmp_path, "lint", "only.yaml")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
