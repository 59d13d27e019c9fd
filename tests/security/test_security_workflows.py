"""The provisioner, tenant namespaces, backups and secrets as rendered (issue 11, classes 1, 3, 5, 7).

What the API server does with these objects is proven on a real cluster by tests/smoke/test_security.py;
here the rendered objects are checked on Helm 3 and Helm 4; Argo filling the manifests with hostile
parameters: test_security_manifests.py; the admission policy evaluated: test_security_admission.py.
"""

from __future__ import annotations

import json

from typing import Any

import pytest
from cogniverse_chart.errors import HelmError
from chart_utils import CRON_WORKFLOWS, OWN_CRON_WORKFLOWS, WORKFLOW_TEMPLATES, by_kind


PROVISIONER = "cogniverse-tenant-provisioner"

POLICY = "cogniverse.cogniverse-tenant-provisioner"


def _templates(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = obj["spec"].get("workflowSpec", obj["spec"])
    return {t["name"]: t for t in spec["templates"]}


# ---- class 1: the provisioner is confined by the API server ------------------------------------

def test_admission_policy_confines_the_provisioner_service_account(docs):
    policy = by_kind(docs, "ValidatingAdmissionPolicy")[POLICY]
    binding = by_kind(docs, "ValidatingAdmissionPolicyBinding")[POLICY]
    assert policy["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert set(rule["resources"]) == {"namespaces", "resourcequotas", "persistentvolumeclaims"}
    assert set(rule["operations"]) == {"CREATE", "UPDATE", "DELETE"}
    (cond,) = spec["matchConditions"]
    assert cond["expression"] == f'request.userInfo.username == "system:serviceaccount:cogniverse:{PROVISIONER}"'
    variables = {v["name"]: v["expression"] for v in spec["variables"]}
    assert variables["releaseNamespace"] == '"cogniverse"'
    rules = " ".join(v["expression"] for v in spec["validations"])
    assert "request.operation != 'DELETE'" in rules
    assert "^cogniverse-[a-z][a-z0-9-]{1,46}[a-z0-9]$" in rules  # the tenant id rule, as a namespace
    assert "variables.target != variables.releaseNamespace" in rules
    assert "variables.labels == variables.oldLabels" in rules  # namespace labels never changed
    assert "variables.nsLabels['cogniverse.dev/release'] == variables.releaseId" in rules  # quotas and PVCs only in its own namespaces
    assert binding["spec"] == {"policyName": POLICY, "validationActions": ["Deny"]}


def test_policy_and_cluster_role_name_the_same_account(docs):
    crb = by_kind(docs, "ClusterRoleBinding")[POLICY]
    (subject,) = crb["subjects"]
    policy = by_kind(docs, "ValidatingAdmissionPolicy")[POLICY]
    assert f"system:serviceaccount:{subject['namespace']}:{subject['name']}" in policy["spec"]["matchConditions"][0]["expression"]


def test_policy_follows_release_namespace_and_account_name(helm, render_chart):
    docs = render_chart({"workflows": {"serviceAccounts": {"tenantProvisioner": {"create": False, "name": "prov"}}}},
                        helm=helm, namespace="cogniverse-prod", release="cv")
    policy = by_kind(docs, "ValidatingAdmissionPolicy")["cogniverse-prod.cv-cogniverse-tenant-provisioner"]
    assert '"system:serviceaccount:cogniverse-prod:prov"' in policy["spec"]["matchConditions"][0]["expression"]
    assert {v["name"]: v["expression"] for v in policy["spec"]["variables"]}["releaseNamespace"] == '"cogniverse-prod"'


def test_policies_stay_without_the_chart_rbac(helm, render_chart):
    """workflows.rbac.create=false leaves the roles to a cluster admin, never the confinement (attack21d #10): the
    accounts and the WorkflowTemplates running as them are still rendered, so the policies are too."""
    docs = render_chart({"workflows": {"rbac": {"create": False}}}, helm=helm)
    assert not by_kind(docs, "ClusterRole")
    names = {n.split(".", 1)[1] for n in by_kind(docs, "ValidatingAdmissionPolicy")}
    assert names == {f"cogniverse-{p}" for p in ("tenant-provisioner", "deadline-watchdog", "token-routes-argo",
                                                  "token-routes-core", "token-routes-locks", "token-routes-state")}
    assert set(by_kind(docs, "ValidatingAdmissionPolicyBinding")) == set(by_kind(docs, "ValidatingAdmissionPolicy"))


@pytest.mark.parametrize(("key", "value"), [
    ("groups", "system:authenticated"), ("groups", "system:unauthenticated"), ("groups", "system:serviceaccounts"),
    ("groups", "system:serviceaccounts:cogniverse"), ("groups", "system:serviceaccounts:ci"),
    ("users", "system:anonymous"), ("users", "system:serviceaccount:cogniverse:cogniverse-workflow"),
    ("users", "system:serviceaccount:cogniverse:default")])
def test_template_writers_are_never_everyone(helm, render_chart, key, value):
    """argo.templateWriters may run any pod as the provisioner (by writing its template) and are exempt from the
    locks policy: a group every user or pod is in, or an account of the release namespace, is refused (attack21d #11)."""
    with pytest.raises(HelmError) as err:
        render_chart({"argo": {"templateWriters": {key: ["system:masters", value]}}}, helm=helm)
    assert f'argo.templateWriters.{key}[1] "{value}"' in str(err.value), str(err.value)


def test_template_writers_outside_the_namespace_render(helm, render_chart):
    docs = render_chart({"argo": {"templateWriters": {"users": ["system:serviceaccount:argocd:argocd-application-controller"],
                                                      "groups": ["platform-admins"]}}}, helm=helm)
    assert by_kind(docs, "ValidatingAdmissionPolicy")


def test_resource_steps_take_only_validated_values(docs):
    """In `provision`, everything reaching a manifest is an input validate-tenant was given, in the same words
    (a failed check fails the run first), never validate-tenant's reported outputs: Argo takes those from a
    WorkflowTaskResult any pod of the namespace may write (attack21 A01). The namespace is derived inside the
    manifest (never passed in), so it is always cogniverse-<id>."""
    prov = _templates(by_kind(docs, "WorkflowTemplate")["tenant-provisioning"])
    steps = {s["name"]: s for group in prov["provision"]["steps"] for s in group}
    checked = {p["name"]: p["value"] for p in steps["validate-tenant"]["arguments"]["parameters"]}
    assert checked["release-namespace"] == "{{workflow.namespace}}"
    for step in ("create-namespace", "setup-resource-quotas", "create-storage"):
        for p in steps[step]["arguments"]["parameters"]:
            assert p["value"] == checked[p["name"]] == f"{{{{inputs.parameters.{p['name']}}}}}", (step, p)
    assert "validate-tenant.outputs" not in json.dumps(prov["provision"]), "a step takes validate-tenant's reported outputs"
    for t in prov.values():
        if "resource" in t:
            assert {p["name"] for p in t["inputs"]["parameters"]} <= {"tenant-id", "storage-quota", "cpu-quota", "memory-quota"}


# ---- class 3: backups ------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["k3s", "production", "smoke"])
def test_backups_are_always_on_a_claim_and_never_side_by_side(helm, render_chart, profile):
    docs = render_chart(profile=profile, helm=helm)
    assert by_kind(docs, "CronWorkflow")["daily-backup"]["spec"]["workflowSpec"]["workflowTemplateRef"] == \
        {"name": "daily-backup"}
    backup = by_kind(docs, "WorkflowTemplate")["daily-backup"]  # what cronwf/daily-backup runs
    spec = backup["spec"]
    (vol,) = [v for v in spec["volumes"] if v["name"] == "backups"]
    assert set(vol) == {"name", "persistentVolumeClaim"}, vol
    t = _templates(backup)
    groups = [[s["name"] for s in g] for g in t["backup"]["steps"]]
    assert groups == [["backup-vespa"], ["backup-phoenix"], ["prune-backups"]]
    assert t["backup"]["synchronization"] == {"mutexes": [{"name": vol["persistentVolumeClaim"]["claimName"]}]}
    prune = {p["name"]: p["value"] for p in t["backup"]["steps"][2][0]["arguments"]["parameters"]}
    assert prune["backup-id"] == "{{workflow.name}}" and prune["components"] == "vespa,phoenix"


def test_backups_claim_is_the_existing_one_when_given(helm, render_chart):
    docs = render_chart({"workflows": {"volumes": {"backups": {"create": False, "existingClaim": "nas-backups"}}}}, helm=helm)
    spec = by_kind(docs, "WorkflowTemplate")["daily-backup"]["spec"]
    assert {"name": "backups", "persistentVolumeClaim": {"claimName": "nas-backups"}} in spec["volumes"]
    assert "cogniverse-workflow-backups" not in by_kind(docs, "PersistentVolumeClaim")


# ---- class 7: secrets by reference ------------------------------------------------------------------

def test_runner_credentials_stay_in_their_secret(helm, render_chart):
    docs = render_chart({"workflows": {"runner": {"existingSecret": "runner-creds", "extraEnv": {
        "PLAIN": "visible", "TOKEN": {"valueFrom": {"secretKeyRef": {"name": "tok", "key": "t"}}}}}}}, helm=helm)
    argo = list(by_kind(docs, "WorkflowTemplate").values())  # the CronWorkflows run one each
    crons = CRON_WORKFLOWS + OWN_CRON_WORKFLOWS
    assert len(argo) == len(WORKFLOW_TEMPLATES + crons) and len(by_kind(docs, "CronWorkflow")) == len(crons)
    for obj in argo:
        for t in _templates(obj).values():
            if "container" not in t:
                continue
            env = {e["name"]: e for e in t["container"]["env"]}
            assert env["TOKEN"] == {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "t"}}}
            assert env["PLAIN"] == {"name": "PLAIN", "value": "visible"}
            assert t["container"]["envFrom"] == [{"secretRef": {"name": "runner-creds"}}]


