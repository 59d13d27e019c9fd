"""Pods Argo's controller makes that are not steps, and pods that reach the node (attack21d #1, #2, #3), judged by
the chart's token-routes policies through the API server's own admission code (tools/vap-eval, see
test_security_token_routes.py).

- #1/#2: Argo's artifact garbage collection makes a pod (label workflows.argoproj.io/component=artifact-gc) as
  the account a node output's artifactGC names, which a user may forge into a Workflow's status or a step's
  WorkflowTaskResult: the pod is refused as a privileged account, and so are the forged status and result.
- #3: a Workflow mounting hostPath, joining the host's namespaces or running privileged reads every pod's token on
  the node: such pods are refused in the release namespace (Pod Security baseline's host items), while every pod
  of the chart's own (services, the helm test, the workflow steps) is admitted under every shipped values file.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from admission_utils import wrong_decisions
from chart_utils import by_kind, pod_specs, render_chart, workflow_spec
from cogniverse_chart import CHART_DIR, PROFILES_DIR
from cogniverse_dev import gobuild

NS, RELEASE = "cogniverse-prod", "cv"
PROV, WATCH, STEPS = "cv-cogniverse-tenant-provisioner", "cv-cogniverse-deadline-watchdog", "cv-cogniverse-workflow"
ALICE = f"system:serviceaccount:{NS}:alice"
CONTROLLER = "system:serviceaccount:argo:argo"
CORE, ARGO = f"{NS}.cv-cogniverse-token-routes-core", f"{NS}.cv-cogniverse-token-routes-argo"


@pytest.fixture
def policies(helm) -> dict[str, Any]:
    gobuild.vap_eval()
    return by_kind(render_chart(helm=helm, namespace=NS, release=RELEASE), "ValidatingAdmissionPolicy")


def _pod(account: str, *, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
         name: str = "p", **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if labels is not None:
        meta["labels"] = labels
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"serviceAccountName": account, "containers": [{"name": "main", "image": "alpine"}], **spec}}


STEP = {"workflows.argoproj.io/workflow": "run-1", "workflows.argoproj.io/completed": "false"}
# The pod Argo 4.0.7 made on the node for alice's workflow (attack21d live2: l1-artgc-artgc-wfcomp-597493050).
GC = {**STEP, "workflows.argoproj.io/component": "artifact-gc"}
GC_ANN = {"workflows.argoproj.io/artifact-gc-strategy": "OnWorkflowCompletion"}
TOOLBOX = {"name": "main", "image": "cogniverse/toolbox:1.0", "command": ["sh", "-c", "cat /var/run/secrets/kubernetes.io/servic*/token"]}


def _privileged(**container: Any) -> dict[str, Any]:
    return _pod(STEPS, labels=STEP, containers=[{"name": "main", "image": "alpine", **container}])


# (id, operation, resource, object, user, expected denial or None, extra)
PODS: list[tuple[str, str, str, Any, str, str | None, dict[str, Any]]] = [
    ("provisioning-step", "CREATE", "pods", _pod(PROV, labels=STEP, annotations={"workflows.argoproj.io/node-id": "run-1-1"}),
     CONTROLLER, None, {}),
    ("watchdog-step", "CREATE", "pods", _pod(WATCH, labels=STEP), CONTROLLER, None, {}),
    ("gc-pod-as-provisioner", "CREATE", "pods", _pod(PROV, name="l1-artgc-artgc-wfcomp-597493050", labels=GC, annotations=GC_ANN,
                                                     containers=[TOOLBOX], automountServiceAccountToken=True),
     CONTROLLER, "Argo's artifact garbage collection and agent pods", {}),
    ("gc-pod-as-watchdog", "CREATE", "pods", _pod(WATCH, labels=GC, annotations=GC_ANN), CONTROLLER, "must be a step pod", {}),
    # artifactGC.podMetadata may overwrite the component label's value (not remove it) and add labels
    ("gc-pod-relabelled", "CREATE", "pods", _pod(PROV, labels={**GC, "workflows.argoproj.io/component": ""}, annotations=GC_ANN),
     CONTROLLER, "must be a step pod", {}),
    ("gc-pod-by-annotation", "CREATE", "pods", _pod(PROV, labels=STEP, annotations=GC_ANN), CONTROLLER, "must be a step pod", {}),
    ("agent-pod", "CREATE", "pods", _pod(PROV, labels={**STEP, "workflows.argoproj.io/component": "agent"}), CONTROLLER,
     "must be a step pod", {}),
    ("no-workflow-label", "CREATE", "pods", _pod(PROV), CONTROLLER, "label workflows.argoproj.io/workflow", {}),
    ("gc-pod-as-steps-account", "CREATE", "pods", _pod(STEPS, labels=GC, annotations=GC_ANN), CONTROLLER, None, {}),
    # #3: the host, from a Workflow (Argo's controller creates the pod) or directly
    ("host-path", "CREATE", "pods", _pod(STEPS, labels=STEP, volumes=[{"name": "h", "hostPath": {"path": "/var/lib/kubelet/pods"}}]),
     CONTROLLER, "spec.volumes[h].hostPath", {}),
    ("host-network", "CREATE", "pods", _pod(STEPS, labels=STEP, hostNetwork=True), CONTROLLER, "spec.hostNetwork", {}),
    ("host-pid-ipc", "CREATE", "pods", _pod(STEPS, hostPID=True, hostIPC=True), ALICE, "spec.hostPID, spec.hostIPC", {}),
    ("privileged", "CREATE", "pods", _privileged(securityContext={"privileged": True}), CONTROLLER,
     "spec.containers[main].securityContext.privileged", {}),
    ("capability", "CREATE", "pods", _privileged(securityContext={"capabilities": {"add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}}),
     CONTROLLER, "spec.containers[main].securityContext.capabilities.add", {}),
    ("baseline-capability", "CREATE", "pods", _privileged(securityContext={"capabilities": {"add": ["CHOWN", "SETUID"]}}), ALICE, None, {}),
    ("ptrace", "CREATE", "pods", _privileged(securityContext={"capabilities": {"add": ["SYS_PTRACE"]}}), ALICE, "capabilities.add (beyond Pod Security baseline)", {}),
    ("host-port", "CREATE", "pods", _privileged(ports=[{"containerPort": 80, "hostPort": 80}]), ALICE, "ports[].hostPort", {}),
    ("proc-mount", "CREATE", "pods", _privileged(securityContext={"procMount": "Unmasked"}), ALICE, "procMount", {}),
    ("privileged-init", "CREATE", "pods", _pod(STEPS, initContainers=[{"name": "init", "image": "alpine", "securityContext": {"privileged": True}}]),
     CONTROLLER, "spec.initContainers[init].securityContext.privileged", {}),
    ("privileged-ephemeral", "UPDATE", "pods", _pod(STEPS, ephemeralContainers=[{"name": "dbg", "image": "alpine",
                                                                             "securityContext": {"privileged": True}}]),
     ALICE, "spec.ephemeralContainers[dbg].securityContext.privileged", {"subResource": "ephemeralcontainers"}),
    ("restricted-pod", "CREATE", "pods", _privileged(securityContext={"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                                                      "privileged": False, "allowPrivilegeEscalation": False},
                                                     ports=[{"containerPort": 80}]), ALICE, None, {}),
]


def _result(account: str) -> dict[str, Any]:
    """The WorkflowTaskResult a step of alice's workflow patched (attack21d l6: node id <wf>-fnv32a(name))."""
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTaskResult", "metadata": {"name": "l6-696980514", "namespace": NS},
            "outputs": {"artifacts": [{"name": "a", "s3": {"key": "k", "bucket": "b", "endpoint": "127.0.0.1:1", "insecure": True},
                                       "artifactGC": {"strategy": "OnWorkflowCompletion", "serviceAccountName": account}}]}}


