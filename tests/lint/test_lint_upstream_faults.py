"""Each fault SPEC.md lists for the upstream implementation is caught by a rule.

tests/fixtures/upstream/faults.yaml re-creates them in one stream; this maps each fault to the rule
id that must report it, and to a fragment of the object/path it must point at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cogniverse_chart.documents import read_paths
from cogniverse_chart.findings import Finding
from cogniverse_chart.lint import lint
from cogniverse_chart.validate import Validator

FAULTS = Path(__file__).parents[1] / "fixtures" / "upstream" / "faults.yaml"

#: (fault as SPEC.md words it, rule id, object name, text the message must contain)
CASES = [
    ("workflow parameters pasted into bash -c", "policy/shell-injection", "batch-optimization", "into bash program text"),
    ("workflow parameters pasted into python -c", "policy/shell-injection", "batch-optimization", "into python program text"),
    ("{{steps.X}} used inside container templates", "argo/ref-scope", "batch-optimization", "used in a container template ('deploy')"),
    ("a when naming a step that does not exist", "argo/when-unknown-step", "batch-optimization", "step 'evaluate-results', which does not exist"),
    ("outputs read that no step declares", "argo/unknown-output", "batch-optimization", "declares no output parameter 'improvement'"),
    ("{{workflow.status}} outside an exit handler", "argo/status-outside-exit-handler", "batch-optimization", "not an exit handler"),
    ("no retryStrategy", "policy/retry-strategy", "batch-optimization", "no retryStrategy anywhere"),
    ("no activeDeadlineSeconds", "policy/active-deadline", "batch-optimization", "no activeDeadlineSeconds"),
    ("no TTL", "policy/ttl-strategy", "tenant-provisioning", "no ttlStrategy"),
    ("no podGC", "policy/pod-gc", "tenant-provisioning", "no podGC"),
    ("create steps not idempotent", "argo/resource-not-idempotent", "tenant-provisioning", "use action apply"),
    ("no serviceAccountName", "policy/service-account", "batch-optimization", "no serviceAccountName"),
    ("no RBAC for WorkflowTaskResults", "policy/workflow-rbac", "tenant-provisioning", "workflowtaskresults"),
    ("service names hard-coded instead of derived from the release", "policy/service-reference", "batch-optimization", "'cogniverse-vespa'"),
    (":latest images", "policy/image-tag", "batch-optimization", "uses the :latest tag"),
    ("two heavy jobs at the same minute (Sunday 03:00)", "policy/cron-overlap", "weekly-optimization", "same minute as CronWorkflow 'weekly-dspy-optimization'"),
    ("two heavy jobs at the same minute (daily 04:00)", "policy/cron-overlap", "daily-optimization-check", "same minute as CronWorkflow 'daily-cleanup'"),
]


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    return lint(list(read_paths([str(FAULTS)])))


@pytest.mark.parametrize("fault,rule_id,name,text", CASES, ids=[c[0] for c in CASES])
def test_upstream_fault_is_caught(findings: list[Finding], fault: str, rule_id: str, name: str, text: str) -> None:
    hits = [f for f in findings if f.rule == rule_id and f.name == name]
    assert hits, f"{fault}: no {rule_id} finding for {name}"
    assert any(text in f.message for f in hits), [f.message for f in hits]


def test_upstream_faults_fail_lint_but_are_schema_valid(findings: list[Finding]) -> None:
    """The faults are semantic: strict schemas accept every object, only lint catches them."""
    assert any(f.severity.value == "error" for f in findings)
    assert Validator().validate(list(read_paths([str(FAULTS)]))) == []
