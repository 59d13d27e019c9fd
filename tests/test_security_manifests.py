"""tenant-provisioning's resource manifests after Argo's own parameter substitution (issue 11, class 1).

A small Go program runs the rendered resource templates through Argo's `common.ProcessArgs` (what
the workflow-controller does before a resource step runs), built from the Argo version the local
cluster pins (cluster/argo/go.mod), like test_workflows_argo_validate.py. Hostile tenant ids and
quotas, passed straight to the templates as a Workflow calling them directly would, must come out as
one YAML scalar each: no field added, no namespace changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cogniverse_chart import REPO_ROOT
from test_workflows_helpers import rendered

ARGO_MODULE = REPO_ROOT / "cluster" / "argo"

GO_SOURCE = r'''
// argosubst: substitute input parameters into templates with Argo's own code. stdin: one JSON
// object per line {"template": ..., "parameters": {...}}; stdout: {"manifest": ...} or {"error": ...}.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
)

type request struct {
	Template   wfv1.Template     `json:"template"`
	Parameters map[string]string `json:"parameters"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			panic(err)
		}
		names := make([]string, 0, len(r.Parameters))
		for k := range r.Parameters {
			names = append(names, k)
		}
		sort.Strings(names)
		args := wfv1.Arguments{}
		for _, k := range names {
			args.Parameters = append(args.Parameters, wfv1.Parameter{Name: k, Value: wfv1.AnyStringPtr(r.Parameters[k])})
		}
		out := map[string]string{}
		t, err := common.ProcessArgs(&r.Template, &args, common.Parameters{}, common.Parameters{}, false, "cogniverse", nil)
		if err != nil {
			out["error"] = err.Error()
		} else {
			out["manifest"] = t.Resource.Manifest
		}
		b, _ := json.Marshal(out)
		fmt.Println(string(b))
	}
}
'''


@pytest.fixture(scope="module")
def argosubst(tmp_path_factory) -> Path:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not go:
        pytest.skip("Argo's substitution: no Go toolchain on this machine")
    if not (ARGO_MODULE / "go.mod").exists():
        pytest.skip(f"Argo's substitution: {ARGO_MODULE}/go.mod (the pinned Argo version) not found")
    work = tmp_path_factory.mktemp("argosubst")
    text = "\n".join("module cogniverse.local/tests/argosubst" if line.startswith("module ") else line
                     for line in (ARGO_MODULE / "go.mod").read_text().splitlines())
    if "\ntool (" in text:  # the `tool` block names mains this module does not build
        head, _, rest = text.partition("\ntool (")
        text = head + "\n" + rest.partition(")")[2]
    (work / "go.mod").write_text(text + "\n")
    shutil.copy(ARGO_MODULE / "go.sum", work / "go.sum")
    (work / "main.go").write_text(GO_SOURCE)
    env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    proc = subprocess.run([go, "build", "-o", "argosubst", "."], cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"building the Argo substitution checker failed:\n{proc.stderr[-3000:]}")
    return work / "argosubst"


def _resource_templates() -> dict[str, dict[str, Any]]:
    (wft,) = [d.obj for d in rendered() if d.kind == "WorkflowTemplate" and d.name == "tenant-provisioning"]
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
