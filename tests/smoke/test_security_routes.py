"""The privileged accounts on a real cluster (issue 21): the routes to their tokens, the attacks that
make Kubernetes' garbage collector delete for them, and one release reaching another.

Two releases of the chart (values/smoke.yaml), A and B, each in a fresh namespace; A provisions a
tenant by the chart's own workflow (admitted by every policy, on the real API server). Then, as the
API server sees them (impersonation, like `kubectl --as`):
  - alice, an admin of A's namespace, tries every route to the provisioner's and the watchdog's
    tokens: each is refused by the chart's admission policies, naming the rule;
  - A's provisioner tries what once deleted a tenant namespace and its claim within 30 s (an
    ownerReference to an object that does not exist, a finalizer), scheduling annotations, a quota of
    1000Pi, a claim bound to a chosen volume: each is refused and the tenant is intact;
  - B's provisioner tries to change, re-quota and take over A's tenant: refused.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from smokelib import (RELEASE, Background, SmokeRelease, WAIT_TIMEOUT, explain, impersonating, install_release,
                      refusal, remove_release)

pytestmark = [pytest.mark.smoke, pytest.mark.group("node")]

TENANT = "routes_t"
TENANT_NS = "cogniverse-routes-t"
PROV, WATCH = f"{RELEASE}-tenant-provisioner", f"{RELEASE}-deadline-watchdog"
QUOTAS = {"cpu-quota": "1", "memory-quota": "1Gi", "storage-quota": "1Gi"}
_early: dict[str, Any] = {}
#: A container Pod Security restricted admits, so only the chart's policy can refuse the pod.
RESTRICTED = {"securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 1000,
                                  "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}


def _setup(kubeconfig: str) -> dict[str, Any]:
    from kubernetes import client

    a = install_release(kubeconfig, "cvsec-a")
    _early["a"] = a
    b = install_release(kubeconfig, "cvsec-b")
    _early["b"] = b
    a.tenant_namespaces.add(TENANT_NS)
    rbac = client.RbacAuthorizationV1Api()
    core = client.CoreV1Api()
    core.create_namespaced_service_account(a.namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="alice")))
    rbac.create_namespaced_role(a.namespace, {
        "metadata": {"name": "alice"},
        "rules": [{"apiGroups": ["argoproj.io"], "resources": ["workflows", "cronworkflows", "workflowtemplates"], "verbs": ["*"]},
                  {"apiGroups": [""], "resources": ["pods", "secrets", "serviceaccounts/token", "pods/ephemeralcontainers"],
                   "verbs": ["create", "get", "patch", "update"]}]})
    rbac.create_namespaced_role_binding(a.namespace, {
        "metadata": {"name": "alice"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "alice"},
        "subjects": [{"kind": "ServiceAccount", "name": "alice", "namespace": a.namespace}]})
    provisioned = a.wait(a.argo.submit("tenant-provisioning", {"tenant-id": TENANT, "tenant-name": "Routes", **QUOTAS}))
    return {"a": a, "b": b, "provisioned": provisioned}


def start_early(kubeconfig: str) -> None:
    _early["setup"] = Background("security-routes", lambda: _setup(kubeconfig))


@pytest.fixture(scope="module")
def two(kube_cluster: Any) -> Iterator[dict[str, Any]]:
    if "setup" not in _early:
        start_early(kube_cluster.kube_config_path)
    try:
        yield _early["setup"].join(2 * WAIT_TIMEOUT)
    finally:
        for key in ("b", "a"):
            if key in _early:
                remove_release(_early[key])


@pytest.fixture(scope="module")
def tenant(two: dict[str, Any]) -> SmokeRelease:
    """A's tenant, provisioned by the chart's own workflow with every policy in force."""
    assert two["provisioned"].phase == "Succeeded", explain(two["provisioned"])
    return two["a"]


def _as(user: str) -> tuple[Any, Any]:
    from kubernetes import client

    api = impersonating(user)
    return client.CoreV1Api(api), client.CustomObjectsApi(api)


def _wf(ns: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "route-", "namespace": ns},
            "spec": spec}


def test_every_route_to_a_privileged_token_is_refused(two, tenant):
    ns = tenant.namespace
    core, custom = _as(f"system:serviceaccount:{ns}:alice")
    inline = [{"name": "main", "container": {"image": "cogniverse/smoke-runner:0.1.0", "command": ["true"]}}]
    wf = lambda body: lambda: custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflows", body)  # noqa: E731
    cases = {
        "inline Workflow": (wf(_wf(ns, entrypoint="main", serviceAccountName=PROV, templates=inline)), f"may not run as {PROV}"),
        "podSpecPatch": (wf(_wf(ns, entrypoint="main", templates=[{**inline[0], "podSpecPatch": f'{{"serviceAccountName":"{PROV}"}}'}])),
                         "podSpecPatch"),
        "entrypoint into a resource step": (wf(_wf(ns, workflowTemplateRef={"name": "tenant-provisioning"}, entrypoint="create-namespace")),
                                            "may only reference it"),
        "CronWorkflow": (lambda: custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "cronworkflows", {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": {"name": "route"},
            "spec": {"schedules": ["* * * * *"], "workflowSpec": {"entrypoint": "main", "serviceAccountName": WATCH, "templates": inline}}}),
            f"may not run as {PROV} or {WATCH}"),
        "edited WorkflowTemplate": (lambda: custom.patch_namespaced_custom_object(
            "argoproj.io", "v1alpha1", ns, "workflowtemplates", "tenant-provisioning", {"metadata": {"labels": {"x": "y"}},
                                                                                         "spec": {"entrypoint": "create-namespace"}}),
            "only argo.templateWriters"),  # this policy's or the locks policy's refusal, whichever the API server reports
        "plain Pod": (lambda: core.create_namespaced_pod(ns, {
            "metadata": {"name": "route"}, "spec": {"serviceAccountName": PROV, "containers": [{"name": "c", "image": "x", **RESTRICTED}]}}),
            "only Argo's workflow controller"),
        "TokenRequest": (lambda: core.create_namespaced_service_account_token(PROV, ns, {"spec": {}}),
                         f"only a kubelet may request a token of {PROV}"),
        # attack21: what Argo runs from a Workflow's status, a YAML tag in a podSpecPatch, artifact GC, the old pod field
        "stored spec": (wf({**_wf(ns, workflowTemplateRef={"name": "video-ingestion"}),
                            "status": {"storedWorkflowTemplateSpec": {"entrypoint": "main", "serviceAccountName": PROV, "templates": inline}}}),
                        "only Argo's workflow controller"),
        "stored template": (wf({**_wf(ns, entrypoint="main", templates=[
                                    {"name": "main", "steps": [[{"name": "s", "templateRef": {"name": "video-ingestion", "template": "ingest"}}]]}]),
                                "status": {"storedTemplates": {"namespaced/video-ingestion/ingest": {**inline[0], "name": "ingest",
                                                                                                     "serviceAccountName": PROV}}}}),
                            f"may not run as {PROV}"),
        "forged step outputs": (wf({**_wf(ns, workflowTemplateRef={"name": "tenant-provisioning"}), "status": {"nodes": {
            "x": {"id": "x", "type": "Pod", "name": "x[0].validate-tenant", "phase": "Succeeded", "outputs": {"parameters": [{"name": "namespace", "value": "cogniverse-x"}]}}}}}),
            # refused by token-routes-argo and by token-routes-state; the API server names whichever it ran first
            ("any status of a run of tenant-provisioning", "a new workflow carries only the status.storedTemplates")),
        "podSpecPatch YAML tag": (wf(_wf(ns, entrypoint="main", templates=[{**inline[0], "podSpecPatch": f"!!binary c2VydmljZUFjY291bnROYW1l: {PROV}"}])),
                                  "podSpecPatch"),
        "artifact GC": (wf(_wf(ns, entrypoint="main", templates=inline, artifactGC={"strategy": "OnWorkflowDeletion", "serviceAccountName": PROV})),
                        "artifactGC"),
        "Pod by spec.serviceAccount": (lambda: core.create_namespaced_pod(ns, {
            "metadata": {"name": "route-old"}, "spec": {"serviceAccount": PROV, "containers": [{"name": "c", "image": "x", **RESTRICTED}]}}),
            "only Argo's workflow controller"),
        # attack21d #4, #5, #15: run state only Argo's controller writes, the watchdog only templateWriters change
        "claims Argo would delete": (wf({**_wf(ns, entrypoint="main", templates=inline), "status": {"persistentVolumeClaims": [
            {"name": "b", "persistentVolumeClaim": {"claimName": "cogniverse-backups"}}]}}), "status.persistentVolumeClaims of a new workflow"),
        "forged lock holder": (wf({**_wf(ns, entrypoint="main", templates=inline), "status": {"synchronization": {"mutex": {"holding": [
            {"mutex": f"{ns}/Mutex/tenant-provisioning", "holder": "x"}]}}}}), "status.synchronization"),
        "watchdog suspended": (lambda: custom.patch_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "cronworkflows", "deadline-watchdog",
                                                                             {"spec": {"suspend": True}}),
                               "only argo.templateWriters may update the cronworkflows deadline-watchdog"),
        "watchdog deleted": (lambda: custom.delete_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "cronworkflows", "deadline-watchdog"),
                             "only argo.templateWriters may delete the cronworkflows deadline-watchdog"),
        "token Secret": (lambda: core.create_namespaced_secret(ns, {
            "metadata": {"name": "route", "annotations": {"kubernetes.io/service-account.name": WATCH}},
            "type": "kubernetes.io/service-account-token"}), f"no token Secret may be made for {WATCH}"),
    }
    wrong = {}
    for route, (call, expected) in cases.items():
        try:
            message = refusal(call)
        except AssertionError as exc:
            wrong[route] = str(exc)
            continue
        if not any(e in message for e in ((expected,) if isinstance(expected, str) else expected)):
            wrong[route] = message
    assert not wrong, wrong
    # the same admin's ordinary Workflow is admitted (then removed)
    name = custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflows",
                                                  _wf(ns, entrypoint="main", templates=inline, suspend=True))["metadata"]["name"]
    # ... but a metadata-only update marking it finished (attack21d #7: Argo would release its locks and stop running it) is not
    completed = refusal(lambda: custom.patch_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflows", name, {
        "metadata": {"labels": {"workflows.argoproj.io/completed": "true"}}}))
    assert "labels workflows.argoproj.io/*" in completed, completed
    custom.delete_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflows", name)


def test_the_provisioner_cannot_make_kubernetes_delete_its_tenant(two, tenant):
    core, _ = _as(f"system:serviceaccount:{tenant.namespace}:{PROV}")
    gone = {"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "7d0a2f43-0000-4000-8000-000000000000"}]}
    cases = {
        "owner on the namespace": (lambda: core.patch_namespace(TENANT_NS, {"metadata": gone}), "ownerReferences"),
        "owner on the claim": (lambda: core.patch_namespaced_persistent_volume_claim("tenant-data", TENANT_NS, {"metadata": gone}),
                               "ownerReferences"),
        "finalizer": (lambda: core.patch_namespace(TENANT_NS, {"metadata": {"finalizers": ["example.com/never"]}}), "finalizers"),
        "node selector": (lambda: core.patch_namespace(TENANT_NS, {"metadata": {"annotations": {
            "scheduler.alpha.kubernetes.io/node-selector": "gpu=true"}}}), "annotations"),
        "quota 1000Pi": (lambda: core.patch_namespaced_resource_quota("tenant-quota", TENANT_NS, {
            "spec": {"hard": {"requests.storage": "1000Pi"}}}), "tenant-quota"),
        "no pods": (lambda: core.patch_namespaced_resource_quota("tenant-quota", TENANT_NS, {"spec": {"hard": {"pods": "0"}}}),
                    "pods=50"),
        "another team's volume": (lambda: core.create_namespaced_persistent_volume_claim(TENANT_NS, {
            "metadata": {"name": "tenant-data-2", "labels": {k: v for k, v in core.read_namespace(TENANT_NS).metadata.labels.items()
                                                             if k != "kubernetes.io/metadata.name"}},
            "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": "team-b", "resources": {"requests": {"storage": "1Mi"}}}}),
            "never spec.volumeName"),
        # RBAC gives it no delete verb (refused before admission); the policy would refuse it too
        "delete": (lambda: core.delete_namespace(TENANT_NS), "cannot delete resource"),
    }
    wrong = {route: msg for route, (call, expected) in cases.items() if expected not in (msg := refusal(call))}
    assert not wrong, wrong
    time.sleep(5)  # the garbage collector took under 30 s before; nothing may be pending now
    from kubernetes import client

    admin = client.CoreV1Api()
    ns = admin.read_namespace(TENANT_NS)
    pvc = admin.read_namespaced_persistent_volume_claim("tenant-data", TENANT_NS)
    assert ns.metadata.deletion_timestamp is None and not ns.metadata.owner_references
    assert pvc.metadata.deletion_timestamp is None and not pvc.metadata.owner_references
    assert admin.read_namespaced_resource_quota("tenant-quota", TENANT_NS).spec.hard["pods"] == "50"


def test_one_release_cannot_reach_another(two, tenant):
    b = two["b"]
    core, _ = _as(f"system:serviceaccount:{b.namespace}:{PROV}")
    theirs = dict(core.read_namespace(TENANT_NS).metadata.labels)
    a_id = theirs["cogniverse.dev/release"]
    assert a_id == f"{tenant.namespace}.{RELEASE}"
    cases = {
        "re-apply A's tenant": (lambda: core.patch_namespace(TENANT_NS, {"metadata": {"labels": theirs}}), "only objects of its own release"),
        "re-quota A's tenant": (lambda: core.patch_namespaced_resource_quota("tenant-quota", TENANT_NS, {
            "spec": {"hard": {"requests.cpu": "2"}}}), "only objects of its own release"),
        "a quota in A's tenant": (lambda: core.create_namespaced_resource_quota(TENANT_NS, {
            "metadata": {"name": "tenant-quota-b", "labels": {**theirs, "cogniverse.dev/release": f"{b.namespace}.{RELEASE}"}},
            "spec": {"hard": {"pods": "0"}}}), "only in namespaces its own release provisioned"),
        "forge A's identity": (lambda: core.create_namespace({"metadata": {"name": "cogniverse-routes-forged", "labels": {
            **{k: v for k, v in theirs.items() if k != "kubernetes.io/metadata.name"}, "cogniverse.dev/tenant": "routes_forged"}}}),
            "only with exactly its own labels"),
        "A's release namespace": (lambda: core.patch_namespace(tenant.namespace, {"metadata": {"labels": {"x": "y"}}}),
                                  "may act only in tenant namespaces"),
    }
    wrong = {route: msg for route, (call, expected) in cases.items() if expected not in (msg := refusal(call))}
    assert not wrong, wrong
    assert core.read_namespace(TENANT_NS).metadata.labels == theirs


def _fnv32a(text: str) -> int:
    """Argo's node id hash (Workflow.NodeID: fnv-1a, 32 bits, of the node's name)."""
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def test_a_forged_step_result_changes_nothing(two, tenant):
    """attack21 A01: the steps' account may write any WorkflowTaskResult of the namespace (Argo's executor needs
    it), and Argo takes a node's outputs from it. Written over and over while a real run of tenant-provisioning
    goes on, a result naming another tenant reaches validate-tenant's node in the run's status, yet the run
    provisions exactly the tenant it was asked for: no step reads validate-tenant's reported outputs."""
    from kubernetes import client

    ns, forged = tenant.namespace, "forged_t"
    tenant.tenant_namespaces.update({"cogniverse-forge-t", "cogniverse-forged-t"})
    from cogniverse_chart.argo.client import ArgoClient

    # submitted by alice, who is no argo.templateWriter: a plain run holds the provisioning mutex through the template
    run = ArgoClient(_as(f"system:serviceaccount:{ns}:alice")[1], ns).submit(
        "tenant-provisioning", {"tenant-id": "forge_t", "tenant-name": "Forge", **QUOTAS})
    node_id = f"{run}-{_fnv32a(f'{run}[0].validate-tenant')}"
    _, steps = _as(f"system:serviceaccount:{ns}:{RELEASE}-workflow")
    outputs = {"parameters": [{"name": "tenant-id", "value": forged}, {"name": "namespace", "value": "cogniverse-forged-t"},
                              {"name": "storage-quota", "value": "1Gi"}, {"name": "cpu-quota", "value": "2"},
                              {"name": "memory-quota", "value": "1Gi"}]}
    seen, deadline = False, time.monotonic() + WAIT_TIMEOUT
    while time.monotonic() < deadline:
        body = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTaskResult", "outputs": outputs,
                "metadata": {"name": node_id, "labels": {"workflows.argoproj.io/workflow": run}}}
        try:
            steps.create_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflowtaskresults", body)
        except client.ApiException as exc:
            assert exc.status == 409, exc.body  # the executor's own, or ours: patch it
            steps.patch_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflowtaskresults", node_id, {"outputs": outputs})
        wf = tenant.argo.get("workflows", run)
        node = wf.get("status", {}).get("nodes", {}).get(node_id, {})
        seen = seen or forged in str(node.get("outputs", {}))
        if wf.get("status", {}).get("phase") in ("Succeeded", "Failed", "Error"):
            break
        time.sleep(0.2)
    result = tenant.argo.status(run)
    assert result.phase == "Succeeded", explain(result)
    assert seen, "the forged result never reached the run's status: the attack was not tried"
    admin = client.CoreV1Api()
    assert admin.read_namespace("cogniverse-forge-t").metadata.labels["cogniverse.dev/tenant"] == "forge_t"
    assert admin.read_namespaced_resource_quota("tenant-quota", "cogniverse-forge-t").spec.hard["requests.cpu"] == "1"
    assert not [n for n in admin.list_namespace().items if n.metadata.name == "cogniverse-forged-t"]


