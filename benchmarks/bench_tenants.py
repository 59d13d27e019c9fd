"""Tenant provisioning at scale: N tenants through the tenant-provisioning WorkflowTemplate on a real cluster
(prints figures; never fails on time, fails only when a tenant comes out wrong).

    KUBECONFIG=... .venv/bin/python benchmarks/bench_tenants.py [--tenants 200] [--concurrency 10]

1. Installs the chart (values/smoke.yaml, finished pods removed at once) into a fresh namespace.
2. First pass: submits one tenant-provisioning run per tenant, at most --concurrency in flight (the
   chart puts no semaphore on provisioning; Argo's controller-wide `parallelism` would bound it on a
   cluster where it is set), and follows them on one watch stream.
3. Checks every tenant: namespace `cogniverse-<id>` labelled with the tenant, one ResourceQuota with the
   requested hard limits and object counts, the PVCs of the values.
4. Second pass: the same N submissions again; every namespace, quota and PVC must keep its
   resourceVersion (provisioning is idempotent).
5. Removes the tenant namespaces and the release (unless --keep).

Figures: tenants per minute (each pass), API requests per tenant (the API server's
apiserver_request_total, summed over all series, before/after each pass, minus the idle rate measured
for --baseline seconds before: the cluster is shared, so this is an estimate), and the Argo
workflow-controller's memory (metrics-server's working set of its pod, sampled every 15 s; peak and end).
Hold /run/lock/cogniverse-smoke.lock while it runs (it starts hundreds of pods). Without KUBECONFIG it
prints one line saying so and exits 0.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from cogniverse_chart import CHART_DIR, PROFILES_DIR, REPO_ROOT
from cogniverse_chart.argo import ArgoClient
from cogniverse_chart.argo.client import WorkflowStream, load_kube_config
from cogniverse_chart.helm import find_helm

LOCK = "/run/lock/cogniverse-smoke.lock"
QUOTAS = {"cpu-quota": "2", "memory-quota": "4Gi", "storage-quota": "10Gi"}
FINISHED = ("Succeeded", "Failed", "Error")
KUBECTL = str(REPO_ROOT / ".tools" / "bin" / "kubectl")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tenants", type=int, default=200, help="tenants to provision (default 200)")
    p.add_argument("--concurrency", type=int, default=10, help="provisioning runs in flight at once (default 10)")
    p.add_argument("--values", type=Path, default=PROFILES_DIR / "smoke.yaml", help="values file of the install")
    p.add_argument("--baseline", type=float, default=30, help="seconds of idle API traffic measured first")
    p.add_argument("--timeout", type=float, default=3600, help="seconds for one pass")
    p.add_argument("--keep", action="store_true", help="keep the namespaces afterwards")
    p.add_argument("--no-lock", action="store_true", help="do not take the smoke lock (the caller holds it)")
    args = p.parse_args(argv)
    if args.tenants < 1 or args.concurrency < 1:
        p.error("--tenants and --concurrency must be at least 1")
    if not args.values.is_file():
        p.error(f"--values {args.values}: no such file")
    return args


# ---- API server and controller figures -------------------------------------------------------------

_REQ = re.compile(r'^apiserver_request_total\{([^}]*)\} ([0-9.e+]+)$', re.M)


def request_counts() -> Counter[str]:
    """apiserver_request_total per resource (summed over verb, code, scope, ...), from `kubectl get --raw`."""
    text = subprocess.run([KUBECTL, "get", "--raw", "/metrics"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    out: Counter[str] = Counter()
    for labels, value in _REQ.findall(text):
        res = re.search(r'resource="([^"]*)"', labels)
        out[res.group(1) if res else ""] += float(value)
    return out


class ControllerMemory:
    """Working set of the workflow-controller pod from metrics-server, sampled in a thread."""

    def __init__(self, custom: Any, core: Any, namespace: str = "argo"):
        self.custom, self.namespace = custom, namespace
        pods = [p.metadata.name for p in core.list_namespaced_pod(namespace).items
                if p.metadata.name.startswith("workflow-controller")]
        self.pod = pods[0] if pods else None
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> float | None:
        if not self.pod:
            return None
        try:
            m = self.custom.get_namespaced_custom_object("metrics.k8s.io", "v1beta1", self.namespace, "pods", self.pod)
        except Exception:
            return None
        return sum(_mib(c["usage"]["memory"]) for c in m["containers"])

    def _loop(self) -> None:
        while not self._stop.is_set():
            if (v := self.sample()) is not None:
                self.samples.append(v)
            self._stop.wait(15)

    def start(self) -> "ControllerMemory":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


def _mib(q: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "k": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for suffix, mult in units.items():
        if q.endswith(suffix):
            return float(q[: -len(suffix)]) * mult
    return float(q) / 2**20


# ---- provisioning ------------------------------------------------------------------------------------

def tenant_ids(run: str, n: int) -> list[str]:
    return [f"bt{run}_{i:04d}" for i in range(n)]


def namespace_of(tenant: str) -> str:
    return "cogniverse-" + tenant.replace("_", "-")


def provision(argo: ArgoClient, watch: WorkflowStream, tenants: list[str], concurrency: int, timeout: float) -> dict[str, str]:
    """Submit one run per tenant with at most `concurrency` unfinished; returns tenant -> final phase."""
    pending, running, done = list(tenants), {}, {}
    deadline = time.monotonic() + timeout
    with watch.cond:
        while pending or running:
            for name, tenant in list(running.items()):
                if watch.phase_of(name) in FINISHED:
                    done[tenant] = watch.phase_of(name)
                    del running[name]
            while pending and len(running) < concurrency:
                tenant = pending.pop(0)
                watch.cond.release()
                try:
                    name = argo.submit("tenant-provisioning", {"tenant-id": tenant, "tenant-name": f"Bench {tenant}",
                                                               **QUOTAS})
                finally:
                    watch.cond.acquire()
                running[name] = tenant
            if time.monotonic() > deadline:
                raise SystemExit(f"bench_tenants: {len(running) + len(pending)} tenants unfinished after {timeout:.0f}s")
            if running:
                watch.cond.wait(5)
    return done


def tenant_state(core: Any, tenant: str) -> dict[str, Any]:
    from kubernetes.client.exceptions import ApiException

    ns = namespace_of(tenant)
    try:
        nsobj = core.read_namespace(ns)
    except ApiException as exc:
        if exc.status == 404:
            return {}
        raise
    return {
        "labels": nsobj.metadata.labels or {},
        "versions": {"namespace": nsobj.metadata.resource_version,
                     **{f"quota/{q.metadata.name}": q.metadata.resource_version
                        for q in core.list_namespaced_resource_quota(ns).items},
                     **{f"pvc/{p.metadata.name}": p.metadata.resource_version
                        for p in core.list_namespaced_persistent_volume_claim(ns).items}},
        "quotas": [q.spec.hard for q in core.list_namespaced_resource_quota(ns).items],
        "pvcs": {p.metadata.name: (p.spec.resources.requests.get("storage"), tuple(p.spec.access_modes or ()))
                 for p in core.list_namespaced_persistent_volume_claim(ns).items},
    }


def check_tenant(state: dict[str, Any], tenant: str, values: dict[str, Any]) -> list[str]:
    """What is wrong with one tenant's objects (empty when correct)."""
    if not state:
        return [f"{tenant}: namespace {namespace_of(tenant)} missing"]
    wrong = []
    if state["labels"].get("cogniverse.dev/tenant") != tenant:
        wrong.append(f"{tenant}: namespace label cogniverse.dev/tenant={state['labels'].get('cogniverse.dev/tenant')}")
    tp = values["workflows"]["templates"]["tenantProvisioning"]
    want_quota = {"requests.cpu": QUOTAS["cpu-quota"], "requests.memory": QUOTAS["memory-quota"],
                  "requests.storage": QUOTAS["storage-quota"], "pods": str(tp["quota"]["pods"]),
                  "persistentvolumeclaims": str(tp["quota"]["persistentVolumeClaims"])}
    if len(state["quotas"]) != 1:
        wrong.append(f"{tenant}: {len(state['quotas'])} ResourceQuotas, expected 1")
    else:
        hard = state["quotas"][0]
        for k, v in want_quota.items():
            if hard.get(k) != v:
                wrong.append(f"{tenant}: quota {k}={hard.get(k)}, expected {v}")
    want_pvcs = {p["name"]: (p["size"], tuple(p["accessModes"])) for p in tp["pvcs"]}
    if state["pvcs"] != want_pvcs:
        wrong.append(f"{tenant}: PVCs {state['pvcs']}, expected {want_pvcs}")
    return wrong


