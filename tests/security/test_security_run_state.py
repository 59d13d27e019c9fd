"""Only Argo's workflow controller writes what a run has done (policy `<ns>.<fullname>-token-routes-state`,
templates/workflows/run-state-admission.yaml), evaluated by the API server's own code (tools/vap-eval).

A Workflow has no status subresource: anyone who may write one could name claims the controller deletes
(attack21d #4), forge lock holders it restores (#5, #6, any namespace), mark a running run finished by a
metadata-only label update (#7), or start artifact GC. Argo's own clients stay admitted: argo submit (--from),
resubmit, retry, stop, resume. The chart's watchdog CronWorkflow and pinned WorkflowTemplates are written and
deleted only by argo.templateWriters (#15); WorkflowTaskSets only by the controller (#9); an object past the
size bound is refused here and skipped by the heavier policies (#8). On the node: tests/smoke/test_security_routes.py.
"""

from __future__ import annotations

import copy
import resource
from typing import Any

import pytest

from admission_utils import wrong_decisions
from chart_utils import by_kind, render_chart
from cogniverse_dev import gobuild

NS, OTHER = "cogniverse-prod", "team-b"
ALICE, BOB = f"system:serviceaccount:{NS}:alice", f"system:serviceaccount:{OTHER}:bob"
CONTROLLER = "system:serviceaccount:argo:argo"
HELM = ("kubernetes-admin", {"groups": ["system:masters", "system:authenticated"]})
NS_CONTROLLER = "system:serviceaccount:kube-system:namespace-controller"
L = "workflows.argoproj.io/"
RUN = {"workflowTemplateRef": {"name": "video-ingestion"}}
ART = {"name": "a", "s3": {"key": "k"}}
DONE = {"phase": "Failed", "nodes": {"x": {"phase": "Failed"}, "x-1": {"phase": "Failed", "outputs": {"artifacts": [ART]}}},
        "persistentVolumeClaims": [{"name": "w", "persistentVolumeClaim": {"claimName": "x-w"}}]}
MUTEX = {"holding": [{"mutex": "cogniverse-prod/Mutex/tenant-provisioning", "holder": "x"}]}


def _wf(ns: str = NS, labels: dict[str, str] | None = None, status: dict[str, Any] | None = None,
        finalizers: list[str] | None = None, spec: dict[str, Any] | None = None, kind: str = "Workflow", name: str = "x") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, **({"labels": labels} if labels else {})}
    if finalizers:
        meta["finalizers"] = finalizers
    obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": meta, "spec": RUN if spec is None else spec}
    return {**obj, "status": status} if status is not None else obj


def _big(templates: int, steps: int) -> dict[str, Any]:
    """The hostile shape of attack21d #8: many templates, each with steps holding an inline template."""
    step = {"name": "s", "inline": {"container": {"image": "alpine"}, "synchronization": {"mutexes": [{"name": f"m{i}"} for i in range(3)]}}}
    return {"entrypoint": "t0", "templates": [{"name": f"t{i}", "steps": [[{**step, "name": f"s{j}"}] for j in range(steps)]}
                                              for i in range(templates)]}


RUNNING = {"phase": "Running", "nodes": {"x": {"phase": "Running"}}}
RETRIED = {"phase": "Running", "nodes": {"x": {"phase": "Running"}}, "persistentVolumeClaims": []}
CRON = _wf(kind="CronWorkflow", name="deadline-watchdog", spec={"schedules": ["*/5 * * * *"], "workflowSpec": {
    "workflowTemplateRef": {"name": "deadline-watchdog"}}})

