"""The tenant provisioner's ValidatingAdmissionPolicy, evaluated by the API server's own code.

A small Go program (tools/vap-eval) compiles the rendered policy with k8s.io/apiserver's
validating-admission-policy package (the code kube-apiserver runs, at the pinned KUBERNETES_VERSION of
versions.env) and evaluates it on admission requests: the provisioner creating and re-applying its
tenant namespace, quota and claims is admitted; every attack of issues 11 and 21 is denied with the
policy's message: deletion by the garbage collector (ownerReferences, finalizers), scheduling
annotations, another release's objects, quotas and claims beyond the values. The same policy on a
running cluster: tests/smoke/test_security.py. The program is built once and cached
(cogniverse_dev.gobuild; scripts/test.sh builds it before the fast tests).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from admission_utils import wrong_decisions
from chart_utils import by_kind
from cogniverse_dev import gobuild

RELEASE_NS = "cogniverse-prod"
SA = f"system:serviceaccount:{RELEASE_NS}:cogniverse-tenant-provisioner"
POLICY = f"{RELEASE_NS}.cogniverse-tenant-provisioner"
ME, OTHER = f"{RELEASE_NS}.cogniverse", "cogniverse-staging.cogniverse"
PSA = "pod-security.kubernetes.io/enforce"
LAST = "kubectl.kubernetes.io/last-applied-configuration"


@pytest.fixture(scope="module")
def vapeval() -> Path:
    """tools/vap-eval: the API server's admission-policy code at the pinned Kubernetes version (cached build)."""
    return gobuild.vap_eval()


def _labels(tenant: str = "acme_corp", release: str = ME) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "cogniverse", "app.kubernetes.io/managed-by": "cogniverse-tenant-provisioning",
            "cogniverse.dev/tenant": tenant, "cogniverse.dev/release": release}


def _ns(name: str, labels: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "spec": {"finalizers": ["kubernetes"]},
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **(labels or {})}, **meta}}


def _quota(ns: str = "cogniverse-acme-corp", name: str = "tenant-quota", **hard: str) -> dict[str, Any]:
    limits = {"requests.cpu": "20", "requests.memory": "40Gi", "requests.storage": "200Gi", "pods": "50",
              "persistentvolumeclaims": "10", **hard}
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name, "namespace": ns, "labels": _labels()},
            "spec": {"hard": {k: v for k, v in limits.items() if v}}}


def _pvc(name: str = "tenant-data", size: str = "50Gi", ns: str = "cogniverse-acme-corp", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": ns, "labels": _labels(), "finalizers": ["kubernetes.io/pvc-protection"]},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local-path", "volumeMode": "Filesystem",
                     "resources": {"requests": {"storage": size}}, **spec}}


def _edit(obj: dict[str, Any], edit) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    edit(obj)
    return obj


