"""Every CronWorkflow runs a WorkflowTemplate of its name, so Argo's `templateReferencing: Strict|Secure`
accepts its runs (docs/security.md); lint checks a CronWorkflow through the template it runs.

The live proof on the real controller is tests/smoke/test_template_referencing.py.
"""

from __future__ import annotations

import yaml

from chart_utils import by_kind, render_chart
from cogniverse_chart import CHART_DIR
from cogniverse_chart.argo.model import RUN_OVERRIDES
from cogniverse_chart.catalogue import catalogue
from toolkit_utils import lint_rules as _findings

CRONS = set(catalogue().cron_workflows)
HEAVY = CRONS - {"monthly-reports", "deadline-watchdog"}


def test_cron_workflows_only_reference_templates() -> None:
    """A CronWorkflow's workflowSpec sets nothing Argo refuses under Strict (only workflowTemplateRef and
    arguments), names the rendered WorkflowTemplate of its own name, and passes that template's
    parameters with the same values (so `argo submit --from cronwf/X -p k=v` knows every parameter)."""
    docs = render_chart()  # the default Helm's render (chart_utils caches it for the session)
    crons, templates = by_kind(docs, "CronWorkflow"), by_kind(docs, "WorkflowTemplate")
    assert set(crons) == CRONS
    for name, cron in crons.items():
        spec = cron["spec"]["workflowSpec"]
        assert set(spec) <= {"workflowTemplateRef", "arguments"} <= {"workflowTemplateRef", *RUN_OVERRIDES}, name
        assert spec["workflowTemplateRef"] == {"name": name}
        assert name in templates, f"cronwf/{name} runs a WorkflowTemplate the chart does not render"
        assert spec.get("arguments", {}) == templates[name]["spec"].get("arguments", {}), name
        for key in ("schedules", "timezone", "concurrencyPolicy", "suspend", "workflowMetadata"):
            assert key in cron["spec"], f"cronwf/{name} lost spec.{key}"


def test_scheduled_templates_keep_semaphore_exit_handler_and_cleanup() -> None:
    """What used to sit in the CronWorkflow's workflowSpec is in the template a run executes: the
    heavy-jobs semaphore and its hold bound, onExit, ttlStrategy, podGC and the workflow labels."""
    templates = by_kind(render_chart(), "WorkflowTemplate")
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8"))
    hold = values["workflows"]["heavyJobs"]["maxHoldSeconds"]
    for name in CRONS:
        spec = templates[name]["spec"]
        if name == "deadline-watchdog":  # no exit handler, no semaphore (test_deadline_watchdog.py)
            assert "onExit" not in spec and "synchronization" not in spec
            continue
        assert spec["onExit"] == "exit-handler" and spec["ttlStrategy"] and spec["podGC"]["strategy"], name
        assert spec["workflowMetadata"]["labels"]["app.kubernetes.io/part-of"] == "cogniverse", name
        if name in HEAVY:
            [sem] = spec["synchronization"]["semaphores"]
            assert sem["configMapKeyRef"]["key"] == "heavy-jobs", name
            assert 0 < spec["activeDeadlineSeconds"] <= hold, name


def test_heavy_job_hold_bound_reaches_the_template() -> None:
    """workflows.heavyJobs.maxHoldSeconds still caps every heavy scheduled run (now in its template)."""
    docs = render_chart({"workflows": {"heavyJobs": {"maxHoldSeconds": 123}}})
    templates = by_kind(docs, "WorkflowTemplate")
    assert {n: templates[n]["spec"]["activeDeadlineSeconds"] for n in HEAVY} == {n: 123 for n in HEAVY}


CRON_OVER = """
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: NAME}
spec:
  entrypoint: main
  arguments: {parameters: [{name: tenant-id, value: acme}]}
  SYNC
  templates:
    - name: main
      container: {image: "alpine:3.20", command: [echo], args: ["{{workflow.parameters.REF}}"]}
---
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: NAME}
spec:
  schedules: ['0 1 * * *']
  concurrencyPolicy: Forbid
  workflowSpec:
    workflowTemplateRef: {name: NAME}
    arguments: {parameters: [{name: tenant-id, value: beta}]}
"""
SEM = "synchronization: {semaphores: [{configMapKeyRef: {name: sems, key: heavy}}]}"


def test_lint_overlap_sees_the_referenced_templates_semaphore() -> None:
    """policy/cron-overlap: two heavy CronWorkflows starting in the same minute are fine when the
    templates they run share a semaphore, and reported when they do not."""
    two = lambda sync: "\n---\n".join(  # noqa: E731
        CRON_OVER.replace("NAME", n).replace("SYNC", sync).replace("REF", "tenant-id") for n in ("a", "b"))
    assert "policy/cron-overlap" not in _findings(two(SEM))
    assert "starts in the same minute as CronWorkflow 'a'" in _findings(two(""))["policy/cron-overlap"][0]


def test_lint_checks_a_cron_workflow_through_its_template() -> None:
    """A CronWorkflow's run is checked as the template with the run's arguments: a templateRef call whose
    target reads a workflow parameter the run does not have is reported (as it was for inline specs)."""
    lib = """
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: lib}
spec:
  templates:
    - name: inner
      container: {image: "alpine:3.20", command: [echo], args: ["{{workflow.parameters.region}}"]}
"""
    sched = CRON_OVER.replace("NAME", "job").replace("SYNC", "").replace("REF", "tenant-id").replace(
        "      container: {image: \"alpine:3.20\", command: [echo], args: [\"{{workflow.parameters.tenant-id}}\"]}",
        "      steps: [[{name: call, templateRef: {name: lib, template: inner}}]]")
    found = _findings(lib + "---" + sched)
    assert any("reads workflow parameter(s) region" in m for m in found["argo/unknown-workflow-parameter"])
    ok = _findings(lib + "---" + sched.replace("arguments: {parameters: [{name: tenant-id, value: acme}]}",
                                               "arguments: {parameters: [{name: tenant-id, value: acme}, "
                                               "{name: region, value: eu}]}"))
    assert "argo/unknown-workflow-parameter" not in ok
