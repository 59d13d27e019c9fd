"""Argo's own validation (the checks `argo lint` and the workflow-controller run: template and
parameter references, `when` expressions, outputs, templateRefs) on every rendered Argo object, for
both pinned Argo versions (ARGO_VERSION and ARGO_V4_VERSION in versions.env).

The checker is tools/argo-validate/<major>, a small Go program over Argo's `workflow/validate`
package, built once per version and source hash (cogniverse_dev.oracle; cached under
~/.cache/cogniverse/argo-validate, built ahead by scripts/test.sh). Without a Go toolchain these tests
fail with the build's message; they never skip. CRD-schema validation is test_workflows_crd.py.
"""

from __future__ import annotations

import pytest

from cogniverse_dev.oracle import validate_cases
from chart_utils import CRON_WORKFLOWS, OWN_CRON_WORKFLOWS, WORKFLOW_TEMPLATES, render_chart

VERSIONS = ("3.7", "4.0")


@pytest.fixture(params=VERSIONS, ids=lambda v: f"argo-{v}")
def argolint(request):
    """Validate one stream of objects with Argo `version`: (1 if any error else 0, result lines)."""
    def run(objs: list[dict]) -> tuple[int, list[str]]:
        [results] = validate_cases(request.param, {"stream": objs}).values()
        lines = [f"ERROR {k}/{n}: {e}" if e else f"OK {k}/{n}" for k, n, e in results]
        return (1 if any(e for _, _, e in results) else 0), lines
    return run


def _lint(argolint, objs: list[dict]) -> tuple[int, list[str]]:
    return argolint(objs)


def _argo_objs(docs):
    return [d.obj for d in docs if d.kind in ("WorkflowTemplate", "CronWorkflow")]


@pytest.mark.parametrize("profile", ["", "k3s", "production", "smoke"], ids=lambda p: f"profile-{p or 'default'}")
def test_argo_accepts_every_rendered_template_and_cron_workflow(argolint, profile):
    objs = _argo_objs(render_chart(profile=profile))
    rc, lines = _lint(argolint, objs)
    expected = len(WORKFLOW_TEMPLATES) + 2 * len(CRON_WORKFLOWS + OWN_CRON_WORKFLOWS)  # each CronWorkflow + its template
    assert rc == 0 and len(lines) == expected and all(line.startswith("OK ") for line in lines), "\n".join(lines)


def test_argo_accepts_the_guides_submissions(argolint):
    """The guide's argo submit commands (its parameters) and argo submit --from cronwf/NAME."""
    from cogniverse_chart import generate

    docs = render_chart()
    templates = _argo_objs(docs)
    submissions = [
        ("video-ingestion", {"video-dir": "/data/acme_corp/videos", "tenant-id": "acme_corp",
                             "profiles": "video_colpali_smol500_mv_frame,video_videoprism_base_mv_chunk_30s",
                             "batch-size": "20", "max-workers": "8"}),
        ("batch-optimization", {"tenant-id": "acme_corp", "optimizer-category": "routing",
                                "optimizer-type": "modality", "max-iterations": "100", "use-synthetic-data": "true"}),
        ("tenant-provisioning", {"tenant-id": "newcorp_inc", "tenant-name": "NewCorp Inc", "storage-quota": "200Gi",
                                 "cpu-quota": "20", "memory-quota": "40Gi"}),
    ]
    wfs = [generate.workflow_from(docs, f"workflowtemplate/{n}", p) for n, p in submissions]
    wfs += [generate.workflow_from(docs, f"cronwf/{n}", {}) for n in CRON_WORKFLOWS]
    rc, lines = _lint(argolint, templates + wfs)
    assert rc == 0 and all(line.startswith("OK ") for line in lines), "\n".join(lines)
    assert sum(line.startswith("OK Workflow/") for line in lines) == 9


def test_argo_rejects_a_submission_without_the_required_tenant(argolint):
    from cogniverse_chart import generate

    docs = render_chart()
    wf = generate.workflow_from(docs, "workflowtemplate/batch-optimization", {})
    rc, lines = _lint(argolint, _argo_objs(docs) + [wf])
    assert rc == 1 and any("tenant-id" in line for line in lines if line.startswith("ERROR Workflow/")), lines


def test_the_checker_catches_a_when_naming_a_missing_step(argolint):
    """Guards the guard (an upstream fault): a reference to a step that does not exist is reported."""
    objs = _argo_objs(render_chart())
    for o in objs:
        if o["metadata"]["name"] == "batch-optimization":
            for t in o["spec"]["templates"]:
                for group in t.get("steps") or []:
                    for s in group:
                        if "when" in s:
                            s["when"] = s["when"].replace("steps.run-optimization", "steps.run-optimisation")
    rc, lines = _lint(argolint, objs)
    assert rc == 1 and any(line.startswith("ERROR WorkflowTemplate/batch-optimization") and "run-optimisation" in line
                           for line in lines), lines


def test_argo_rejects_an_optimizer_type_outside_the_enum(argolint):
    from cogniverse_chart import generate

    docs = render_chart()
    wf = generate.workflow_from(docs, "workflowtemplate/batch-optimization", {"tenant-id": "acme_corp"})
    for p in wf["spec"]["arguments"]["parameters"]:
        if p["name"] == "optimizer-type":
            p["value"] = "Adam"
    rc, lines = _lint(argolint, _argo_objs(docs) + [wf])
    assert rc == 1 and any("optimizer-type" in line and "enum" in line for line in lines), lines