def test_a_running_run_and_the_locks_stay_the_charts(two, tenant):
    """A run of tenant-provisioning keeps its spec (Argo re-merges it on suspend: new arguments or templates added by
    name would run after validate-tenant); only the chart's templates hold its locks, from any namespace (A02)."""
    from kubernetes import client

    a, b = tenant.namespace, two["b"].namespace
    rbac = client.RbacAuthorizationV1Api()
    rbac.create_namespaced_role(b, {"metadata": {"name": "alice-a"}, "rules": [  # alice may write Workflows in B's namespace too
        {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["*"]}]})
    rbac.create_namespaced_role_binding(b, {
        "metadata": {"name": "alice-a"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "alice-a"},
        "subjects": [{"kind": "ServiceAccount", "name": "alice", "namespace": a}]})
    _, custom = _as(f"system:serviceaccount:{a}:alice")
    create = lambda ns, spec: lambda: custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflows", _wf(ns, **spec))  # noqa: E731
    run = two["provisioned"].name
    hold = {"entrypoint": "main", "templates": [{"name": "main", "suspend": {}}]}
    cases = {
        "new arguments for a run": (lambda: custom.patch_namespaced_custom_object("argoproj.io", "v1alpha1", a, "workflows", run, {
            "spec": {"suspend": True, "arguments": {"parameters": [{"name": "tenant-id", "value": "other_t"}]}}}), "keeps its spec once created"),
        "a run turned into another workflow": (lambda: custom.patch_namespaced_custom_object("argoproj.io", "v1alpha1", a, "workflows", run, {
            "spec": {"suspend": True, "workflowTemplateRef": {"name": "video-ingestion"}, "templates": [
                {"name": "validate-tenant", "container": {"image": "cogniverse/smoke-runner:0.1.0", "command": ["true"]}}]}}),
            "keeps its spec once created"),
        "provisioning mutex": (create(a, {**hold, "synchronization": {"mutexes": [{"name": "tenant-provisioning"}]}}),
                               "only argo.templateWriters (the chart's own templates) may hold the mutex tenant-provisioning"),
        "provisioning mutex from B's namespace": (create(b, {**hold, "synchronization": {"mutexes": [{"name": "tenant-provisioning", "namespace": a}]}}),
                                                  f"in namespace {a}"),
    }
    wrong = {route: msg for route, (call, expected) in cases.items() if expected not in (msg := refusal(call))}
    assert not wrong, wrong
    # Argo 3.7's singular form: refused; Argo 4.0's schema has no such field, so the API server drops it (no lock)
    heavy = {**hold, "synchronization": {"semaphore": {"configMapKeyRef": {"name": f"{RELEASE}-workflow-semaphores", "key": "heavy-jobs"}}}}
    try:
        created = custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", a, "workflows", _wf(a, **heavy))
    except client.ApiException as exc:
        assert "only argo.templateWriters" in exc.body, exc.body
    else:
        custom.delete_namespaced_custom_object("argoproj.io", "v1alpha1", a, "workflows", created["metadata"]["name"])
        assert not created["spec"].get("synchronization"), created["spec"]
    # the same user's own mutex is theirs, in either namespace
    for ns, name in ((a, "alice-lock"), (b, "alice-lock")):
        body = _wf(ns, **hold, synchronization={"mutexes": [{"name": name}]}, shutdown="Terminate")
        created = custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflows", body)["metadata"]["name"]
        custom.delete_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflows", created)