# ---- main ----------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.environ.get("KUBECONFIG"):
        print("bench_tenants: no cluster configured (set KUBECONFIG); nothing measured")
        return 0
    lock = open(LOCK, "w")
    if not args.no_lock:
        print(f"bench_tenants: waiting for {LOCK}", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    from kubernetes import client

    load_kube_config()
    core, custom = client.CoreV1Api(), client.CustomObjectsApi()
    helm = find_helm()
    run = secrets.token_hex(2)
    namespace, release = f"cvbench-tenants-{run}", "cogniverse"
    tenants = tenant_ids(run, args.tenants)
    watch: WorkflowStream | None = None
    memory = ControllerMemory(custom, core)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            extra = Path(tmp) / "bench.yaml"
            # Finished pods go at once: hundreds of them would otherwise stay for the profile's 10 minutes.
            extra.write_text(yaml.safe_dump({"workflows": {"podGC": {"strategy": "OnPodCompletion",
                                                                     "deleteDelayDuration": ""}}}))
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
            core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
                metadata=client.V1ObjectMeta(name="smoke-backups"), spec=client.V1PersistentVolumeClaimSpec(
                    access_modes=["ReadWriteOnce"],
                    resources=client.V1VolumeResourceRequirements(requests={"storage": "16Mi"}))))
            t = time.monotonic()
            helm.run(["upgrade", "--install", release, str(CHART_DIR), "--namespace", namespace, "--values",
                      str(args.values), "--values", str(extra), "--wait", "--timeout", "5m"])
            print(f"bench_tenants: installed {release} in {namespace} in {time.monotonic() - t:.1f}s", flush=True)
        values = yaml.safe_load(helm.run(["get", "values", release, "--namespace", namespace, "--all",
                                          "--output", "yaml"]).stdout)
        argo = ArgoClient(custom, namespace)
        watch = WorkflowStream(custom, namespace)
        memory.start()
        idle0 = request_counts()
        time.sleep(args.baseline)
        idle_rate = (sum(request_counts().values()) - sum(idle0.values())) / args.baseline
        print(f"bench_tenants: idle API traffic {idle_rate:.1f} requests/s (subtracted below)", flush=True)

        figures: dict[str, str] = {}
        states: dict[str, dict[str, Any]] = {}
        for label in ("first pass", "second pass"):
            before, t0 = request_counts(), time.monotonic()
            phases = provision(argo, watch, tenants, args.concurrency, args.timeout)
            seconds = time.monotonic() - t0
            after = request_counts()
            delta = after - before
            total = sum(delta.values())
            per_tenant = (total - idle_rate * seconds) / len(tenants)
            failed = sorted(t for t, ph in phases.items() if ph != "Succeeded")
            figures[f"{label}: tenants/min"] = f"{len(tenants) / seconds * 60:.1f} ({len(tenants)} in {seconds:.0f}s)"
            figures[f"{label}: API requests/tenant"] = (f"{per_tenant:.0f} (raw {total / len(tenants):.0f}; top: "
                                                        + ", ".join(f"{r or '-'} {v / len(tenants):.0f}"
                                                                    for r, v in delta.most_common(6)) + ")")
            print(f"bench_tenants: {label}: {len(tenants)} tenants in {seconds:.1f}s, {len(failed)} failed; "
                  f"{figures[f'{label}: API requests/tenant']} API requests/tenant; controller memory peak so far "
                  f"{max(memory.samples, default=0):.0f} MiB", flush=True)
            if failed:
                raise SystemExit(f"bench_tenants: {label}: provisioning failed for {failed[:10]}")
            current = {t: tenant_state(core, t) for t in tenants}
            if label == "first pass":
                wrong = [w for t in tenants for w in check_tenant(current[t], t, values)]
                if wrong:
                    raise SystemExit("bench_tenants: wrong tenant objects:\n" + "\n".join(wrong[:20]))
                states = current
            else:
                changed = [t for t in tenants if current[t]["versions"] != states[t]["versions"]]
                if changed:
                    raise SystemExit(f"bench_tenants: the second pass changed {len(changed)} tenants, e.g. {changed[:5]}")
        memory.stop()
        if (v := memory.sample()) is not None:
            memory.samples.append(v)
        figures["workflow-controller memory"] = (
            f"peak {max(memory.samples):.0f} MiB, end {memory.samples[-1]:.0f} MiB, start {memory.samples[0]:.0f} MiB "
            f"({len(memory.samples)} samples)" if memory.samples else "not available (no metrics-server or no pod)")
        print(f"\nbench_tenants: {args.tenants} tenants, concurrency {args.concurrency}, values {args.values.name}; "
              "every namespace, quota and PVC correct; second pass changed nothing")
        for k, v in figures.items():
            print(f"  {k}: {v}")
        return 0
    finally:
        memory.stop()
        if watch:
            watch.stop()
        if not args.keep:
            t = time.monotonic()
            helm.run(["uninstall", release, "--namespace", namespace, "--wait"], check=False)
            names = [namespace_of(x) for x in tenants] + [namespace]
            for i in range(0, len(names), 50):
                subprocess.run([KUBECTL, "delete", "namespace", "--ignore-not-found", "--wait=false", *names[i:i + 50]],
                               capture_output=True, timeout=300)
            print(f"bench_tenants: cleanup requested for {len(names)} namespaces in {time.monotonic() - t:.1f}s")


if __name__ == "__main__":
    sys.exit(main())
