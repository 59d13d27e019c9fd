"""The chart of this repository is clean under `validate` and `lint`, for every profile in values/."""

from __future__ import annotations

import pytest

from cogniverse_chart.chart import render_profiles
from cogniverse_chart.findings import Severity
from cogniverse_chart.lint import lint
from cogniverse_chart.render import profiles
from cogniverse_chart.validate import Validator

PROFILES = sorted(profiles())
#: ids "profile-<name>": a bare "smoke" id would be taken for the `smoke` marker by conftest.
IDS = [f"profile-{p}" for p in PROFILES]


@pytest.fixture(scope="module")
def rendered() -> dict:
    return render_profiles()


def test_profiles_exist() -> None:
    assert PROFILES, "values/ holds no profiles"


@pytest.mark.parametrize("profile", PROFILES, ids=IDS)
def test_chart_profile_is_schema_valid(rendered: dict, profile: str) -> None:
    findings = Validator().validate(rendered[profile])
    assert not findings, "\n".join(f.format() for f in findings)


@pytest.mark.parametrize("profile", PROFILES, ids=IDS)
def test_chart_profile_is_lint_clean(rendered: dict, profile: str) -> None:
    findings = [f for f in lint(rendered[profile]) if f.severity is not Severity.INFO]
    assert not findings, "\n".join(f.format() for f in findings)


@pytest.mark.parametrize("profile", PROFILES, ids=IDS)
def test_chart_profile_has_argo_workflows(rendered: dict, profile: str) -> None:
    """Guard against a vacuous pass: the lint above saw the chart's workflows."""
    kinds = {d.kind for d in rendered[profile]}
    assert {"WorkflowTemplate", "CronWorkflow"} <= kinds


def test_chart_lint_still_enforces_shell_injection(rendered: dict, tmp_path, capsys) -> None:
    """policy/shell-injection is a policy rule now (Argo documents parameters in script source), and the
    chart keeps it on: a chart WorkflowTemplate that pastes a parameter into `sh -c` fails `lint` with
    the default settings `lint` and `check` use on the chart."""
    import yaml

    from cogniverse_chart.cli import main

    docs = rendered[PROFILES[0]]
    wt = next(d for d in docs if d.kind == "WorkflowTemplate")
    obj = yaml.safe_load(yaml.safe_dump(wt.obj))
    param = ((obj["spec"].get("arguments") or {}).get("parameters") or [{"name": "injected"}])[0]["name"]
    obj["spec"].setdefault("arguments", {}).setdefault("parameters", [{"name": param, "value": "x"}])
    leaf = next(t for t in obj["spec"]["templates"] if "container" in t)
    leaf["container"]["command"] = ["sh", "-c", f"echo {{{{workflow.parameters.{param}}}}}"]
    leaf["container"].pop("args", None)
    path = tmp_path / "chart.yaml"
    path.write_text(yaml.safe_dump_all([d.obj for d in docs if d is not wt] + [obj]), encoding="utf-8")
    assert main(["lint", str(path)]) == 1
    out = capsys.readouterr().out
    assert "policy/shell-injection" in out and wt.name in out
    assert main(["lint", "--disable", "argo/shell-injection", str(path)]) in (0, 1)  # the old id still works
    assert "shell-injection" not in capsys.readouterr().out
