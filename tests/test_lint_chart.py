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
