"""The locks of the chart's privileged and backup templates (issue 21, attack21 A02), held only by the chart's own
templates: policy `<ns>.<fullname>-token-routes-locks` (templates/workflows/token-routes-admission.yaml), evaluated
by the API server's own code (tools/vap-eval, see test_security_admission.py).

Argo keys a mutex `<namespace>/Mutex/<name>` (the mutex's own `namespace` field, else the workflow's) and a
semaphore `<namespace>/ConfigMap/<map>/<key>` (workflow/sync/lock_name.go, 3.7.18 and 4.0.7 alike), so any
Workflow that names `tenant-provisioning` holds the provisioning mutex and delays every provisioning run; from
another namespace too, through the namespace field. Every form is refused for everyone but argo.templateWriters,
while the chart's own templates, runs of them by reference (with the templates `argo submit --from` stores),
`argo stop`, database locks and the same names in other namespaces are admitted.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from admission_utils import wrong_decisions
from chart_utils import by_kind, render_chart
from cogniverse_dev import gobuild

NS, OTHER = "cogniverse-prod", "team-b"
ALICE, BOB = f"system:serviceaccount:{NS}:alice", f"system:serviceaccount:{OTHER}:bob"
CONTROLLER = "system:serviceaccount:argo:argo"
ADMIN = {"groups": ["system:masters", "system:authenticated"]}
CLAIM, SEMAPHORES = "cv-cogniverse-workflow-backups", "cv-cogniverse-workflow-semaphores"
PROVISIONING = {"mutexes": [{"name": "tenant-provisioning"}]}


def _obj(kind: str, spec: dict[str, Any], namespace: str | None = NS, name: str = "x", **status: Any) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": meta, "spec": spec, **({"status": status} if status else {})}


def _wf(sync: dict[str, Any] | None = None, namespace: str = NS, **spec: Any) -> dict[str, Any]:
    """A Workflow holding `sync` at workflow level (when given)."""
    return _obj("Workflow", {"entrypoint": "main", **({"synchronization": sync} if sync else {}), **spec}, namespace)


def _tmpl(sync: dict[str, Any], **template: Any) -> dict[str, Any]:
    """A Workflow whose template main holds `sync`."""
    return _wf(templates=[{"name": "main", "synchronization": sync, "container": {"image": "alpine"}, **template}])


def _inline(step_key: str, sync: dict[str, Any]) -> dict[str, Any]:
    inline = {"inline": {"synchronization": sync, "container": {"image": "alpine"}}}
    body = {"steps": [[{"name": "s", **inline}]]} if step_key == "steps" else {"dag": {"tasks": [{"name": "t", **inline}]}}
    return _wf(templates=[{"name": "main", **body}])


BACKUP = {"name": "backup", "synchronization": {"mutexes": [{"name": CLAIM}]}, "steps": [[{"name": "s", "template": "x"}]]}
BY_REF = {"workflowTemplateRef": {"name": "daily-backup"}}
HEAVY = {"synchronization": {"semaphores": [{"configMapKeyRef": {"name": SEMAPHORES, "key": "heavy-jobs"}}]}}
SUSPEND_FOREVER = {"name": "hold", "synchronization": PROVISIONING, "suspend": {}}
THERE = {"mutexes": [{"name": "tenant-provisioning", "namespace": NS}]}  # the release's mutex, from another namespace
HOLD_THERE = {"name": "hold", "synchronization": THERE, "suspend": {}}
INT_ARG = {"parameters": [{"name": "p", "value": 1}]}  # Argo's typed decoder fails on it: the lenient decoding follows


def _nest(key: str, depth: int, sync: dict[str, Any]) -> dict[str, Any]:
    """Template main whose step (or task) has an inline template, `depth` levels of them, the innermost holding `sync`."""
    template: dict[str, Any] = {"synchronization": sync, "container": {"image": "alpine"}}
    for _ in range(depth):
        template = {"steps": [[{"name": "s", "inline": template}]]} if key == "steps" else {"dag": {"tasks": [{"name": "t", "inline": template}]}}
    return {"name": "main", **template}

# (id, resource, object, oldObject, user, expected, extra request fields)
CASES: list[tuple[str, str, Any, Any, str, str | None, dict[str, Any]]] = [
    ("own-mutex", "workflows", _wf({"mutexes": [{"name": "my-lock"}]}), None, ALICE, None, {}),
    ("own-semaphore", "workflows", _tmpl({"semaphores": [{"configMapKeyRef": {"name": "mine", "key": "k"}}]}), None, ALICE, None, {}),
    ("parameter-with-own-prefix", "workflows", _wf({"mutexes": [{"name": "job-{{workflow.parameters.id}}"}]}), None, ALICE, None, {}),
    ("database-mutex", "workflows", _wf({"mutexes": [{"name": "tenant-provisioning", "database": True}]}), None, ALICE, None, {}),
    ("same-name-in-another-namespace", "workflows", _wf(PROVISIONING, namespace=OTHER), None, BOB, None, {}),
    ("helm-writes-daily-backup", "workflowtemplates", _obj("WorkflowTemplate", {**HEAVY, "templates": [BACKUP]}, name="daily-backup"),
     None, "kubernetes-admin", None, ADMIN),
    # argo submit --from workflowtemplate/daily-backup stores the template's own templates: never read by such a run
    ("submit-daily-backup", "workflows", _obj("Workflow", BY_REF, storedTemplates={"namespaced/daily-backup/backup": BACKUP}),
     None, ALICE, None, {}),
    ("stop-a-run-holding-a-lock", "workflows", _wf({"mutexes": [{"name": CLAIM}]}, shutdown="Stop"), _wf({"mutexes": [{"name": CLAIM}]}),
     ALICE, None, {}),
    ("retry-a-daily-backup-run", "workflows", _obj("Workflow", {**BY_REF, "shutdown": "Stop"}, storedWorkflowTemplateSpec={
        **HEAVY, "templates": [BACKUP], "shutdown": "Stop"}), _obj("Workflow", BY_REF, storedWorkflowTemplateSpec={**HEAVY, "templates": [BACKUP]}),
     ALICE, None, {}),
    ("controller-stores-templates", "workflows", _obj("Workflow", {**BY_REF, "templates": [{"name": "y"}]},
                                                      storedTemplates={"namespaced/daily-backup/backup": BACKUP}),
     _obj("Workflow", {**BY_REF, "templates": [{"name": "y"}]}), CONTROLLER, None, {}),
    # the forms
    ("workflow-mutex-3.7", "workflows", _wf({"mutex": {"name": "tenant-provisioning"}}), None, ALICE,
     "may hold the mutex tenant-provisioning, " + CLAIM, {}),
    ("workflow-mutexes", "workflows", _wf(PROVISIONING), None, ALICE, f"in namespace {NS}", {}),
    ("template-mutexes", "workflows", _tmpl(PROVISIONING), None, ALICE, "a workflows holding one", {}),
    ("template-backup-mutex", "workflows", _tmpl({"mutex": {"name": CLAIM}}), None, ALICE, "only argo.templateWriters", {}),
    ("template-defaults", "workflows", _wf(templateDefaults={"synchronization": PROVISIONING}), None, ALICE, "only argo.templateWriters", {}),
    ("inline-step", "workflows", _inline("steps", PROVISIONING), None, ALICE, "only argo.templateWriters", {}),
    ("inline-task", "workflows", _inline("dag", {"mutexes": [{"name": CLAIM}]}), None, ALICE, "only argo.templateWriters", {}),
    ("semaphore-3.7", "workflows", _wf({"semaphore": {"configMapKeyRef": {"name": SEMAPHORES, "key": "heavy-jobs"}}}), None, ALICE,
     f"a semaphore of the ConfigMap {SEMAPHORES}", {}),
    ("semaphores-any-key", "workflows", _tmpl({"semaphores": [{"configMapKeyRef": {"name": SEMAPHORES, "key": "other"}}]}), None, ALICE,
     "only argo.templateWriters", {}),
    ("name-by-parameter", "workflows", _wf({"mutexes": [{"name": "{{workflow.parameters.lock}}"}]}), None, ALICE, "only argo.templateWriters", {}),
    ("name-by-expression-suffix", "workflows", _wf({"mutexes": [{"name": "tenant-{{=sprig.trim(' provisioning')}}"}]}), None, ALICE,
     "only argo.templateWriters", {}),
    ("map-by-parameter", "workflows", _wf({"semaphores": [{"configMapKeyRef": {"name": "cv-{{inputs.parameters.m}}", "key": "k"}}]}), None,
     ALICE, "only argo.templateWriters", {}),
    ("from-another-namespace", "workflows", _wf({"mutexes": [{"name": "tenant-provisioning", "namespace": NS}]}, namespace=OTHER), None, BOB,
     "only argo.templateWriters", {}),
    ("namespace-by-parameter", "workflows", _tmpl({"mutexes": [{"name": CLAIM, "namespace": "{{workflow.parameters.ns}}"}]}) | {
        "metadata": {"name": "x", "namespace": OTHER}}, None, BOB, "only argo.templateWriters", {}),
    ("cluster-template", "clusterworkflowtemplates", _obj("ClusterWorkflowTemplate", {"templates": [SUSPEND_FOREVER]}, namespace=None),
     None, BOB, "a clusterworkflowtemplates holding one", {}),
    ("cron-workflow", "cronworkflows", _obj("CronWorkflow", {"schedules": ["* * * * *"], "workflowSpec": {"synchronization": PROVISIONING}}),
     None, ALICE, "a cronworkflows holding one", {}),
    ("own-workflow-template", "workflowtemplates", _obj("WorkflowTemplate", {"templates": [SUSPEND_FOREVER]}, name="mine"), None, ALICE,
     "a workflowtemplates holding one", {}),
    ("edit-daily-backup", "workflowtemplates", _obj("WorkflowTemplate", {"templates": [BACKUP, SUSPEND_FOREVER]}, name="daily-backup"),
     _obj("WorkflowTemplate", {"templates": [BACKUP]}, name="daily-backup"), ALICE,
     "if this is Helm installing or upgrading the chart, add its identity to argo.templateWriters", {}),
    ("lock-added-by-update", "workflows", _wf(PROVISIONING), _wf(), ALICE, "only argo.templateWriters", {}),
    # a stored template Argo reads (a templateRef of the run's own templates), or a stored spec (another namespace:
    # token-routes-argo refuses any stored spec in the release namespace)
    ("stored-template-read-by-a-ref", "workflows", _obj("Workflow", {**BY_REF, "templates": [{"name": "y", "steps": [[{
        "name": "s", "templateRef": {"name": "daily-backup", "template": "hold"}}]]}]},
        storedTemplates={"namespaced/daily-backup/hold": SUSPEND_FOREVER}), None, ALICE, "only argo.templateWriters", {}),
    ("stored-template-of-a-users-template", "workflows", _obj("Workflow", {"workflowTemplateRef": {"name": "mine"}},
                                                              storedTemplates={"namespaced/mine/hold": SUSPEND_FOREVER}),
     None, ALICE, "only argo.templateWriters", {}),
    ("stored-template-added", "workflows", _obj("Workflow", {"templates": [{"name": "y"}]}, storedTemplates={"namespaced/mine/hold": SUSPEND_FOREVER}),
     _obj("Workflow", {"templates": [{"name": "y"}]}), ALICE, "only argo.templateWriters", {}),
    # attack21c: a case-folded key in an inline template (Go's lenient decoding reads it), a null database (Argo: no
    # database, so the ConfigMap lock)
    ("inline-case-folded-sync", "workflows", _wf(namespace=OTHER, templates=[{"name": "main", "steps": [[{"name": "s", "inline": {
        "Synchronization": {"Mutexes": [{"Name": "tenant-provisioning", "Namespace": NS}]}, "container": {"image": "alpine"}}}]]}]),
     None, BOB, "spelled exactly", {}),
    ("inline-case-folded-mutex-item", "workflows", _inline("dag", {"mutexes": [{"Name": "tenant-provisioning"}]}), None, ALICE,
     "spelled exactly", {}),
    ("semaphore-database-null", "workflows", _wf({"semaphores": [{"configMapKeyRef": {"name": SEMAPHORES, "key": "heavy-jobs"},
                                                                  "database": None}]}), None, ALICE, "only argo.templateWriters", {}),
    ("semaphore-database", "workflows", _wf({"semaphores": [{"database": {"key": "my-lock"}}]}), None, ALICE, None, {}),
    ("stored-spec", "workflows", _obj("Workflow", BY_REF, OTHER, storedWorkflowTemplateSpec={"synchronization": {"mutexes": [
        {"name": "tenant-provisioning", "namespace": NS}]}}), None, BOB, "only argo.templateWriters", {}),
    # attack21c #2: Argo's minimal CRDs keep every key of a spec, which Argo's lenient decoding reads in any case
    ("spec-case-folded-sync", "workflows", _wf(namespace=OTHER, arguments=INT_ARG, SYNCHRONIZATION=THERE), None, BOB,
     "SYNCHRONIZATION (Argo reads it as synchronization)", {}),
    ("template-case-folded-sync", "workflows", _wf(templates=[{"name": "main", "Synchronization": PROVISIONING}]), None, ALICE,
     "Synchronization (Argo reads it as synchronization)", {}),
    ("template-defaults-case-folded-sync", "workflows", _wf(templateDefaults={"\u017fynchronization": PROVISIONING}), None, ALICE,
     "\u017fynchronization (Argo reads it as synchronization)", {}),
    ("mutex-case-folded-name", "workflows", _wf({"mutexes": [{"NAME": "tenant-provisioning"}]}), None, ALICE,
     "spelled exactly, in its spec", {}),
    ("cron-case-folded-workflow-spec", "cronworkflows", _obj("CronWorkflow", {"schedules": ["* * * * *"], "workflowspec": {"synchronization": THERE}},
                                                             OTHER), None, BOB, "workflowspec (Argo reads it as workflowSpec)", {}),
    # #4: the stored templates of a run of the chart's templates are exempt only in the release namespace, and only
    # under the keys of the chart's own templates
    ("stored-template-forged-for-daily-backup", "workflows", _obj("Workflow", BY_REF, OTHER, storedTemplates={"namespaced/daily-backup/evil": HOLD_THERE}),
     None, BOB, "only argo.templateWriters", {}),
    ("stored-template-own-key-elsewhere", "workflows", _obj("Workflow", BY_REF, OTHER, storedTemplates={"namespaced/daily-backup/backup": HOLD_THERE}),
     None, BOB, "only argo.templateWriters", {}),
    ("stored-template-forged-for-restore", "workflows", _obj("Workflow", {"workflowTemplateRef": {"name": "restore"}},
                                                            storedTemplates={"namespaced/restore/evil": SUSPEND_FOREVER}),
     None, ALICE, "only argo.templateWriters", {}),
    # #6, #7: inline templates nest one level (the policy looks into that level; deeper is refused), in templates and in
    # templateDefaults alike
    ("nested-inline-steps", "workflows", _wf(namespace=OTHER, templates=[_nest("steps", 2, THERE)]), None, BOB, "nest one level", {}),
    ("nested-inline-dag", "workflows", _wf(namespace=OTHER, templates=[_nest("dag", 2, THERE)]), None, BOB, "nest one level", {}),
    ("nested-inline-own-lock", "workflows", _wf(namespace=OTHER, templates=[_nest("dag", 2, {"mutexes": [{"name": "mine"}]})]), None, BOB,
     "make it a template of the workflow and call it by name", {}),
    ("nested-inline-in-template-defaults", "workflows", _wf(namespace=OTHER, templateDefaults=_nest("steps", 2, {})), None, BOB, "nest one level", {}),
    ("inline-own-lock", "workflows", _wf(namespace=OTHER, templates=[_nest("steps", 1, {"mutexes": [{"name": "mine"}]})]), None, BOB, None, {}),
    # the policy's CEL cost stays within the API server's budget on a large workflow (3,000 inline steps, each with a lock)
    ("large-workflow", "workflows", _wf(namespace=OTHER, templates=[{"name": f"t{i}", "steps": [[{"name": f"s{j}", "inline": {
        "synchronization": {"mutexes": [{"name": f"m{j}"}]}, "container": {"image": "alpine"}}} for j in range(30)]]} for i in range(100)]),
     None, BOB, None, {}),
    ("template-defaults-inline-step", "workflows", _wf(namespace=OTHER, templateDefaults=_nest("steps", 1, THERE)), None, BOB,
     "only argo.templateWriters", {}),
]


@pytest.fixture
def locks_policy(helm) -> dict[str, Any]:
    gobuild.vap_eval()
    docs = render_chart(helm=helm, namespace=NS, release="cv")
    return by_kind(docs, "ValidatingAdmissionPolicy")[f"{NS}.cv-cogniverse-token-routes-locks"]


def test_only_the_charts_templates_hold_its_locks(locks_policy, tmp_path):
    cases = [(c[0], "UPDATE" if c[3] else "CREATE", c[1], copy.deepcopy(c[2]), copy.deepcopy(c[3]), None, c[4], c[5],
              {"namespace": c[2]["metadata"].get("namespace", ""), **c[6]}) for c in CASES]
    wrong = wrong_decisions(locks_policy, cases, tmp_path)
    assert not wrong, "\n".join(wrong)


def test_the_locks_follow_the_values(helm):
    """The reserved names are the ones the chart's templates use: the existing backups claim, no heavy-jobs map
    when the semaphore is off, no provisioning mutex without tenant-provisioning."""
    values = {"workflows": {"volumes": {"backups": {"create": False, "existingClaim": "nas"}}, "heavyJobs": {"semaphore": False},
                            "templates": {"tenantProvisioning": {"enabled": False}}}}
    policy = by_kind(render_chart(values, helm=helm, namespace=NS, release="cv"), "ValidatingAdmissionPolicy")[
        f"{NS}.cv-cogniverse-token-routes-locks"]
    variables = {v["name"]: v["expression"] for v in policy["spec"]["variables"]}
    assert (variables["mutexes"], variables["semaphoreMaps"]) == ('["nas"]', "[]")
    assert not policy["spec"]["matchConstraints"].get("namespaceSelector")


def test_the_exempt_stored_templates_are_the_charts_own(locks_policy, helm):
    """A run of daily-backup, restore or tenant-provisioning by reference may carry the templates `argo submit --from`
    stores, under exactly the keys of the chart's own templates (attack21c #4): the list is read from the rendered
    WorkflowTemplates, so a template added to the chart is exempt and no other key is."""
    docs = render_chart(helm=helm, namespace=NS, release="cv")
    templates = by_kind(docs, "WorkflowTemplate")
    own = [f"namespaced/{name}/{t['name']}" for name in ("tenant-provisioning", "daily-backup", "restore")
           for t in templates[name]["spec"]["templates"]]
    variables = {v["name"]: v["expression"] for v in locks_policy["spec"]["variables"]}
    assert sorted(json.loads(variables["ownStoredKeys"])) == sorted(own)
    assert "namespaced/daily-backup/backup" in own and "namespaced/restore/verify" in own
