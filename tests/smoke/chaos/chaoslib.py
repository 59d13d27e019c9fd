"""What the chaos scenarios share: the faults (SIGKILL of the workflow-controller's process, a restart of the
node's kube-apiserver, etcd, kubelet or containerd, a step pod deleted or evicted), a ledger of every step pod created, and the figures
line each scenario prints.

The faults act on the local node of scripts/local_cluster.sh (its processes are this host's processes); the
release comes from smokelib.install_release (values/smoke.yaml with CHAOS_OVERRIDES).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cogniverse_chart import REPO_ROOT
from cogniverse_chart.argo import WorkflowResult

LOCAL_CLUSTER = REPO_ROOT / "scripts" / "local_cluster.sh"
#: The retry backoff of the chaos release: long enough that a fault can land while a retry is pending, short
#: enough for CI (values/smoke.yaml waits 1 s; maxDuration must leave room for the retry after it).
BACKOFF_SECONDS = 6
CHAOS_OVERRIDES = (f"workflows.retry.backoff.duration={BACKOFF_SECONDS}s", "workflows.retry.backoff.maxDuration=2m")
CONTROLLER = {"namespace": "argo", "selector": "app=workflow-controller", "binary": "workflow-controller",
              "name": "workflow-controller"}
#: `argo server` (the argocli image runs `argo server ...`).
SERVER = {"namespace": "argo", "selector": "app=argo-server", "binary": "argo", "name": "argo-server"}
NODE_NAME = "workflows.argoproj.io/node-name"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
#: Every figures line of the session; conftest.py prints them at the end of the run.
FIGURES: list[str] = []


@dataclass
class Figures:
    """One scenario's figures line."""

    scenario: str
    faults: int = 0
    affected: int = 0
    as_without: int = 0
    repeated_steps: int = 0
    lost: int = 0
    duplicated: int = 0
    recovery: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def report(self) -> str:
        rec = ", ".join(f"{k} {v:.1f} s" for k, v in self.recovery.items()) or "-"
        line = (f"chaos figures [{self.scenario}]: faults injected {self.faults}; workflows affected {self.affected}; "
                f"finished as without the fault {self.as_without}/{self.affected}; steps run more than once "
                f"{self.repeated_steps}; objects lost {self.lost}, duplicated {self.duplicated}; recovery: {rec}; "
                f"wall {time.monotonic() - self.started:.1f} s")
        FIGURES.append(line)
        print(line, flush=True)
        return line


def until(what: str, check: Callable[[], Any], timeout: float, every: float = 1) -> Any:
    """Poll `check` until it returns something true (returned); an AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def logical_step(node_name: str) -> str:
    """A step's name without the retry attempt: `wf[2].deploy-schemas(1)` -> `wf[2].deploy-schemas`."""
    return re.sub(r"\(\d+\)$", "", node_name)


