"""Values drive the rendered workflows, and bad values fail `helm template` naming the key."""

from __future__ import annotations

import re

import pytest

from cogniverse_chart.errors import HelmError
from chart_utils import (CRON_WORKFLOWS, OWN_CRON_WORKFLOWS, WORKFLOW_TEMPLATES, all_argo, entry, by_kind, parameters, render_chart, scheduled, steps, templates,
                                    workflow_spec)


def _cron(values=None, helm=None, **kw):
    return by_kind(render_chart(values, helm=helm, **kw), "CronWorkflow")


def _runs(values=None, helm=None, **kw):
    """{CronWorkflow name: the WorkflowTemplate it runs}."""
    return scheduled(render_chart(values, helm=helm, **kw))


def _wft(values=None, helm=None, **kw):
    return by_kind(render_chart(values, helm=helm, **kw), "WorkflowTemplate")


def test_cron_schedule_fields_follow_values(helm):
    cron = _cron({"workflows": {"cronWorkflows": {"dailyBackup": {
        "schedules": ["15 1 * * *", "15 13 * * *"], "timezone": "Europe/Berlin", "suspend": True,
        "concurrencyPolicy": "Replace", "startingDeadlineSeconds": 42,
        "successfulJobsHistoryLimit": 9, "failedJobsHistoryLimit": 8}}}}, helm)
    spec = cron["daily-backup"]["spec"]
    assert spec["schedules"] == ["15 1 * * *", "15 13 * * *"]
    assert spec["timezone"] == "Europe/Berlin" and spec["suspend"] is True
    assert spec["concurrencyPolicy"] == "Replace" and spec["startingDeadlineSeconds"] == 42
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (9, 8)
    # the others keep their defaults
    assert cron["daily-cleanup"]["spec"]["schedules"] == ["0 4 * * *"]


def test_thresholds_follow_values(helm):
    docs = render_chart({"workflows": {
        "templates": {"batchOptimization": {"parameters": {"improvement-threshold": 7.5}}},
        "cronWorkflows": {"weeklyOptimization": {"parameters": {"annotation-threshold": 80, "improvement-threshold": 10}},
                          "dailyOptimizationCheck": {"parameters": {"annotation-threshold": 5}}}}}, helm=helm)
    wft, cron = by_kind(docs, "WorkflowTemplate"), by_kind(docs, "CronWorkflow")
    assert parameters(wft["batch-optimization"])["improvement-threshold"] == "7.5"
    assert parameters(cron["weekly-optimization"])["annotation-threshold"] == "80"
    assert parameters(cron["weekly-optimization"])["improvement-threshold"] == "10"
    assert parameters(cron["daily-optimization-check"])["annotation-threshold"] == "5"


def test_tenants_of_the_weekly_dspy_run_follow_values(helm):
    runs = _runs({"workflows": {"cronWorkflows": {"weeklyDspyOptimization": {
        "tenants": ["acme_corp", "newcorp_inc"], "tenantParallelism": 2}}}}, helm)
    main = entry(runs["weekly-dspy-optimization"])
    assert steps(main)["optimize"]["withItems"] == ["acme_corp", "newcorp_inc"]
    assert main["parallelism"] == 2


def test_retention_and_keep_latest_follow_values(helm):
    cron = _cron({"workflows": {"cronWorkflows": {"dailyBackup": {"parameters": {
        "backup-dir": "/backups/nightly", "retention-days": 30, "keep-latest": 3}}}}}, helm)
    assert parameters(cron["daily-backup"]) == {"backup-dir": "/backups/nightly", "retention-days": "30",
                                                "keep-latest": "3"}


def test_disabled_cron_workflow_is_not_rendered(helm):
    cron = _cron({"workflows": {"cronWorkflows": {"monthlyReports": {"enabled": False}}}}, helm)
    assert "monthly-reports" not in cron and "daily-backup" in cron


def test_workflows_disabled_renders_no_argo_object_and_needs_no_argo_api(helm):
    docs = render_chart({"workflows": {"enabled": False}}, helm=helm, api_versions=())
    assert not list(all_argo(docs))
    assert not [d for d in docs if "templates/workflows/" in d.source]


