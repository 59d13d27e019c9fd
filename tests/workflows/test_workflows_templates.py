"""The chart's WorkflowTemplates and CronWorkflows as the guide uses them: names, parameters and
defaults, step order, conditions, outputs, exit handlers, labels, and the safety rules every step
follows (argv only, validation first, restricted pods, retries, deadlines, TTL, podGC, mutex)."""

from __future__ import annotations

import re

import pytest
import yaml

from chart_utils import (CRON_WORKFLOWS, OWN_CRON_WORKFLOWS, WORKFLOW_TEMPLATES, all_argo, arguments, container_templates,
                                    entry, by_kind, parameters, scheduled, step_groups, steps, strings,
                                    templates, workflow_spec)


@pytest.fixture
def wft(docs):
    return by_kind(docs, "WorkflowTemplate")


@pytest.fixture
def cron(docs):
    return by_kind(docs, "CronWorkflow")


@pytest.fixture
def runs(docs):
    """{CronWorkflow name: the WorkflowTemplate it runs (workflowTemplateRef)}."""
    return scheduled(docs)


def test_every_guide_workflow_is_installed_with_its_exact_name(wft, cron):
    own = WORKFLOW_TEMPLATES + CRON_WORKFLOWS + OWN_CRON_WORKFLOWS
    assert sorted(wft) == sorted(own)  # each CronWorkflow runs its own
    assert sorted(cron) == sorted(CRON_WORKFLOWS + OWN_CRON_WORKFLOWS)
    for obj in [*wft.values(), *cron.values()]:
        assert obj["metadata"]["namespace"] == "cogniverse"


# --- parameters and defaults (the guide's and SPEC.md's) ------------------------------------------

EXPECTED_PARAMETERS = {
    "video-ingestion": {"tenant-id": None, "video-dir": "/data/videos",
                        "profiles": "video_colpali_smol500_mv_frame,video_videoprism_base_mv_chunk_30s",
                        "batch-size": "10", "max-workers": "4"},
    "batch-optimization": {"tenant-id": None, "optimizer-category": "dspy", "optimizer-type": "GEPA",
                           "dataset-name": "golden_eval_v1", "profiles": "video_colpali_smol500_mv_frame",
                           "max-iterations": "100", "learning-rate": "0.001", "use-synthetic-data": "false",
                           "improvement-threshold": "5"},
    "tenant-provisioning": {"tenant-id": None, "tenant-name": None,
                            "profiles": "video_colpali_smol500_mv_frame,video_videoprism_base_mv_chunk_30s",
                            "storage-quota": "200Gi", "cpu-quota": "20", "memory-quota": "40Gi"},
    "restore": {"backup-dir": "/backups", "backup-id": "latest", "components": "vespa,phoenix"},
}


@pytest.mark.parametrize("name", WORKFLOW_TEMPLATES)
def test_workflow_template_parameters_and_defaults(wft, name):
    assert parameters(wft[name]) == EXPECTED_PARAMETERS[name]


def test_cron_workflow_parameters_and_defaults(cron):
    assert parameters(cron["daily-backup"]) == {"backup-dir": "/backups", "retention-days": "7", "keep-latest": "1"}
    assert parameters(cron["daily-cleanup"]) == {"retention-days": "14"}
    assert parameters(cron["weekly-optimization"])["annotation-threshold"] == "50"
    assert parameters(cron["weekly-optimization"])["improvement-threshold"] == "5"
    assert parameters(cron["weekly-optimization"])["tenant-id"] == "default"
    assert parameters(cron["daily-optimization-check"])["annotation-threshold"] == "20"
    assert parameters(cron["daily-optimization-check"])["tenant-id"] == "default"
    assert parameters(cron["weekly-dspy-optimization"])["optimizer-type"] == "GEPA"


def test_cron_defaults_are_the_guides_times(cron):
    schedules = {n: c["spec"]["schedules"] for n, c in cron.items()}
    assert schedules == {
        "daily-backup": ["0 2 * * *"],
        "weekly-dspy-optimization": ["0 3 * * 0"],
        "daily-cleanup": ["0 4 * * *"],
        "monthly-reports": ["0 5 1 * *"],
        "weekly-optimization": ["0 3 * * 0"],
        "daily-optimization-check": ["0 4 * * *"],
        "deadline-watchdog": ["*/5 * * * *"],  # the chart's own (test_deadline_watchdog.py)
    }
    for c in cron.values():
        spec = c["spec"]
        assert "schedule" not in spec, "Argo 4.0 dropped the singular schedule"
        assert spec["timezone"] == "UTC" and spec["suspend"] is False
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["startingDeadlineSeconds"] > 0
        assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1


