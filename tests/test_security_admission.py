"""The tenant provisioner's ValidatingAdmissionPolicy, evaluated by the API server's own code.

A small Go program (tools/vap-eval) compiles the rendered policy with k8s.io/apiserver's
validating-admission-policy package (the code kube-apiserver runs, at the pinned KUBERNETES_VERSION of
versions.env) and
evaluates it on admission requests: the provisioner creating its tenant namespace and quotas is
admitted; everything issue 11 lists as an attack is denied, with the policy's message. The same
policy on a running cluster: tests/smoke/test_security.py. The program is built once and cached
(cogniverse_chart.gobuild; scripts/test.sh builds it before the fast tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from admission_utils import wrong_decisions
from cogniverse_chart import gobuild

RELEASE_NS = "cogniverse-prod"
SA = f"system:serviceaccount:{RELEASE_NS}:cogniverse-tenant-provisioner"
OWN = {"app.kubernetes.io/part-of": "cogniverse", "app.kubernetes.io/managed-by": "cogniverse-tenant-provisioning"}
PSA = "pod-security.kubernetes.io/enforce"


@pytest.fixture(scope="module")
def vapeval() -> Path:
    """tools/vap-eval: the API server's admission-policy code at the pinned Kubernetes version (cached build)."""
    return gobuild.vap_eval()


def _ns(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **(labels or {})}}}


def _in(kind: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "tenant-x", "namespace": namespace}, "spec": {}}


def _ns_obj(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


TENANT = {**OWN, "cogniverse.dev/tenant": "acme_corp"}
PROVISIONED = _ns_obj("cogniverse-acme-corp", TENANT)
FOREIGN = _ns_obj("cogniverse-foreign", {})

# (id, operation, resource, object, oldObject, namespaceObject, user, expected: None = admitted, else text of the denial)
CASES: list[tuple[str, str, str, Any, Any, Any, str, str | None]] = [
    ("create-tenant-namespace", "CREATE", "namespaces", _ns("cogniverse-acme-corp", TENANT), None, None, SA, None),
    ("reapply-tenant-namespace", "UPDATE", "namespaces", _ns("cogniverse-acme-corp", TENANT),
     _ns("cogniverse-acme-corp", TENANT), None, SA, None),
    ("quota-in-tenant", "CREATE", "resourcequotas", _in("ResourceQuota", "cogniverse-acme-corp"), None, PROVISIONED, SA, None),
    ("pvc-in-tenant", "CREATE", "persistentvolumeclaims", _in("PersistentVolumeClaim", "cogniverse-acme-corp"), None,
     PROVISIONED, SA, None),
    ("other-account-is-not-matched", "CREATE", "resourcequotas", _in("ResourceQuota", "kube-system"), None,
     _ns_obj("kube-system", {}), f"system:serviceaccount:{RELEASE_NS}:cogniverse-workflow", None),
    # attacks
    ("quota-on-kube-system", "CREATE", "resourcequotas", _in("ResourceQuota", "kube-system"), None,
     _ns_obj("kube-system", {}), SA, "may act only in tenant namespaces cogniverse-<tenant>, not in kube-system"),
    ("relabel-kube-system", "UPDATE", "namespaces", _ns("kube-system", {PSA: "privileged"}), _ns("kube-system"), None, SA,
     "may act only in tenant namespaces"),
    ("create-namespace-elsewhere", "CREATE", "namespaces", _ns("team-b", {**OWN, "cogniverse.dev/tenant": "team_b"}),
     None, None, SA, "may act only in tenant namespaces"),
    ("relabel-release-namespace", "UPDATE", "namespaces", _ns(RELEASE_NS, {PSA: "privileged"}), _ns(RELEASE_NS), None, SA,
     f"may not act on the release namespace {RELEASE_NS}"),
    ("collision-namespace", "UPDATE", "namespaces", _ns(RELEASE_NS, {**OWN, "cogniverse.dev/tenant": "prod"}),
     _ns(RELEASE_NS), None, SA, "tenant namespace collision"),
    ("collision-quota", "CREATE", "resourcequotas", _in("ResourceQuota", RELEASE_NS), None, _ns_obj(RELEASE_NS, {}), SA,
     "tenant namespace collision"),
    ("tenant-with-pod-security-label", "CREATE", "namespaces", _ns("cogniverse-evil", {**OWN, "cogniverse.dev/tenant": "evil",
                                                                                      PSA: "privileged"}),
     None, None, SA, "only with its own labels"),
    ("tenant-label-of-another-tenant", "CREATE", "namespaces", _ns("cogniverse-acme-corp", {**OWN, "cogniverse.dev/tenant": "other"}),
     None, None, SA, "only with its own labels"),
    ("relabel-tenant", "UPDATE", "namespaces", _ns("cogniverse-acme-corp", {**TENANT, PSA: "privileged"}),
     _ns("cogniverse-acme-corp", TENANT), None, SA, "may not change the labels of namespace cogniverse-acme-corp"),
    ("drop-tenant-labels", "UPDATE", "namespaces", _ns("cogniverse-acme-corp"), _ns("cogniverse-acme-corp", TENANT), None, SA,
     "may not change the labels"),
    ("delete-tenant-namespace", "DELETE", "namespaces", None, _ns("cogniverse-acme-corp", TENANT), None, SA,
     "may not delete namespaces (cogniverse-acme-corp)"),
    ("delete-tenant-quota", "DELETE", "resourcequotas", None, _in("ResourceQuota", "cogniverse-acme-corp"), PROVISIONED, SA,
     "may not delete resourcequotas"),
    ("quota-in-foreign-cogniverse-namespace", "CREATE", "resourcequotas", _in("ResourceQuota", "cogniverse-foreign"), None,
     FOREIGN, SA, "only in namespaces it provisioned, not in cogniverse-foreign"),
    ("injected-name", "CREATE", "namespaces", _ns("cogniverse-acme\n  namespace: kube-system", TENANT), None, None, SA,
     "may act only in tenant namespaces"),
]


def test_policy_admits_provisioning_and_denies_every_attack(vapeval, helm, render_chart, tmp_path):
    docs = render_chart(helm=helm, namespace=RELEASE_NS, release="cogniverse")
    (policy,) = [d.obj for d in docs if d.kind == "ValidatingAdmissionPolicy" and d.name.endswith("tenant-provisioner")]
    wrong = wrong_decisions(policy, CASES, tmp_path)
    assert not wrong, "\n".join(wrong)
