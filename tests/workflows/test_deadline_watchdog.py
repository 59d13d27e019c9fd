"""The deadline watchdog: a heavy workflow whose pods cannot be scheduled must not hold the shared
semaphore past workflows.heavyJobs.maxHoldSeconds (plus one watchdog interval).

Argo enforces activeDeadlineSeconds only when it next processes a workflow, and a workflow whose one
pod is Pending produces no event; the watchdog CronWorkflow marks such workflows so Argo looks again.
Here: what the chart renders for it, the least privilege of its ServiceAccount, and the admission
policy that confines that ServiceAccount's patches, evaluated by kube-apiserver's own policy code
(tools/vap-eval, see test_security_admission.py). On the cluster: tests/smoke/test_semaphore_hold.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chart_utils import (CRON_WORKFLOWS, WORKFLOW_TEMPLATES, by_kind, render_chart, scheduled, templates,
                         workflow_spec)
from admission_utils import wrong_decisions

NS, RELEASE = "cogniverse-prod", "cv"
SA = f"system:serviceaccount:{NS}:cv-cogniverse-deadline-watchdog"
PASSED, TERMINATED = "cogniverse.dev/deadline-passed", "cogniverse.dev/deadline-terminated"


def _docs(values: dict[str, Any] | None = None, helm=None):
    return render_chart(values, helm=helm, namespace=NS, release=RELEASE)


def _watchdog_args(docs) -> dict[str, str]:
    step = templates(scheduled(docs)["deadline-watchdog"])["watchdog"]["steps"][0][0]
    return {p["name"]: p["value"] for p in step["arguments"]["parameters"]}


def _selector(text: str) -> dict[str, str]:
    return dict(term.split("=", 1) for term in text.split(","))


def test_watchdog_runs_every_five_minutes_without_semaphore_or_exit_handler(helm):
    docs = _docs(helm=helm)
    cron = by_kind(docs, "CronWorkflow")["deadline-watchdog"]
    assert cron["spec"]["schedules"] == ["*/5 * * * *"] and cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["metadata"]["annotations"] == {"workflows.cogniverse.io/heavy": "false"}
    spec = workflow_spec(scheduled(docs)["deadline-watchdog"])
    # it must run while a stuck workflow holds the semaphore, and must not notify every 5 minutes
    assert "synchronization" not in spec and "onExit" not in spec
    assert spec["serviceAccountName"] == "cv-cogniverse-deadline-watchdog"
    step = templates(scheduled(docs)["deadline-watchdog"])["enforce-deadlines"]
    assert step["container"]["args"][0] == "enforce-deadlines"


def test_selector_covers_every_workflow_the_release_starts_and_no_other_release(helm):
    """Every WorkflowTemplate (the CronWorkflows' included) labels its Workflows with what the
    watchdog selects; a second release in the namespace selects only its own."""
    docs = _docs(helm=helm)
    selector = _selector(_watchdog_args(docs)["selector"])
    assert selector == {"app.kubernetes.io/part-of": "cogniverse", "app.kubernetes.io/instance": RELEASE}
    wft = by_kind(docs, "WorkflowTemplate")
    assert set(WORKFLOW_TEMPLATES + CRON_WORKFLOWS) <= set(wft)
    for name, obj in wft.items():
        labels = obj["spec"]["workflowMetadata"]["labels"]
        assert selector.items() <= labels.items(), name
    other = _selector(_watchdog_args(render_chart(namespace=NS, release="other"))["selector"])
    assert other["app.kubernetes.io/instance"] == "other"


def test_terminate_after_and_schedule_come_from_values(helm):
    docs = _docs({"workflows": {"cronWorkflows": {"deadlineWatchdog": {
        "schedules": ["* * * * *"], "parameters": {"terminate-after-seconds": 60}}}}}, helm=helm)
    assert by_kind(docs, "CronWorkflow")["deadline-watchdog"]["spec"]["schedules"] == ["* * * * *"]
    assert _watchdog_args(docs)["terminate-after-seconds"] == "{{inputs.parameters.terminate-after-seconds}}"
    [param] = workflow_spec(scheduled(docs)["deadline-watchdog"])["arguments"]["parameters"]
    assert param == {"name": "terminate-after-seconds", "value": "60"}


def test_service_account_may_only_list_and_patch_workflows_here(helm):
    docs = _docs(helm=helm)
    role = by_kind(docs, "Role")["cv-cogniverse-deadline-watchdog"]
    assert role["metadata"]["namespace"] == NS
    assert role["rules"] == [{"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["list", "patch"]}]
    binding = by_kind(docs, "RoleBinding")["cv-cogniverse-deadline-watchdog"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "cv-cogniverse-deadline-watchdog", "namespace": NS}]
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for name, b in by_kind(docs, kind).items():
            if any(s["name"] == "cv-cogniverse-deadline-watchdog" for s in b["subjects"]):
                assert name in ("cv-cogniverse-deadline-watchdog", "cv-cogniverse-workflow-executor"), name


def test_turning_it_off_removes_every_object_of_it(helm):
    docs = _docs({"workflows": {"cronWorkflows": {"deadlineWatchdog": {"enabled": False}}}}, helm=helm)
    names = {(d.kind, d.name) for d in docs}
    assert not [n for n in names if "deadline-watchdog" in n[1]], names
    executor = by_kind(docs, "RoleBinding")["cv-cogniverse-workflow-executor"]
    assert all("deadline-watchdog" not in s["name"] for s in executor["subjects"])


def test_existing_service_account_is_used_and_the_policy_names_it(helm):
    docs = _docs({"workflows": {"serviceAccounts": {"deadlineWatchdog": {"create": False, "name": "wd"}}}}, helm=helm)
    assert "wd" not in by_kind(docs, "ServiceAccount")
    assert workflow_spec(scheduled(docs)["deadline-watchdog"])["serviceAccountName"] == "wd"
    policy = by_kind(docs, "ValidatingAdmissionPolicy")[f"{NS}.cv-cogniverse-deadline-watchdog"]
    assert f'"system:serviceaccount:{NS}:wd"' in policy["spec"]["matchConditions"][0]["expression"]


# --- the admission policy, by the API server's own code ------------------------------------------

def _wf(annotations: dict[str, str] | None = None, old: bool = False, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "daily-backup-1", "namespace": NS,
                         "labels": {"app.kubernetes.io/part-of": "cogniverse", "app.kubernetes.io/instance": RELEASE,
                                    "workflows.argoproj.io/phase": "Running"},
                         "annotations": {"workflows.argoproj.io/pod-name-format": "v2", **(annotations or {})},
                         "finalizers": [], "ownerReferences": [{"kind": "CronWorkflow", "name": "daily-backup"}]},
            "spec": {"workflowTemplateRef": {"name": "daily-backup"}, "arguments": {"parameters": []}, **spec},
            # started 03:00 with a 10-minute deadline (its WorkflowTemplate's): overdue from 03:10
            "status": {"phase": "Running", "startedAt": "2026-12-02T03:00:00Z",
                       "storedWorkflowTemplateSpec": {"activeDeadlineSeconds": 600}}}


def _changed(edit, obj: dict[str, Any] | None = None) -> dict[str, Any]:
    obj = copy.deepcopy(obj or _wf())
    edit(obj)
    return obj


OLD = _wf()
AT, LATER = "2026-12-02T03:10:00Z", "2026-12-02T03:40:00Z"
MARKED = _wf({PASSED: AT})
# (id, operation, object, oldObject, user, expected: None = admitted, else text of the denial)
CASES: list[tuple[str, str, Any, Any, str, str | None]] = [
    ("mark-at-deadline", "UPDATE", _wf({PASSED: AT}), OLD, SA, None),
    ("mark-own-deadline", "UPDATE", _wf({PASSED: "2026-12-02T03:01:00Z"}, activeDeadlineSeconds=60),
     _wf(activeDeadlineSeconds=60), SA, None),
    ("terminate", "UPDATE", _wf({PASSED: AT, TERMINATED: LATER}, shutdown="Terminate"), MARKED, SA, None),
    ("other-account-not-matched", "UPDATE", _changed(lambda o: o["spec"].update(serviceAccountName="admin")), OLD,
     f"system:serviceaccount:{NS}:cv-cogniverse-workflow", None),
    # attacks: what a holder of the watchdog's token could try
    ("mark-before-deadline", "UPDATE", _wf({PASSED: "2026-12-02T03:09:59Z"}), OLD, SA, "may mark only a workflow past its deadline"),
    ("mark-not-a-time", "UPDATE", _wf({PASSED: "later"}), OLD, SA, "past its deadline"),
    ("mark-without-deadline", "UPDATE", _changed(lambda o: o["status"].pop("storedWorkflowTemplateSpec"), _wf({PASSED: LATER})),
     _changed(lambda o: o["status"].pop("storedWorkflowTemplateSpec")), SA, "past its deadline"),
    ("re-mark", "UPDATE", _wf({PASSED: LATER}), MARKED, SA, "never changes or removes one"),
    # argo resubmit copies the old run's mark (attack21d #16): one from before this run's deadline is replaced, never terminated on
    ("replace-a-copied-mark", "UPDATE", _wf({PASSED: AT}), _wf({PASSED: "2026-12-01T03:10:00Z"}), SA, None),
    ("replace-a-junk-mark", "UPDATE", _wf({PASSED: AT}), _wf({PASSED: "earlier"}), SA, None),
    ("replace-with-an-early-mark", "UPDATE", _wf({PASSED: "2026-12-02T03:05:00Z"}), _wf({PASSED: "2026-12-01T03:10:00Z"}), SA,
     "past its deadline"),
    ("terminate-on-a-copied-mark", "UPDATE", _wf({PASSED: "2026-12-01T03:10:00Z", TERMINATED: LATER}, shutdown="Terminate"),
     _wf({PASSED: "2026-12-01T03:10:00Z"}), SA, "at or after this run's deadline"),
    ("terminate-unmarked", "UPDATE", _wf({TERMINATED: LATER}, shutdown="Terminate"), OLD, SA, "marked cogniverse.dev/deadline-passed before"),
    ("terminate-silently", "UPDATE", _wf({PASSED: AT}, shutdown="Terminate"), MARKED, SA, "together with cogniverse.dev/deadline-terminated"),
    ("terminated-mark-alone", "UPDATE", _wf({PASSED: AT, TERMINATED: LATER}), MARKED, SA, "the latter with spec.shutdown=Terminate"),
    ("override-stop", "UPDATE", _wf({PASSED: AT, TERMINATED: LATER}, shutdown="Terminate"), _wf({PASSED: AT}, shutdown="Stop"), SA,
     "an existing one is never"),
    ("remove-stop", "UPDATE", _wf({PASSED: AT}), _wf({PASSED: AT}, shutdown="Stop"), SA, "may not change a workflow's spec"),
    ("other-release", "UPDATE", _changed(lambda o: o["metadata"]["labels"].update({"app.kubernetes.io/instance": "other"}), _wf({PASSED: AT})),
     _changed(lambda o: o["metadata"]["labels"].update({"app.kubernetes.io/instance": "other"})), SA, "only workflows of its own release cv"),
    ("finished-workflow", "UPDATE", _changed(lambda o: o["status"].update(phase="Failed"), _wf({PASSED: AT})),
     _changed(lambda o: o["status"].update(phase="Failed")), SA, "only Running workflows"),
    ("swap-template", "UPDATE", _changed(lambda o: o["spec"].update(workflowTemplateRef={"name": "evil"})), OLD, SA,
     "may not change a workflow's spec"),
    ("escalate-account", "UPDATE", _changed(lambda o: o["spec"].update(serviceAccountName="cv-cogniverse-tenant-provisioner")),
     OLD, SA, "may not change a workflow's spec"),
    ("change-arguments", "UPDATE", _changed(lambda o: o["spec"]["arguments"]["parameters"].append({"name": "backup-dir", "value": "/"})),
     OLD, SA, "may not change a workflow's spec"),
    ("drop-spec-field", "UPDATE", _changed(lambda o: o["spec"].pop("arguments")), OLD, SA, "may not change a workflow's spec"),
    ("shutdown-stop", "UPDATE", _wf(shutdown="Stop"), OLD, SA, "spec.shutdown only to Terminate"),
    ("fake-success", "UPDATE", _changed(lambda o: o["status"].update(phase="Succeeded")), OLD, SA,
     "may not change a workflow's status"),
    ("relabel", "UPDATE", _changed(lambda o: o["metadata"]["labels"].update({"app.kubernetes.io/instance": "other"})), OLD, SA,
     "labels, finalizers or owner references"),
    ("orphan", "UPDATE", _changed(lambda o: o["metadata"].update(ownerReferences=[])), OLD, SA,
     "labels, finalizers or owner references"),
    ("other-annotation", "UPDATE", _wf({"workflows.argoproj.io/description": "pwned"}), OLD, SA,
     "may only add the annotations"),
    ("remove-annotation", "UPDATE", _changed(lambda o: o["metadata"].update(annotations={})), OLD, SA,
     "may only add the annotations"),
    ("create", "CREATE", _wf(), None, SA, "may only patch workflows, not create them"),
    ("delete", "DELETE", None, OLD, SA, "may only patch workflows, not delete them"),
]


def test_policy_admits_the_watchdog_and_denies_every_other_change(helm, tmp_path):
    docs = _docs(helm=helm)
    policy = by_kind(docs, "ValidatingAdmissionPolicy")[f"{NS}.cv-cogniverse-deadline-watchdog"]
    assert policy["spec"]["matchConstraints"]["resourceRules"][0]["resources"] == ["workflows"]
    binding = by_kind(docs, "ValidatingAdmissionPolicyBinding")[f"{NS}.cv-cogniverse-deadline-watchdog"]
    assert binding["spec"]["validationActions"] == ["Deny"] and "matchResources" not in binding["spec"]
    cases = [(c[0], c[1], "workflows", copy.deepcopy(c[2]), copy.deepcopy(c[3]), None, c[4], c[5]) for c in CASES]
    wrong = wrong_decisions(policy, cases, tmp_path)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("bad, key", [
    ({"schedules": []}, "deadlineWatchdog.schedules"),
    ({"parameters": {"terminate-after-seconds": -1}}, "terminate-after-seconds"),
    ({"parameters": {"terminate-after-seconds": "soon"}}, "terminate-after-seconds"),
    ({"parameters": {"terminate-after-seconds": 60, "selector": "a=b"}}, "selector"),
])
def test_bad_watchdog_values_name_the_key(bad, key):
    from cogniverse_chart.helm import HelmError

    with pytest.raises(HelmError, match=key):
        render_chart({"workflows": {"cronWorkflows": {"deadlineWatchdog": bad}}})
