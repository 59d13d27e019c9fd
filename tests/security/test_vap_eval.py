"""tools/vap-eval reads admission requests as large as the API server accepts, and fails loudly on what it
cannot read (attack21d #21: a request line over 1 MiB was dropped without a word and the run exited 0, so a
probe of a large Workflow was never evaluated)."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from cogniverse_dev import gobuild

MIB = 1 << 20
POLICY = {
    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "no-big-note"},
    "spec": {"failurePolicy": "Fail",
             "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                     "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"]}]},
             "validations": [{"expression": "!has(object.data) || !('deny' in object.data)", "message": "deny key"}]},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    binary = gobuild.vap_eval(quiet=True)
    path = tmp_path_factory.mktemp("vap") / "policy.yaml"
    path.write_text(yaml.safe_dump(POLICY))

    def go(stdin: bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([str(binary), str(path)], input=stdin, capture_output=True, timeout=120)
    return go


def _line(rid: str, data: dict[str, str], old: dict[str, str] | None = None) -> bytes:
    cm = lambda d: {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": d}  # noqa: E731
    req = {"id": rid, "operation": "UPDATE" if old else "CREATE", "resource": "configmaps", "user": "alice",
           "object": cm(data), "oldObject": cm(old) if old else None}
    return json.dumps(req).encode() + b"\n"


def test_requests_up_to_the_api_servers_size_are_evaluated(run):
    """An UPDATE of a 3 MiB object over a 3 MiB old object (the API server's request limit, each) is decided."""
    big = "x" * (3 * MIB - 4096)
    proc = run(_line("small", {"a": "1"}) + _line("big", {"deny": big}, old={"a": big}) + _line("after", {"deny": "1"}))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines() == ["ALLOW small", "DENY big: deny deny key", "DENY after: deny deny key"]


def test_a_longer_line_ends_the_run_loudly(run):
    proc = run(_line("small", {"a": "1"}) + _line("huge", {"a": "x" * (8 * MIB)}) + _line("after", {"a": "1"}))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "reading request line 2" in err and "at most" in err, err
    assert proc.stdout.decode().splitlines() == ["ALLOW small"]


@pytest.mark.parametrize("stdin, needle", [
    (b"not json\n", "request line 1 is not a request object"),
    (b'{"id": "x", "operation": "CREATE", "resource": "configmaps"}\n', "has neither object nor oldObject"),
])
def test_a_line_that_is_not_a_request_is_named(run, stdin, needle):
    proc = run(stdin)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and needle in err and "panic" not in err, err
