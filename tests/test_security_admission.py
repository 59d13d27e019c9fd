"""The tenant provisioner's ValidatingAdmissionPolicy, evaluated by the API server's own code.

A small Go program compiles the rendered policy with k8s.io/apiserver's validating-admission-policy
package (the code kube-apiserver runs, at the pinned KUBERNETES_VERSION of versions.env) and
evaluates it on admission requests: the provisioner creating its tenant namespace and quotas is
admitted; everything issue 11 lists as an attack is denied, with the policy's message. The same
policy on a running cluster: tests/smoke/test_security.py. Needs Go; modules missing from the cache
come through the Go module proxy (cold build: a few minutes; warm: seconds).
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

GO_SOURCE = r'''
// vapeval: evaluate a ValidatingAdmissionPolicy (argv[1], YAML) on admission requests (stdin, one
// JSON object per line) with k8s.io/apiserver's own VAP code. One output line per request:
// "ALLOW <id>" or "DENY <id>: <message> | <message>".
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	v1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/yaml"
)

type request struct {
	ID        string                 `json:"id"`
	Operation string                 `json:"operation"`
	Resource  string                 `json:"resource"`
	User      string                 `json:"user"`
	Object    map[string]interface{} `json:"object"`
	OldObject map[string]interface{} `json:"oldObject"`
	Namespace *corev1.Namespace      `json:"namespaceObject"`
}

func obj(m map[string]interface{}) runtime.Object {
	if m == nil {
		return nil
	}
	return &unstructured.Unstructured{Object: m}
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	p := &v1.ValidatingAdmissionPolicy{}
	if err := yaml.UnmarshalStrict(raw, p); err != nil {
		panic(err)
	}
	opt := cel.OptionalVariableDeclarations{HasParams: false, HasAuthorizer: true}
	msgOpt := cel.OptionalVariableDeclarations{HasParams: false, HasAuthorizer: false}
	comp, err := cel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		panic(err)
	}
	var vars []cel.NamedExpressionAccessor
	for _, v := range p.Spec.Variables {
		vars = append(vars, &validating.Variable{Name: v.Name, Expression: v.Expression})
	}
	comp.CompileAndStoreVariables(vars, opt, environment.StoredExpressions)
	var mc []cel.ExpressionAccessor
	for i := range p.Spec.MatchConditions {
		mc = append(mc, (*matchconditions.MatchCondition)(&p.Spec.MatchConditions[i]))
	}
	matcher := matchconditions.NewMatcher(comp.CompileCondition(mc, opt, environment.StoredExpressions),
		p.Spec.FailurePolicy, "policy", "validate", p.Name)
	var vals, msgs []cel.ExpressionAccessor
	for _, v := range p.Spec.Validations {
		vals = append(vals, &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason})
		var m cel.ExpressionAccessor
		if v.MessageExpression != "" {
			m = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
		msgs = append(msgs, m)
	}
	val := validating.NewValidator(comp.CompileCondition(vals, opt, environment.StoredExpressions), matcher,
		comp.CompileCondition(nil, opt, environment.StoredExpressions),
		comp.CompileCondition(msgs, msgOpt, environment.StoredExpressions), p.Spec.FailurePolicy, nil)

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			panic(err)
		}
		o, old := obj(r.Object), obj(r.OldObject)
		ref := o
		if ref == nil {
			ref = old
		}
		u := ref.(*unstructured.Unstructured)
		gvr := schema.GroupVersionResource{Version: "v1", Resource: r.Resource}
		gvk := schema.GroupVersionKind{Version: "v1", Kind: u.GetKind()}
		attr := admission.NewAttributesRecord(o, old, gvk, u.GetNamespace(), u.GetName(), gvr, "",
			admission.Operation(r.Operation), nil, false, &user.DefaultInfo{Name: r.User})
		va := &admission.VersionedAttributes{Attributes: attr, VersionedKind: gvk,
			VersionedObject: admission.NewLazyObject(o), VersionedOldObject: admission.NewLazyObject(old)}
		res := val.Validate(context.Background(), gvr, va, nil, r.Namespace, 10000000, nil)
		var denied []string
		for _, d := range res.Decisions {
			if d.Action != validating.ActionAdmit {
				denied = append(denied, string(d.Action)+" "+d.Message)
			}
		}
		if len(denied) == 0 {
			fmt.Printf("ALLOW %s\n", r.ID)
		} else {
			fmt.Printf("DENY %s: %s\n", r.ID, strings.Join(denied, " | "))
		}
	}
}
'''

RELEASE_NS = "cogniverse-prod"
SA = f"system:serviceaccount:{RELEASE_NS}:cogniverse-tenant-provisioner"
OWN = {"app.kubernetes.io/part-of": "cogniverse", "app.kubernetes.io/managed-by": "cogniverse-tenant-provisioning"}
PSA = "pod-security.kubernetes.io/enforce"


def _kubernetes_version() -> str:
    """KUBERNETES_VERSION from versions.env (KEY=value lines), the one pin of the Kubernetes version."""
    for line in (REPO_ROOT / "versions.env").read_text(encoding="utf-8").splitlines():
        if line.startswith("KUBERNETES_VERSION="):
            return line.split("=", 1)[1].strip()
    raise AssertionError("versions.env has no KUBERNETES_VERSION")


def _go() -> str | None:
    return shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)


@pytest.fixture(scope="module")
def vapeval(tmp_path_factory) -> Path:
    go = _go()
    if not go:
        pytest.skip("admission policy evaluation: no Go toolchain on this machine")
    k8s = _kubernetes_version()  # v1.37.2 -> staging modules v0.37.2
    staging = "v0." + k8s.lstrip("v").split(".", 1)[1]
    work = tmp_path_factory.mktemp("vapeval")
    (work / "main.go").write_text(GO_SOURCE)
    env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    for cmd in (["mod", "init", "cogniverse.local/tests/vapeval"],
                ["get", f"k8s.io/apiserver@{staging}", f"k8s.io/api@{staging}", f"k8s.io/apimachinery@{staging}",
                 "sigs.k8s.io/yaml"],
                ["build", "-o", "vapeval", "."]):
        proc = subprocess.run([go, *cmd], cwd=work, env=env, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            pytest.fail(f"go {' '.join(cmd)} for the admission-policy evaluator failed:\n{proc.stderr[-3000:]}")
    return work / "vapeval"


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


def _policy(helm, render_chart) -> str:
    docs = render_chart(helm=helm, namespace=RELEASE_NS, release="cogniverse")
    (policy,) = [d.obj for d in docs if d.kind == "ValidatingAdmissionPolicy"]
    return yaml.safe_dump(policy)


def test_policy_admits_provisioning_and_denies_every_attack(vapeval, helm, render_chart, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(_policy(helm, render_chart))
    lines = "".join(json.dumps({"id": c[0], "operation": c[1], "resource": c[2], "object": c[3], "oldObject": c[4],
                                "namespaceObject": c[5], "user": c[6]}) + "\n" for c in CASES)
    proc = subprocess.run([str(vapeval), str(policy)], input=lines, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {line.split(" ", 2)[1].rstrip(":"): line for line in proc.stdout.splitlines()}
    assert set(results) == {c[0] for c in CASES}, proc.stdout
    wrong = []
    for case_id, *_, expected in CASES:
        line = results[case_id]
        if expected is None and not line.startswith("ALLOW "):
            wrong.append(f"{case_id}: should be admitted: {line}")
        if expected is not None and not (line.startswith("DENY ") and expected in line):
            wrong.append(f"{case_id}: should be denied with {expected!r}: {line}")
    assert not wrong, "\n".join(wrong)
