"""A ValidatingAdmissionPolicy evaluated by the API server's own code (tools/vap-eval: k8s.io/apiserver's
validating-admission-policy package at the pinned Kubernetes version, built once by gobuild)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from cogniverse_dev import gobuild

#: One request: id, operation, resource, object, oldObject, namespaceObject, user, and the expected
#: outcome: None = admitted, else text the denial must contain; optionally a ninth element, a dict of
#: groups, subResource, name and namespace (the request's, when not the object's).
Case = tuple[Any, ...]


def wrong_decisions(policy: dict[str, Any], cases: list[Case], workdir: Path) -> list[str]:
    """Every case the policy decides otherwise than expected (empty when all are right)."""
    path = workdir / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    lines = "".join(json.dumps({"id": c[0], "operation": c[1], "resource": c[2], "object": c[3], "oldObject": c[4],
                                "namespaceObject": c[5], "user": c[6], **(c[8] if len(c) > 8 else {})}) + "\n"
                    for c in cases)
    proc = subprocess.run([str(gobuild.vap_eval()), str(path)], input=lines, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {line.split(" ", 2)[1].rstrip(":"): line for line in proc.stdout.splitlines()}
    assert set(results) == {c[0] for c in cases}, proc.stdout
    wrong = []
    for case in cases:
        case_id, expected = case[0], case[7]
        line = results[case_id]
        if expected is None and not line.startswith("ALLOW "):
            wrong.append(f"{case_id}: should be admitted: {line}")
        if expected is not None and not (line.startswith("DENY ") and expected in line):
            wrong.append(f"{case_id}: should be denied with {expected!r}: {line}")
    return wrong