# (id, operation, resource, object, oldObject, user, expected denial or None, extra request fields)
CASES: list[tuple[str, str, str, Any, Any, str, str | None, dict[str, Any]]] = [
    # what Argo's clients send
    ("argo-submit", "CREATE", "workflows", _wf(labels={f"{L}creator": "alice", f"{L}backfill": "c"}, status={"storedTemplates": {"namespaced/a/b": {}}}), None, ALICE, None, {}),
    ("argo-resubmit", "CREATE", "workflows", _wf(labels={f"{L}resubmitted-from-workflow": "x0", f"{L}workflow-template": "video-ingestion",
                                                         f"{L}cron-workflow": "daily-backup", "team": "a"}), None, ALICE, None, {}),
    ("argo-retry", "UPDATE", "workflows", _wf(labels={f"{L}phase": "Running"}, status=RETRIED),
     _wf(labels={f"{L}completed": "true", f"{L}phase": "Failed", f"{L}workflow-archiving-status": "Pending"}, status=DONE), ALICE, None, {}),
    # Argo 4.0's retry clears status.phase (WorkflowUnknown, omitted) and leaves the phase label as it was
    ("argo-retry-argo-4", "UPDATE", "workflows", _wf(labels={f"{L}phase": "Failed"}, status={"nodes": {"x": {"phase": "Failed"}},
                                                                                            "persistentVolumeClaims": []}),
     _wf(labels={f"{L}completed": "true", f"{L}phase": "Failed", f"{L}workflow-archiving-status": "Pending"}, status=DONE), ALICE, None, {}),
    ("running-phase-cleared", "UPDATE", "workflows", _wf(status={"nodes": RUNNING["nodes"]}), _wf(status=RUNNING), ALICE,
     "may change status.phase", {}),
    ("argo-stop-with-message", "UPDATE", "workflows", _wf(spec={**RUN, "shutdown": "Stop"}, status={"phase": "Running", "nodes": {
        "x": {"phase": "Failed", "message": "bye"}}}), _wf(status=RUNNING), ALICE, None, {}),
    ("remove-gc-finalizer", "UPDATE", "workflows", _wf(status=DONE), _wf(status=DONE, finalizers=[f"{L}artifact-gc"]), ALICE, None, {}),
    ("controller-writes-state", "UPDATE", "workflows", _wf(labels={f"{L}completed": "true"}, status={**DONE, "synchronization": MUTEX},
                                                          finalizers=[f"{L}artifact-gc"]), _wf(status=RUNNING), CONTROLLER, None, {}),
    # the routes (#4, #5, #6, #7, #1's label and finalizer)
    ("claims-on-create", "CREATE", "workflows", _wf(status={"persistentVolumeClaims": DONE["persistentVolumeClaims"]}), None, ALICE,
     "status.persistentVolumeClaims of a new workflow", {}),
    ("claims-added", "UPDATE", "workflows", _wf(status={**RUNNING, "persistentVolumeClaims": DONE["persistentVolumeClaims"]}),
     _wf(status=RUNNING), ALICE, "deletes every claim named there", {}),
    ("lock-holder-on-create", "CREATE", "workflows", _wf(OTHER, status={"synchronization": MUTEX}), None, BOB, "status.synchronization", {}),
    ("lock-holder-added", "UPDATE", "workflows", _wf(OTHER, status={**RUNNING, "synchronization": MUTEX}), _wf(OTHER, status=RUNNING), BOB,
     "changed synchronization", {}),
    ("lock-holder-removed", "UPDATE", "workflows", _wf(status=RUNNING), _wf(status={**RUNNING, "synchronization": MUTEX}), ALICE,
     "changed synchronization", {}),
    ("compressed-nodes", "UPDATE", "workflows", _wf(status={**RUNNING, "compressedNodes": "H4sI"}), _wf(status=RUNNING), ALICE,
     "compressedNodes", {}),
    ("gc-status", "CREATE", "workflows", _wf(status={"artifactGCStatus": {"notSpecified": True}}), None, ALICE, "status.artifactGCStatus", {}),
    ("nodes-on-create", "CREATE", "workflows", _wf(status={"nodes": DONE["nodes"]}), None, ALICE, "status.nodes of a new workflow", {}),
    ("phase-on-create", "CREATE", "workflows", _wf(status={"phase": "Succeeded"}), None, ALICE, "status.phase", {}),
    ("node-added", "UPDATE", "workflows", _wf(status={**RUNNING, "nodes": DONE["nodes"]}), _wf(status=RUNNING), ALICE, "add a node", {}),
    ("node-artifact-changed", "UPDATE", "workflows", _wf(status={**DONE, "nodes": {**DONE["nodes"], "x-1": {"phase": "Failed", "outputs": {
        "artifacts": [{**ART, "s3": {"key": "other-teams"}}]}}}}), _wf(status=DONE), ALICE, "outputs.artifacts", {}),
    ("run-marked-finished", "UPDATE", "workflows", _wf(status={"phase": "Succeeded"}), _wf(status={"phase": "Running"}), ALICE,
     "may change status.phase", {}),
    ("completed-label-added", "UPDATE", "workflows", _wf(labels={f"{L}completed": "true"}, status=RUNNING), _wf(status=RUNNING), ALICE,
     "labels workflows.argoproj.io/*", {}),
    ("completed-label-elsewhere", "UPDATE", "workflows", _wf(OTHER, labels={f"{L}completed": "true"}), _wf(OTHER), BOB, "labels", {}),
    ("instance-label-changed", "UPDATE", "workflows", _wf(labels={f"{L}controller-instanceid": "b"}), _wf(labels={f"{L}controller-instanceid": "a"}),
     ALICE, "labels", {}),
    ("completed-label-on-create", "CREATE", "workflows", _wf(labels={f"{L}completed": "true", f"{L}creator": "a"}), None, ALICE,
     f"the labels {L}completed on a new workflow", {}),
    ("gc-finalizer-on-create", "CREATE", "workflows", _wf(finalizers=[f"{L}artifact-gc"]), None, ALICE, "finalizer workflows.argoproj.io/artifact-gc", {}),
    ("gc-finalizer-added", "UPDATE", "workflows", _wf(finalizers=[f"{L}artifact-gc"]), _wf(), ALICE, "finalizer", {}),
    # #15: the chart's watchdog CronWorkflow and pinned WorkflowTemplates
    ("helm-writes-cron", "UPDATE", "cronworkflows", CRON, CRON, HELM[0], None, HELM[1]),
    ("helm-deletes-template", "DELETE", "workflowtemplates", None, _wf(kind="WorkflowTemplate", name="tenant-provisioning", spec={}), HELM[0], None,
     {**HELM[1], "name": "tenant-provisioning"}),
    ("namespace-deletion", "DELETE", "cronworkflows", None, CRON, NS_CONTROLLER, None, {"name": "deadline-watchdog"}),
    ("own-cron-running-watchdog", "CREATE", "cronworkflows", {**CRON, "metadata": {"name": "mine", "namespace": NS}}, None, ALICE, None, {}),
    ("cron-suspended", "UPDATE", "cronworkflows", {**CRON, "spec": {**CRON["spec"], "suspend": True}}, CRON, ALICE,
     "only argo.templateWriters may update the cronworkflows deadline-watchdog", {}),
    ("cron-labels", "UPDATE", "cronworkflows", _wf(kind="CronWorkflow", name="deadline-watchdog", labels={"a": "b"}, spec=CRON["spec"]), CRON,
     ALICE, "only argo.templateWriters", {}),
    ("cron-deleted", "DELETE", "cronworkflows", None, CRON, ALICE, "may delete the cronworkflows deadline-watchdog", {"name": "deadline-watchdog"}),
    ("template-deleted", "DELETE", "workflowtemplates", None, _wf(kind="WorkflowTemplate", name="tenant-provisioning", spec={}), ALICE,
     "may delete the workflowtemplates tenant-provisioning", {"name": "tenant-provisioning"}),
    ("template-owner-added", "UPDATE", "workflowtemplates", _wf(kind="WorkflowTemplate", name="deadline-watchdog", spec={}, labels={"x": "y"}),
     _wf(kind="WorkflowTemplate", name="deadline-watchdog", spec={}), ALICE, "may update the workflowtemplates deadline-watchdog", {}),
    # #9: WorkflowTaskSets
    ("task-set", "CREATE", "workflowtasksets", _wf(kind="WorkflowTaskSet", spec={"tasks": {}}), None, ALICE, "WorkflowTaskSet", {}),
    ("task-set-status", "UPDATE", "workflowtasksets", _wf(kind="WorkflowTaskSet", spec={}, status={"nodes": {"x": {"phase": "Succeeded"}}}),
     _wf(kind="WorkflowTaskSet", spec={}), ALICE, "WorkflowTaskSet", {"subResource": "status"}),
    ("task-set-elsewhere", "CREATE", "workflowtasksets", _wf(OTHER, kind="WorkflowTaskSet", spec={}), None, BOB, None, {}),
    ("controller-task-set", "CREATE", "workflowtasksets", _wf(kind="WorkflowTaskSet", spec={}), None, CONTROLLER, None, {}),
    # #8: the size bound
    ("hostile-size", "CREATE", "workflows", _wf(OTHER, spec=_big(4800, 1)), None, BOB, "at most 200 templates and 2000 steps", {}),
    ("hostile-steps", "CREATE", "workflows", _wf(spec=_big(1, 2001)), None, ALICE, "at most 200 templates", {}),
    ("hostile-stored", "CREATE", "workflows", _wf(status={"storedTemplates": {f"namespaced/a/t{i}": {} for i in range(201)}}), None, ALICE,
     "at most 200 templates", {}),
    ("at-the-bound", "CREATE", "workflows", _wf(spec=_big(200, 10)), None, ALICE, None, {}),
]