# --- step order, conditions, outputs --------------------------------------------------------------

def test_video_ingestion_steps_in_order(wft):
    assert step_groups(entry(wft["video-ingestion"])) == [
        ["validate-input"], ["prepare-videos"], ["ingest-videos"], ["verify-ingestion"]]
    verify = steps(entry(wft["video-ingestion"]))["verify-ingestion"]
    assert arguments(verify)["expected-documents"] == "{{steps.ingest-videos.outputs.parameters.documents-ingested}}"


def test_batch_optimization_steps_condition_and_outputs(wft):
    wf = wft["batch-optimization"]
    main = entry(wf)
    assert step_groups(main) == [["validate-config"], ["prepare-dataset"], ["run-optimization"],
                                 ["evaluate-results"], ["deploy-model"]]
    deploy = steps(main)["deploy-model"]
    assert deploy["when"] == ("{{steps.run-optimization.outputs.parameters.improvement}} >= "
                              "{{inputs.parameters.improvement-threshold}}")
    # run-optimization declares the outputs the guide's jq reads from its node.
    run = templates(wf)["run-optimization"]
    assert [p["name"] for p in run["outputs"]["parameters"]] == ["baseline-score", "optimized-score", "improvement"]
    # Workflow-level outputs: .status.outputs.parameters gets every parameter with a globalName.
    outs = {p["name"]: p for p in main["outputs"]["parameters"]}
    assert outs["improvement"]["globalName"] == "improvement"
    assert outs["improvement"]["valueFrom"]["parameter"] == "{{steps.run-optimization.outputs.parameters.improvement}}"


def test_tenant_provisioning_steps_in_order(wft):
    assert step_groups(entry(wft["tenant-provisioning"])) == [
        ["validate-tenant"], ["create-namespace"], ["deploy-schemas"], ["create-phoenix-project"],
        ["setup-resource-quotas"], ["create-storage"], ["initialize-memory"], ["verify-tenant"]]


def test_scheduled_workflows_steps_and_conditions(runs):
    assert step_groups(entry(runs["daily-backup"])) == [["backup-vespa"], ["backup-phoenix"], ["prune-backups"]]
    assert step_groups(entry(runs["daily-cleanup"])) == [["cleanup-logs", "cleanup-temp", "cleanup-databases"]]
    assert step_groups(entry(runs["monthly-reports"])) == [["usage-report", "performance-report"]]
    for name, since in (("weekly-optimization", "168h"), ("daily-optimization-check", "24h")):
        main = entry(runs[name])
        assert step_groups(main) == [["check-annotations"], ["optimize"]]
        check = steps(main)["check-annotations"]
        assert arguments(check)["since"] == since
        assert arguments(check)["annotation-threshold"] == "{{inputs.parameters.annotation-threshold}}"
        opt = steps(main)["optimize"]
        assert opt["when"] == "{{steps.check-annotations.outputs.parameters.threshold-met}} == true"
        assert opt["templateRef"] == {"name": "batch-optimization", "template": "optimize"}
        outs = {p["name"]: p for p in main["outputs"]["parameters"]}
        assert outs["annotation-count"]["globalName"] == "annotation-count"


def test_weekly_optimization_runs_every_module_optimizer_and_dspy(runs):
    opt = steps(entry(runs["weekly-optimization"]))["optimize"]
    assert opt["withItems"] == [{"category": "routing", "type": t} for t in
                                ("modality", "cross_modal", "routing", "workflow")] + [
                                   {"category": "dspy", "type": "GEPA"}]
    args = arguments(opt)
    assert args["optimizer-category"] == "{{item.category}}" and args["optimizer-type"] == "{{item.type}}"
    assert args["use-synthetic-data"] == "true"
    assert args["improvement-threshold"] == "{{inputs.parameters.improvement-threshold}}"


def test_weekly_dspy_optimization_runs_the_reusable_template_for_every_tenant(runs):
    opt = steps(entry(runs["weekly-dspy-optimization"]))["optimize"]
    assert opt["templateRef"] == {"name": "batch-optimization", "template": "optimize"}
    assert opt["withItems"] == ["default"]
    assert arguments(opt)["tenant-id"] == "{{item}}"
    assert arguments(opt)["optimizer-category"] == "dspy"


