"""kubelet and containerd restarted together while step pods run (`scripts/local_cluster.sh restart node`: a node
reboot without the reboot; the containers keep running in their shims, as after a kubelet or runtime upgrade):
every workflow finishes as it would have; a step the restart broke is retried as its retryStrategy says (a retry
shown in the workflow, never a hidden second run)."""

from __future__ import annotations

import json
import time

import pytest

from chaoslib import Figures, as_without_fault, expected_steps, hidden_runs, new_tenant, repeated_steps, restart
from smokelib import explain

pytestmark = pytest.mark.chaos


def test_workflows_finish_across_a_kubelet_and_containerd_restart(chaos):
    fig = Figures("kubelet and containerd restarted while step pods run")
    argo, rel, ledger = chaos.rel.argo, chaos.rel, chaos.ledger
    runs = {argo.submit("tenant-provisioning", new_tenant(rel, "chaos_node")): "tenant-provisioning",
            argo.submit("batch-optimization", {"tenant-id": "chaos_node", "max-iterations": "100"}): "batch-optimization",
            argo.submit("video-ingestion", {"tenant-id": "chaos_node"}): "video-ingestion"}
    # While a step's main container runs (not a validation step, over in a second).
    pod = ledger.wait_for("running", lambda p: p["workflow"] in runs and p["main_running"] and "validate-" not in p["node"])
    running = [n for n in runs if not argo.status(n).finished]
    fig.faults, fig.affected = 1, len(running)
    fig.recovery["kubelet healthy again"] = restart("node")
    back = time.monotonic()
    results = {n: rel.wait(n) for n in runs}
    fig.recovery["last workflow finished after"] = time.monotonic() - back
    fig.as_without = sum(1 for n in running if as_without_fault(results[n], expected_steps(argo, runs[n])))
    retried = {n: repeated_steps(r, ledger) for n, r in results.items()}
    fig.repeated_steps = sum(sum(r.values()) for r in retried.values())
    hidden = {n: hidden_runs(r, ledger) for n, r in results.items()}
    fig.report()
    print(f"  step running at the restart: {pod['node']}; retried: {retried}")
    assert running, "every workflow had finished before the restart: the scenario proved nothing"
    for name, result in results.items():
        assert as_without_fault(result, expected_steps(argo, runs[name])), explain(result)
    assert not any(hidden.values()), f"steps ran more often than their attempts in the workflow status: {hidden}"
    limit = json.loads(rel.helm_run("get", "values", rel.release, "--all", "--output", "json").stdout)["workflows"]["retry"]["limit"]
    assert all(v <= limit for r in retried.values() for v in r.values()), f"more retries than the limit {limit}: {retried}"
