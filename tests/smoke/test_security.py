"""Security on a real cluster (issues 11 and 21): the API server confines the tenant provisioner's
account by content, no Workflow reaches past tenant-provisioning's validation, and backups land on a
real volume with their completion markers. The token routes, garbage-collector and cross-release
attacks: test_security_routes.py.

A release of its own is installed into namespace `cogniverse-sec<hex>`, so that tenant `sec<hex>`
collides with the release namespace. Values: values/smoke.yaml, with the backups PVC created by the
chart (on the default StorageClass; installed without --wait, which would wait for a
WaitForFirstConsumer claim forever).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from cogniverse_chart import CHART_DIR
from cogniverse_chart.argo import ArgoClient, WorkflowResult
from cogniverse_chart.argo.client import load_kube_config
from cogniverse_chart.helm import find_helm
from smokelib import (RELEASE, SESSION_NAMESPACES, SMOKE_VALUES, WAIT_TIMEOUT, Background, SmokeRelease, WorkflowWatcher,
                      await_admission_policy, default_storage_class, explain, impersonating, refusal)

pytestmark = pytest.mark.smoke

SUFFIX = secrets.token_hex(3)
NAMESPACE = f"cogniverse-sec{SUFFIX}"
COLLIDING_TENANT = f"sec{SUFFIX}"  # its namespace cogniverse-sec<hex> is the release namespace
TENANT = f"secok_{SUFFIX}"
TENANT_NS = f"cogniverse-secok-{SUFFIX}"
FOREIGN_NS = f"cogniverse-foreign{SUFFIX}"  # a cogniverse-* namespace the provisioner did not make
PROVISIONER = f"{RELEASE}-tenant-provisioner"
QUOTAS = {"cpu-quota": "1", "memory-quota": "1Gi", "storage-quota": "1Gi"}
PSA = "pod-security.kubernetes.io/enforce"


_early: dict[str, Any] = {}


def start_early(kubeconfig: str) -> None:
    """Called by conftest.py when the session starts: install the release, take the snapshot of what lies
    outside tenant namespaces, then submit every independent workflow of this module at once (the direct
    calls, the colliding tenant, the legitimate provisioning, the first backup). The hostile Workflows
    follow the legitimate provisioning (one of them relabels its namespace), the second backup the first."""
    _early["install"] = Background("security-release", lambda: _install_and_submit(kubeconfig))
    _early["hostile"] = Background("security-hostile", _after_provisioning)
    _early["backups"] = Background("security-backups", _backups)


def _install_and_submit(kubeconfig: str) -> SmokeRelease:
    from kubernetes import client

    load_kube_config(kubeconfig)
    core_api = client.CoreV1Api()
    rel = SmokeRelease(NAMESPACE, RELEASE, find_helm(), kubeconfig, ArgoClient(client.CustomObjectsApi(), NAMESPACE), 0.0)
    override = Path(os.environ.get("TMPDIR", "/tmp")) / f"cogniverse-sec-{SUFFIX}.yaml"
    override.write_text(yaml.safe_dump({"workflows": {"volumes": {"backups": {"create": True, "existingClaim": "",
                                                                              "size": "16Mi"}}}}))
    core_api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=FOREIGN_NS)))
    rel.tenant_namespaces.update({TENANT_NS, FOREIGN_NS, f"cogniverse-evil{SUFFIX}"})
    _early["release"] = rel  # torn down by the fixture even when the install fails
    try:
        rel.helm_run("upgrade", "--install", RELEASE, str(CHART_DIR), "--create-namespace",
                     "--values", str(SMOKE_VALUES), "--values", str(override), "--timeout", "5m")
    finally:
        override.unlink(missing_ok=True)
    rel.watcher = WorkflowWatcher(rel.argo.api, NAMESPACE)
    _early["snapshot"] = _snapshot(core_api)
    _early["release-labels"] = dict(core_api.read_namespace(NAMESPACE).metadata.labels or {})
    injected = "acme\n  namespace: kube-system\n  labels: {" + PSA + ": privileged}"
    direct = {
        # an injected id stays one (invalid) name: nothing is created anywhere
        "injected-namespace": _direct("create-namespace", injected),
        "injected-quota": _direct("setup-resource-quotas", injected),
        # the release namespace is not a tenant namespace, even with a well-formed id
        "collision-namespace": _direct("create-namespace", COLLIDING_TENANT),
        "collision-quota": _direct("setup-resource-quotas", COLLIDING_TENANT),
    }
    await_admission_policy(NAMESPACE, "workflows", _direct("create-namespace", TENANT))  # the policies are in force
    _early["direct"] = {k: _create_or_refusal(rel, wf) for k, wf in direct.items()}
    _early["colliding"] = rel.argo.submit("tenant-provisioning", {"tenant-id": COLLIDING_TENANT,
                                                                  "tenant-name": "Collide", **QUOTAS})
    _early["provisioning"] = rel.argo.submit("tenant-provisioning", {"tenant-id": TENANT, "tenant-name": "Sec Tenant",
                                                                     **QUOTAS})
    _early["backup-1"] = rel.argo.trigger("daily-backup")
    return rel


HOSTILE_QUOTA = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "hostile"},
                 "spec": {"hard": {"pods": "0"}}}
PRIVILEGED = {"metadata": {"labels": {PSA: "privileged"}}}
#: What the provisioner's account tries (as the API server sees it: impersonation), and the rule refusing it.
HOSTILE = {
    # a zero-pod quota on kube-system
    "quota-kube-system": (lambda c: c.create_namespaced_resource_quota("kube-system", HOSTILE_QUOTA),
                          "may act only in tenant namespaces"),
    # relabel the release namespace: switch Pod Security off
    "relabel-release": (lambda c: c.patch_namespace(NAMESPACE, PRIVILEGED), "release namespace"),
    "pvc-in-release": (lambda c: c.create_namespaced_persistent_volume_claim(NAMESPACE, {
        "metadata": {"name": "hostile"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}}}),
        "release namespace"),
    # a cogniverse-* namespace this release did not provision
    "quota-foreign": (lambda c: c.create_namespaced_resource_quota(FOREIGN_NS, HOSTILE_QUOTA),
                      "only in namespaces its own release provisioned"),
    # a tenant namespace made with Pod Security switched off
    "create-privileged-ns": (lambda c: c.create_namespace({"metadata": {
        "name": f"cogniverse-evil{SUFFIX}", "labels": {"cogniverse.dev/tenant": f"evil{SUFFIX}", PSA: "privileged",
                                                    "app.kubernetes.io/managed-by": "cogniverse-tenant-provisioning"}}}),
        "only with exactly its own labels"),
    # relabel an existing tenant namespace
    "relabel-tenant": (lambda c: c.patch_namespace(TENANT_NS, PRIVILEGED), "may not change them"),
}


def _create_or_refusal(rel: SmokeRelease, wf: dict[str, Any]) -> str:
    """The Workflow's name when the API server admits it, else "refused: <its message>"."""
    from cogniverse_chart.errors import ToolkitError

    try:
        return rel.argo.create_workflow(wf)
    except ToolkitError as exc:
        return f"refused: {exc}"


