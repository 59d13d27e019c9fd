"""What the restart scenarios share (test_apiserver_restart.py, test_etcd_restart.py): a component of the node's
control plane restarted (`scripts/local_cluster.sh restart COMPONENT`) while `cogniverse-chart submit --wait`,
`cogniverse-chart wait` and `argo wait` run and a `submit` is sent during the outage; each command rides it out or
fails within its timeout with one clear line, a submit creates at most one Workflow, and the workflows finish as
they would have (a step that could not report is retried by the chart's retryStrategy, never run hidden twice)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from typing import Callable
from urllib.parse import urlparse

from chaoslib import Figures, as_without_fault, expected_steps, hidden_runs, repeated_steps, restart
from cogniverse_chart import REPO_ROOT
from smokelib import Background, explain

TIMEOUT = 150  # --timeout of each command: the workflow's own time plus the restart, with room
CLI = str(REPO_ROOT / ".venv" / "bin" / "cogniverse-chart")
ARGO = str(REPO_ROOT / ".tools" / "bin" / "argo")
OPTIMIZATION = ["-p", "tenant-id=chaos_api", "-p", "max-iterations=100"]


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return False
    except OSError:
        return True


def api_down() -> bool:
    """The API server refuses connections (it stops listening within a second of SIGTERM)."""
    from kubernetes import client

    url = urlparse(client.Configuration.get_default_copy().host)
    return _refused(url.hostname, url.port or 443)


def etcd_down() -> bool:
    """The node's etcd refuses connections on its client port (scripts/local_cluster.sh ETCD_CLIENT_PORT)."""
    return _refused("127.0.0.1", 2379)


def _down(component: str, is_down: Callable[[], bool], timeout: float = 60) -> float:
    """Block until `is_down()`; the time it was first seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_down():
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"the {component} still accepted connections {timeout:.0f} s into its restart")


def _clear(stderr: str) -> bool:
    """One clear message: says what failed (the cluster / API server / the workflow), no Python traceback."""
    text = stderr.strip()
    return bool(text) and "Traceback" not in text and any(
        w in text.lower() for w in ("api server", "cluster", "connection", "timed out", "deadline", "still"))


def commands_across_a_restart(chaos, component: str, is_down: Callable[[], bool], down_label: str) -> None:
    """The scenario, with `scripts/local_cluster.sh restart COMPONENT` as its fault; `is_down` tells when the
    component has stopped, `down_label` names the outage in the figures line."""
    fig = Figures(f"{component} restarted during submit, wait and argo wait")
    argo, rel, ns = chaos.rel.argo, chaos.rel, chaos.rel.namespace
    env = {**os.environ, "KUBECONFIG": rel.kubeconfig}
    waited = argo.submit("batch-optimization", {"tenant-id": "chaos_api", "max-iterations": "100"})
    def run(what: str, *cmd: str, timeout: float = TIMEOUT) -> Background:
        """The command in the background: (exit code, seconds, stdout, stderr) once it ends."""
        def main() -> tuple[int, float, str, str]:
            start = time.monotonic()
            proc = subprocess.run(cmd, env=env, text=True, capture_output=True, timeout=timeout + 60)
            return proc.returncode, time.monotonic() - start, proc.stdout, proc.stderr
        return Background(what, main)

    procs = {
        "cogniverse-chart submit --wait": run("submit-wait", CLI, "submit", "batch-optimization", "-n", ns, *OPTIMIZATION,
                                              "-l", "chaos=submit-wait", "--wait", "--quiet", "--timeout", str(TIMEOUT)),
        "cogniverse-chart wait": run("wait", CLI, "wait", waited, "-n", ns, "--quiet", "--timeout", str(TIMEOUT)),
        "argo wait": run("argo-wait", ARGO, "wait", waited, "-n", ns),
    }
    rel.wait(waited, until=lambda r: r.finished or any(n.type == "Pod" and n.phase == "Succeeded" for n in r.nodes))
    restarted = Background(f"{component}-restart", lambda: restart(component))
    down_at = _down(component, is_down)
    procs["cogniverse-chart submit (API down)"] = run("submit-down", CLI, "submit", "batch-optimization", "-n", ns,
                                                      *OPTIMIZATION, "-l", "chaos=submit-down", "--timeout", "60",
                                                      timeout=60)
    fig.faults = 1
    restarted.join(300)
    fig.recovery[down_label] = time.monotonic() - down_at
    outcomes = {what: bg.join(TIMEOUT + 120) for what, bg in procs.items()}
    submitted = {sel: argo.list_workflows(selector=f"chaos={sel}") for sel in ("submit-wait", "submit-down")}
    results = {waited: rel.wait(waited)} | {w.name: rel.wait(w.name) for ws in submitted.values() for w in ws}
    affected = [r for r in results.values() if r.name == waited or r.name in {w.name for w in submitted["submit-wait"]}]
    fig.affected = len(affected)
    fig.as_without = sum(as_without_fault(r, expected_steps(argo, "batch-optimization")) for r in affected)
    fig.repeated_steps = sum(sum(repeated_steps(r, chaos.ledger).values()) for r in results.values())
    for what, (rc, seconds, _, err) in outcomes.items():
        fig.recovery[f"{what} {'survived' if rc == 0 else f'failed (exit {rc})'} after"] = seconds
    fig.report()
    for what, (rc, seconds, out, err) in outcomes.items():
        print(f"  {what}: exit {rc} in {seconds:.1f} s; stdout: {out.strip()[-300:]!r}; stderr: {err.strip()[-300:]!r}")
    for r in results.values():
        print(explain(r))
    again = subprocess.run([ARGO, "wait", waited, "-n", ns], env=env, text=True, capture_output=True, timeout=60)
    for what, (rc, seconds, out, err) in outcomes.items():
        limit = 60 if "down" in what else TIMEOUT
        assert seconds <= limit + 15, f"{what} ran {seconds:.0f} s, past its {limit} s timeout"
        assert rc == 0 or what == "argo wait" or _clear(err), f"{what} failed (exit {rc}) without a clear message: {err[-2000:]!r}"
    assert again.returncode == 0 and "Succeeded" in again.stdout, f"argo wait after the restart: {again.stdout}{again.stderr}"
    assert fig.as_without == fig.affected == 2, "\n".join(explain(r) for r in affected)
    assert len(submitted["submit-wait"]) == 1, [w.name for w in submitted["submit-wait"]]
    down_rc = outcomes["cogniverse-chart submit (API down)"][0]
    assert len(submitted["submit-down"]) == (1 if down_rc == 0 else 0), (
        f"a submit sent while the API was down exited {down_rc} and created {[w.name for w in submitted['submit-down']]}")
    hidden = {r.name: hidden_runs(r, chaos.ledger) for r in results.values()}
    assert not any(hidden.values()), f"steps ran more often than their attempts in the workflow status: {hidden}"