class PodLedger:
    """Every workflow pod ever seen in a namespace (by uid), from one watch stream that lists again after any
    break (an API server restart). A pod counts once however many events it has."""

    def __init__(self, core: Any, namespace: str):
        self.core = core
        self.namespace = namespace
        self.pods: dict[str, dict[str, Any]] = {}  # uid -> {workflow, node, name, phase, started}
        self.cond = threading.Condition()
        self._stop = threading.Event()
        threading.Thread(target=self._loop, name=f"pods-{namespace}", daemon=True).start()

    def _loop(self) -> None:
        from kubernetes import watch

        while not self._stop.is_set():
            w = watch.Watch()
            try:
                for event in w.stream(self.core.list_namespaced_pod, self.namespace, label_selector=WORKFLOW_LABEL,
                                      timeout_seconds=30, _request_timeout=(5, 60)):
                    self._apply(event["object"])
                    if self._stop.is_set():
                        break
            except Exception:  # the API server went away: list again once it answers
                self._stop.wait(0.5)
            finally:
                w.stop()

    def _apply(self, pod: Any) -> None:
        with self.cond:
            statuses = pod.status.container_statuses or []
            self.pods[pod.metadata.uid] = {
                "workflow": (pod.metadata.labels or {}).get(WORKFLOW_LABEL, ""),
                "node": (pod.metadata.annotations or {}).get(NODE_NAME, ""), "name": pod.metadata.name,
                "phase": pod.status.phase,
                "main_running": any(s.name == "main" and s.state and s.state.running for s in statuses)}
            self.cond.notify_all()

    def stop(self) -> None:
        self._stop.set()

    def wait_for(self, what: str, pick: Callable[[dict[str, Any]], bool], timeout: float = 120) -> dict[str, Any]:
        """The first pod for which `pick` holds (as soon as the watch reports it)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for pod in self.pods.values():
                    if pick(pod):
                        return dict(pod)
                left = deadline - time.monotonic()
                assert left > 0, f"no step pod {what} within {timeout:.0f} s"
                self.cond.wait(min(left, 1))

    def per_step(self, workflow: str) -> Counter[str]:
        """How many pods each step (retry attempts together) of a workflow got."""
        with self.cond:
            return Counter(logical_step(p["node"]) for p in self.pods.values() if p["workflow"] == workflow)


def pod_nodes_per_step(result: WorkflowResult) -> Counter[str]:
    """How many Pod nodes (attempts) each step of a workflow has in its status."""
    nodes = (result.raw.get("status") or {}).get("nodes") or {}
    return Counter(logical_step(n.get("name", "")) for n in nodes.values() if n.get("type") == "Pod")


def repeated_steps(result: WorkflowResult, ledger: PodLedger, allowed: Counter[str] | None = None) -> dict[str, int]:
    """Steps that ran more often than once plus the retries a fault was meant to cause (`allowed`, by the step's
    short name): step -> extra runs. A step's runs are the more of its pods and its Pod nodes."""
    pods, nodes = ledger.per_step(result.name), pod_nodes_per_step(result)
    extra = {}
    for step in set(pods) | set(nodes):
        short = step.rsplit(".", 1)[-1]
        n = max(pods[step], nodes[step]) - 1 - (allowed or Counter())[short]
        if n > 0:
            extra[step] = n
    return extra


def hidden_runs(result: WorkflowResult, ledger: PodLedger) -> dict[str, int]:
    """Steps with more pods than attempts in the workflow's status: runs no retry accounts for (a duplicate)."""
    pods, nodes = ledger.per_step(result.name), pod_nodes_per_step(result)
    return {step: pods[step] - nodes[step] for step in pods if pods[step] > nodes[step]}


def expected_steps(argo: Any, template: str) -> set[str]:
    """The steps a run of the WorkflowTemplate runs whatever its parameters: its entrypoint's steps without a
    `when` (read from the cluster, not written here)."""
    spec = argo.get("workflowtemplates", template)["spec"]
    entry = next(t for t in spec["templates"] if t["name"] == spec["entrypoint"])
    return {s["name"] for group in entry.get("steps") or [] for s in group if not s.get("when")}


def as_without_fault(result: WorkflowResult, expected: set[str]) -> bool:
    """Succeeded, with every unconditional step Succeeded: what the run gives on a node without faults."""
    done = {n.display_name for n in result.nodes if n.phase == "Succeeded"}
    return result.phase == "Succeeded" and expected <= done


# ---- faults ---------------------------------------------------------------------------------------

@dataclass
class Kill:
    pod: str
    pid: int
    restarts: int
    at: float


def _controller_pod(core: Any, component: dict[str, str] = CONTROLLER) -> Any:
    pods = core.list_namespaced_pod(component["namespace"], label_selector=component["selector"]).items
    running = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
    assert len(running) == 1, f"expected one running {component['name']} pod, found {[p.metadata.name for p in pods]}"
    return running[0]