def _after_provisioning() -> dict[str, Any]:
    """The legitimate provisioning's result; once it succeeded, the snapshot and the tenant's labels, then
    the hostile Workflows, all at once."""
    from kubernetes import client

    rel = _early["install"].join()
    r = rel.wait(_early["provisioning"])
    if r.phase != "Succeeded":
        return {"provisioned": r}
    core_api = client.CoreV1Api()
    facts = {"provisioned": r, "before": _snapshot(core_api),
             "tenant-labels": dict(core_api.read_namespace(TENANT_NS).metadata.labels)}
    provisioner = client.CoreV1Api(impersonating(f"system:serviceaccount:{NAMESPACE}:{PROVISIONER}"))
    facts["refusals"] = {}
    for case, (attempt, _) in HOSTILE.items():
        try:
            facts["refusals"][case] = refusal(lambda: attempt(provisioner))
        except AssertionError as exc:
            facts["refusals"][case] = f"admitted: {exc}"
    return facts


def _backups() -> list[WorkflowResult]:
    """Two daily-backup runs, the second after the first (its prune sees both)."""
    rel = _early["install"].join()
    first = rel.wait(_early["backup-1"])
    if first.phase != "Succeeded":
        return [first]
    return [first, rel.wait(rel.argo.trigger("daily-backup"))]


