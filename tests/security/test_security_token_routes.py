"""Every route to the privileged ServiceAccounts' tokens, closed by the chart's admission policies
(templates/workflows/token-routes-admission.yaml), evaluated by the API server's own code (tools/vap-eval,
see test_security_admission.py).

An attacker who may create Workflows, CronWorkflows, WorkflowTemplates, Pods or Secrets in the release
namespace tries to run as the tenant provisioner or the deadline watchdog: every route is denied with
a message naming it, while the chart's own runs (a run of tenant-provisioning by reference, the
watchdog's CronWorkflow, Argo's controller creating their pods, the kubelet asking for their tokens)
and ordinary workflows are admitted. On the node: tests/smoke/test_security_routes.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from admission_utils import wrong_decisions
from chart_utils import by_kind, render_chart
from cogniverse_dev import argo_fields, gobuild

NS, RELEASE = "cogniverse-prod", "cv"
PROV, WATCH, STEPS = "cv-cogniverse-tenant-provisioner", "cv-cogniverse-deadline-watchdog", "cv-cogniverse-workflow"
ALICE = f"system:serviceaccount:{NS}:alice"
CONTROLLER = "system:serviceaccount:argo:argo"
ADMIN = {"groups": ["system:masters", "system:authenticated"]}


@pytest.fixture
def policies(helm) -> dict[str, Any]:
    """The chart's admission policies (rendering is cached per session), with vap-eval built."""
    gobuild.vap_eval()
    return by_kind(render_chart(helm=helm, namespace=NS, release=RELEASE), "ValidatingAdmissionPolicy")


def _obj(kind: str, spec: dict[str, Any], name: str = "x") -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": {"name": name, "namespace": NS}, "spec": spec}


def _wf(**spec: Any) -> dict[str, Any]:
    return _obj("Workflow", spec)


def _inline(**template: Any) -> dict[str, Any]:
    return _wf(entrypoint="main", templates=[{"name": "main", "container": {"image": "alpine"}, **template}])


def _steps(step: dict[str, Any]) -> dict[str, Any]:
    return _wf(entrypoint="main", templates=[{"name": "main", "steps": [[{"name": "s", **step}]]}])


RUN = {"workflowTemplateRef": {"name": "tenant-provisioning"}, "arguments": {"parameters": [{"name": "tenant-id", "value": "acme"}]}}
EVIL_STEP = {"name": "validate-tenant", "serviceAccountName": PROV, "container": {"image": "alpine", "command": ["cat", "/var/run/secrets/token"]}}
EVIL = {"entrypoint": "main", "serviceAccountName": PROV, "templates": [{**EVIL_STEP, "name": "main"}]}
INGEST = {"workflowTemplateRef": {"name": "video-ingestion"}, "arguments": {"parameters": [{"name": "tenant-id", "value": "acme"}]}}
INGEST2 = {**INGEST, "arguments": {"parameters": [{"name": "tenant-id", "value": "other"}]}}
FORGED = {"x-1": {"name": "x[0].validate-tenant", "phase": "Succeeded", "outputs": {"parameters": [{"name": "namespace", "value": "cogniverse-z"}]}}}
STORED = {**RUN, "entrypoint": "provision", "templates": [{"name": "provision", "serviceAccountName": PROV}]}


def _status(obj: dict[str, Any], **status: Any) -> dict[str, Any]:
    return {**obj, "status": status}


CREATE_NS = {"templateRef": {"name": "tenant-provisioning", "template": "create-namespace"}}
INT_ARG = {"parameters": [{"name": "p", "value": 1}]}  # Argo's typed decoder fails on it: the lenient decoding follows
MAIN = {"container": {"image": "alpine"}}

