"""Workflow ServiceAccounts and RBAC: one account per purpose, exactly the rules Argo's executor and
tenant provisioning need, no wildcards, names scoped to the release; and the Argo API presence check."""

from __future__ import annotations

import pytest

from cogniverse_chart import CHART_DIR
from cogniverse_chart.errors import HelmError
from chart_utils import CRON_WORKFLOWS, OWN_CRON_WORKFLOWS, all_argo, by_kind, render_chart, templates, workflow_spec


def _rbac(docs):
    return {kind: by_kind(docs, kind) for kind in ("ServiceAccount", "Role", "RoleBinding", "ClusterRole",
                                                   "ClusterRoleBinding")}


def _workflow_rbac(docs):
    return [d for d in docs if "templates/workflows/" in d.source
            and d.kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ServiceAccount")]


def test_one_service_account_per_purpose(helm):
    sas = {d.name for d in _workflow_rbac(render_chart(helm=helm)) if d.kind == "ServiceAccount"}
    assert sas == {"cogniverse-workflow", "cogniverse-tenant-provisioner", "cogniverse-deadline-watchdog",
                   "cogniverse-workflow-restore"}  # the restore's: tests/chart/test_backup_restore.py


def test_executor_role_is_exactly_workflowtaskresults_create_patch(helm):
    rbac = _rbac(render_chart(helm=helm))
    role = rbac["Role"]["cogniverse-workflow-executor"]
    assert role["rules"] == [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"],
                              "verbs": ["create", "patch"]}]
    binding = rbac["RoleBinding"]["cogniverse-workflow-executor"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "cogniverse-workflow-executor"}
    assert {(s["name"], s["namespace"]) for s in binding["subjects"]} == {
        ("cogniverse-workflow", "cogniverse"), ("cogniverse-tenant-provisioner", "cogniverse"),
        ("cogniverse-deadline-watchdog", "cogniverse")}


def test_cluster_role_only_covers_tenant_provisioning(helm):
    rbac = _rbac(render_chart(helm=helm))
    wf_cluster_roles = {n: r for n, r in rbac["ClusterRole"].items() if "tenant-provisioner" in n}
    assert list(wf_cluster_roles) == ["cogniverse.cogniverse-tenant-provisioner"]
    rules = wf_cluster_roles["cogniverse.cogniverse-tenant-provisioner"]["rules"]
    assert rules == [
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "create", "patch"]},
        {"apiGroups": [""], "resources": ["resourcequotas", "persistentvolumeclaims"],
         "verbs": ["get", "create", "patch", "update"]},
    ]
    binding = rbac["ClusterRoleBinding"]["cogniverse.cogniverse-tenant-provisioner"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "cogniverse-tenant-provisioner",
                                    "namespace": "cogniverse"}]


def test_no_wildcards_in_any_workflow_rule(helm):
    for d in _workflow_rbac(render_chart(helm=helm)):
        for rule in d.obj.get("rules") or []:
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert "*" not in (rule.get(field) or []), f"{d.ref}: wildcard in {field}"
            assert "nonResourceURLs" not in rule


def test_rbac_names_are_scoped_to_the_release(helm):
    a = {(d.kind, d.name) for d in _workflow_rbac(render_chart(helm=helm))}
    b = {(d.kind, d.name) for d in _workflow_rbac(render_chart(helm=helm, release="other", namespace="team-b"))}
    assert not a & b, f"two releases would share {a & b}"
    cluster = [n for k, n in b if k.startswith("Cluster")]
    assert cluster and all(n.startswith("team-b.other-") for n in cluster)


def test_workflows_use_the_steps_account_and_only_resource_steps_use_the_provisioner(helm):
    """...and validate-tenant, which counts the release's tenants (list namespaces) for the tenant bound."""
    docs = render_chart(helm=helm)
    for obj in all_argo(docs):
        own = {"deadline-watchdog": "cogniverse-deadline-watchdog",  # test_deadline_watchdog.py
               "restore": "cogniverse-workflow-restore"}  # test_backup_restore.py
        assert workflow_spec(obj)["serviceAccountName"] == own.get(obj["metadata"]["name"], "cogniverse-workflow")
        for name, t in templates(obj).items():
            if "resource" in t or (obj["metadata"]["name"], name) == ("tenant-provisioning", "validate-tenant"):
                assert t["serviceAccountName"] == "cogniverse-tenant-provisioner"
            else:
                assert "serviceAccountName" not in t


def test_existing_service_accounts_can_be_used(helm):
    docs = render_chart({"workflows": {"serviceAccounts": {"steps": {"create": False, "name": "my-steps"}}}}, helm=helm)
    assert "my-steps" not in by_kind(docs, "ServiceAccount")
    wft = by_kind(docs, "WorkflowTemplate")
    assert workflow_spec(wft["batch-optimization"])["serviceAccountName"] == "my-steps"
    subjects = by_kind(docs, "RoleBinding")["cogniverse-workflow-executor"]["subjects"]
    assert {"kind": "ServiceAccount", "name": "my-steps", "namespace": "cogniverse"} in subjects


def test_existing_service_account_without_name_is_refused(helm):
    with pytest.raises(HelmError, match="workflows.serviceAccounts.steps.name is required"):
        render_chart({"workflows": {"serviceAccounts": {"steps": {"create": False}}}}, helm=helm)


def test_rbac_can_be_left_to_the_cluster_admin(helm):
    """The roles and bindings, not the admission policies (test_security_workflows.py)."""
    docs = render_chart({"workflows": {"rbac": {"create": False}}}, helm=helm)
    assert not [d for d in _workflow_rbac(docs) if d.kind != "ServiceAccount"]


# --- Argo API presence check (real helm) ------------------------------------------------------------

def test_client_only_render_needs_no_argo_api_flag(helm):
    """`helm template` cannot see the cluster: the Argo check runs only on a connected install."""
    docs = render_chart(helm=helm, api_versions=())
    assert len(by_kind(docs, "CronWorkflow")) == len(CRON_WORKFLOWS + OWN_CRON_WORKFLOWS) and by_kind(docs, "WorkflowTemplate")


def test_argo_check_fails_only_when_connected_and_names_the_fix():
    """The check is gated on `lookup` (empty when client-only) and its message says how to fix it."""
    text = (CHART_DIR / "templates/workflows/argo-api-check.yaml").read_text(encoding="utf-8")
    guard = next(line for line in text.splitlines() if line.startswith("{{- if "))
    assert 'lookup "v1" "Namespace" "" "kube-system"' in guard
    assert '.Capabilities.APIVersions.Has "argoproj.io/v1alpha1"' in guard
    assert "--install-argo" in text and "workflows.enabled=false" in text and "argo.requireCRDs=false" in text


def test_with_argo_api_present_the_chart_renders(helm):
    assert by_kind(render_chart(helm=helm, api_versions=("argoproj.io/v1alpha1",)), "WorkflowTemplate")


def test_require_crds_false_renders_without_the_api(helm):
    docs = render_chart({"argo": {"requireCRDs": False}}, helm=helm, api_versions=())
    assert len(by_kind(docs, "CronWorkflow")) == len(CRON_WORKFLOWS + OWN_CRON_WORKFLOWS)
