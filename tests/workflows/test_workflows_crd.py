"""Every rendered Argo object validates strictly (unknown fields are errors) against Argo's own CRD
schemas for 3.7 and 4.0, and the Kubernetes objects against Kubernetes 1.30 and 1.35, through the
toolkit's Validator. Covers the default values, every profile and the generated workflows/ files."""

from __future__ import annotations

import copy

import pytest

from cogniverse_chart import REPO_ROOT
from cogniverse_chart.documents import Document, read_paths
from cogniverse_chart.validate import Validator
from chart_utils import render_chart


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(kube_versions=("1.30", "1.35"), argo_versions=("3.7", "4.0"))


def _workflow_docs(docs):
    return [d for d in docs if "templates/workflows/" in d.source]


@pytest.mark.parametrize("profile", ["", "k3s", "production", "smoke"], ids=lambda p: f"profile-{p or 'default'}")
def test_rendered_workflow_objects_validate_strictly(validator, profile):
    docs = _workflow_docs(render_chart(profile=profile))
    assert {d.kind for d in docs} >= {"WorkflowTemplate", "CronWorkflow", "Role", "ClusterRole", "ServiceAccount"}
    findings = validator.validate(docs)
    assert not findings, "\n".join(f.format() for f in findings)


def test_generated_guide_files_validate_strictly(validator):
    docs = list(read_paths([str(REPO_ROOT / "workflows")]))
    assert {d.kind for d in docs} >= {"Workflow", "WorkflowTemplate", "CronWorkflow"}
    findings = validator.validate(docs)
    assert not findings, "\n".join(f.format() for f in findings)


def _mutated(doc: Document, fn) -> Document:
    obj = copy.deepcopy(doc.obj)
    fn(obj)
    return Document(obj, doc.source, doc.index)


def test_the_check_is_strict_singular_schedule_and_mutex_fail_on_argo_4(validator):
    """Guards the guard: the forms Argo 4.0 removed are reported, so a pass above means something."""
    docs = render_chart()
    cron = next(d for d in docs if d.kind == "CronWorkflow")
    wft = next(d for d in docs if d.kind == "WorkflowTemplate")
    bad = [_mutated(cron, lambda o: o["spec"].update(schedule="0 2 * * *")),
           _mutated(wft, lambda o: o["spec"]["templates"][0].update(synchronization={"mutex": {"name": "x"}}))]
    messages = [f.format() for f in validator.validate(bad)]
    assert any("argo-4.0" in m and "schedule" in m for m in messages), messages
    assert any("argo-4.0" in m and "mutex" in m for m in messages), messages