# (id, resource, object, oldObject, user, expected, extra request fields)
ARGO: list[tuple[str, str, Any, Any, str, str | None, dict[str, Any]]] = [
    ("run-provisioning", "workflows", _wf(**RUN), None, ALICE, None, {}),
    ("stop-a-run", "workflows", _wf(**RUN, shutdown="Stop"), _wf(**RUN), ALICE, None, {}),
    ("run-ingestion", "workflows", _wf(workflowTemplateRef={"name": "video-ingestion"}, entrypoint="ingest"), None, ALICE, None, {}),
    ("inline-as-steps-account", "workflows", _inline(serviceAccountName=STEPS), None, ALICE, None, {}),
    ("harmless-pod-patch", "workflows", _inline(podSpecPatch='{"priorityClassName": "low"}'), None, ALICE, None, {}),
    ("watchdog-cron", "cronworkflows", _obj("CronWorkflow", {"schedules": ["*/5 * * * *"], "workflowSpec": {
        "workflowTemplateRef": {"name": "deadline-watchdog"}, "arguments": {"parameters": [{"name": "terminate-after-seconds", "value": "600"}]}}}),
     None, ALICE, None, {}),
    ("helm-writes-template", "workflowtemplates", _obj("WorkflowTemplate", {"serviceAccountName": STEPS, "templates": [
        {"name": "create-namespace", "serviceAccountName": PROV, "resource": {"action": "apply"}}]}, "tenant-provisioning"),
     None, "kubernetes-admin", None, ADMIN),
    ("controller-writes-status", "workflows", {**_inline(serviceAccountName=PROV), "status": {"phase": "Failed"}},
     _inline(serviceAccountName=PROV), CONTROLLER, None, {}),
    # the routes
    ("inline-workflow", "workflows", _inline(serviceAccountName=PROV), None, ALICE, f"may not run as {PROV} or {WATCH}", {}),
    ("workflow-account", "workflows", _wf(serviceAccountName=WATCH, entrypoint="main", templates=[{"name": "main"}]), None, ALICE,
     "may not run as", {}),
    ("executor-account", "workflows", _wf(executor={"serviceAccountName": PROV}), None, ALICE, "may not run as", {}),
    ("template-defaults", "workflows", _wf(templateDefaults={"serviceAccountName": PROV}), None, ALICE, "may not run as", {}),
    ("account-by-expression", "workflows", _inline(serviceAccountName="{{workflow.parameters.sa}}"), None, ALICE, "never an Argo expression", {}),
    ("pod-spec-patch", "workflows", _inline(podSpecPatch=f'{{"serviceAccountName": "{PROV}"}}'), None, ALICE, "podSpecPatch", {}),
    ("pod-spec-patch-case", "workflows", _wf(podSpecPatch=f'serviceaccountname: {PROV}'), None, ALICE, "podSpecPatch", {}),
    ("pod-spec-patch-escaped", "workflows", _inline(podSpecPatch='{"\\u0073erviceAccountName": "x"}'), None, ALICE, "backslash", {}),
    ("pod-spec-patch-long-s", "workflows", _inline(podSpecPatch='{"\u017ferviceAccountName": "x"}'), None, ALICE, "non-ASCII", {}),
    ("pod-spec-patch-parameter", "workflows", _inline(podSpecPatch="{{inputs.parameters.patch}}"), None, ALICE, "podSpecPatch", {}),
    ("run-with-patch", "workflows", _wf(**RUN, podSpecPatch='{"priorityClassName": "low"}'), None, ALICE,
     "running tenant-provisioning may only reference it", {}),
    ("run-with-account", "workflows", _wf(**RUN, serviceAccountName=STEPS), None, ALICE, "may only reference it", {}),
    ("run-entrypoint", "workflows", _wf(**RUN, entrypoint="create-namespace"), None, ALICE, "may only reference it", {}),
    ("run-with-templates", "workflows", _wf(**RUN, templates=[{"name": "x", "container": {"image": "alpine"}}]), None, ALICE,
     "may only reference it", {}),
    ("run-by-cluster-ref", "workflows", _wf(workflowTemplateRef={"name": "tenant-provisioning", "clusterScope": True}), None, ALICE,
     "may only reference it", {}),
    ("other-run-as-provisioner", "workflows", _wf(workflowTemplateRef={"name": "video-ingestion"}, serviceAccountName=PROV), None,
     ALICE, "may not run as", {}),
    ("cluster-template", "workflows", _wf(workflowTemplateRef={"name": "evil", "clusterScope": True}), None, ALICE,
     "ClusterWorkflowTemplate", {}),
    ("step-template-ref", "workflows", _steps(CREATE_NS), None, ALICE, "templateRef in steps", {}),
    ("step-ref-by-expression", "workflows", _steps({"templateRef": {"name": "{{workflow.parameters.t}}", "template": "x"}}), None,
     ALICE, "templateRef", {}),
    ("dag-template-ref", "workflows", _wf(entrypoint="main", templates=[{"name": "main", "dag": {"tasks": [{"name": "t", **CREATE_NS}]}}]),
     None, ALICE, "templateRef", {}),
    ("workflow-hook", "workflows", _wf(entrypoint="main", hooks={"exit": CREATE_NS}, templates=[{"name": "main"}]), None, ALICE,
     "hooks", {}),
    ("step-hook", "workflows", _steps({"template": "x", "hooks": {"running": CREATE_NS}}), None, ALICE, "hooks", {}),
    ("inline-step", "workflows", _steps({"inline": {"serviceAccountName": PROV, "container": {"image": "alpine"}}}), None, ALICE,
     "may not run as", {}),
    ("cron-inline", "cronworkflows", _obj("CronWorkflow", {"workflowSpec": _inline(serviceAccountName=WATCH)["spec"]}), None, ALICE,
     "a cronworkflows in this namespace may not run as", {}),
    ("cron-run-with-patch", "cronworkflows", _obj("CronWorkflow", {"workflowSpec": {
        "workflowTemplateRef": {"name": "deadline-watchdog"}, "podSpecPatch": "{}"}}), None, ALICE, "running deadline-watchdog may only", {}),
    ("own-template", "workflowtemplates", _obj("WorkflowTemplate", _inline(serviceAccountName=PROV)["spec"], "mine"), None, ALICE,
     "a workflowtemplates in this namespace may not run as", {}),
    ("edit-chart-template", "workflowtemplates", _obj("WorkflowTemplate", {"templates": [{"name": "x"}]}, "tenant-provisioning"),
     _obj("WorkflowTemplate", {"templates": []}, "tenant-provisioning"), ALICE, f"only argo.templateWriters may write the WorkflowTemplate tenant-provisioning", {}),
    ("replace-watchdog-template", "workflowtemplates", _obj("WorkflowTemplate", {"templates": []}, "deadline-watchdog"), None, ALICE,
     f"{ALICE} is not one", {}),
    # Argo runs what the Workflow's status stores (attack21): a stored spec (setStoredWfSpec) or a stored
    # template (templateresolution) preset or replaced by a user runs instead of the WorkflowTemplate.
    ("stored-spec-on-create", "workflows", _status(_wf(workflowTemplateRef={"name": "video-ingestion"}), storedWorkflowTemplateSpec=EVIL),
     None, ALICE, "only Argo's workflow controller", {}),
    ("stored-spec-on-run", "workflows", _status(_wf(**RUN), storedWorkflowTemplateSpec=EVIL), None, ALICE, "status.storedWorkflowTemplateSpec", {}),
    ("stored-spec-replaced", "workflows", _status(_wf(**RUN), phase="Running", storedWorkflowTemplateSpec=EVIL),
     _status(_wf(**RUN), phase="Running", storedWorkflowTemplateSpec=STORED), ALICE, "may write the status of a run of tenant-provisioning", {}),
    # argo stop --message writes the message into the run's nodes (attack21c #13): refused, saying how to stop it
    ("stop-with-a-message", "workflows", _status(_wf(**RUN, shutdown="Stop"), phase="Running", nodes={"x": {"phase": "Running", "message": "bye"}}),
     _status(_wf(**RUN), phase="Running", nodes={"x": {"phase": "Running"}}), ALICE, "stop such a run with a plain argo stop or argo terminate", {}),
    ("stored-arguments-forged", "workflows", _status(_wf(**INGEST), storedWorkflowTemplateSpec={**INGEST, "arguments": {"parameters": []}}),
     _status(_wf(**INGEST), storedWorkflowTemplateSpec=INGEST), ALICE, "storedTemplates", {}),
    # argo submit of a run of tenant-provisioning stores its templates (validation resolves them in the
    # WorkflowTemplate's scope): admitted, since a pure run never reads them (its templates are merged into the run
    # and called by name, resolved locally: controller operator.go createTemplateContext(ResourceScopeLocal));
    # a stored template of any other WorkflowTemplate, a stored spec or any other status is refused
    ("argo-submit-of-a-run", "workflows", _status(_wf(**RUN), storedTemplates={"namespaced/tenant-provisioning/validate-tenant": {"name": "validate-tenant"}}),
     None, ALICE, None, {}),
    ("stored-template-of-another-template-on-run", "workflows",
     _status(_wf(**RUN), storedTemplates={"namespaced/video-ingestion/ingest": EVIL_STEP}), None, ALICE, "storedTemplates", {}),
    ("stored-templates-and-nodes-on-run", "workflows", _status(_wf(**RUN), nodes=FORGED,
     storedTemplates={"namespaced/tenant-provisioning/validate-tenant": {"name": "validate-tenant"}}), None, ALICE, "any status of a run", {}),
    # ... Argo's own submission (argo submit --from) stores the templates it resolved in the new Workflow: admitted,
    # unless one of them could run as a privileged account
    ("submit-stores-templates", "workflows", _status(_steps({"templateRef": {"name": "video-ingestion", "template": "ingest"}}),
                                                     storedTemplates={"namespaced/video-ingestion/ingest": {"name": "ingest", "container": {"image": "alpine"}}}),
     None, ALICE, None, {}),
    ("stored-template-on-create", "workflows", _status(_steps({"templateRef": {"name": "video-ingestion", "template": "ingest"}}),
                                                       storedTemplates={"namespaced/video-ingestion/ingest": EVIL_STEP}),
     None, ALICE, "may not run as", {}),
    ("stored-template-on-create-calls-provisioning", "workflows", _status(_wf(workflowTemplateRef={"name": "video-ingestion"}),
        storedTemplates={"namespaced/video-ingestion/ingest": {"name": "ingest", "steps": [[{"name": "s", **CREATE_NS}]]}}),
     None, ALICE, "templateRef", {}),
    ("stored-template-added", "workflows", _status(_steps({"templateRef": {"name": "video-ingestion", "template": "ingest"}}),
                                                   storedTemplates={"namespaced/video-ingestion/ingest": EVIL_STEP}),
     _steps({"templateRef": {"name": "video-ingestion", "template": "ingest"}}), ALICE, "storedTemplates", {}),
    # argo retry resets nodes and writes the stored shutdown and arguments: admitted for other workflows
    ("retry-writes-stored-arguments", "workflows", _status(_wf(**INGEST2, shutdown="Stop"), storedWorkflowTemplateSpec={**INGEST2, "shutdown": "Stop"}),
     _status(_wf(**INGEST2), storedWorkflowTemplateSpec=INGEST, nodes={"x": {"phase": "Failed"}}), ALICE, None, {}),
    ("stop-a-stored-run", "workflows", _status(_wf(**RUN, shutdown="Stop"), storedWorkflowTemplateSpec=STORED),
     _status(_wf(**RUN), storedWorkflowTemplateSpec=STORED), ALICE, None, {}),
    # ... but nobody else writes the status of a privileged run: forged node outputs would skip validate-tenant and the tenant bound
    ("forged-node-on-run", "workflows", _status(_wf(**RUN), nodes=FORGED), None, ALICE, "any status of a run of tenant-provisioning", {}),
    ("forged-node-in-run", "workflows", _status(_wf(**RUN), storedWorkflowTemplateSpec=STORED, nodes=FORGED),
     _status(_wf(**RUN), storedWorkflowTemplateSpec=STORED), ALICE, "do not retry it", {}),
    ("controller-writes-nodes", "workflows", _status(_wf(**RUN), storedWorkflowTemplateSpec=STORED, nodes=FORGED),
     _status(_wf(**RUN), storedWorkflowTemplateSpec=STORED), CONTROLLER, None, {}),
    ("controller-stores-spec", "workflows", _status(_wf(**RUN), storedWorkflowTemplateSpec=STORED), _wf(**RUN), CONTROLLER, None, {}),
    ("controller-stores-template", "workflows", _status(_wf(**RUN), storedWorkflowTemplateSpec=STORED,
                                                        storedTemplates={"namespaced/tenant-provisioning/validate-tenant": {"name": "v"}}),
     _status(_wf(**RUN), storedWorkflowTemplateSpec=STORED), CONTROLLER, None, {}),
    # A run of a privileged template keeps its spec (issue 21, A01): Argo merges the Workflow's spec into the stored one
    # again when shutdown or suspend changes (setStoredWfSpec), so new arguments would reach the resource steps after
    # validate-tenant checked the old ones, and templates added by name would run with the stored template's account.
    ("resume-a-run", "workflows", _wf(**RUN), _wf(**RUN, suspend=True), ALICE, None, {}),
    ("run-arguments-changed", "workflows", _wf(**{**RUN, "arguments": {"parameters": [{"name": "tenant-id", "value": "other"}]}}, suspend=True),
     _wf(**RUN), ALICE, "keeps its spec once created", {}),
    ("run-turned-into-another", "workflows", _status(_wf(workflowTemplateRef={"name": "video-ingestion"}, suspend=True, templates=[
        {"name": "validate-tenant", "container": {"image": "alpine", "command": ["cat", "/var/run/secrets/token"]}}]),
        storedWorkflowTemplateSpec=STORED), _status(_wf(**RUN), storedWorkflowTemplateSpec=STORED), ALICE, "keeps its spec once created", {}),
    ("workflow-turned-into-a-run", "workflows", _wf(**RUN), _wf(**INGEST), ALICE, "keeps its spec once created", {}),
    ("watchdog-run-arguments-changed", "workflows", _wf(workflowTemplateRef={"name": "deadline-watchdog"}, arguments={"parameters": [
        {"name": "terminate-after-seconds", "value": "1"}]}), _wf(workflowTemplateRef={"name": "deadline-watchdog"}), ALICE,
     "keeps its spec once created", {}),
    # A YAML tag in a podSpecPatch: Argo's YAMLToJSON decodes `!!binary <base64>` into the key serviceAccountName.
    ("pod-spec-patch-binary-tag", "workflows", _inline(podSpecPatch=f"!!binary c2VydmljZUFjY291bnROYW1l: {PROV}"), None, ALICE, "'!'", {}),
    ("pod-spec-patch-binary-key", "workflows", _wf(podSpecPatch=f"? !!binary c2VydmljZUFjY291bnROYW1l\n: {PROV}"), None, ALICE, "'!'", {}),
    # Artifact garbage collection: the controller makes a pod as artifactGC.serviceAccountName, patched by its podSpecPatch.
    ("artifact-gc-account", "workflows", _wf(artifactGC={"strategy": "OnWorkflowDeletion", "serviceAccountName": PROV}), None, ALICE,
     "artifactGC", {}),
    ("artifact-gc-pod-patch", "workflows", _wf(artifactGC={"podSpecPatch": f"!!binary c2VydmljZUFjY291bnROYW1l: {WATCH}"}), None, ALICE,
     "artifactGC", {}),
    ("artifact-gc-of-output", "workflows", _inline(outputs={"artifacts": [{"name": "a", "path": "/a", "artifactGC": {"serviceAccountName": WATCH}}]}),
     None, ALICE, "artifactGC", {}),
    ("artifact-gc-steps-account", "workflows", _wf(artifactGC={"strategy": "OnWorkflowDeletion", "serviceAccountName": STEPS,
                                                               "podSpecPatch": '{"priorityClassName": "low"}'}), None, ALICE, None, {}),
    # Argo's controller decodes a workflow leniently when its typed decoder fails (an integer in a parameter value):
    # Go's encoding/json then reads keys in any case and 'ſ' as 's' (attack21c #1). An inline template (whose keys
    # the API server keeps) may hold only Argo's exact field names.
    *[(f"inline-key-{key}", "workflows", _steps({"inline": {key: PROV, "inputs": {"parameters": [{"name": "p", "default": 1}]},
                                                      "container": {"image": "alpine"}}}), None, ALICE, "spelled exactly", {})
      for key in ("ServiceAccountName", "serviceaccountname", "\u017ferviceAccountName", "PodSpecPatch")],
    ("inline-executor-key", "workflows", _steps({"inline": {"executor": {"ServiceAccountName": PROV}, "container": {"image": "alpine"}}}),
     None, ALICE, "spelled exactly", {}),
    ("dag-inline-key", "workflows", _wf(entrypoint="main", templates=[{"name": "main", "dag": {"tasks": [
        {"name": "t", "inline": {"Executor": {"serviceAccountName": PROV}, "container": {"image": "alpine"}}}]}}]),
     None, ALICE, "spelled exactly", {}),
    ("inline-exact-keys", "workflows", _steps({"inline": {"container": {"image": "alpine"}, "inputs": {"parameters": [{"name": "p", "default": 1}]},
                                                   "executor": {"serviceAccountName": STEPS}, "metadata": {"labels": {"a": "b"}}}}),
     None, ALICE, None, {}),
    # The same decoding with Argo's minimal CRDs (install.yaml: the API server keeps every key of spec and status,
    # attack21c #2): a key anywhere Argo reads one is spelled as Argo does; the denial names it and Argo's spelling.
    *[(f"spec-key-{i}", "workflows", _wf(**{"entrypoint": "main", "arguments": INT_ARG, key: value, "templates": [{"name": "main", **MAIN}]}),
       None, ALICE, f"{key} (Argo reads it as {exact})", {}) for i, (key, exact, value) in enumerate([
           ("ServiceAccountName", "serviceAccountName", PROV), ("\u017ferviceAccountName", "serviceAccountName", PROV),
           ("PODSPECPATCH", "podSpecPatch", '{"serviceAccountName": "%s"}' % PROV), ("wor\u212aflowTemplateRef", "workflowTemplateRef", RUN["workflowTemplateRef"]),
           ("TemplateDefaults", "templateDefaults", {"serviceAccountName": PROV}), ("Templates", "templates", [{"name": "main", "serviceAccountName": PROV}]),
           ("ArtifactGC", "artifactGC", {"serviceAccountName": PROV}), ("Hooks", "hooks", {"exit": {"templateRef": CREATE_NS["templateRef"]}})])],
    ("template-defaults-key", "workflows", _wf(entrypoint="main", arguments=INT_ARG, templateDefaults={"Executor": {"serviceAccountName": PROV}},
                                                templates=[{"name": "main", **MAIN}]), None, ALICE, "Executor (Argo reads it as executor)", {}),
    ("template-defaults-inline-step", "workflows", _wf(entrypoint="main", templateDefaults={"steps": [[{"name": "s", "inline": {
        "serviceAccountName": PROV, **MAIN}}]]}, templates=[{"name": "main", **MAIN}]), None, ALICE, f"may not run as {PROV}", {}),
    ("template-key", "workflows", _inline(serviceaccountname=PROV), None, ALICE, "serviceaccountname (Argo reads it as serviceAccountName)", {}),
    ("template-executor-key", "workflows", _inline(executor={"ServiceAccountName": PROV}), None, ALICE, "spelled exactly, in its spec", {}),
    ("step-key", "workflows", _steps({"TemplateRef": CREATE_NS["templateRef"]}), None, ALICE, "spelled exactly, in its spec", {}),
    ("step-template-ref-key", "workflows", _steps({"templateRef": {"name": "video-ingestion", "template": "ingest", "ClusterScope": True}}), None, ALICE,
     "spelled exactly, in its spec", {}),
    ("step-hook-key", "workflows", _steps({"template": "x", "hooks": {"exit": {"templateref": CREATE_NS["templateRef"]}}}), None, ALICE,
     "spelled exactly, in its spec", {}),
    ("cron-workflow-spec-key", "cronworkflows", _obj("CronWorkflow", {"schedules": ["* * * * *"], "WorkflowSpec": EVIL}), None, ALICE,
     "WorkflowSpec (Argo reads it as workflowSpec)", {}),
    ("cron-key", "cronworkflows", _obj("CronWorkflow", {"schedules": ["* * * * *"], "workflowSpec": {"ServiceAccountName": PROV}}), None, ALICE,
     "ServiceAccountName (Argo reads it as serviceAccountName)", {}),
    ("template-key-in-a-workflow-template", "workflowtemplates", _obj("WorkflowTemplate", {"templates": [{"name": "a", "SERVICEACCOUNTNAME": PROV}]}),
     None, ALICE, "SERVICEACCOUNTNAME (Argo reads it as serviceAccountName)", {}),
    ("status-key", "workflows", _status(_wf(**INGEST), StoredTemplates={"namespaced/video-ingestion/ingest": EVIL_STEP}), None, ALICE,
     "StoredTemplates (Argo reads it as storedTemplates)", {}),
    ("stored-template-key", "workflows", _status(_steps({"templateRef": {"name": "video-ingestion", "template": "ingest"}}),
                                                 storedTemplates={"namespaced/video-ingestion/ingest": {"name": "ingest", "ServiceAccountName": PROV}}),
     None, ALICE, "spelled exactly, in its spec", {}),
    ("non-ascii-key", "workflows", _wf(entrypoint="main", templates=[{"name": "main", **MAIN}], **{"\u0131nline": 1}), None, ALICE,
     "synchronization: \u0131nline (Argo", {}),
    ("unknown-key-is-ignored", "workflows", _wf(entrypoint="main", arguments=INT_ARG, comment="mine", templates=[{"name": "main", **MAIN}]),
     None, ALICE, None, {}),
]