def test_reusable_optimize_template_inputs_match_its_callers(wft, runs):
    inputs = {p["name"] for p in templates(wft["batch-optimization"])["optimize"]["inputs"]["parameters"]}
    for name in ("weekly-dspy-optimization", "weekly-optimization", "daily-optimization-check"):
        assert set(arguments(steps(entry(runs[name]))["optimize"])) == inputs, name


def test_exit_handler_notifies_with_the_workflow_status_only_there(docs):
    for obj in all_argo(docs):
        spec = workflow_spec(obj)
        if obj["metadata"]["name"] in OWN_CRON_WORKFLOWS:
            assert "onExit" not in spec  # the watchdog runs every few minutes: no notice per run
            continue
        assert spec["onExit"] == "exit-handler"
        handler = templates(obj)["exit-handler"]
        args = arguments(steps(handler)["notify-completion"])
        assert args["status"] == "{{workflow.status}}" and args["workflow"] == "{{workflow.name}}"
        for t in spec["templates"]:
            if t["name"] != "exit-handler":
                assert all("workflow.status" not in s for _, s in strings(t)), f"{obj['metadata']['name']}/{t['name']}"


def test_tenant_workflows_notify_with_the_tenant(docs):
    for obj in all_argo(docs):
        if obj["metadata"]["name"] in OWN_CRON_WORKFLOWS:
            continue  # no exit handler (above)
        args = arguments(steps(templates(obj)["exit-handler"])["notify-completion"])
        has_tenant = "tenant-id" in parameters(obj)
        assert ("tenant-id" in args) == has_tenant, obj["metadata"]["name"]
        if has_tenant:
            assert args["tenant-id"] == "{{workflow.parameters.tenant-id}}"


def test_optimization_workflows_carry_the_workflow_type_label(wft, cron, runs):
    for obj in (wft["batch-optimization"], runs["weekly-dspy-optimization"], runs["weekly-optimization"],
                runs["daily-optimization-check"]):
        assert obj["metadata"]["labels"]["workflow-type"] == "optimization"
        assert workflow_spec(obj)["workflowMetadata"]["labels"]["workflow-type"] == "optimization"
    for name in ("weekly-dspy-optimization", "weekly-optimization", "daily-optimization-check"):
        assert cron[name]["spec"]["workflowMetadata"]["labels"]["workflow-type"] == "optimization"
    assert wft["video-ingestion"]["metadata"]["labels"]["workflow-type"] != "optimization"


def test_run_optimization_is_a_step_display_name(wft):
    assert "run-optimization" in steps(entry(wft["batch-optimization"]))


# --- the step contract: argv only, validation first -----------------------------------------------

#: Phoenix's SQLite backup and restore run a fixed file of the chart in the Phoenix image (templates/workflows/_backup.tpl).
PHOENIX_STEPS = {"backup-phoenix", "restore-phoenix"}
PHOENIX_SCRIPT = ["/usr/bin/python3", "/opt/cogniverse/phoenix-backup.py"]


def test_every_container_step_runs_the_runner_with_one_argv_element_per_parameter(docs):
    for obj in all_argo(docs):
        for t in container_templates(obj):
            c = t["container"]
            if t["name"] in PHOENIX_STEPS:
                assert c["image"].startswith("arizephoenix/phoenix:") and c["command"] == PHOENIX_SCRIPT
            else:
                assert c["image"] == "cogniverse/runtime:1.0.0"
                assert c["command"] == ["cogniverse-workflow"]
            declared = [p["name"] for p in (t.get("inputs") or {}).get("parameters") or []]
            args = c["args"]
            assert args[0] == t["name"]
            pairs = list(zip(args[1::2], args[2::2]))
            assert len(args) == 1 + 2 * len(declared)
            assert pairs == [(f"--{n}", f"{{{{inputs.parameters.{n}}}}}") for n in declared], t["name"]


def test_a_failing_step_reports_its_own_reason_as_the_node_message(docs):
    """Argo appends the container's termination message to the node message; with
    FallbackToLogsOnError that is the runner's one stderr line ("--tenant-id ...: must match ...")."""
    for obj in all_argo(docs):
        for t in container_templates(obj):
            assert t["container"].get("terminationMessagePolicy") == "FallbackToLogsOnError", t["name"]