@pytest.fixture(scope="module")
def sec(kube_cluster: Any, core_api: Any) -> Iterator[SmokeRelease]:
    from kubernetes import client

    if "install" not in _early:  # selected without the session hook
        start_early(kube_cluster.kube_config_path)
    try:
        yield _early["install"].join()
    finally:
        rel = _early.get("release")
        if rel is not None:
            if rel.watcher:
                rel.watcher.stop()
            rel.helm_run("uninstall", RELEASE, "--wait", check=False)
            for ns in (NAMESPACE, *rel.tenant_namespaces):
                try:
                    core_api.delete_namespace(ns)
                except client.exceptions.ApiException as exc:
                    if exc.status != 404:
                        raise


def _snapshot(core_api: Any) -> dict[str, Any]:
    """Everything the provisioner could touch outside tenant namespaces: namespace labels, quotas, PVCs."""
    # Outside tenant namespaces means: the namespaces that were there before the session (kube-system,
    # default, argo, ...) and this module's own. The other smoke modules run beside this one and change
    # their own namespaces meanwhile. Namespaces already being deleted (another run's teardown) may
    # vanish meanwhile: not ours to judge.
    ours = lambda ns: ns in SESSION_NAMESPACES or ns in (NAMESPACE, FOREIGN_NS)  # noqa: E731
    tenant = lambda ns: ns.startswith("cogniverse-") and ns != NAMESPACE and ns != FOREIGN_NS  # noqa: E731
    watched = lambda ns: ours(ns) and not tenant(ns)  # noqa: E731
    return {
        "namespaces": {n.metadata.name: dict(n.metadata.labels or {}) for n in core_api.list_namespace().items
                       if watched(n.metadata.name) and (n.status.phase or "Active") == "Active"},
        "quotas": sorted((q.metadata.namespace, q.metadata.name, json.dumps(q.spec.hard, sort_keys=True))
                         for q in core_api.list_resource_quota_for_all_namespaces().items
                         if watched(q.metadata.namespace)),
        "pvcs": sorted((p.metadata.namespace, p.metadata.name)
                       for p in core_api.list_persistent_volume_claim_for_all_namespaces().items
                       if watched(p.metadata.namespace)),
    }


def _direct(entrypoint: str, tenant_id: str) -> dict[str, Any]:
    """A Workflow running one of tenant-provisioning's resource templates as its entrypoint, skipping validate-tenant."""
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"generateName": f"direct-{entrypoint}-"},
        "spec": {"workflowTemplateRef": {"name": "tenant-provisioning"}, "entrypoint": entrypoint,
                 "arguments": {"parameters": [{"name": "tenant-id", "value": tenant_id},
                                              {"name": "tenant-name", "value": "Direct"},
                                              *({"name": k, "value": v} for k, v in QUOTAS.items())]}},
    }


@pytest.fixture(scope="module")
def provisioned(sec: SmokeRelease) -> WorkflowResult:
    """A legitimate tenant, provisioned with the admission policy in force (it must not get in the way)."""
    r = _early["hostile"].join()["provisioned"]
    assert r.phase == "Succeeded", explain(r)
    return r


def test_policy_leaves_legitimate_provisioning_alone(sec, provisioned, core_api):
    ns = core_api.read_namespace(TENANT_NS)
    assert ns.metadata.labels["cogniverse.dev/tenant"] == TENANT
    assert PSA not in ns.metadata.labels
    assert [q.metadata.name for q in core_api.list_namespaced_resource_quota(TENANT_NS).items] == ["tenant-quota"]


def test_the_provisioner_account_is_confined_by_the_api_server(sec, provisioned, core_api):
    facts = _early["hostile"].join()  # snapshot and tenant labels taken before the attempts
    wrong = {case: msg for case, msg in facts["refusals"].items() if HOSTILE[case][1] not in msg}
    assert not wrong, wrong
    assert _snapshot(core_api) == facts["before"], "the provisioner's account changed something outside tenant namespaces"
    assert dict(core_api.read_namespace(TENANT_NS).metadata.labels) == facts["tenant-labels"]
    assert not core_api.list_namespaced_resource_quota(FOREIGN_NS).items
    assert f"cogniverse-evil{SUFFIX}" not in {n.metadata.name for n in core_api.list_namespace().items}