@pytest.fixture
def policies(helm) -> dict[str, Any]:
    gobuild.vap_eval()
    return by_kind(render_chart(helm=helm, namespace=NS, release="cv"), "ValidatingAdmissionPolicy")


def test_only_argos_controller_writes_run_state(policies, tmp_path):
    policy = policies[f"{NS}.cv-cogniverse-token-routes-state"]
    cases = [(c[0], c[1], c[2], copy.deepcopy(c[3]), copy.deepcopy(c[4]), None, c[5], c[6],
              {"namespace": (c[3] or c[4])["metadata"]["namespace"], **c[7]}) for c in CASES]
    wrong = wrong_decisions(policy, cases, tmp_path)
    assert not wrong, "\n".join(wrong)


def test_the_charts_own_objects_are_within_the_bound(policies, helm, tmp_path):
    """Every WorkflowTemplate and CronWorkflow the chart renders passes the size bound (Helm writing it)."""
    docs = render_chart(helm=helm, namespace=NS, release="cv")
    objs = [*by_kind(docs, "WorkflowTemplate").values(), *by_kind(docs, "CronWorkflow").values()]
    cases = [(f"{o['kind']}-{o['metadata']['name']}", "CREATE", o["kind"].lower() + "s", o, None, None, HELM[0], None,
              {**HELM[1], "namespace": NS}) for o in objs]
    assert len(cases) >= 18
    wrong = wrong_decisions(policies[f"{NS}.cv-cogniverse-token-routes-state"], cases, tmp_path)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("suffix", ["argo", "locks"])