def test_no_shell_and_no_script_source_anywhere(docs):
    shells = {"sh", "bash", "/bin/sh", "/bin/bash", "ash", "python", "python3"}
    for obj in all_argo(docs):
        for t in workflow_spec(obj)["templates"]:
            assert "script" not in t, f"{obj['metadata']['name']}/{t['name']} has a script template"
            if "container" in t:
                cmd = t["container"]["command"]
                if t["name"] in PHOENIX_STEPS:  # python3 runs the chart's file from a read-only ConfigMap: no source in argv
                    mount = {m["mountPath"]: m for m in t["container"]["volumeMounts"]}["/opt/cogniverse"]
                    assert cmd == PHOENIX_SCRIPT and mount["readOnly"] is True, t["name"]
                    cmd = []
                assert not (set(cmd) & shells) and "-c" not in t["container"]["args"], t["name"]


def test_parameters_in_resource_manifests_are_validated_first(wft):
    """Resource manifests contain parameters (tenant id, quotas); validate-tenant checks all of them
    in the first step group, before any resource step runs."""
    prov = wft["tenant-provisioning"]
    main = entry(prov)
    assert step_groups(main)[0] == ["validate-tenant"]
    validated = set(arguments(steps(main)["validate-tenant"]))
    for t in templates(prov).values():
        if "resource" in t:
            used = set(re.findall(r"inputs\.parameters(?:\.|\[')([a-z-]+)", t["resource"]["manifest"]))
            assert used <= validated, t["name"]
            assert "tenant-name" not in used  # free text never goes into YAML


@pytest.mark.parametrize("name,first", [("video-ingestion", "validate-input"),
                                        ("batch-optimization", "validate-config"),
                                        ("tenant-provisioning", "validate-tenant")])
def test_validation_runs_first_and_alone_and_is_never_retried(wft, name, first):
    main = entry(wft[name])
    assert step_groups(main)[0] == [first]
    # validate-tenant also gets the release namespace, to refuse a tenant whose namespace is the release's,
    # and the tenant bound (max-tenants, release-id: the release's label on its tenant namespaces)
    extra = {"release-namespace", "max-tenants", "release-id"} if first == "validate-tenant" else set()
    assert set(arguments(steps(main)[first])) == {p for p in parameters(wft[name]) if p != "improvement-threshold"} | extra
    assert "retryStrategy" not in templates(wft[name])[first]


# --- tenant provisioning: resource templates with apply semantics ---------------------------------

def _manifest(t):
    return yaml.safe_load(t["resource"]["manifest"].replace("{{=", "<").replace("}}", ">").replace("{{", "<"))


def test_tenant_objects_are_applied_labelled_with_the_tenant(wft):
    prov = wft["tenant-provisioning"]
    res = {t["name"]: t for t in templates(prov).values() if "resource" in t}
    assert set(res) == {"create-namespace", "setup-resource-quotas", "create-pvc-tenant-data"}
    ns_expr = "{{=toJson('cogniverse-' + sprig.replace('_', '-', inputs.parameters['tenant-id']))}}"
    for t in res.values():
        assert t["resource"]["action"] == "apply"
        assert t["serviceAccountName"] == "cogniverse-tenant-provisioner"
        assert "cogniverse.dev/tenant: {{=toJson(inputs.parameters['tenant-id'])}}" in t["resource"]["manifest"]
        assert ns_expr in t["resource"]["manifest"]
    kinds = {name: _manifest(t)["kind"] for name, t in res.items()}
    assert kinds == {"create-namespace": "Namespace", "setup-resource-quotas": "ResourceQuota",
                     "create-pvc-tenant-data": "PersistentVolumeClaim"}
    quota = _manifest(res["setup-resource-quotas"])["spec"]["hard"]
    assert set(quota) == {"requests.cpu", "requests.memory", "requests.storage", "pods", "persistentvolumeclaims"}
    assert quota["requests.cpu"] == "<toJson(inputs.parameters['cpu-quota'])>"
    assert quota["pods"] == "50" and quota["persistentvolumeclaims"] == "10"
    verify = steps(entry(prov))["verify-tenant"]
    assert arguments(verify)["namespace"] == "{{='cogniverse-' + sprig.replace('_', '-', inputs.parameters['tenant-id'])}}"


# --- reliability --------------------------------------------------------------------------------

