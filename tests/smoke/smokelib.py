"""Helpers of the smoke suite: the installed release, waiting, and explaining a workflow's result.

The fixtures that install the chart are in conftest.py. Environment:
  SMOKE_KEEP_NAMESPACE=1   keep the test namespace after the run (to look around)
  SMOKE_TIMEOUT            seconds to wait for one workflow (default 600)
  SMOKE_CRON_TIMEOUT       seconds for all six triggered CronWorkflows together (default 1800)
  SMOKE_VALUES             values file for the install (default values/smoke.yaml)
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cogniverse_chart import PROFILES_DIR, REPO_ROOT
from cogniverse_chart.argo import ArgoClient, WorkflowResult
from cogniverse_chart.helm import Helm

RELEASE = "cogniverse"
WAIT_TIMEOUT = float(os.environ.get("SMOKE_TIMEOUT", "600"))
# All six CronWorkflows together (the heavy ones queue on one semaphore).
CRON_TIMEOUT = float(os.environ.get("SMOKE_CRON_TIMEOUT", "1800"))
SMOKE_VALUES = Path(os.environ.get("SMOKE_VALUES", PROFILES_DIR / "smoke.yaml"))
# The backups PVC values/smoke.yaml names (workflows.volumes.backups.existingClaim).
BACKUPS_CLAIM = "smoke-backups"

# kubectl for pytest-helm-charts' kube_cluster.kubectl(): the pinned one first on PATH.
os.environ["PATH"] = f"{REPO_ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"


@dataclass
class SmokeRelease:
    """The chart installed for this run."""

    namespace: str
    release: str
    helm: Helm
    kubeconfig: str
    argo: ArgoClient
    install_seconds: float
    tenant_namespaces: set[str] = field(default_factory=set)

    def helm_run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": self.kubeconfig}
        proc = subprocess.run([self.helm.path, *args, "--namespace", self.namespace], capture_output=True,
                              text=True, env=env, timeout=900)
        if check and proc.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stderr}")
        return proc

    def wait(self, name: str, timeout: float = WAIT_TIMEOUT) -> WorkflowResult:
        return self.argo.wait(name, timeout=timeout, poll=2.0,
                              on_progress=lambda line: print(line, flush=True))


def explain(result: WorkflowResult) -> str:
    """Why a workflow ended as it did: phase, message and every node that did not succeed."""
    lines = [f"workflow {result.name}: {result.phase} {result.message}".rstrip()]
    for n in result.nodes:
        if n.phase not in ("Succeeded",):
            lines.append(f"  {n.display_name} [{n.type}] {n.phase}: {n.message}")
    return "\n".join(lines)




def create_backups_claim(core_api: Any, namespace: str, name: str, size: str = "16Mi") -> None:
    """Create the namespace and a ReadWriteOnce PVC on the default StorageClass for daily-backup."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        core_api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    except ApiException as exc:
        if exc.status != 409:
            raise
    pvc = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeClaimSpec(access_modes=["ReadWriteOnce"],
                                                resources=client.V1VolumeResourceRequirements(requests={"storage": size})))
    core_api.create_namespaced_persistent_volume_claim(namespace, pvc)


def default_storage_class(kubeconfig: str) -> str | None:
    """Name of the cluster's default StorageClass, or None."""
    from kubernetes import client, config

    config.load_kube_config(config_file=kubeconfig)
    for sc in client.StorageV1Api().list_storage_class().items:
        ann = sc.metadata.annotations or {}
        if ann.get("storageclass.kubernetes.io/is-default-class") == "true":
            return sc.metadata.name
    return None
