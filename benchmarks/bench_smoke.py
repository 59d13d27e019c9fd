"""Smoke-suite wall time and deploy-to-Ready time on a real cluster (prints figures; never fails on time).

    KUBECONFIG=... .venv/bin/python benchmarks/bench_smoke.py [--values FILE] [--skip-suite]

1. Deploy: `helm upgrade --install` of the chart (default values/smoke.yaml) into a fresh
   namespace, timed from the start of helm to the moment every pod of the release is Ready and
   every Deployment/StatefulSet has its ready replicas (polled every second), then uninstalled.
2. Smoke suite: wall time of `python -m pytest -m smoke tests/smoke` and its outcome, the time of
   the docs/guide.md run inside it (it runs beside the other tests), the install time, and the ten
   slowest tests. `--argo-version` only labels the figures (the cluster in KUBECONFIG decides).

3. `--ci`: the whole CI command (`CI=true bash .ci/run`: bootstrap, Go helpers, fast tests, cluster up,
   the smoke suite on each Argo version with the swap between) from this checkout, and the time of
   every stage as scripts/test.sh records it (COGNIVERSE_STAGE_TIMES), with the machine's load
   average before and after. Needs no KUBECONFIG (it brings up the local cluster and takes it down).

4. `--sessions FILE [--leg NAME]`: the table of a leg's pytest sessions (its suite and each group beside
   or after it) from the rows they appended to FILE (tests/smoke/figures.py; scripts/test.sh prints it at
   the end of every leg): start, wall, pods started, CPU-seconds of the node's pods, of its processes and
   of pytest, the tests, and the critical path (the session that ended last, and its slowest test). `--ci`
   prints every leg's table.

Holds /run/lock/cogniverse-smoke.lock while it runs (smoke runs never overlap on a shared node).
Without KUBECONFIG (and without --ci) it prints one line saying so and exits 0.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

from cogniverse_chart import CHART_DIR, PROFILES_DIR, REPO_ROOT
from cogniverse_chart.argo.client import load_kube_config
from cogniverse_chart.helm import find_helm

LOCK = "/run/lock/cogniverse-smoke.lock"


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
    from kubernetes import client

    load_kube_config()
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


def bench_suite(label: str) -> None:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-m", "smoke", "-q", "-s", "-p", "no:cacheprovider",
                           "--durations=10", str(REPO_ROOT / "tests" / "smoke")], capture_output=True, text=True,
                          cwd=REPO_ROOT)
    wall = time.monotonic() - start
    out = proc.stdout.splitlines()
    summary = next((line for line in reversed(out) if re.search(r"\d+ (passed|failed|error|skipped)", line)),
                   out[-1] if out else "no output")
    print(f"smoke suite{label}: {wall:.1f}s wall time; exit {proc.returncode}; {summary.strip('= ')}")
    for line in out:
        if line.startswith(("smoke: installed", "docs/guide.md on the cluster")) or "commands:" in line[:20]:
            print(f"  {line.strip()}")
    if "slowest" in proc.stdout:
        durations = proc.stdout.split("slowest", 1)[1].splitlines()[1:12]
        print("  slowest:\n" + "\n".join(f"    {d}" for d in durations if d.strip()))
    if proc.returncode != 0:
        print("\n".join(out[-40:]))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _span(rows: list[dict], key: str) -> float | None:
    """A counter's growth over the leg: from the first session's start to the last one's end."""
    starts = [r[key][0] for r in rows if r.get(key) and r[key][0] is not None]
    ends = [r[key][1] for r in rows if r.get(key) and r[key][1] is not None]
    return max(ends) - min(starts) if starts and ends else None


def session_table(path: Path, leg: str = "") -> list[str]:
    """The table of the sessions in `path` whose name starts with `leg` (all of them without it)."""
    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        pods = [line.split("\t") for line in Path(f"{path}.pods").read_text().splitlines() if "\t" in line] \
            if Path(f"{path}.pods").is_file() else []
    except (OSError, ValueError) as exc:
        return [f"sessions: {path} not readable ({exc})"]
    want = {"name": str, "start": (int, float), "wall": (int, float), "pods": int, "pytest_cpu": (int, float)}
    bad = [i for i, r in enumerate(rows, 1) if not isinstance(r, dict)
           or any(not isinstance(r.get(k), t) for k, t in want.items())]
    if bad:
        return [f"sessions: {path} not readable (row {bad[0]} lacks one of {', '.join(want)}: not a session's row)"]
    rows = [r for r in rows if r["name"].startswith(leg)]
    if not rows:
        return [f"sessions: no session named {leg!r}... in {path}"]
    t0 = min(r["start"] for r in rows)
    out = [f"{leg or 'sessions'}: {'session':30} {'start':>6} {'wall':>6} {'pods':>5} {'pods-CPU':>9} "
           f"{'node-CPU':>9} {'pytest-CPU':>10}  tests"]
    for r in sorted(rows, key=lambda r: r["start"]):
        out.append(f"  {r['name'][len(leg):].strip() or r['name']:30} {r['start'] - t0:+5.0f}s {r['wall']:5.0f}s "
                   f"{r['pods']:5d} {_fmt(r['pods_cpu']):>9} {_fmt(r['node_cpu']):>9} {r['pytest_cpu']:10.0f}  "
                   f"{r['passed']} passed, {r['failed']} failed")
    end = max(r["start"] + r["wall"] for r in rows)
    names = {r["name"] for r in rows}
    out.append(f"  {'the leg (union, node-wide)':30} {'':6} {end - t0:5.0f}s {len({u for n, u in pods if n in names}):5d} "
               f"{_fmt(_span(rows, 'pods_cpu_at')):>9} {_fmt(_span(rows, 'node_cpu_at')):>9} "
               f"{sum(r['pytest_cpu'] for r in rows):10.0f}")
    last = max(rows, key=lambda r: r["start"] + r["wall"])
    slow = f"; its slowest test {last['slowest'][0]} {last['slowest'][1]:.0f}s" if last.get("slowest") else ""
    out.append(f"  critical path: {last['name']}, ended last at +{last['start'] + last['wall'] - t0:.0f}s{slow}")
    return out + _guide_lines(Path(f"{path}.guide"), names)