def test_runner_image_command_and_per_step_overrides(helm):
    wft = _wft({"workflows": {
        "runner": {"image": {"repository": "example/runner", "tag": "2.0.1"}, "command": ["/bin/runner", "step"]},
        "steps": {"run-optimization": {"image": {"repository": "example/gpu-runner", "tag": "2.0.1"},
                                       "command": ["/bin/gpu-runner"],
                                       "resources": {"requests": {"cpu": "3", "memory": "9Gi"},
                                                     "limits": {"cpu": "6", "memory": "18Gi"}}}}}}, helm)
    t = templates(wft["batch-optimization"])
    assert t["prepare-dataset"]["container"]["image"] == "example/runner:2.0.1"
    assert t["prepare-dataset"]["container"]["command"] == ["/bin/runner", "step"]
    run = t["run-optimization"]["container"]
    assert run["image"] == "example/gpu-runner:2.0.1" and run["command"] == ["/bin/gpu-runner"]
    assert run["resources"]["requests"] == {"cpu": "3", "memory": "9Gi"}


def test_retry_values_reach_every_transient_step(helm):
    wft = _wft({"workflows": {"retry": {"limit": 5, "retryPolicy": "OnError",
                                        "backoff": {"duration": "30s", "factor": 3, "maxDuration": "1h"}}}}, helm)
    r = templates(wft["video-ingestion"])["ingest-videos"]["retryStrategy"]
    assert r["limit"] == 5 and r["retryPolicy"] == "OnError"
    assert r["backoff"] == {"duration": "30s", "factor": 3, "maxDuration": "1h"}


def test_quota_counts_pvcs_and_storage_class_follow_values(helm):
    wft = _wft({"global": {"storageClass": "local-path"}, "workflows": {"templates": {"tenantProvisioning": {
        "quota": {"pods": 7, "persistentVolumeClaims": 3},
        "pvcs": [{"name": "videos", "size": "5Gi"}, {"name": "models", "size": "1Gi", "accessModes": ["ReadWriteMany"]}],
    }}}}, helm)
    t = templates(wft["tenant-provisioning"])
    quota = t["setup-resource-quotas"]["resource"]["manifest"]
    assert 'pods: "7"' in quota and 'persistentvolumeclaims: "3"' in quota
    assert [s["template"] for s in steps(t["create-storage"]).values()] == ["create-pvc-videos", "create-pvc-models"]
    models = t["create-pvc-models"]["resource"]["manifest"]
    assert 'storageClassName: "local-path"' in models and '["ReadWriteMany"]' in models and 'storage: "1Gi"' in models


def test_notification_annotations_reach_every_workflow(helm):
    key = "notifications.argoproj.io/subscribe.on-workflow-completion"
    docs = render_chart({"workflows": {"notifications": {"annotations": {key: "slack:ops"}}}}, helm=helm)
    for obj in all_argo(docs):
        assert workflow_spec(obj)["workflowMetadata"]["annotations"] == {key: "slack:ops"}


def test_video_data_claim_is_mounted_read_only_at_data(helm):
    wft = _wft({"workflows": {"volumes": {"videoData": {"existingClaim": "videos"}}}}, helm)
    spec = workflow_spec(wft["video-ingestion"])
    assert spec["volumes"] == [{"name": "video-data", "persistentVolumeClaim": {"claimName": "videos", "readOnly": True}}]
    mounts = templates(wft["video-ingestion"])["ingest-videos"]["container"]["volumeMounts"]
    assert {"name": "video-data", "mountPath": "/data", "readOnly": True} in mounts


def test_semaphore_can_be_turned_off(helm):
    docs = render_chart({"workflows": {"heavyJobs": {"semaphore": False}}}, helm=helm)
    assert "cogniverse-workflow-semaphores" not in by_kind(docs, "ConfigMap")
    assert len(scheduled(docs)) == len(CRON_WORKFLOWS + OWN_CRON_WORKFLOWS)
    assert all("synchronization" not in workflow_spec(c) for c in scheduled(docs).values())


HEAVY = ("daily-backup", "weekly-dspy-optimization", "daily-cleanup", "weekly-optimization", "daily-optimization-check")