RESULTS = [
    ("forged-result", "UPDATE", "workflowtaskresults", _result(PROV), STEPS, "outputs.artifacts[].artifactGC.serviceAccountName", {}),
    ("forged-result-create", "CREATE", "workflowtaskresults", _result(WATCH), ALICE, "may not name", {}),
    ("steps-result", "CREATE", "workflowtaskresults", _result(STEPS), STEPS, None, {}),
]


def _forged_workflow(account: str) -> dict[str, Any]:
    """alice's Workflow l1 (attack21d live2's l1.json): a completed-looking run whose status names the account."""
    patch = json.dumps({"containers": [TOOLBOX]})
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "l1-artgc", "namespace": NS, "labels": {"workflows.argoproj.io/completed": "true"},
                         "finalizers": ["workflows.argoproj.io/artifact-gc"]},
            "spec": {"entrypoint": "main", "serviceAccountName": STEPS, "artifactGC": {"strategy": "OnWorkflowCompletion", "podSpecPatch": patch},
                     "templates": [{"name": "main", "container": {"image": "cogniverse/toolbox:1.0", "command": ["true"]}}]},
            "status": {"phase": "Succeeded", "nodes": {"l1-artgc-1": {
                "id": "l1-artgc-1", "name": "l1-artgc", "type": "Pod", "templateName": "main", "phase": "Succeeded",
                "outputs": {"artifacts": [{"name": "a", "s3": {"key": "k", "bucket": "b"},
                                           "artifactGC": {"strategy": "OnWorkflowCompletion", "serviceAccountName": account}}]}}}}}