def test_a_case_folded_account_key_is_refused(two, tenant):
    """attack21c #1/#2: an integer parameter default makes Argo's controller decode a Workflow with Go's encoding/json,
    which reads `ServiceAccountName` (any case, 'ſ' as 's') as serviceAccountName. An inline template keeps such a key
    even with Argo's full CRDs (this node's): the API server refuses it (the chart's spelling check), so no
    Workflow exists and no pod runs as the provisioner."""
    from kubernetes import client

    ns = tenant.namespace
    _, custom = _as(f"system:serviceaccount:{ns}:alice")
    steps = lambda key: [{"name": "main", "steps": [[{"name": "s", "inline": {  # noqa: E731
        "inputs": {"parameters": [{"name": "p", "default": 1}]}, key: PROV,
        "container": {"image": "cogniverse/smoke-runner:0.1.0", "command": ["cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"]}}}]]}]
    before = {p.metadata.name for p in client.CoreV1Api().list_namespaced_pod(ns).items if p.spec.service_account_name == PROV}
    for key in ("ServiceAccountName", "\u017ferviceAccountName"):
        body = {**_wf(ns, entrypoint="main", templates=steps(key)), "metadata": {"generateName": "route-fold-", "namespace": ns}}
        message = refusal(lambda: custom.create_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflows", body))
        # this release's policies or the locks policy of another release on the node, whichever the API server reports
        assert "may hold only Argo's own field names, spelled exactly" in message, message
    workflows = custom.list_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "workflows")["items"]
    assert not [w for w in workflows if w["metadata"]["name"].startswith("route-fold-")]
    after = {p.metadata.name for p in client.CoreV1Api().list_namespaced_pod(ns).items if p.spec.service_account_name == PROV}
    assert after <= before, after - before
