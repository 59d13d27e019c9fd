"""What the tests that drive a cluster directly share: the pinned kubectl (.tools/bin, KUBECONFIG from the
environment) and the manifest of a ServiceAccount with its own Role, the way a test namespace grants a
workflow or an API user exactly the rights it needs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = str(ROOT / ".tools" / "bin" / "kubectl")

#: What Argo's executor needs in a workflow's namespace (it reports outputs as WorkflowTaskResults).
TASK_RESULTS = ("argoproj.io", "workflowtaskresults", "create,patch")


def kubectl(*args: str, input: str | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the pinned kubectl; with `check`, a failure is an AssertionError carrying its stderr."""
    proc = subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr}")
    return proc


def account(name: str, *rules: tuple[str, str, str]) -> str:
    """A ServiceAccount NAME, a Role NAME with RULES (apiGroup, "res1,res2", "verb1,verb2") and the
    RoleBinding between them, as one YAML stream for `kubectl apply -f -`."""
    role_rules = [{"apiGroups": [group], "resources": resources.split(","), "verbs": verbs.split(",")}
                  for group, resources, verbs in rules]
    docs = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name},
         "rules": role_rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name}]},
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def account_token(namespace: str, name: str, duration: str = "10m") -> str:
    """A short-lived token of ServiceAccount NAME (TokenRequest): what a user pastes as `Bearer <token>`."""
    return kubectl("-n", namespace, "create", "token", name, f"--duration={duration}").stdout.strip()
