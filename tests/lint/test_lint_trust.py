"""The rules of lint/trust.py on hostile shapes: they judge what they can read and never fall over (a fault
would end as `lint/malformed` for the whole stream and hide every other finding). The bad/good pairs are in
tests/fixtures/lint/policy__{workflow-status,argo-metadata,host-access,artifact-gc-patch}."""

from __future__ import annotations

import json

import pytest

from cogniverse_chart.documents import parse_stream
from cogniverse_chart.lint import lint

TRUST = {"policy/workflow-status", "policy/argo-metadata", "policy/host-access", "policy/artifact-gc-patch"}
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def _workflow(spec: dict, metadata: dict | None = None) -> str:
    base = {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "x:1", "command": ["true"]}}]}
    return json.dumps({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                       "metadata": {"name": "w", **(metadata or {})}, "spec": {**base, **spec}})


def _found(text: str) -> dict[str, list[str]]:
    findings = lint(parse_stream(text, "hostile.yaml"))
    assert not [f for f in findings if f.rule == "lint/malformed"], [f.format() for f in findings]
    out: dict[str, list[str]] = {}
    for f in findings:
        if f.rule in TRUST:
            out.setdefault(f.rule, []).append(f.message)
    return out


@pytest.mark.parametrize("patch", [
    BOMB,                                    # an alias bomb: refused by the hardened loader, not expanded
    "[1, 2]", "just text", "null", "", "{{inputs.parameters.patch}}",
    '{"containers": "x", "volumes": [null, 5, {"hostPath": "x"}], "hostNetwork": "true"}',
    '{"containers": [null, {"securityContext": {"capabilities": {"add": "SYS_ADMIN"}}}]}',
])
def test_unreadable_or_harmless_patches_are_not_host_access(patch):
    found = _found(_workflow({"podSpecPatch": patch}))
    host = found.get("policy/host-access", [])
    if '"hostPath": "x"' in patch:  # a hostPath of the wrong type is still a hostPath volume
        assert host and "is a hostPath" in host[0]
    else:
        assert not host, host


def test_every_spelling_of_host_access_in_a_patch_is_found():
    patch = ("hostPID: true\nhostIPC: true\nvolumes: [{name: r, hostPath: {path: /}}]\n"
             "initContainers: [{name: i, securityContext: {privileged: true}}]\n"
             "ephemeralContainers: [{name: e, securityContext: {capabilities: {add: [net_admin]}}}]\n")
    (message,) = _found(_workflow({"podSpecPatch": patch}))["policy/host-access"]
    for needle in ("hostPID: true", "hostIPC: true", "volume 'r' is a hostPath (/)", "initContainers[0] is privileged",
                   "ephemeralContainers[0] adds NET_ADMIN"):
        assert needle in message, message


@pytest.mark.parametrize("metadata", [
    {"labels": "x", "finalizers": "y"}, {"labels": {5: "x"}, "finalizers": [5, None]}, {"labels": None},
])
def test_odd_metadata_shapes_are_no_finding(metadata):
    assert "policy/argo-metadata" not in _found(_workflow({}, metadata))


def test_argo_prefix_is_matched_in_any_case_and_other_keys_are_not():
    found = _found(_workflow({}, {"labels": {"Workflows.ArgoProj.io/phase": "Succeeded", "a\x1b[2J": "1"}}))
    assert any("'Workflows.ArgoProj.io/phase' is Argo's own" in m for m in found["policy/argo-metadata"])
    assert len(found["policy/argo-metadata"]) == 1


def test_status_of_any_value_is_found_and_other_kinds_may_have_one():
    text = _workflow({}).replace('"spec":', '"status": null, "spec":', 1)
    assert "policy/workflow-status" in _found(text)
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\nstatus: {}\n"
    assert "policy/workflow-status" not in _found(service)


def test_an_empty_artifact_gc_patch_is_no_finding():
    assert "policy/artifact-gc-patch" not in _found(_workflow({"artifactGC": {"strategy": "Never", "podSpecPatch": ""}}))
    assert "policy/artifact-gc-patch" in _found(_workflow({"artifactGC": {"podSpecPatch": "{}"}}))


def test_template_defaults_are_looked_at():
    """templateDefaults reach every template: their podSpecPatch and volumes count as the templates' own."""
    found = _found(_workflow({"templateDefaults": {"podSpecPatch": "hostIPC: true",
                                                   "volumes": [{"name": "d", "hostPath": {"path": "/dev"}}]}}))
    messages = " ".join(found["policy/host-access"])
    assert "templateDefaults: volume 'd' is a hostPath (/dev)" in messages
    assert "podSpecPatch of templateDefaults: hostIPC: true" in messages
