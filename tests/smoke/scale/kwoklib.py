"""Simulated nodes for the `scale` tests: the KWOK controller (sigs.k8s.io/kwok, built from its Go module in
cluster/kwok at KWOK_VERSION) run as a local process against the cluster, and fake Node objects it keeps
alive (Ready, heartbeats, leases; their pods Running and Ready without any container).

Every fake node carries the label `cogniverse.dev/kwok-run=<run id>`, the annotation KWOK manages by, and
the taint `kwok.x-k8s.io/node=fake:NoSchedule`, so nothing lands there unless it tolerates the taint and
nothing of this run outlives `Kwok.cleanup()`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cogniverse_chart import REPO_ROOT
from cogniverse_dev import gobuild

KWOK_DIR = REPO_ROOT / "cluster" / "kwok"
MANAGED = ("kwok.x-k8s.io/node", "fake")          # annotation the controller selects nodes by
TAINT = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}
RUN_LABEL = "cogniverse.dev/kwok-run"
ZONE = "topology.kubernetes.io/zone"
# A common general-purpose cloud node (16 vCPU, 64 GiB): capacity, and what the kubelet would leave.
CAPACITY = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "200Gi"}
ALLOCATABLE = {"cpu": "15890m", "memory": "62Gi", "pods": "110", "ephemeral-storage": "180Gi"}


def binary(quiet: bool = False) -> Path:
    """The KWOK controller, built once (niced, cached by version and sources) by the shared Go builder."""
    tag = gobuild.check_pin(KWOK_DIR, "sigs.k8s.io/kwok", "KWOK_VERSION")
    return gobuild.build(KWOK_DIR, "kwok", tag, quiet)


def fake_node(name: str, zone: str, run: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {MANAGED[0]: MANAGED[1], "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"type": "kwok", RUN_LABEL: run, ZONE: zone, "topology.kubernetes.io/region": "kwok",
                       "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                       "node.kubernetes.io/instance-type": "kwok.16x64"},
        },
        "spec": {"taints": [TAINT]},
        "status": {"capacity": CAPACITY, "allocatable": ALLOCATABLE},
    }


@dataclass
class Kwok:
    """The controller process and the nodes it was given. `start()`, `add_nodes()`, `cleanup()`."""

    kubeconfig: str
    workdir: Path
    run: str
    proc: subprocess.Popen[bytes] | None = None
    nodes: list[str] = field(default_factory=list)

    def start(self) -> None:
        exe = binary()
        stages = self.workdir / "kwok-stages.yaml"
        stages.write_text(subprocess.run([str(exe), "default-stages"], capture_output=True, text=True,
                                         check=True).stdout, encoding="utf-8")
        self.log = self.workdir / "kwok.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["nice", "-n", "10", str(exe), "--kubeconfig", self.kubeconfig, "--config", str(stages),
                 "--manage-nodes-with-annotation-selector", f"{MANAGED[0]}={MANAGED[1]}",
                 "--node-lease-duration-seconds", "40", "--cidr", "10.250.0.0/16"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        time.sleep(1)
        if self.proc.poll() is not None:
            raise AssertionError(f"kwok exited at once ({self.proc.returncode}):\n{self.log.read_text()[-2000:]}")

    def add_nodes(self, core_api: Any, zones: list[str], per_zone: int) -> list[str]:
        for z, zone in enumerate(zones):
            for i in range(per_zone):
                name = f"kwok-{self.run}-{zone[-1]}{i:02d}"
                core_api.create_node(fake_node(name, zone, self.run))
                self.nodes.append(name)
        return self.nodes

    def wait_ready(self, core_api: Any, timeout: float = 180) -> float:
        """Seconds until every node of this run reports Ready."""
        start = time.monotonic()
        while True:
            items = core_api.list_node(label_selector=f"{RUN_LABEL}={self.run}").items
            ready = [n for n in items if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
            if len(ready) == len(self.nodes):
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise AssertionError(f"only {len(ready)}/{len(self.nodes)} simulated nodes Ready after {timeout:.0f}s; "
                                     f"kwok log {self.log}:\n{self.log.read_text()[-2000:]}")
            time.sleep(1)

    def cleanup(self, core_api: Any) -> list[str]:
        """Delete every node of this run (and of earlier runs that died without cleaning), then stop the
        controller. Returns the names of this run's nodes still present (should be none)."""
        from kubernetes.client.exceptions import ApiException

        for n in core_api.list_node(label_selector=RUN_LABEL).items:
            try:
                core_api.delete_node(n.metadata.name)
            except ApiException as exc:
                if exc.status != 404:
                    raise
        deadline = time.monotonic() + 60
        left = self.nodes
        while time.monotonic() < deadline:
            left = [n.metadata.name for n in core_api.list_node(label_selector=RUN_LABEL).items]
            if not left:
                break
            time.sleep(1)
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        return left
