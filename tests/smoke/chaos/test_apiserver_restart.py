"""The node's kube-apiserver restarted (`scripts/local_cluster.sh restart apiserver`: SIGTERM, then the same
process and flags again) while users wait on workflows and submit new ones: `cogniverse-chart submit --wait`,
`cogniverse-chart wait` and `argo wait` each either ride out the restart and report the result, or fail within
their timeout with one clear line (no traceback); a submit sent while the API is down creates at most one
Workflow; the workflows themselves finish as they would have (their state is in the API, the controller and
the step pods reconnect). A step whose executor could not report while the API was down fails and is retried
by the chart's retryStrategy: a retry shown in the workflow, never a hidden second run.

`argo wait` (Argo's own CLI, v3.7.18) exits 1 without a word when the API server goes away under its watch: it
is held only to ending within its time, and `argo wait` run again afterwards must report the result."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from urllib.parse import urlparse

import pytest

from chaoslib import Figures, as_without_fault, expected_steps, hidden_runs, repeated_steps, restart_apiserver
from cogniverse_chart import REPO_ROOT
from smokelib import Background, explain

pytestmark = [pytest.mark.chaos, pytest.mark.group("chaos")]

TIMEOUT = 150  # --timeout of each command: the workflow's own time plus the restart, with room
CLI = str(REPO_ROOT / ".venv" / "bin" / "cogniverse-chart")
ARGO = str(REPO_ROOT / ".tools" / "bin" / "argo")
OPTIMIZATION = ["-p", "tenant-id=chaos_api", "-p", "max-iterations=100"]


def _api_down(timeout: float = 60) -> float:
    """Block until the API server refuses connections (it stops listening within a second of SIGTERM)."""
    from kubernetes import client

    url = urlparse(client.Configuration.get_default_copy().host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((url.hostname, url.port or 443), timeout=1).close()
        except OSError:
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"the API server still accepted connections {timeout:.0f} s into its restart")


def _clear(stderr: str) -> bool:
    """One clear message: says what failed (the cluster / API server / the workflow), no Python traceback."""
    text = stderr.strip()
    return bool(text) and "Traceback" not in text and any(
        w in text.lower() for w in ("api server", "cluster", "connection", "timed out", "deadline", "still"))


def test_commands_survive_or_fail_clearly_across_an_apiserver_restart(chaos):
    fig = Figures("kube-apiserver restarted during submit, wait and argo wait")
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
    restart = Background("apiserver-restart", restart_apiserver)
    down_at = _api_down()
    procs["cogniverse-chart submit (API down)"] = run("submit-down", CLI, "submit", "batch-optimization", "-n", ns,
                                                      *OPTIMIZATION, "-l", "chaos=submit-down", "--timeout", "60",
                                                      timeout=60)
    fig.faults = 1
    restart.join(300)
    fig.recovery["API refused connections for"] = time.monotonic() - down_at
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