def test_calling_the_resource_steps_directly_is_refused(sec, core_api):
    """A run of tenant-provisioning that starts at a resource step (skipping validate-tenant) is
    refused before it is created (token-routes-admission.yaml), whatever its tenant id."""
    for key, outcome in _early["direct"].items():
        assert outcome.startswith("refused: ") and "may only reference it" in outcome, (key, outcome)
    assert _snapshot(core_api) == _early["snapshot"], "a direct call changed something outside tenant namespaces"
    assert dict(core_api.read_namespace(NAMESPACE).metadata.labels or {}) == _early["release-labels"]
    assert not [n.metadata.name for n in core_api.list_namespace().items if n.metadata.name.startswith("cogniverse-acme")]
    assert not core_api.list_namespaced_resource_quota(NAMESPACE).items


def test_tenant_colliding_with_the_release_namespace_fails_validation(sec, core_api):
    r = sec.wait(_early["colliding"])  # submitted right after the install and its snapshot
    assert r.phase == "Failed", explain(r)
    validate = r.node("validate-tenant")
    assert validate is not None and validate.phase == "Failed", explain(r)
    assert "is the release namespace" in validate.message, validate.message
    assert r.node("create-namespace") is None, explain(r)
    assert _snapshot(core_api) == _early["snapshot"]


# ---- backups on a real volume ----------------------------------------------------------------------

def _volume_dir(core_api: Any, namespace: str, claim: str) -> Path | None:
    """The host folder of a local-path (hostPath/local) volume, when this machine is the node."""
    pvc = core_api.read_namespaced_persistent_volume_claim(claim, namespace)
    if not pvc.spec.volume_name:
        return None
    pv = core_api.read_persistent_volume(pvc.spec.volume_name)
    path = (pv.spec.host_path and pv.spec.host_path.path) or (pv.spec.local and pv.spec.local.path)
    return Path(path) if path and Path(path).is_dir() else None


def test_daily_backup_writes_complete_backups_to_the_claim(sec, core_api):
    sc = default_storage_class(sec.kubeconfig)
    if sc is None:
        pytest.skip("backups: the cluster has no default StorageClass for the backups claim (local-path provides one)")
    runs = _early["backups"].join(2 * WAIT_TIMEOUT)  # the second triggered when the first had finished
    for r in runs:
        assert r.phase == "Succeeded", explain(r)
    assert len(runs) == 2
    for r in runs:
        assert r.node("backup-vespa").outputs["backup-path"] == f"/backups/{r.name}/vespa"
        assert r.node("backup-phoenix").outputs["backup-path"] == f"/backups/{r.name}/phoenix"
    prune = runs[1].node("prune-backups").outputs
    assert prune == {"pruned-count": "0", "kept-count": "2"}, prune  # both are within retention
    claim = f"{RELEASE}-workflow-backups"
    root = _volume_dir(core_api, NAMESPACE, claim)
    if root is None:
        print(f"backups: the {sc} volume is not on this machine; checked the step outputs only")
        return
    for r in runs:
        for component in ("vespa", "phoenix"):
            data = json.loads((root / r.name / component / "data.json").read_text())
            assert data["component"] == component
            marker = root / r.name / f"{component}.complete"  # the backup's manifest, written last
            assert marker.is_file(), f"{marker} missing"
            manifest = json.loads(marker.read_text())
            assert manifest["backup-id"] == r.name and manifest["component"] == component, manifest
            assert marker.stat().st_mtime >= (root / r.name / component / "data.json").stat().st_mtime
    assert sorted(p.name for p in root.iterdir()) == sorted(r.name for r in runs)


def test_backups_claim_survives_uninstall(sec, core_api):
    """Last in the module: the backups PVC carries helm.sh/resource-policy keep."""
    claim = f"{RELEASE}-workflow-backups"
    sec.helm_run("uninstall", RELEASE, "--wait", "--timeout", "5m")
    pvc = core_api.read_namespaced_persistent_volume_claim(claim, NAMESPACE)
    assert pvc.metadata.deletion_timestamp is None, "helm uninstall deleted the backups claim"
