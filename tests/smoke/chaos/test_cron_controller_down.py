"""The workflow-controller down (its Deployment scaled to 0, as an outage or a slow upgrade) across a CronWorkflow's
scheduled time: when it is back, Argo runs the missed schedule exactly once if the CronWorkflow's
startingDeadlineSeconds still allows it, and not at all otherwise; concurrencyPolicy Forbid holds (no two runs of a
CronWorkflow overlap); and the heavy-jobs semaphore is not left held by a run that died while the controller was
away.

How Argo decides (workflow/cron/controller.go and operator.go, the same in 3.7.18 and 4.0.7): whenever the
controller (re)reads a CronWorkflow, shouldOutstandingWorkflowsBeRun takes the latest schedule between
status.lastScheduledTime and now, and runs it once if now is before that time plus startingDeadlineSeconds (all
older missed schedules are dropped). It does so only for a CronWorkflow that has run before under its current
schedule (a schedule just changed counts as new), so each CronWorkflow here first runs once with the controller up;
schedules are per minute, so the scenario takes two to three minutes of waiting for the clock.

Two of the chart's CronWorkflows, patched for the test to run every minute: daily-cleanup (heavy: it takes the
heavy-jobs semaphore, limit 1) with the chart's startingDeadlineSeconds, monthly-reports with 10 s (shorter than the
outage). The dead run: a Workflow of the test that holds the heavy-jobs semaphore (a `suspend` step, no pod) is
deleted while the controller is down, so nothing ever tells the controller it ended; daily-cleanup's missed run,
which needs the same semaphore, must still get it once the controller is back (Argo rebuilds its locks from the
Workflows that exist when it starts). A heavy run that is stuck rather than gone is the deadline watchdog's case:
tests/smoke/test_semaphore_hold.py. The CronWorkflows' specs are put back afterwards.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from chaoslib import CONTROLLER, Figures, until
from kubelib import kubectl

pytestmark = pytest.mark.chaos

LATE, EXPIRED = "daily-cleanup", "monthly-reports"
SHORT_DEADLINE = 10
CRON_LABEL = "workflows.argoproj.io/cron-workflow"



def _scale_controller(replicas: int) -> None:
    """Scale the controller; back up once its container has started (not Ready: its healthz also fails for
    reasons of other namespaces, a workflow it cannot make progress on)."""
    ns, name = CONTROLLER["namespace"], CONTROLLER["name"]
    kubectl("-n", ns, "scale", f"deployment/{name}", f"--replicas={replicas}")
    if replicas:
        until("the workflow-controller's container started", lambda: "true" in kubectl(
            "-n", ns, "get", "pod", "-l", CONTROLLER["selector"], "-o",
            "jsonpath={.items[*].status.containerStatuses[0].started}").stdout, 180)
    else:
        kubectl("-n", ns, "wait", "--for=delete", "pod", "-l", CONTROLLER["selector"], "--timeout=120s", timeout=150)


def _runs(argo: Any, cron: str) -> list:
    return argo.list_workflows(selector=f"{CRON_LABEL}={cron}")


def _created(run: Any) -> datetime:
    return datetime.fromisoformat(run.raw["metadata"]["creationTimestamp"].replace("Z", "+00:00"))


def _span(run: Any) -> tuple[str, str]:
    st = run.raw.get("status") or {}
    return st.get("startedAt") or "", st.get("finishedAt") or "9999"


def _next_minute_in() -> float:
    now = datetime.now(timezone.utc)
    return 60 - now.second - now.microsecond / 1e6


def _holding(run: Any) -> list[str]:
    """The semaphores a Workflow's status says it holds (Argo's own record of its locks)."""
    sync = (run.raw.get("status") or {}).get("synchronization") or {}
    return [h.get("semaphore", "") for kind in sync.values() for h in (kind or {}).get("holding") or []
            if h.get("holders")]


def _heavy_spec(argo: Any) -> dict[str, Any]:
    """The spec of the WorkflowTemplate LATE's runs come from (it holds their synchronization)."""
    return argo.get("workflowtemplates", argo.get("cronworkflows", LATE)["spec"]["workflowSpec"]
                    ["workflowTemplateRef"]["name"])["spec"]


def _semaphore_holder(rel: Any) -> str:
    """Create a Workflow that takes the heavy-jobs semaphore and then waits (a `suspend` step: no pod)."""
    heavy = _heavy_spec(rel.argo)
    return rel.argo.create_workflow({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "chaos-holder-"},
        "spec": {"entrypoint": "hold", "synchronization": heavy["synchronization"],
                 "serviceAccountName": heavy.get("serviceAccountName"),
                 "templates": [{"name": "hold", "suspend": {}}]}})


def _restore(ns: str, saved: dict[str, dict]) -> None:
    for cron, spec in saved.items():
        kubectl("-n", ns, "patch", "cronworkflow", cron, "--type=merge", "-p", json.dumps({"spec": {
            "schedules": spec["schedules"], "suspend": spec.get("suspend", False),
            "startingDeadlineSeconds": spec.get("startingDeadlineSeconds")}}))


