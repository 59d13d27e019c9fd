"""The workflow-controller down (its Deployment scaled to 0, as an outage or a slow upgrade) across a CronWorkflow's
scheduled time: when it is back, Argo runs the missed schedule exactly once if the CronWorkflow's
startingDeadlineSeconds still allows it, and not at all otherwise; concurrencyPolicy Forbid holds (no two runs of a
CronWorkflow overlap); and no semaphore or mutex is left held by a run that has ended.

Two of the chart's CronWorkflows, patched for the test to run every minute: daily-cleanup with the chart's
startingDeadlineSeconds (300), monthly-reports with 10 s (shorter than the outage). Argo runs a missed schedule
only for a CronWorkflow that has run before under the same schedule, so each first runs once with the controller
up. Their specs are put back afterwards."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from chaoslib import CONTROLLER, Figures
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
        _until("the workflow-controller's container started", lambda: "true" in kubectl(
            "-n", ns, "get", "pod", "-l", CONTROLLER["selector"], "-o",
            "jsonpath={.items[*].status.containerStatuses[0].started}").stdout, 180)
    else:
        kubectl("-n", ns, "wait", "--for=delete", "pod", "-l", CONTROLLER["selector"], "--timeout=120s", timeout=150)


def _runs(argo, cron: str) -> list:
    return argo.list_workflows(selector=f"{CRON_LABEL}={cron}")


def _created(run) -> datetime:
    return datetime.fromisoformat(run.raw["metadata"]["creationTimestamp"].replace("Z", "+00:00"))


def _span(run) -> tuple[str, str]:
    st = run.raw.get("status") or {}
    return st.get("startedAt") or "", st.get("finishedAt") or "9999"


def _until(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(1)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def _next_minute_in() -> float:
    now = datetime.now(timezone.utc)
    return 60 - now.second - now.microsecond / 1e6


def test_controller_down_across_a_schedule_runs_it_once_within_the_deadline_and_never_past_it(chaos):
    fig = Figures("workflow-controller down across a CronWorkflow's schedule")
    argo, ns = chaos.rel.argo, chaos.rel.namespace
    saved = {c: argo.get("cronworkflows", c)["spec"] for c in (LATE, EXPIRED)}
    patch = {LATE: {"schedules": ["* * * * *"]},
             EXPIRED: {"schedules": ["* * * * *"], "startingDeadlineSeconds": SHORT_DEADLINE}}
    try:
        for cron, spec in patch.items():
            kubectl("-n", ns, "patch", "cronworkflow", cron, "--type=merge", "-p", json.dumps({"spec": spec}))
        # Each runs once with the controller up: Argo records the schedule it ran under. The outage starts once
        # those runs have ended (a run still going at the missed time would rightly make Forbid skip it).
        _until("both CronWorkflows ran once", lambda: all(_runs(argo, c) for c in patch), 150)
        for run in [r for c in patch for r in _runs(argo, c)]:
            chaos.rel.wait(run.name)
        _scale_controller(0)
        down_at = time.monotonic()
        fig.faults = 1
        time.sleep(_next_minute_in() + SHORT_DEADLINE + 10)  # the next schedule passes, and the short deadline
        missed_at = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        _scale_controller(1)
        fig.recovery["controller down for"] = time.monotonic() - down_at
        back_at = time.monotonic()
        late = _until(f"{LATE} ran its missed schedule", lambda: [r for r in _runs(argo, LATE) if _created(r) >= missed_at], 45)
        fig.recovery["missed schedule run after the controller's return"] = time.monotonic() - back_at
        time.sleep(max(0.0, _next_minute_in() - 5))  # all the controller's catching up, before the next schedule
        for cron in patch:
            kubectl("-n", ns, "patch", "cronworkflow", cron, "--type=merge", "-p", '{"spec": {"suspend": true}}')
        after = {c: [r for r in _runs(argo, c) if _created(r) >= missed_at] for c in patch}
        results = {r.name: chaos.rel.wait(r.name) for c in patch for r in _runs(argo, c)}
    finally:
        for cron, spec in saved.items():
            kubectl("-n", ns, "patch", "cronworkflow", cron, "--type=merge", "-p",
                    json.dumps({"spec": {"schedules": spec["schedules"], "suspend": spec.get("suspend", False),
                                                       "startingDeadlineSeconds": spec.get("startingDeadlineSeconds")}}))
        _scale_controller(1)
    fig.affected = 2
    fig.as_without = int(len(after[LATE]) == 1) + int(not after[EXPIRED])
    fig.duplicated = max(0, len(after[LATE]) - 1)
    fig.lost = int(not after[LATE]) + len(after[EXPIRED])
    overlaps = {c: [(a.name, b.name) for a in _runs(argo, c) for b in _runs(argo, c)
                    if a.name < b.name and _span(a)[0] < _span(b)[1] and _span(b)[0] < _span(a)[1]] for c in patch}
    held = {w.name: (w.raw.get("status") or {}).get("synchronization") for w in argo.list_workflows()
            if w.finished and any(h.get("holders") for kind in ((w.raw.get("status") or {}).get("synchronization") or {}).values()
                                  for h in (kind or {}).get("holding") or [])}
    fig.report()
    print(f"  runs since the missed schedule {missed_at:%H:%M}: " + "; ".join(
        f"{c}: {[(r.name, r.phase) for r in rs]}" for c, rs in after.items()))
    assert len(after[LATE]) == 1 and late, f"{LATE} (deadline {saved[LATE].get('startingDeadlineSeconds')} s) ran " \
                                           f"{len(after[LATE])} times for its missed schedule"
    assert not after[EXPIRED], f"{EXPIRED} ran past its {SHORT_DEADLINE} s starting deadline: {after[EXPIRED]}"
    assert not any(overlaps.values()), f"runs of one CronWorkflow overlapped under concurrencyPolicy Forbid: {overlaps}"
    assert not held, f"finished workflows still hold a semaphore or mutex: {held}"
    assert all(r.phase == "Succeeded" for r in results.values()), {n: r.phase for n, r in results.items()}