@pytest.mark.parametrize("component, kind, name", [("runtime", "Deployment", "cogniverse-runtime"),
                                                   ("vespa", "StatefulSet", "cogniverse-vespa"),
                                                   ("phoenix", "Deployment", "cogniverse-phoenix"),
                                                   ("llm", "Deployment", "cogniverse-llm")])
def test_component_credentials_by_reference(helm, render_chart, component, kind, name):
    ref = {"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}
    values: dict[str, Any] = {component: {"existingSecret": f"{component}-creds", "extraEnv": [ref]}}
    if component == "llm":
        values["llm"]["enabled"] = True
    docs = render_chart(values, helm=helm)
    (container,) = by_kind(docs, kind)[name]["spec"]["template"]["spec"]["containers"]
    assert ref in container["env"]
    assert container["envFrom"] == [{"secretRef": {"name": f"{component}-creds"}}]


def test_validate_tenant_keeps_the_tenant_bound_under_a_mutex(helm, render_chart):
    """No admission policy can count tenants: validate-tenant counts the release's tenant namespaces
    (as the provisioner, which may list them) and refuses past maxTenants, one run at a time."""
    docs = render_chart({"workflows": {"templates": {"tenantProvisioning": {"maxTenants": 7}}}}, helm=helm,
                        namespace="cogniverse-prod", release="cv")
    prov = _templates(by_kind(docs, "WorkflowTemplate")["tenant-provisioning"])
    assert prov["provision"]["synchronization"] == {"mutexes": [{"name": "tenant-provisioning"}]}
    (validate,) = [s for group in prov["provision"]["steps"] for s in group if s["name"] == "validate-tenant"]
    args = {p["name"]: p["value"] for p in validate["arguments"]["parameters"]}
    assert args["max-tenants"] == "7" and args["release-id"] == "cogniverse-prod.cv-cogniverse"
    assert prov["validate-tenant"]["serviceAccountName"] == "cv-cogniverse-tenant-provisioner"
    assert prov["validate-tenant"]["container"]["args"][-4:] == ["--max-tenants", "{{inputs.parameters.max-tenants}}",
                                                                 "--release-id", "{{inputs.parameters.release-id}}"]


@pytest.mark.parametrize("account", ["default", "cogniverse-workflow", "cogniverse-tenant-provisioner", "cogniverse-deadline-watchdog",
                                     "cogniverse-workflow-restore", "cogniverse"])
def test_argos_controller_is_never_an_account_of_the_namespaces_pods(helm, render_chart, account):
    """argo.controller may create pods as the privileged accounts and write any run state: in the release namespace it is
    never `default` or an account the chart creates, which the namespace's pods run as (attack21d #14); Argo's own
    account there, or an account elsewhere of any name, renders."""
    with pytest.raises(HelmError) as err:
        render_chart({"argo": {"controller": {"namespace": "cogniverse", "serviceAccount": account}}}, helm=helm, namespace="cogniverse")
    assert f'argo.controller.serviceAccount "{account}" in the release namespace cogniverse' in str(err.value), str(err.value)
    render_chart({"argo": {"controller": {"namespace": "cogniverse", "serviceAccount": "argo"}}}, helm=helm, namespace="cogniverse")
    render_chart({"argo": {"controller": {"namespace": "argo", "serviceAccount": account}}}, helm=helm, namespace="cogniverse")
