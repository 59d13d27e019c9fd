"""A smoke session's cost on the node, printed at its end (tests/smoke/conftest.py): the pods started while it
ran and the CPU-seconds the node's pods used meanwhile (the kubelet's `kubepods` cgroup, on the node of
scripts/local_cluster.sh; elsewhere the line says it is not readable), the CPU-seconds of the node's own
processes (etcd, kube-apiserver, kubelet, containerd...: the pid files of scripts/local_cluster.sh) and of
pytest itself. The node's figures are node-wide: the sessions scripts/test.sh runs beside a leg's suite are
counted in each of them. With $COGNIVERSE_SESSION_FIGURES set (scripts/test.sh sets it), the session also
appends one row to that file (and the uids of its pods to FILE.pods), named $COGNIVERSE_SESSION_NAME:
`benchmarks/bench_smoke.py --sessions FILE` prints a leg's table from them."""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

KUBEPODS_CPU = Path("/sys/fs/cgroup/cpuacct/kubepods/cpuacct.usage")  # nanoseconds, cgroup v1 (cgroupfs driver)
NODE_PIDS = Path(os.environ.get("COGNIVERSE_CLUSTER_STATE", "/var/lib/cogniverse-local-cluster")) / "pids"


def pods_cpu_seconds() -> float | None:
    try:
        return int(KUBEPODS_CPU.read_text()) / 1e9
    except (OSError, ValueError):
        return None


def node_cpu_seconds() -> float | None:
    """User+system CPU-seconds of the node's processes so far (their waited-for children included)."""
    total, found = 0.0, False
    for pid_file in sorted(NODE_PIDS.glob("*.pid")):
        try:
            fields = Path(f"/proc/{int(pid_file.read_text())}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue  # not running (a chaos scenario restarts it): its seconds so far are lost
        total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
        found = True
    return total if found else None


def pytest_cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class SessionFigures:
    """Started when the session starts: a watch on every namespace's pods records the uid of each pod
    created from then on (a watch that expires is resumed from a fresh list)."""

    def __init__(self, core: Any):
        self.core = core
        self.started = datetime.now(timezone.utc)
        self.t0 = time.monotonic()
        self.cpu0 = pods_cpu_seconds()
        self.node0 = node_cpu_seconds()
        self.pods: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="session-figures", daemon=True)
        self._thread.start()

    def _list(self) -> str:
        pods = self.core.list_pod_for_all_namespaces()
        self.pods.update(p.metadata.uid for p in pods.items if p.metadata.creation_timestamp >= self.started)
        return pods.metadata.resource_version

    def _watch(self) -> None:
        from kubernetes import watch

        while not self._stop.is_set():
            try:
                version = self._list()
                for event in watch.Watch().stream(self.core.list_pod_for_all_namespaces, resource_version=version,
                                                  timeout_seconds=60):
                    if event["type"] == "ADDED" and event["object"].metadata.creation_timestamp >= self.started:
                        self.pods.add(event["object"].metadata.uid)
                    if self._stop.is_set():
                        return
            except Exception:  # an expired watch or a restarting API server: list again
                time.sleep(2)

    def row(self, stats: dict[str, list[Any]]) -> dict[str, Any]:
        """The session's figures so far; `stats` is the terminal reporter's (outcomes, the slowest test)."""
        self._stop.set()
        cpu1, node1 = pods_cpu_seconds(), node_cpu_seconds()
        calls = [r for r in stats.get("passed", []) + stats.get("failed", []) if getattr(r, "when", "") == "call"]
        slowest = max(calls, key=lambda r: r.duration, default=None)
        return {"name": os.environ.get("COGNIVERSE_SESSION_NAME") or "pytest", "start": self.started.timestamp(),
                "wall": time.monotonic() - self.t0, "pods": len(self.pods),
                "pods_cpu": _delta(self.cpu0, cpu1), "node_cpu": _delta(self.node0, node1),
                "pods_cpu_at": [self.cpu0, cpu1], "node_cpu_at": [self.node0, node1],  # the counters: a leg's union
                "pytest_cpu": pytest_cpu_seconds(), "passed": len(stats.get("passed", [])),
                "failed": len(stats.get("failed", [])) + len(stats.get("error", [])),
                "slowest": [slowest.nodeid, slowest.duration] if slowest else None}

    def record(self, row: dict[str, Any]) -> None:
        """Append the row (one JSON line) and the pods' uids to $COGNIVERSE_SESSION_FIGURES(.pods)."""
        target = os.environ.get("COGNIVERSE_SESSION_FIGURES")
        if not target:
            return
        with open(target, "a") as out:
            out.write(json.dumps(row) + "\n")
        with open(f"{target}.pods", "a") as out:
            out.writelines(f"{row['name']}\t{uid}\n" for uid in sorted(self.pods))

    def line(self, row: dict[str, Any]) -> str:
        cpu = f"{row['pods_cpu']:.0f} CPU-seconds in the node's pods" if row["pods_cpu"] is not None \
            else f"the pods' CPU-seconds not readable here ({KUBEPODS_CPU})"
        node = f"{row['node_cpu']:.0f} in its processes" if row["node_cpu"] is not None else "its processes not readable"
        return (f"smoke figures: {row['pods']} pods started on the node, {cpu}, {node}, {row['pytest_cpu']:.0f} "
                f"in pytest, in {row['wall']:.0f} s (node-wide: sessions beside this one included)")


def _delta(before: float | None, after: float | None) -> float | None:
    return after - before if before is not None and after is not None else None