def host_pids(pod_uid: str, match: Callable[[list[str]], bool]) -> list[int]:
    """Host PIDs of the pod's processes whose argv `match`es: on this node's cgroupfs the pod's uid is in each of
    its processes' cgroup paths."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if pod_uid not in (proc / "cgroup").read_text():
                continue
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # exited meanwhile, or not ours to read
            continue
        if match(argv):
            pids.append(int(proc.name))
    return pids


def _local_node_only(what: str) -> AssertionError:
    return AssertionError(f"no {what} on this host: the chaos suite needs the local node of "
                          "scripts/local_cluster.sh, run as root")


def sigkill_step(core: Any, namespace: str, pod: str) -> bool:
    """SIGKILL the main container of a step pod (its first process, Argo's `argoexec emissary` that runs the step
    and reports its result; what the OOM killer or a crashing node does): the attempt fails with exit code 137.
    False when the main container had already exited (nothing was killed). The smoke runner's own process lives
    for less than 0.1 s, too short to hit."""
    uid = core.read_namespaced_pod(pod, namespace).metadata.uid
    killed = False
    for pid in host_pids(uid, lambda argv: os.path.basename(argv[0]) == "argoexec" and "emissary" in argv[1:2]):
        try:
            os.kill(pid, signal.SIGKILL)
            killed = True
        except ProcessLookupError:
            pass
    return killed


def sigkill_controller(core: Any, component: dict[str, str] = CONTROLLER) -> Kill:
    """SIGKILL the workflow-controller's process (or `component`'s, e.g. SERVER: a crash, no shutdown code runs);
    kubelet restarts it."""
    pod = _controller_pod(core, component)
    restarts = sum(s.restart_count for s in pod.status.container_statuses or [])
    pids = host_pids(pod.metadata.uid, lambda argv: os.path.basename(argv[0]) == component["binary"])
    if len(pids) != 1:
        raise _local_node_only(f"single {component['name']} process of pod {pod.metadata.name} (found {pids})")
    pid = pids[0]
    os.kill(pid, signal.SIGKILL)
    return Kill(pod.metadata.name, pid, restarts, time.monotonic())


def controller_back(core: Any, kill: Kill, timeout: float = 180, component: dict[str, str] = CONTROLLER) -> float:
    """Seconds from the kill until the restarted controller (or `component`) container is Ready again."""
    deadline = kill.at + timeout
    while time.monotonic() < deadline:
        pod = core.read_namespaced_pod(kill.pod, component["namespace"])
        st = pod.status.container_statuses or []
        if sum(s.restart_count for s in st) > kill.restarts and st and all(s.ready for s in st):
            return time.monotonic() - kill.at
        time.sleep(0.2)
    raise AssertionError(f"the {component['name']} did not come back within {timeout:.0f} s of its SIGKILL")


def restart(component: str) -> float:
    """`scripts/local_cluster.sh restart COMPONENT` (kube-apiserver, etcd, kubelet, containerd, node); seconds
    until it was back (the API answers again; kubelet's healthz)."""
    start = time.monotonic()
    proc = subprocess.run([str(LOCAL_CLUSTER), "restart", component], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"local_cluster.sh restart {component} failed:\n{proc.stderr[-2000:]}"
    return time.monotonic() - start


def evict(core: Any, namespace: str, pod: str) -> None:
    """Evict a pod through the Eviction API (what `kubectl drain` and the node's pressure handling use)."""
    from kubernetes import client

    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod, namespace=namespace))
    core.create_namespaced_pod_eviction(pod, namespace, body)


# ---- tenants ----------------------------------------------------------------------------------------

def new_tenant(rel: Any, prefix: str) -> dict[str, str]:
    """tenant-provisioning's parameters for a new tenant (small quotas); its namespace is removed with the release."""
    tenant_id = f"{prefix}_{secrets.token_hex(3)}"
    rel.tenant_namespaces.add(tenant_namespace(tenant_id))
    return {"tenant-id": tenant_id, "tenant-name": "Chaos Tenant", "cpu-quota": "2", "memory-quota": "4Gi",
            "storage-quota": "10Gi"}


def tenant_namespace(tenant_id: str) -> str:
    return "cogniverse-" + tenant_id.replace("_", "-")


def tenant_objects(core: Any, tenant: str) -> dict[str, list[str]]:
    """What provisioning made for a tenant, as kind -> resourceVersions of each object: every namespace carrying
    the tenant's label, and the ResourceQuotas and PVCs in the tenant's namespace."""
    label = f"cogniverse.dev/tenant={tenant}"
    namespace = tenant_namespace(tenant)
    out = {"namespaces": [n.metadata.resource_version for n in core.list_namespace(label_selector=label).items]}
    for kind, lister in (("quotas", core.list_namespaced_resource_quota),
                         ("pvcs", core.list_namespaced_persistent_volume_claim)):
        out.update({f"{kind}/{o.metadata.name}": [o.metadata.resource_version]
                    for o in lister(namespace).items})
    return out


def missing_and_duplicated(objects: dict[str, list[str]], wanted: set[str]) -> tuple[int, int]:
    """Objects (namespaces, quotas/NAME, pvcs/NAME) that are missing, and those beyond the wanted ones (a second
    namespace of the tenant, a quota or claim of another name)."""
    lost = sum(1 for key in wanted if not objects.get(key))
    return lost, sum(max(0, len(v) - 1) for v in objects.values()) + len(set(objects) - wanted)
