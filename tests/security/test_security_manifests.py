"""tenant-provisioning's resource manifests after Argo's own parameter substitution (issue 11, class 1).

A small Go program (tools/argo-subst) runs the rendered resource templates through Argo's
`common.ProcessArgs` (what the workflow-controller does before a resource step runs), at the Argo
version versions.env pins (ARGO_VERSION), like test_workflows_argo_validate.py. Hostile tenant ids and
quotas, passed straight to the templates as a Workflow calling them directly would, must come out as
one YAML scalar each: no field added, no namespace changed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cogniverse_dev import gobuild
from chart_utils import render_chart


@pytest.fixture(scope="module")
def argosubst() -> Path:
    """tools/argo-subst, built by the go-helpers stage (`python -m cogniverse_dev`) and cached."""
    return gobuild.argo_subst(quiet=True)


def _resource_templates() -> dict[str, dict[str, Any]]:
    (wft,) = [d.obj for d in render_chart() if d.kind == "WorkflowTemplate" and d.name == "tenant-provisioning"]
    return {t["name"]: t for t in wft["spec"]["templates"] if "resource" in t}


def _substitute(argosubst: Path, requests: list[tuple[dict[str, Any], dict[str, str]]]) -> list[dict[str, str]]:
    stdin = "".join(json.dumps({"template": t, "parameters": p}) + "\n" for t, p in requests)
    proc = subprocess.run([str(argosubst)], input=stdin, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


GOOD = {"tenant-id": "newcorp_inc", "cpu-quota": "20", "memory-quota": "40Gi", "storage-quota": "200Gi"}
HOSTILE_IDS = [
    "acme\nnamespace: kube-system",
    "acme\n  namespace: kube-system\n  labels: {pod-security.kubernetes.io/enforce: privileged}",
    'acme"\nmetadata: {namespace: kube-system}\nx: "',
    "acme' }, {namespace: kube-system",
    "{{workflow.name}}",
]
HOSTILE_QUOTAS = ["1\n  pods: \"0\"", "1Gi\"}\nmetadata: {namespace: kube-system", "1\nkind: Namespace"]


def _params(t: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    return {p["name"]: values[p["name"]] for p in t["inputs"]["parameters"]}


def test_argo_fills_the_manifests_as_intended(argosubst):
    res = _resource_templates()
    outs = _substitute(argosubst, [(t, _params(t, GOOD)) for t in res.values()])
    objs = {name: yaml.safe_load(o["manifest"]) for name, o in zip(res, outs)}
    assert objs["create-namespace"]["metadata"]["name"] == "cogniverse-newcorp-inc"
    assert objs["create-namespace"]["metadata"]["labels"]["cogniverse.dev/tenant"] == "newcorp_inc"
    quota = objs["setup-resource-quotas"]
    assert quota["metadata"]["namespace"] == "cogniverse-newcorp-inc"
    assert quota["spec"]["hard"] == {"requests.cpu": "20", "requests.memory": "40Gi", "requests.storage": "200Gi",
                                     "pods": "50", "persistentvolumeclaims": "10"}
    assert objs["create-pvc-tenant-data"]["metadata"]["namespace"] == "cogniverse-newcorp-inc"


@pytest.mark.parametrize("tenant_id", HOSTILE_IDS)
def test_an_injected_tenant_id_stays_one_value(argosubst, tenant_id):
    res = _resource_templates()
    values = {**GOOD, "tenant-id": tenant_id}
    outs = _substitute(argosubst, [(t, _params(t, values)) for t in res.values()])
    ns = "cogniverse-" + tenant_id.replace("_", "-")
    for name, out in zip(res, outs):
        assert "manifest" in out, f"{name}: {out}"
        obj = yaml.safe_load(out["manifest"])
        meta = obj["metadata"]
        assert set(meta) <= {"name", "namespace", "labels"}, f"{name}: fields added: {meta}"
        assert meta["labels"]["cogniverse.dev/tenant"] == tenant_id, name
        assert (meta["name"] if obj["kind"] == "Namespace" else meta["namespace"]) == ns, name
        assert set(obj) <= {"apiVersion", "kind", "metadata", "spec"}, name


@pytest.mark.parametrize("quota", HOSTILE_QUOTAS)
def test_an_injected_quota_stays_one_value(argosubst, quota):
    t = _resource_templates()["setup-resource-quotas"]
    (out,) = _substitute(argosubst, [(t, _params(t, {**GOOD, "cpu-quota": quota, "memory-quota": quota}))])
    obj = yaml.safe_load(out["manifest"])
    assert obj["kind"] == "ResourceQuota" and obj["metadata"]["namespace"] == "cogniverse-newcorp-inc"
    assert obj["spec"]["hard"] == {"requests.cpu": quota, "requests.memory": quota, "requests.storage": "200Gi",
                                   "pods": "50", "persistentvolumeclaims": "10"}