def _nsobj(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


TENANT_NS = _ns("cogniverse-acme-corp", _labels())
MINE = _nsobj("cogniverse-acme-corp", _labels())
THEIRS = _nsobj("cogniverse-acme-corp", _labels(release=OTHER))
BOUND = _pvc(volumeName="pv-1")
GC = {"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "0000"}]}

# (id, operation, resource, object, oldObject, namespaceObject, expected: None = admitted, else text of the denial)
CASES: list[tuple[str, str, str, Any, Any, Any, str | None]] = [
    ("create-tenant-namespace", "CREATE", "namespaces", TENANT_NS, None, None, None),
    ("reapply-tenant-namespace", "UPDATE", "namespaces", _edit(TENANT_NS, lambda o: o["metadata"].update(annotations={LAST: "{}"})),
     TENANT_NS, None, None),
    ("create-quota", "CREATE", "resourcequotas", _quota(), None, MINE, None),
    ("smaller-quota", "UPDATE", "resourcequotas", _quota(**{"requests.cpu": "500m"}), _quota(), MINE, None),
    ("quota-at-the-bound", "CREATE", "resourcequotas", _quota(**{"requests.cpu": "64", "requests.storage": "2Ti"}), None, MINE, None),
    ("create-claim", "CREATE", "persistentvolumeclaims", _pvc(), None, MINE, None),
    ("reapply-bound-claim", "UPDATE", "persistentvolumeclaims", BOUND, BOUND, MINE, None),
    # what Kubernetes deletes on its own, or never finishes deleting
    ("owner-on-namespace", "UPDATE", "namespaces", _ns("cogniverse-acme-corp", _labels(), **GC), TENANT_NS, None,
     "may not add or change ownerReferences"),
    ("owner-on-claim", "UPDATE", "persistentvolumeclaims", _edit(_pvc(), lambda o: o["metadata"].update(GC)), _pvc(), MINE,
     "garbage collector"),
    ("owner-on-new-quota", "CREATE", "resourcequotas", _edit(_quota(), lambda o: o["metadata"].update(GC)), None, MINE,
     "ownerReferences"),
    ("finalizer-on-namespace", "UPDATE", "namespaces", _ns("cogniverse-acme-corp", _labels(), finalizers=["x/never"]),
     TENANT_NS, None, "may not add or remove finalizers"),
    ("finalizer-on-claim", "UPDATE", "persistentvolumeclaims",
     _edit(_pvc(), lambda o: o["metadata"]["finalizers"].append("x/never")), _pvc(), MINE, "finalizers"),
    ("drop-claim-protection", "UPDATE", "persistentvolumeclaims", _edit(_pvc(), lambda o: o["metadata"].pop("finalizers")),
     _pvc(), MINE, "finalizers"),
    ("namespace-spec-finalizer", "CREATE", "namespaces", _edit(TENANT_NS, lambda o: o["spec"].update(finalizers=["x/never"])),
     None, None, "spec.finalizers"),
    ("node-selector", "UPDATE", "namespaces",
     _ns("cogniverse-acme-corp", _labels(), annotations={"scheduler.alpha.kubernetes.io/node-selector": "gpu=true"}),
     TENANT_NS, None, "may not add, change or remove annotations"),
    ("default-tolerations", "CREATE", "namespaces",
     _ns("cogniverse-acme-corp", _labels(), annotations={"scheduler.alpha.kubernetes.io/defaultTolerations": "[]"}),
     None, None, "annotations"),
    # another release's objects, or none of ours
    ("other-release-namespace", "UPDATE", "namespaces", _ns("cogniverse-acme-corp", _labels(release=OTHER)),
     _ns("cogniverse-acme-corp", _labels(release=OTHER)), None, f"only objects of its own release (label cogniverse.dev/release={ME})"),
    ("take-over-namespace", "UPDATE", "namespaces", TENANT_NS, _ns("cogniverse-acme-corp", _labels(release=OTHER)), None,
     "only objects of its own release"),
    ("forge-other-release", "CREATE", "namespaces", _ns("cogniverse-acme-corp", _labels(release=OTHER)), None, None,
     "only with exactly its own labels"),
    ("unlabelled-namespace", "UPDATE", "namespaces", TENANT_NS, _ns("cogniverse-acme-corp"), None, "only objects of its own release"),
    ("quota-in-other-release", "CREATE", "resourcequotas", _quota(), None, THEIRS, "only in namespaces its own release provisioned"),
    ("claim-in-other-release", "CREATE", "persistentvolumeclaims", _pvc(), None, THEIRS, "its own release provisioned"),
    ("quota-on-kube-system", "CREATE", "resourcequotas", _quota("kube-system"), None, _nsobj("kube-system", {}),
     "may act only in tenant namespaces cogniverse-<tenant>, not in kube-system"),
    ("relabel-kube-system", "UPDATE", "namespaces", _ns("kube-system", {PSA: "privileged"}), _ns("kube-system"), None,
     "may act only in tenant namespaces"),
    ("relabel-release-namespace", "UPDATE", "namespaces", _ns(RELEASE_NS, {PSA: "privileged"}), _ns(RELEASE_NS), None,
     f"may not act on the release namespace {RELEASE_NS}"),
    ("pod-security-label", "CREATE", "namespaces", _ns("cogniverse-acme-corp", {**_labels(), PSA: "privileged"}), None, None,
     "only with exactly its own labels"),
    ("tenant-label-of-another-tenant", "CREATE", "namespaces", _ns("cogniverse-acme-corp", _labels("other")), None, None,
     "only with exactly its own labels"),
    ("relabel-tenant", "UPDATE", "namespaces", _ns("cogniverse-acme-corp", _labels("acme_corp2")), TENANT_NS, None, "may not change them"),
    ("delete-tenant-namespace", "DELETE", "namespaces", None, TENANT_NS, None, "may not delete namespaces (cogniverse-acme-corp)"),
    ("delete-claim", "DELETE", "persistentvolumeclaims", None, _pvc(), MINE, "may not delete persistentvolumeclaims"),
    ("injected-name", "CREATE", "namespaces", _ns("cogniverse-acme\n  namespace: kube-system", _labels()), None, None,
     "may act only in tenant namespaces"),
    # quotas and claims beyond the values
    ("quota-1000Pi", "UPDATE", "resourcequotas", _quota(**{"requests.storage": "1000Pi"}), _quota(), MINE,
     "may write only ResourceQuota tenant-quota with exactly"),
    ("quota-no-pods", "UPDATE", "resourcequotas", _quota(pods="0"), _quota(), MINE, "pods=50"),
    ("quota-zero-cpu", "CREATE", "resourcequotas", _quota(**{"requests.cpu": "0"}), None, MINE, "requests.cpu above 0"),
    ("quota-missing-memory", "CREATE", "resourcequotas", _quota(**{"requests.memory": ""}), None, MINE, "tenant-quota"),
    ("quota-extra-limit", "CREATE", "resourcequotas", _quota(services="0"), None, MINE, "tenant-quota"),
    ("quota-scoped", "CREATE", "resourcequotas", _edit(_quota(), lambda o: o["spec"].update(scopes=["BestEffort"])), None, MINE,
     "tenant-quota"),
    ("second-quota", "CREATE", "resourcequotas", _quota(name="squeeze"), None, MINE, "tenant-quota"),
    ("claim-other-volume", "CREATE", "persistentvolumeclaims", _pvc(volumeName="team-b-pv"), None, MINE, "never spec.volumeName"),
    ("claim-1Pi", "CREATE", "persistentvolumeclaims", _pvc(size="1Pi"), None, MINE, "tenant-data: at most 50Gi"),
    ("claim-other-name", "CREATE", "persistentvolumeclaims", _pvc("hoard"), None, MINE, "hoard in cogniverse-acme-corp is not one"),
    ("claim-clone", "CREATE", "persistentvolumeclaims", _pvc(dataSourceRef={"kind": "PersistentVolumeClaim", "name": "x"}), None,
     MINE, "dataSourceRef"),
    ("claim-selector", "CREATE", "persistentvolumeclaims", _pvc(selector={"matchLabels": {"team": "b"}}), None, MINE, "selector"),
    ("claim-shared", "CREATE", "persistentvolumeclaims", _pvc(accessModes=["ReadWriteMany"]), None, MINE, "access modes"),
    ("claim-other-class", "UPDATE", "persistentvolumeclaims", _pvc(storageClassName="fast"), _pvc(), MINE, "storage class"),
]


def _policy(helm, render_chart, values=None) -> dict[str, Any]:
    return by_kind(render_chart(values, helm=helm, namespace=RELEASE_NS, release="cogniverse"), "ValidatingAdmissionPolicy")[POLICY]


def _cases(cases) -> list[tuple[Any, ...]]:
    return [(c[0], c[1], c[2], copy.deepcopy(c[3]), copy.deepcopy(c[4]), c[5], SA, c[6]) for c in cases]


def test_policy_admits_provisioning_and_denies_every_attack(vapeval, helm, render_chart, tmp_path):
    other_account = ("other-account-is-not-matched", "CREATE", "resourcequotas", _quota("kube-system"), None,
                     _nsobj("kube-system", {}), f"system:serviceaccount:{RELEASE_NS}:cogniverse-workflow", None)
    wrong = wrong_decisions(_policy(helm, render_chart), _cases(CASES) + [other_account], tmp_path)
    assert not wrong, "\n".join(wrong)


def test_storage_class_and_bounds_come_from_values(vapeval, helm, render_chart, tmp_path):
    t = {"storageClass": "fast", "quota": {"pods": 7, "max": {"cpu": "4", "memory": "8Gi", "storage": "100Gi"}},
         "parameters": {"cpu-quota": "2", "memory-quota": "4Gi", "storage-quota": "50Gi"},
         "pvcs": [{"name": "data", "size": "5Gi", "accessModes": ["ReadWriteMany"]}]}
    policy = _policy(helm, render_chart, {"workflows": {"templates": {"tenantProvisioning": t}}})
    cases = [
        ("class-of-values", "CREATE", "persistentvolumeclaims", _pvc("data", "5Gi", storageClassName="fast", accessModes=["ReadWriteMany"]),
         None, MINE, None),
        ("default-class", "CREATE", "persistentvolumeclaims", _pvc("data", "5Gi", accessModes=["ReadWriteMany"]), None, MINE,
         "storage class"),
        ("bigger-than-values", "CREATE", "persistentvolumeclaims", _pvc("data", "6Gi", storageClassName="fast"), None, MINE,
         "data: at most 5Gi"),
        ("quota-of-values", "CREATE", "resourcequotas", _quota(pods="7", **{"requests.cpu": "4", "requests.memory": "8Gi",
                                                                         "requests.storage": "100Gi"}), None, MINE, None),
        ("quota-above-values", "CREATE", "resourcequotas", _quota(pods="7", **{"requests.cpu": "4", "requests.memory": "9Gi",
                                                                            "requests.storage": "100Gi"}), None, MINE,
         "requests.memory above 0 and at most 8Gi"),
    ]
    wrong = wrong_decisions(policy, _cases(cases), tmp_path)
    assert not wrong, "\n".join(wrong)


def test_every_object_the_provisioner_writes_carries_the_release_id(helm, render_chart):
    """What the chart's own resource templates write is what the policy admits: the release label on each."""
    docs = render_chart(helm=helm, namespace=RELEASE_NS, release="cogniverse")
    wft = by_kind(docs, "WorkflowTemplate")["tenant-provisioning"]
    manifests = [t["resource"]["manifest"] for t in wft["spec"]["templates"] if "resource" in t]
    assert len(manifests) == 3
    assert all(f'cogniverse.dev/release: "{ME}"' in m for m in manifests), manifests