def test_every_workflow_has_deadline_ttl_podgc_and_a_service_account(docs):
    for obj in all_argo(docs):
        spec = workflow_spec(obj)
        assert spec["activeDeadlineSeconds"] > 0
        assert spec["ttlStrategy"] == {"secondsAfterSuccess": 604800, "secondsAfterFailure": 1209600}
        assert spec["podGC"]["strategy"] == "OnPodSuccess"
        own = {"deadline-watchdog": "cogniverse-deadline-watchdog", "restore": "cogniverse-workflow-restore"}
        assert spec["serviceAccountName"] == own.get(obj["metadata"]["name"], "cogniverse-workflow")


def test_every_step_pod_is_restricted_and_has_resources(docs):
    for obj in all_argo(docs):
        pod = workflow_spec(obj)["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}
        for t in container_templates(obj):
            sc = t["container"]["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"] == {"drop": ["ALL"]}
            res = t["container"]["resources"]
            assert res["requests"]["cpu"] and res["limits"]["memory"]
            mounts = {m["mountPath"] for m in t["container"]["volumeMounts"]}
            assert {"/tmp", "/tmp/outputs"} <= mounts


def test_transient_steps_retry_with_exponential_backoff_but_never_on_invalid_input(docs):
    for obj in all_argo(docs):
        for t in workflow_spec(obj)["templates"]:
            if "container" not in t and "resource" not in t:
                continue
            if t["name"].startswith("validate-"):
                assert "retryStrategy" not in t
                continue
            r = t["retryStrategy"]
            assert r["limit"] == 3 and r["backoff"] == {"duration": "1m", "factor": 2, "maxDuration": "10m"}
            assert r["expression"] == 'lastRetry.exitCode != "2"'


def test_optimizations_of_one_tenant_never_overlap(wft):
    opt = templates(wft["batch-optimization"])["optimize"]
    assert opt["synchronization"] == {"mutexes": [{"name": "optimization-{{inputs.parameters.tenant-id}}"}]}


def test_heavy_scheduled_workflows_share_a_chart_created_semaphore(docs, runs):
    cm = by_kind(docs, "ConfigMap")["cogniverse-workflow-semaphores"]
    assert cm["data"] == {"heavy-jobs": "1"}
    ref = {"semaphores": [{"configMapKeyRef": {"name": "cogniverse-workflow-semaphores", "key": "heavy-jobs"}}]}
    for name in ("daily-backup", "weekly-dspy-optimization", "daily-cleanup", "weekly-optimization",
                 "daily-optimization-check"):
        assert workflow_spec(runs[name])["synchronization"] == ref, name
    assert "synchronization" not in workflow_spec(runs["monthly-reports"])


def test_no_singular_mutex_or_semaphore_fields(docs):
    """Argo 4.0 removed synchronization.mutex/semaphore; only the list forms validate on 3.7 and 4.0."""
    for obj in all_argo(docs):
        for path, _ in strings(obj):
            assert ".synchronization.mutex." not in path and ".synchronization.semaphore." not in path, path


def test_backups_keep_the_newest_successful_backup(runs):
    main = entry(runs["daily-backup"])
    prune = steps(main)["prune-backups"]
    assert arguments(prune)["keep-latest"] == "{{inputs.parameters.keep-latest}}"
    # pruning is its own, later step group: it runs only when both backups succeeded
    assert step_groups(main).index(["prune-backups"]) > 0
    assert "continueOn" not in steps(main)["backup-vespa"]


# --- Helm vs Argo {{ }} ---------------------------------------------------------------------------

def test_rendered_objects_keep_argo_expressions_literally(docs, wft, cron):
    text = "\n".join(s for obj in all_argo(docs) for _, s in strings(obj))
    for expr in ("{{inputs.parameters.tenant-id}}", "{{workflow.status}}", "{{workflow.name}}",
                 "{{workflow.parameters.tenant-id}}", "{{steps.run-optimization.outputs.parameters.improvement}}",
                 "{{=toJson('cogniverse-' + sprig.replace('_', '-', inputs.parameters['tenant-id']))}}", "{{item}}", "{{item.category}}",
                 "{{=sprig.date('2006-01', sprig.dateModify('-24h', sprig.now()))}}"):
        assert expr in text, expr
    # and nothing Helm left behind half-evaluated
    for _, s in (x for obj in all_argo(docs) for x in strings(obj)):
        assert "<no value>" not in s and "%!" not in s