def _without_status(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "status"}


WORKFLOWS = [
    ("forged-status-provisioner", "CREATE", "workflows", _forged_workflow(PROV), None, ALICE, "status.nodes[].outputs.artifacts[].artifactGC", {}),
    ("forged-status-watchdog", "CREATE", "workflows", _forged_workflow(WATCH), None, ALICE, "artifact garbage collection", {}),
    ("forged-status-update", "UPDATE", "workflows", _forged_workflow(PROV), _without_status(_forged_workflow(PROV)), ALICE,
     "may write status.nodes", {}),
    ("status-steps-account", "CREATE", "workflows", _forged_workflow(STEPS), None, ALICE, None, {}),
]


def test_artifact_gc_and_agent_pods_never_run_as_a_privileged_account(policies, tmp_path):
    cases = [(c[0], c[1], c[2], copy.deepcopy(c[3]), None, None, c[4], c[5], c[6]) for c in PODS + RESULTS]
    wrong = wrong_decisions(policies[CORE], cases, tmp_path)
    assert not wrong, "\n".join(wrong)


def test_a_workflows_status_may_not_name_a_privileged_gc_account(policies, tmp_path):
    cases = [(c[0], c[1], c[2], copy.deepcopy(c[3]), copy.deepcopy(c[4]), None, c[5], c[6], c[7]) for c in WORKFLOWS]
    wrong = wrong_decisions(policies[ARGO], cases, tmp_path)
    assert not wrong, "\n".join(wrong)


def _step_pods(docs) -> list[tuple[str, dict[str, Any]]]:
    """Pods Argo's controller would make for the chart's own templates: each container or script template with its
    securityContext, volumes (the workflow's and its own) and account, plus Argo's init and wait containers."""
    out = []
    for kind in ("WorkflowTemplate", "CronWorkflow"):
        for name, obj in by_kind(docs, kind).items():
            spec = workflow_spec(obj)
            for t in spec.get("templates") or []:
                main = t.get("container") or t.get("script")
                if not main:
                    continue
                pod = {"serviceAccountName": t.get("serviceAccountName") or spec.get("serviceAccountName") or "default",
                       "volumes": (spec.get("volumes") or []) + (t.get("volumes") or []),
                       "initContainers": [{"name": "init", "image": "argoexec"}, *(t.get("initContainers") or [])],
                       "containers": [{"name": "wait", "image": "argoexec"}, {**main, "name": "main"}, *(t.get("sidecars") or [])]}
                if t.get("securityContext") or spec.get("securityContext"):
                    pod["securityContext"] = t.get("securityContext") or spec.get("securityContext")
                out.append((f"{name}/{t['name']}", pod))
    return out


VALUES_FILES = sorted(PROFILES_DIR.glob("*.yaml")) + sorted((CHART_DIR / "ci").glob("*-values.yaml"))


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_charts_own_pods_pass(helm, values_file, tmp_path):
    import yaml

    gobuild.vap_eval()
    docs = render_chart(yaml.safe_load(values_file.read_text()) or {}, helm=helm, namespace=NS, release=RELEASE)
    policy = by_kind(docs, "ValidatingAdmissionPolicy").get(CORE)
    if policy is None:
        assert not by_kind(docs, "WorkflowTemplate"), f"{values_file}: workflows without the token-routes policies"
        return
    pods = [(n, s) for n, s in pod_specs(docs) + _step_pods(docs)]
    assert pods
    cases = []
    for i, (name, spec) in enumerate(pods):
        obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": NS, "labels": STEP}, "spec": spec}
        cases.append((f"{i}:{name}", "CREATE", "pods", obj, None, None, CONTROLLER, None))
    wrong = wrong_decisions(policy, cases, tmp_path)
    assert not wrong, "\n".join(wrong)