def test_the_heavy_policies_skip_what_the_bound_refuses(policies, tmp_path, suffix):
    """token-routes-argo and -locks (whose CEL walks every template and step) skip an object past the bound, which
    the state policy refuses: the 0.9 MB hostile shape costs them well under a second of vap-eval (attack21d #8:
    about 9 s before). They still decide an object within the bound."""
    policy = policies[f"{NS}.cv-cogniverse-token-routes-{suffix}"]
    hostile = _wf(spec=_big(4800, 1))
    hostile["spec"]["templates"][0]["serviceAccountName"] = "cv-cogniverse-tenant-provisioner"
    near = _wf(spec={"entrypoint": "a", "templates": [{"name": "a", "serviceAccountName": "cv-cogniverse-tenant-provisioner",
                                                       "synchronization": {"mutex": {"name": "tenant-provisioning"}}}]})
    start = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrong = wrong_decisions(policy, [("hostile", "CREATE", "workflows", hostile, None, None, ALICE, None, {"namespace": NS}),
                                     ("within", "CREATE", "workflows", near, None, None, ALICE, "", {"namespace": NS})],
                            tmp_path)
    assert not [w for w in wrong if w.startswith("hostile")], wrong
    assert [w for w in wrong if w.startswith("within")] == [], wrong
    end = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert end.ru_utime + end.ru_stime - start.ru_utime - start.ru_stime < 5


def test_the_state_policy_matches_every_namespace(policies):
    policy = policies[f"{NS}.cv-cogniverse-token-routes-state"]
    assert "namespaceSelector" not in policy["spec"]["matchConstraints"]
    assert [c["name"] for c in policy["spec"]["matchConditions"]] == ["not-the-controller"]