def test_max_hold_seconds_caps_the_deadline_of_every_heavy_workflow_only(helm):
    """A heavy workflow whose pods cannot be scheduled holds the semaphore at most maxHoldSeconds:
    Argo fails its Pending steps at the workflow's deadline."""
    docs = render_chart({"workflows": {"heavyJobs": {"maxHoldSeconds": 900},
                                   "cronWorkflows": {"dailyCleanup": {"activeDeadlineSeconds": 600}}}}, helm=helm)
    cron, wft = scheduled(docs), by_kind(docs, "WorkflowTemplate")  # cron: the templates CronWorkflows run
    deadlines = {n: workflow_spec(cron[n])["activeDeadlineSeconds"] for n in HEAVY}
    assert deadlines == {"daily-backup": 900, "weekly-dspy-optimization": 900, "daily-cleanup": 600,
                         "weekly-optimization": 900, "daily-optimization-check": 900}
    # light and user-submitted workflows keep their own deadlines
    assert workflow_spec(cron["monthly-reports"])["activeDeadlineSeconds"] == 7200
    assert wft["batch-optimization"]["spec"]["activeDeadlineSeconds"] == 43200


def test_without_the_semaphore_heavy_workflows_keep_their_own_deadlines(helm):
    runs = _runs({"workflows": {"heavyJobs": {"semaphore": False, "maxHoldSeconds": 900}}}, helm)
    assert workflow_spec(runs["weekly-optimization"])["activeDeadlineSeconds"] == 43200


def test_without_the_semaphore_the_guides_times_collide_and_lint_says_so(helm):
    """The guide's times put two heavy jobs in one minute twice; only the shared semaphore makes that safe."""
    from cogniverse_chart.lint import lint

    docs = render_chart({"workflows": {"heavyJobs": {"semaphore": False}}}, helm=helm)
    hits = {f.name: f.message for f in lint(docs) if f.rule == "policy/cron-overlap"}
    # the finding names one CronWorkflow of a pair and the other in its message, whichever renders first
    pairs = {frozenset((name, re.search(r"CronWorkflow '([\w-]+)'", m).group(1))) for name, m in hits.items()}
    assert pairs == {frozenset({"weekly-optimization", "weekly-dspy-optimization"}),
                     frozenset({"daily-optimization-check", "daily-cleanup"})}, hits
    assert not [f for f in lint(render_chart(helm=helm)) if f.rule == "policy/cron-overlap"]


def test_exit_handler_attempts_have_a_values_driven_deadline(helm):
    docs = render_chart({"workflows": {"exitHandler": {"activeDeadlineSeconds": 120}}}, helm=helm)
    for obj in all_argo(docs):  # every WorkflowTemplate, those the CronWorkflows run included
        if obj["metadata"]["name"] in OWN_CRON_WORKFLOWS:
            continue  # the watchdog has no exit handler
        notify = templates(obj)["notify-completion"]
        assert notify["activeDeadlineSeconds"] == 120, obj["metadata"]["name"]
        assert "activeDeadlineSeconds" not in templates(obj).get("prepare-dataset", {}), "only the exit handler"


def test_pods_are_kept_for_argo_logs_as_values_say(helm):
    for values, expected in [(None, {"strategy": "OnPodSuccess", "deleteDelayDuration": "1h"}),
                             ({"workflows": {"podGC": {"strategy": "OnWorkflowCompletion", "deleteDelayDuration": "30m"}}},
                              {"strategy": "OnWorkflowCompletion", "deleteDelayDuration": "30m"})]:
        docs = render_chart(values, helm=helm)
        for obj in all_argo(docs):
            assert workflow_spec(obj)["podGC"] == expected, obj["metadata"]["name"]


def test_cron_needing_batch_optimization_fails_clearly_when_it_is_disabled(helm):
    with pytest.raises(HelmError, match="workflows.templates.batchOptimization.enabled"):
        render_chart({"workflows": {"templates": {"batchOptimization": {"enabled": False}}}}, helm=helm)


@pytest.mark.parametrize("profile", ["k3s", "production", "smoke"], ids=lambda p: f"profile-{p}")
def test_profiles_render_all_workflows(profile):
    docs = render_chart(profile=profile)
    crons = CRON_WORKFLOWS + OWN_CRON_WORKFLOWS
    assert len(by_kind(docs, "WorkflowTemplate")) == len(WORKFLOW_TEMPLATES + crons)
    assert len(by_kind(docs, "CronWorkflow")) == len(scheduled(docs)) == len(crons)


def test_smoke_profile_runs_the_smoke_runner_without_pulling(helm):
    wft = _wft(helm=helm, profile="smoke")
    c = templates(wft["batch-optimization"])["run-optimization"]["container"]
    assert c["image"] == "cogniverse/smoke-runner:0.1.0" and c["imagePullPolicy"] == "Never"
    assert c["command"] == ["/usr/local/bin/cogniverse-workflow"]