def _guide_lines(path: Path, names: set[str]) -> list[str]:
    """The guide run's total and its five slowest commands (tests/smoke/conftest.py records them)."""
    if not path.is_file():
        return []
    cmds = [line.split("\t", 3) for line in path.read_text(errors="replace").splitlines() if line.count("\t") >= 3]
    cmds = [(n, float(sec), line, text) for n, sec, line, text in cmds if n in names]
    if not cmds:
        return []
    out = [f"  docs/guide.md: {len(cmds)} commands run, {sum(c[1] for c in cmds):.0f}s; the slowest:"]
    return out + [f"    {sec:6.1f}s  line {line}: {text}" for _, sec, line, text in sorted(cmds, key=lambda c: -c[1])[:5]]


def bench_ci() -> int:
    """`CI=true bash .ci/run` with its stage times (scripts/test.sh writes them to COGNIVERSE_STAGE_TIMES)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-ci-") as tmp:
        times = Path(tmp) / "stages.tsv"
        log = Path(tmp) / "ci.log"
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        sessions = Path(tmp) / "sessions.jsonl"
        env.update(CI="true", COGNIVERSE_STAGE_TIMES=str(times), COGNIVERSE_SESSION_FIGURES=str(sessions))
        load_before = os.getloadavg()
        start = time.monotonic()
        with open(log, "w") as out:
            proc = subprocess.run(["bash", str(REPO_ROOT / ".ci" / "run")], cwd=REPO_ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
        wall = time.monotonic() - start
        load_after = os.getloadavg()
        print(f".ci/run: {wall:.0f}s wall ({wall / 60:.1f} min), exit {proc.returncode}; load average "
              f"{load_before[0]:.1f} before, {load_after[0]:.1f} after")
        stages = [line.split("\t") for line in times.read_text().splitlines()] if times.is_file() else []
        for name, secs in stages:
            print(f"  {name:34} {int(secs):5d}s")
        if stages:
            print(f"  {'sum of stages':34} {sum(int(s) for _, s in stages):5d}s")
        text = log.read_text(errors="replace").splitlines()
        for line in text:
            if line.startswith("test.sh: on Argo") or re.search(r"=+ .*\d+ (passed|failed)", line):
                print(f"  {line.strip('= ')}")
        for leg in dict.fromkeys(json.loads(r)["name"].rsplit(" ", 1)[0] for r in
                                 (sessions.read_text().splitlines() if sessions.is_file() else []) if r.strip()):
            print("\n".join(session_table(sessions, leg)))
        if proc.returncode != 0:
            print("\n".join(text[-60:]))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--values", type=Path, default=PROFILES_DIR / "smoke.yaml", help="values for the deploy timing")
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait for Ready")
    p.add_argument("--skip-suite", action="store_true", help="only time the deploy")
    p.add_argument("--skip-deploy", action="store_true", help="only time the smoke suite")
    p.add_argument("--argo-version", default="", help="label for the figures (the Argo the cluster runs)")
    p.add_argument("--ci", action="store_true", help="time `CI=true bash .ci/run` and each of its stages")
    p.add_argument("--sessions", type=Path, metavar="FILE", help="print the table of the sessions in FILE")
    p.add_argument("--leg", default="", help="with --sessions: only the sessions whose name starts with this")
    args = p.parse_args()
    if args.sessions:
        print("\n".join(session_table(args.sessions, args.leg)))
        return 0
    if args.ci:
        with open(LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return bench_ci()
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig or not Path(kubeconfig).exists():
        print("bench_smoke: no cluster (set KUBECONFIG to a cluster with Argo Workflows); nothing measured")
        return 0
    print(f"bench_smoke: cluster from KUBECONFIG={kubeconfig}")
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the same lock as `flock /run/lock/cogniverse-smoke.lock ...`
        if not args.skip_deploy:
            bench_deploy(args.values, args.timeout)
        if not args.skip_suite:
            bench_suite(f" (Argo {args.argo_version})" if args.argo_version else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
