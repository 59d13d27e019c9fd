"""Helpers for the tests of the toolkit as a tool for any chart (not a test file): a `helm create` chart
in a temporary folder, and the CLI run in process from a chosen directory."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cogniverse_chart import config
from cogniverse_chart.cli import main
from cogniverse_chart.documents import parse_stream
from cogniverse_chart.helm import find_helm
from cogniverse_chart.lint import lint

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FIXTURES = ROOT / "tests" / "fixtures"  # input files of the fast tests (hostile/, lint/, upstream/, guide/)
CLI = [sys.executable, "-m", "cogniverse_chart.cli"]  # the CLI in a process of its own


#: A CustomResourceDefinition of example.com/v1 Widget (spec.size: integer); SERVED is its `served` value
CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
  - name: v1
    served: SERVED
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
"""


def dependency_wheels() -> Path:
    """Wheels of the toolkit's dependencies and of its build requirements, downloaded from the package index
    once per list (cached under ~/.cache/cogniverse/wheels): installs from them need no index
    (`pip install --no-index --find-links`, or PIP_NO_INDEX/PIP_FIND_LINKS for pip run by other tools)."""
    wanted = PYPROJECT["project"]["dependencies"] + PYPROJECT["build-system"]["requires"] + ["wheel"]
    key = hashlib.sha256(json.dumps([wanted, sys.version_info[:2]]).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cogniverse" / "wheels" / key
    if not (cache / ".complete").exists():
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                               "-d", str(cache), *wanted], capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-2000:]
        (cache / ".complete").write_text("ok\n")
    return cache


def helm_create(where: Path, name: str = "demo") -> Path:
    """`helm create NAME` in `where` (the chart Helm's starter writes: a Deployment, Service, ...)."""
    where.mkdir(parents=True, exist_ok=True)
    proc = find_helm().run(["create", str(where / name)])
    assert proc.returncode == 0, proc.stderr
    return where / name


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A `helm create` chart with two chart-testing scenarios, ci/ha-values.yaml and ci/small-values.yaml
    (a fixture: import it into the test module)."""
    chart = helm_create(tmp_path)
    (chart / "ci").mkdir()
    (chart / "ci" / "ha-values.yaml").write_text("replicaCount: 3\n")
    (chart / "ci" / "small-values.yaml").write_text("replicaCount: 1\n")
    return chart


def run_cli(capsys: pytest.CaptureFixture[str], cwd: Path, *args: str) -> tuple[int, str, str]:
    """The CLI in process, run from `cwd` (the config file is looked up from there): (code, out, err)."""
    before = Path.cwd()
    os.chdir(cwd)
    config.load.cache_clear()
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        os.chdir(before)
        config.load.cache_clear()
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI in process; assert exit 2 with exactly one line on stderr, no traceback; return it."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def run_json(capsys: pytest.CaptureFixture[str], cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli(capsys, cwd, "-o", "json", *args)
    assert "Traceback" not in err, err
    return code, json.loads(out)


def rules_of(result: dict[str, Any]) -> set[str]:
    """The rules of a JSON report's findings."""
    return {f["rule"] for f in result["findings"]}


def lint_rules(text: str) -> dict[str, list[str]]:
    """`lint` over a YAML stream (read as case.yaml): the messages of its findings, by rule."""
    out: dict[str, list[str]] = {}
    for f in lint(parse_stream(text, "case.yaml")):
        out.setdefault(f.rule, []).append(f.message)
    return out
