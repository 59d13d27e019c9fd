"""The workflow-controller runs out of memory: its memory limit set below what QUEUED queued runs need, QUEUED runs
submitted at once. Does kubelet's restart bring it back and does every run finish, or does it crash-loop (each
restart lists every Workflow again and dies the same way)?

Three phases, one lock hold:
1. measure: the controller's memory (its container's cgroup: working set = usage minus inactive file pages, as
   kubelet counts it; and the cgroup's peak) idle, with SAMPLE and with QUEUED runs active; the slope is bytes per
   queued run. The node's other namespaces count in the idle figure (other sessions' workflows).
2. starve: a memory limit halfway between idle and the QUEUED-run figure, then QUEUED runs again; the controller
   must be OOM-killed (else the limit was not below their need and the scenario proved nothing).
3. if the runs did not all finish under the low limit (a crash loop), the limit docs/production.md recommends
   (measured need plus RECOMMENDED_MARGIN) must carry every run to its end without an OOM kill.
The Deployment's resources are put back afterwards, also on failure.

The runs: a DAG of TASKS `suspend` steps with a duration (no pod: the node's CPU is not the bottleneck, the
controller's informer, queue and status handling are; each run's status carries TASKS + 1 nodes).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from typing import Any

import pytest

from chaoslib import CONTROLLER, Figures, _controller_pod, host_pids, until
from kubelib import kubectl

pytestmark = pytest.mark.chaos

QUEUED, SAMPLE, TASKS = 200, 50, 5
RUN_SECONDS = 45
RECOMMENDED_MARGIN = 1.5
MI = 1 << 20
LABEL = "cogniverse.dev/chaos-oom"



def controller_memory(core: Any) -> dict[str, int]:
    """The controller container's working set and peak (bytes), from its cgroup v1 memory controller."""
    pod = _controller_pod(core)
    pids = host_pids(pod.metadata.uid, lambda argv: os.path.basename(argv[0]) == CONTROLLER["binary"])
    assert pids, f"no {CONTROLLER['binary']} process of pod {pod.metadata.name} on this host"
    lines = open(f"/proc/{pids[0]}/cgroup").read().splitlines()
    path = next(line.split(":", 2)[2] for line in lines if line.split(":")[1] == "memory")
    folder = f"/sys/fs/cgroup/memory{path}"
    stat = dict(line.split() for line in open(f"{folder}/memory.stat"))
    usage = int(open(f"{folder}/memory.usage_in_bytes").read())
    return {"working_set": usage - int(stat["total_inactive_file"]),
            "peak": int(open(f"{folder}/memory.max_usage_in_bytes").read())}


class Runs:
    """Cheap Workflows in a namespace of their own."""

    def __init__(self, namespace: str):
        from kubernetes import client

        self.api = client.CustomObjectsApi()
        self.namespace = namespace

    def submit(self, n: int, batch: str, seconds: int) -> None:
        body = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                "metadata": {"generateName": f"oom-{batch}-", "labels": {LABEL: batch}},
                "spec": {"entrypoint": "main", "templates": [
                    {"name": "main", "dag": {"tasks": [{"name": f"t{i}", "template": "wait"} for i in range(TASKS)]}},
                    {"name": "wait", "suspend": {"duration": str(seconds)}}]}}
        for _ in range(n):
            self.api.create_namespaced_custom_object("argoproj.io", "v1alpha1", self.namespace, "workflows", body)

    def phases(self, batch: str) -> dict[str, str]:
        items = self.api.list_namespaced_custom_object("argoproj.io", "v1alpha1", self.namespace, "workflows",
                                                       label_selector=f"{LABEL}={batch}")["items"]
        return {i["metadata"]["name"]: (i.get("status") or {}).get("phase") or "" for i in items}

    def count(self, batch: str, *phases: str) -> int:
        return sum(1 for p in self.phases(batch).values() if p in phases)

    def delete(self, batch: str) -> None:
        kubectl("-n", self.namespace, "delete", "workflows", "-l", f"{LABEL}={batch}", "--wait=false", timeout=120)


class Controller:
    """The workflow-controller Deployment's memory limit (put back with restore) and its container's restarts."""

    def __init__(self, core: Any):
        self.core = core
        self.ns, self.name = CONTROLLER["namespace"], CONTROLLER["name"]
        spec = json.loads(kubectl("-n", self.ns, "get", "deployment", self.name, "-o", "json").stdout)
        self.saved = spec["spec"]["template"]["spec"]["containers"][0].get("resources") or {}

    def _set(self, resources: dict[str, Any]) -> None:
        """Patch the container's resources; back once the one pod left has them and its container has started
        or already died (a starved controller may never become Ready)."""
        patch = [{"op": "add", "path": "/spec/template/spec/containers/0/resources", "value": resources}]
        kubectl("-n", self.ns, "patch", "deployment", self.name, "--type=json", "-p", json.dumps(patch))
        until("the workflow-controller's pod with the new resources started", lambda: self._pod_with(resources), 180)

    def _pod_with(self, resources: dict[str, Any]) -> bool:
        pods = self.core.list_namespaced_pod(self.ns, label_selector=CONTROLLER["selector"]).items
        if len(pods) != 1 or pods[0].metadata.deletion_timestamp or not pods[0].status.container_statuses:
            return False
        have = pods[0].spec.containers[0].resources
        st = pods[0].status.container_statuses[0]
        return (have.limits or None) == (resources.get("limits") or None) and bool(st.started or st.restart_count)

    def limit(self, memory_bytes: int) -> None:
        self._set({"limits": {"memory": f"{memory_bytes // MI}Mi"}, "requests": {"memory": f"{memory_bytes // MI}Mi"}})

    def restore(self) -> None:
        self._set(self.saved)

    def _status(self) -> Any:
        pods = self.core.list_namespaced_pod(self.ns, label_selector=CONTROLLER["selector"]).items
        pods = [p for p in pods if not p.metadata.deletion_timestamp and p.status.container_statuses]
        return pods[0].status.container_statuses[0] if len(pods) == 1 else None

    def oom_kills(self) -> tuple[int, int]:
        """(restarts of its container, whether the last termination was OOMKilled)."""
        st = self._status()
        if st is None:
            return 0, 0
        last = st.last_state.terminated if st.last_state else None
        return st.restart_count, int(bool(last and last.reason == "OOMKilled"))


