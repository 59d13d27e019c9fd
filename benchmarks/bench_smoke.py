"""Smoke-suite wall time and deploy-to-Ready time on a real cluster (prints figures; never fails on time).

    KUBECONFIG=... .venv/bin/python benchmarks/bench_smoke.py [--values FILE] [--skip-suite]

1. Deploy: `helm upgrade --install` of the chart (default values/smoke.yaml) into a fresh
   namespace, timed from the start of helm to the moment every pod of the release is Ready and
   every Deployment/StatefulSet has its ready replicas (polled every second), then uninstalled.
2. Smoke suite: wall time of `python -m pytest -m smoke tests/smoke` and its outcome.

Without KUBECONFIG it prints one line saying so and exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

from cogniverse_chart import CHART_DIR, PROFILES_DIR, REPO_ROOT
from cogniverse_chart.helm import find_helm


def all_ready(apps, core, namespace: str, release: str) -> tuple[bool, int]:
    selector = f"app.kubernetes.io/instance={release}"
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    pods = [p for p in pods if p.status.phase != "Succeeded"]  # finished hook/test pods
    for p in pods:
        conds = {c.type: c.status for c in (p.status.conditions or [])}
        if conds.get("Ready") != "True":
            return False, len(pods)
    for w in (apps.list_namespaced_deployment(namespace, label_selector=selector).items
              + apps.list_namespaced_stateful_set(namespace, label_selector=selector).items):
        if (w.status.ready_replicas or 0) < (w.spec.replicas or 0):
            return False, len(pods)
    return True, len(pods)


def bench_deploy(values: Path, timeout: float) -> None:
    from kubernetes import client, config

    config.load_kube_config()
    core, apps = client.CoreV1Api(), client.AppsV1Api()
    helm = find_helm()
    namespace, release = f"cvbench-{secrets.token_hex(3)}", "cogniverse"
    start = time.monotonic()
    proc = subprocess.run([helm.path, "upgrade", "--install", release, str(CHART_DIR), "--namespace", namespace,
                           "--create-namespace", "--values", str(values)], capture_output=True, text=True)
    helm_done = time.monotonic() - start
    try:
        if proc.returncode != 0:
            print(f"deploy: helm failed after {helm_done:.1f}s: {proc.stderr.strip()}")
            return
        ready, pods = False, 0
        while time.monotonic() - start < timeout:
            ready, pods = all_ready(apps, core, namespace, release)
            if ready:
                break
            time.sleep(1)
        total = time.monotonic() - start
        state = "all Ready" if ready else f"NOT all Ready after the {timeout:.0f}s timeout"
        print(f"deploy ({values.name}, {helm.label}): helm returned in {helm_done:.1f}s; "
              f"{pods} pods {state} at {total:.1f}s from deploy start")
    finally:
        subprocess.run([helm.path, "uninstall", release, "--namespace", namespace, "--wait"], capture_output=True)
        try:
            core.delete_namespace(namespace)
        except client.exceptions.ApiException:
            pass


def bench_suite() -> None:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-m", "smoke", "-q", "-p", "no:cacheprovider",
                           str(REPO_ROOT / "tests" / "smoke")], capture_output=True, text=True, cwd=REPO_ROOT)
    wall = time.monotonic() - start
    summary = next((line for line in reversed(proc.stdout.splitlines()) if re.search(r"\d+ (passed|failed|error|skipped)", line)),
                   proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "no output")
    print(f"smoke suite: {wall:.1f}s wall time; exit {proc.returncode}; {summary.strip('= ')}")
    if proc.returncode != 0:
        print("\n".join(proc.stdout.splitlines()[-40:]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--values", type=Path, default=PROFILES_DIR / "smoke.yaml", help="values for the deploy timing")
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait for Ready")
    p.add_argument("--skip-suite", action="store_true", help="only time the deploy")
    p.add_argument("--skip-deploy", action="store_true", help="only time the smoke suite")
    args = p.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig or not Path(kubeconfig).exists():
        print("bench_smoke: no cluster (set KUBECONFIG to a cluster with Argo Workflows); nothing measured")
        return 0
    print(f"bench_smoke: cluster from KUBECONFIG={kubeconfig}")
    if not args.skip_deploy:
        bench_deploy(args.values, args.timeout)
    if not args.skip_suite:
        bench_suite()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