def _pod(account: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": NS},
            "spec": {"serviceAccountName": account, "containers": [{"name": "c", "image": "alpine"}]}}


def _step_pod(account: str) -> dict[str, Any]:
    """A pod as Argo's controller makes it for a step (test_security_pod_admission.py: only such pods may run as a privileged account)."""
    pod = _pod(account)
    pod["metadata"]["labels"] = {"workflows.argoproj.io/workflow": "run-1"}
    return pod


TOKEN = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {"name": PROV, "namespace": NS}, "spec": {}}
CORE: list[tuple[str, str, str, Any, Any, str, str | None, dict[str, Any]]] = [
    ("controller-creates-pod", "CREATE", "pods", _step_pod(PROV), None, CONTROLLER, None, {}),
    ("anyone-runs-steps-account", "CREATE", "pods", _pod(STEPS), None, ALICE, None, {}),
    ("kubelet-token", "CREATE", "serviceaccounts", TOKEN, None, "system:node:node-1", None, {"subResource": "token", "name": PROV}),
    ("plain-pod", "CREATE", "pods", _pod(PROV), None, ALICE, "only Argo's workflow controller (system:serviceaccount:argo:argo", {}),
    ("deployment-pod", "CREATE", "pods", _pod(WATCH), None, "system:serviceaccount:kube-system:replicaset-controller",
     "may create pods running as " + WATCH, {}),
    ("other-controller", "CREATE", "pods", _pod(PROV), None, "system:serviceaccount:other:argo", "only Argo's workflow controller", {}),
    ("token-request", "CREATE", "serviceaccounts", TOKEN, None, ALICE, f"only a kubelet may request a token of {PROV}",
     {"subResource": "token", "name": PROV}),
    ("token-secret", "CREATE", "secrets", {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                                            "metadata": {"name": "t", "namespace": NS,
                                                         "annotations": {"kubernetes.io/service-account.name": WATCH}}},
     None, ALICE, f"no token Secret may be made for {WATCH}", {}),
    ("ephemeral-container", "UPDATE", "pods", _pod(PROV), _pod(PROV), ALICE, "no ephemeral container",
     {"subResource": "ephemeralcontainers"}),
]


