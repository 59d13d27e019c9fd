"""An upgrade keeps the release identity a release was installed with (attack21d #13; the form: see
tests/chart/test_release_id.py). A release whose `<namespace>.<fullname>` is longer than 63 characters was given the
8-hex id, which its tenant namespaces, quotas and claims carry; the chart now gives new releases 16 hex. The
render finds the old id in the release's own provisioner policy (`lookup`) and keeps it only when it is exactly
that release's old id, so a policy edited to name another id changes nothing. `lookup` answers only a render
that talks to a cluster: `helm template --dry-run=server`, with each Helm major, against one policy object
made for the test (cluster-scoped, removed afterwards; no release is installed).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import subprocess

import pytest

from cogniverse_chart import CHART_DIR
from cogniverse_chart.helm import available_helms
from kubelib import kubectl

pytestmark = [pytest.mark.smoke, pytest.mark.argo_leg("first")]
#: Helm 3's `template` takes the cluster's API versions (.Capabilities) only with --validate, as an install does;
#: Helm 4's with --dry-run=server alone.
SEES_CLUSTER = {3: ["--validate"], 4: []}


def _hex(full: str, n: int) -> str:
    return hashlib.sha256(full.encode()).hexdigest()[:n]


@pytest.fixture(scope="module")
def names():
    ns = f"cvid-{secrets.token_hex(3)}-" + "x" * 40  # 52 characters: with ".cv-cogniverse", 66
    full = f"{ns}.cv-cogniverse"
    return ns, f"{full[:54].rstrip('-')}-{_hex(full, 8)}", f"{full[:46].rstrip('-')}-{_hex(full, 16)}"


def _policy(name: str, release_id: str, ns: str) -> str:
    """The provisioner policy as release cv in `ns` installed it (Helm's ownership marks: a render connected to
    the cluster refuses to adopt an object without them)."""
    meta = {"name": name, "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "cv", "meta.helm.sh/release-namespace": ns}}
    return json.dumps({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy", "metadata": meta,
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                                         "resources": ["configmaps"]}]},
                 "variables": [{"name": "releaseId", "expression": json.dumps(release_id)}],
                 "validations": [{"expression": "true"}]}})


def _ids(helm, ns: str) -> set[str]:
    proc = subprocess.run([str(helm.path), "template", "cv", str(CHART_DIR), "-n", ns, "--dry-run=server",
                           *SEES_CLUSTER[helm.major]],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # every label value, policy variable and argument that is an id of this namespace (name, then 8 or 16 hex)
    return set(re.findall(rf"(?<![-.\w])({re.escape(ns[:40])}[a-z0-9.-]*?-[0-9a-f]{{8}}(?:[0-9a-f]{{8}})?)(?![-.\w])",
                          proc.stdout))


@pytest.mark.parametrize("major", [3, 4])
def test_an_upgrade_keeps_the_old_id_and_a_new_release_gets_64_bits(names, major):
    helm = next((h for h in available_helms() if h.major == major), None)
    assert helm is not None, f"no Helm {major} (scripts/bootstrap.sh puts both in .tools/bin)"
    ns, old, new = names
    policy = f"{ns}.cv-cogniverse-tenant-provisioner"
    assert _ids(helm, ns) == {new}  # a new release
    try:
        kubectl("apply", "-f", "-", input=_policy(policy, old, ns))  # as installed by an older chart
        assert _ids(helm, ns) == {old}
        kubectl("apply", "-f", "-", input=_policy(policy, f"{ns[:54]}-deadbeef", ns))  # not this release's old id
        assert _ids(helm, ns) == {new}
    finally:
        kubectl("delete", "validatingadmissionpolicy", policy, "--ignore-not-found", check=False)
