"""`cogniverse-chart lint` refuses capabilities.add beyond NET_BIND_SERVICE (issue 11, class 4):
restricted Pod Security allows adding only that one, and a rendered chart with a values file that
slipped past the schema (or any other manifest) must not pass lint."""

from __future__ import annotations

import pytest

from cogniverse_chart.documents import parse_stream
from cogniverse_chart.lint import lint

POD = """
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: c
      image: "cogniverse/runtime:1.0.0"
      resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 64Mi}}
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL], add: ADD}
"""


def _security_findings(add: str) -> list[str]:
    docs = parse_stream(POD.replace("ADD", add), "pod.yaml")
    return [f.message for f in lint(docs) if f.rule == "policy/security-context"]


@pytest.mark.parametrize("add", ["[SYS_ADMIN]", "[NET_BIND_SERVICE, NET_RAW]", "[sys_ptrace]"])
def test_capabilities_add_is_refused(add):
    (message,) = _security_findings(add)
    assert "container 'c' is not restricted" in message and "no capabilities.add but NET_BIND_SERVICE" in message


@pytest.mark.parametrize("add", ["[]", "[NET_BIND_SERVICE]"])
def test_net_bind_service_alone_is_restricted(add):
    assert _security_findings(add) == []