def test_argo_objects_cannot_run_as_a_privileged_account(policies, tmp_path):
    policy = policies[f"{NS}.cv-cogniverse-token-routes-argo"]
    cases = [(c[0], "UPDATE" if c[3] else "CREATE", c[1], copy.deepcopy(c[2]), copy.deepcopy(c[3]), None, c[4], c[5], c[6])
             for c in ARGO]
    wrong = wrong_decisions(policy, cases, tmp_path)
    assert not wrong, "\n".join(wrong)


def test_only_argo_and_the_kubelet_reach_a_privileged_token(policies, tmp_path):
    policy = policies[f"{NS}.cv-cogniverse-token-routes-core"]
    cases = [(c[0], c[1], c[2], copy.deepcopy(c[3]), copy.deepcopy(c[4]), None, c[5], c[6], c[7]) for c in CORE]
    wrong = wrong_decisions(policy, cases, tmp_path)
    assert not wrong, "\n".join(wrong)


def test_other_namespaces_are_not_matched(policies):
    for suffix in ("argo", "core"):
        cond = policies[f"{NS}.cv-cogniverse-token-routes-{suffix}"]["spec"]["matchConditions"][0]["expression"]
        assert cond == f'has(request.namespace) && request.namespace == "{NS}"'


def test_argo_controller_identity_comes_from_values(helm):
    docs = render_chart({"argo": {"controller": {"namespace": "wf", "serviceAccount": "argo-workflows-workflow-controller"}}},
                        helm=helm, namespace=NS, release=RELEASE)
    policy = by_kind(docs, "ValidatingAdmissionPolicy")[f"{NS}.cv-cogniverse-token-routes-core"]
    assert {"name": "controller", "expression": '"system:serviceaccount:wf:argo-workflows-workflow-controller"'} in policy["spec"]["variables"]


def test_the_argo_field_names_are_generated_from_argos_schemas():
    """The exact-spelling check's list of Argo's field names (templates/workflows/_argo_fields.tpl) is the one
    generated from the bundled Argo schemas of every Argo version the toolkit checks."""
    assert argo_fields.CHART_FILE.read_text() == argo_fields.render(), "regenerate it: python -m cogniverse_dev.argo_fields"
    assert argo_fields.fields()["serviceaccountname"] == "serviceAccountName"