def test_controller_down_across_a_schedule_runs_it_once_within_the_deadline_and_never_past_it(chaos):
    fig = Figures("workflow-controller down across a CronWorkflow's schedule")
    rel, argo, ns = chaos.rel, chaos.rel.argo, chaos.rel.namespace
    saved = {c: argo.get("cronworkflows", c)["spec"] for c in (LATE, EXPIRED)}
    assert _heavy_spec(argo).get("synchronization"), f"{LATE} takes no semaphore in this release"
    patch = {LATE: {"schedules": ["* * * * *"]},
             EXPIRED: {"schedules": ["* * * * *"], "startingDeadlineSeconds": SHORT_DEADLINE}}
    holder = ""
    try:
        for cron, spec in patch.items():
            kubectl("-n", ns, "patch", "cronworkflow", cron, "--type=merge", "-p", json.dumps({"spec": spec}))
        # Each runs once with the controller up: Argo records the schedule it ran under. The outage starts once
        # those runs have ended (a run still going at the missed time would rightly make Forbid skip it).
        until("both CronWorkflows ran once", lambda: all(_runs(argo, c) for c in patch), 150)
        for run in [r for c in patch for r in _runs(argo, c)]:
            rel.wait(run.name)
        holder = _semaphore_holder(rel)
        until(f"{holder} holds the heavy-jobs semaphore", lambda: _holding(argo.status(holder)), 60)
        _scale_controller(0)
        down_at = time.monotonic()
        fig.faults = 2  # the outage, and the semaphore holder gone while nobody watched
        kubectl("-n", ns, "delete", "workflow", holder, "--wait=true", timeout=60)
        time.sleep(_next_minute_in() + SHORT_DEADLINE + 10)  # the next schedule passes, and the short deadline
        missed_at = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        _scale_controller(1)
        fig.recovery["controller down for"] = time.monotonic() - down_at
        back_at = time.monotonic()
        until(f"{LATE} ran its missed schedule",
               lambda: [r for r in _runs(argo, LATE) if _created(r) >= missed_at], 45)
        fig.recovery["missed schedule run after the controller's return"] = time.monotonic() - back_at
        time.sleep(max(0.0, _next_minute_in() - 5))  # all the controller's catching up, before the next schedule
        for cron in patch:
            kubectl("-n", ns, "patch", "cronworkflow", cron, "--type=merge", "-p", '{"spec": {"suspend": true}}')
        after = {c: [r for r in _runs(argo, c) if _created(r) >= missed_at] for c in patch}
        # bounded: a missed run stuck behind a semaphore nobody holds any more would wait for ever
        results = {r.name: rel.wait(r.name, timeout=240) for c in patch for r in _runs(argo, c)}
        if after[LATE]:
            late = results[after[LATE][0].name]
            fig.recovery["missed run finished after the controller's return"] = \
                (datetime.fromisoformat(late.finished_at.replace("Z", "+00:00")) - _created(late)).total_seconds() \
                + fig.recovery["missed schedule run after the controller's return"]
    finally:
        _restore(ns, saved)
        _scale_controller(1)
        if holder:
            kubectl("-n", ns, "delete", "workflow", holder, "--ignore-not-found", check=False)
    fig.affected = 3
    fig.as_without = int(len(after[LATE]) == 1) + int(not after[EXPIRED]) + int(
        all(r.phase == "Succeeded" for r in results.values()))
    fig.duplicated = max(0, len(after[LATE]) - 1)
    fig.lost = int(not after[LATE]) + len(after[EXPIRED])
    overlaps = {c: [(a.name, b.name) for a in _runs(argo, c) for b in _runs(argo, c)
                    if a.name < b.name and _span(a)[0] < _span(b)[1] and _span(b)[0] < _span(a)[1]] for c in patch}
    held = {w.name: _holding(w) for w in argo.list_workflows() if w.finished and _holding(w)}
    fig.report()
    print(f"  runs since the missed schedule {missed_at:%H:%M}: " + "; ".join(
        f"{c}: {[(r.name, results[r.name].phase) for r in rs]}" for c, rs in after.items()), flush=True)
    assert len(after[LATE]) == 1, f"{LATE} (deadline {saved[LATE].get('startingDeadlineSeconds')} s) ran " \
                                  f"{len(after[LATE])} times for its missed schedule"
    assert not after[EXPIRED], f"{EXPIRED} ran past its {SHORT_DEADLINE} s starting deadline: {after[EXPIRED]}"
    assert not any(overlaps.values()), f"runs of one CronWorkflow overlapped under concurrencyPolicy Forbid: {overlaps}"
    assert not held, f"finished workflows still hold a semaphore: {held}"
    # the missed run needed the semaphore the deleted holder had: it got it (Succeeded, not waiting for the lock)
    assert all(r.phase == "Succeeded" for r in results.values()), {n: (r.phase, r.message) for n, r in results.items()}
