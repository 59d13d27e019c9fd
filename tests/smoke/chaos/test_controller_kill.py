"""The workflow-controller SIGKILLed while the chart's workflows run: Argo keeps a workflow's state in its
Workflow object, so a controller that comes back must finish every run as it would have finished, without
running any step a second time (deploy-model publishes a model, create-namespace and the quota steps write
objects). Killed once mid-workflow, and once while a retry waits out its backoff."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from chaoslib import (BACKOFF_SECONDS, Figures, as_without_fault, controller_back, expected_steps, logical_step, new_tenant,
                      repeated_steps, sigkill_controller, sigkill_step)
from smokelib import explain

pytestmark = pytest.mark.chaos

def _pods_done(result, n: int) -> bool:
    return result.finished or sum(1 for x in result.nodes if x.type == "Pod" and x.phase == "Succeeded") >= n


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@pytest.mark.group("chaos")
def test_controller_killed_mid_workflow_finishes_every_run_once(chaos):
    fig = Figures("workflow-controller SIGKILL mid-workflow")
    argo, rel = chaos.rel.argo, chaos.rel
    tenant = new_tenant(rel, "chaos_kill")
    runs = {"tenant-provisioning": argo.submit("tenant-provisioning", tenant),
            # above its threshold: deploy-model runs, the step that must never run twice
            "batch-optimization": argo.submit("batch-optimization", {"tenant-id": "chaos_corp", "max-iterations": "100"}),
            "video-ingestion": argo.submit("video-ingestion", {"tenant-id": "chaos_corp"})}
    # Mid-workflow: the provisioning has finished two steps and goes on.
    rel.wait(runs["tenant-provisioning"], until=lambda r: _pods_done(r, 2))
    running = [n for n in runs.values() if not argo.status(n).finished]
    kill = sigkill_controller(chaos.core)
    fig.faults, fig.affected = 1, len(running)
    fig.recovery["controller Ready again"] = controller_back(chaos.core, kill)
    results = {t: rel.wait(n) for t, n in runs.items()}
    repeats = {}
    for template, result in results.items():
        assert as_without_fault(result, expected_steps(argo, template)), explain(result)
        repeats.update(repeated_steps(result, chaos.ledger))
    fig.as_without = sum(1 for t, r in results.items() if r.name in running and as_without_fault(r, expected_steps(argo, t)))
    fig.repeated_steps = sum(repeats.values())
    assert results["batch-optimization"].node("deploy-model").phase == "Succeeded", explain(results["batch-optimization"])
    fig.report()
    assert running, "every workflow had finished before the kill: the scenario proved nothing"
    assert not repeats, f"steps ran more than once after the controller's SIGKILL: {repeats}"


def _kill_a_running_step(chaos, name: str) -> str:
    """SIGKILL the main container of the first step of `name` that still runs when the kill lands; its short
    step name."""
    tried: set[str] = set()
    while True:
        pod = chaos.ledger.wait_for(f"of {name} running", lambda p: p["workflow"] == name and
                                    p["main_running"] and p["name"] not in tried and "validate-" not in p["node"])
        tried.add(pod["name"])
        if sigkill_step(chaos.core, chaos.rel.namespace, pod["name"]):
            return logical_step(pod["node"]).rsplit(".", 1)[-1]


def test_controller_killed_while_a_retry_is_pending_retries_once_after_its_backoff(chaos):
    fig = Figures("workflow-controller SIGKILL while a retry is pending")
    argo, rel = chaos.rel.argo, chaos.rel
    name = argo.submit("tenant-provisioning", new_tenant(rel, "chaos_retry"))
    # First fault: a step's process is SIGKILLed (as by the OOM killer), so its attempt fails (exit 137) and the
    # retryStrategy schedules a second attempt BACKOFF_SECONDS later.
    step = _kill_a_running_step(chaos, name)
    failed = rel.wait(name, until=lambda r: r.finished or any(
        n.display_name == f"{step}(0)" and n.phase in ("Error", "Failed") for n in r.nodes))
    assert not failed.finished, explain(failed)
    # Second fault, inside the backoff: the controller dies while the retry waits.
    kill = sigkill_controller(chaos.core)
    fig.faults, fig.affected = 2, 1
    fig.recovery["controller Ready again"] = controller_back(chaos.core, kill)
    result = rel.wait(name)
    fig.as_without = int(as_without_fault(result, expected_steps(argo, "tenant-provisioning")))
    repeats = repeated_steps(result, chaos.ledger, allowed=Counter({step: 1}))
    fig.repeated_steps = sum(repeats.values())
    nodes = sorted((n for n in (result.raw["status"]["nodes"]).values()
                    if n.get("type") == "Pod" and logical_step(n["name"]).endswith(f".{step}")), key=lambda n: n["name"])
    gap = (_time(nodes[-1]["startedAt"]) - _time(nodes[0]["finishedAt"])).total_seconds() if len(nodes) == 2 else -1
    fig.recovery[f"{step} retried after its failure"] = gap
    fig.report()
    assert fig.as_without == 1, explain(result)
    assert len(nodes) == 2, f"{step} should have run twice (the killed attempt and one retry): {[n['name'] for n in nodes]}"
    assert gap >= BACKOFF_SECONDS - 1, f"the retry started {gap:.0f} s after the failure, before its {BACKOFF_SECONDS} s backoff"
    assert not repeats, f"steps ran more than once beyond the one retry: {repeats}"