def _settle(core: Any, runs: Runs, batch: str, n: int) -> dict[str, int]:
    until(f"{n} runs of {batch} Running", lambda: runs.count(batch, "Running") >= n, 300)
    time.sleep(15)  # the controller has put every run's nodes in its status; let the heap settle
    return controller_memory(core)


def _leave(signum: int, frame: Any) -> None:
    raise SystemExit(f"signal {signum}: leaving, the controller's resources are put back")


@pytest.fixture
def chaos_namespace() -> Any:
    name = f"cvchaos-oom-{secrets.token_hex(3)}"
    kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_controller_out_of_memory_restarts_and_every_run_finishes(chaos_namespace):
    from kubernetes import client

    core = client.CoreV1Api()
    # `timeout` or CI ending the run: leave through the finally below, which puts the controller's resources back
    previous = signal.signal(signal.SIGTERM, _leave)
    fig = Figures(f"workflow-controller out of memory with {QUEUED} queued runs")
    runs, ctl = Runs(chaos_namespace), Controller(core)
    idle = controller_memory(core)
    runs.submit(SAMPLE, "measure", 600)
    sample = _settle(core, runs, "measure", SAMPLE)
    runs.submit(QUEUED - SAMPLE, "measure", 600)
    full = _settle(core, runs, "measure", QUEUED)
    slope = (full["working_set"] - idle["working_set"]) / QUEUED
    need = max(full["working_set"], full["peak"])
    low = idle["working_set"] + (full["working_set"] - idle["working_set"]) // 2
    recommended = int(need * RECOMMENDED_MARGIN)
    runs.delete("measure")
    until("the measuring runs deleted", lambda: not runs.phases("measure"), 120)
    print(f"  controller working set: idle {idle['working_set'] / MI:.1f} MiB, {SAMPLE} runs "
          f"{sample['working_set'] / MI:.1f} MiB, {QUEUED} runs {full['working_set'] / MI:.1f} MiB (peak "
          f"{full['peak'] / MI:.1f} MiB); {slope / 1024:.1f} KiB per queued run; limit for the fault "
          f"{low // MI} MiB, recommended {recommended // MI} MiB", flush=True)
    recovered, finished_low, kills = False, 0, 0
    try:
        ctl.limit(low)
        fig.faults = 1
        start, restarts0 = time.monotonic(), 0  # a new pod: every restart of it counts, one at start included
        runs.submit(QUEUED, "starve", RUN_SECONDS)
        fig.affected = QUEUED
        try:
            until(f"all {QUEUED} runs finished under a {low // MI} MiB limit",
                   lambda: runs.count("starve", "Succeeded") + runs.count("starve", "Failed", "Error") >= QUEUED,
                   RUN_SECONDS + 180, every=5)
            recovered = True
        except AssertionError:
            pass
        restarts, oom = ctl.oom_kills()
        kills = restarts - restarts0
        finished_low = runs.count("starve", "Succeeded")
        fig.recovery[f"under {low // MI} MiB: {kills} restarts (last OOMKilled: {bool(oom)}), all finished after"] = \
            time.monotonic() - start if recovered else -1
        assert kills >= 1 and oom, f"the controller was not OOM-killed under {low // MI} MiB with {QUEUED} runs " \
                                   f"({restarts - restarts0} restarts): the limit was not below their need"
        if not recovered:
            ctl.limit(recommended)
            start, restarts0 = time.monotonic(), ctl.oom_kills()[0]
            until(f"all {QUEUED} runs finished under the recommended {recommended // MI} MiB",
                   lambda: runs.count("starve", "Succeeded") + runs.count("starve", "Failed", "Error") >= QUEUED,
                   RUN_SECONDS + 240, every=5)
            fig.recovery[f"under the recommended {recommended // MI} MiB: all finished after"] = time.monotonic() - start
            assert ctl.oom_kills()[0] == restarts0, f"OOM-killed again under the recommended {recommended // MI} MiB"
        phases = runs.phases("starve")
    finally:
        ctl.restore()
        runs.delete("starve")
        signal.signal(signal.SIGTERM, previous)
    fig.as_without = sum(1 for p in phases.values() if p == "Succeeded")
    fig.lost = QUEUED - len(phases)
    fig.report()
    print(f"  under {low // MI} MiB: {'recovered' if recovered else 'crash-looped'}, {kills} OOM restarts, "
          f"{finished_low}/{QUEUED} finished", flush=True)
    assert fig.as_without == QUEUED, f"runs that did not succeed: {[n for n, p in phases.items() if p != 'Succeeded']}"
