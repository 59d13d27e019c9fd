"""A smoke session's cost on the node, printed at its end (tests/smoke/conftest.py): the pods started while it
ran and the CPU-seconds the node's pods used meanwhile (the kubelet's `kubepods` cgroup, on the node of
scripts/local_cluster.sh; elsewhere the line says it is not readable). Both are node-wide: the sessions
scripts/test.sh runs beside a leg's suite are counted in each of them."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

KUBEPODS_CPU = Path("/sys/fs/cgroup/cpuacct/kubepods/cpuacct.usage")  # nanoseconds, cgroup v1 (cgroupfs driver)


def pods_cpu_seconds() -> float | None:
    try:
        return int(KUBEPODS_CPU.read_text()) / 1e9
    except (OSError, ValueError):
        return None


class SessionFigures:
    """Started when the session starts: a watch on every namespace's pods records the uid of each pod
    created from then on (a watch that expires is resumed from a fresh list)."""

    def __init__(self, core: Any):
        self.core = core
        self.started = datetime.now(timezone.utc)
        self.t0 = time.monotonic()
        self.cpu0 = pods_cpu_seconds()
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

    def line(self) -> str:
        self._stop.set()
        cpu1 = pods_cpu_seconds()
        cpu = f"{cpu1 - self.cpu0:.0f} CPU-seconds in the node's pods" if cpu1 is not None and self.cpu0 is not None \
            else f"the pods' CPU-seconds not readable here ({KUBEPODS_CPU})"
        return (f"smoke figures: {len(self.pods)} pods started on the node, {cpu}, "
                f"in {time.monotonic() - self.t0:.0f} s (node-wide: sessions beside this one included)")
