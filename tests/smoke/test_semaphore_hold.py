"""On the cluster: a heavy workflow whose pod cannot be scheduled gives up the heavy-jobs semaphore at
its deadline (workflows.heavyJobs.maxHoldSeconds), because the deadline watchdog marks it; and the
watchdog's ServiceAccount can change nothing else.

The fault is the one the user's guide ran into: daily-backup's backups claim does not exist (here:
workflows.volumes.backups.existingClaim names a claim nobody created), its pod stays Pending, and
daily-cleanup queues behind it on the semaphore (limit 1). Argo enforces the deadline only when it
next processes the workflow, which a Pending pod never causes; the watchdog run marks it, Argo fails
it, and daily-cleanup runs. The chart-level checks: tests/workflows/test_deadline_watchdog.py.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest

from cogniverse_chart.argo import WorkflowResult
from smokelib import Background, SmokeRelease, explain, impersonating, install_release, refusal, remove_release

pytestmark = pytest.mark.smoke

# workflows.heavyJobs.maxHoldSeconds of this release (the schema's minimum is 10). It bounds daily-cleanup
# too, from when it gets the semaphore: 15 s failed its pods on a loaded CI machine (pods took longer to
# start), 45 s leaves daily-cleanup room and costs 30 s in this module, which runs beside the others.
HOLD = 45
PASSED = "cogniverse.dev/deadline-passed"
_early: dict[str, Background] = {}


def _ts(text: str | None) -> datetime:
    assert text, "no timestamp"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _scenario(kubeconfig: str) -> dict[str, Any]:
    rel = install_release(kubeconfig, prefix="cvwatch", overrides=(
        "workflows.heavyJobs.limit=1", f"workflows.heavyJobs.maxHoldSeconds={HOLD}",
        "workflows.volumes.backups.existingClaim=no-such-claim"))
    out: dict[str, Any] = {"release": rel}
    try:
        a = rel.argo
        backup = a.trigger("daily-backup")
        # daily-backup holds the semaphore, its pod Pending on the missing claim
        held = rel.wait(backup, until=lambda r: r.phase == "Running" and any(
            n.phase == "Pending" and n.type == "Pod" for n in r.nodes))
        cleanup = a.trigger("daily-cleanup")
        out["queued"] = rel.wait(cleanup, until=lambda r: "lock" in r.message.lower() or r.finished)
        # past the deadline, Argo on its own leaves it Running (printed, not asserted: upstream behaviour)
        late = (_ts(held.started_at).timestamp() + HOLD + 10) - time.time()
        if late > 0:
            time.sleep(late)
        out["before"] = a.status(backup)
        print(f"smoke: daily-backup {HOLD + 10}s after it started, without the watchdog: {out['before'].phase}", flush=True)
        out["watchdog"] = rel.wait(a.trigger("deadline-watchdog"))
        out["marked"] = a.get("workflows", backup)["metadata"].get("annotations", {})
        out["backup"] = rel.wait(backup)
        out["cleanup"] = rel.wait(cleanup)
        out["attack"] = _attack(rel, backup)
        out["after-attack"] = a.get("workflows", backup)
    except BaseException:
        remove_release(rel)
        raise
    return out


def _attack(rel: SmokeRelease, target: str) -> dict[str, str]:
    """What a holder of the watchdog's token could try, as the API server sees that account (impersonation,
    like `kubectl --as`; RBAC allows both patches, the policies must not): give another Workflow the tenant
    provisioner's ServiceAccount (the watchdog's policy and the token-routes policy both refuse it; the
    API server names whichever it evaluated first), and terminate a workflow that is not overdue and
    Running (only the watchdog's policy stands in the way). And the route to that token: a namespace
    user's Workflow naming the watchdog's ServiceAccount, refused before it runs."""
    from kubernetes import client

    sa = f"system:serviceaccount:{rel.namespace}:{rel.release}-deadline-watchdog"
    custom = client.CustomObjectsApi(impersonating(sa))
    def patch(body: dict[str, Any]) -> str:
        return refusal(lambda: custom.patch_namespaced_custom_object(
            "argoproj.io", "v1alpha1", rel.namespace, "workflows", target, body))

    account = patch({"spec": {"serviceAccountName": f"{rel.release}-tenant-provisioner"}})
    terminate = patch({"spec": {"shutdown": "Terminate"}})
    route = refusal(lambda: client.CustomObjectsApi().create_namespaced_custom_object(
        "argoproj.io", "v1alpha1", rel.namespace, "workflows", {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "watchdog-abuse-"},
            "spec": {"entrypoint": "patch", "serviceAccountName": f"{rel.release}-deadline-watchdog",
                     "templates": [{"name": "patch", "resource": {"action": "patch", "manifest": "{}"}}]}}))
    return {"account": account, "terminate": terminate, "route": route}


def start_early(kubeconfig: str) -> None:
    _early["scenario"] = Background("deadline-watchdog", lambda: _scenario(kubeconfig))


@pytest.fixture(scope="module")
def scenario(kube_cluster: Any) -> Iterator[dict[str, Any]]:
    if "scenario" not in _early:
        start_early(kube_cluster.kube_config_path)
    out = _early["scenario"].join(timeout=900)
    try:
        yield out
    finally:
        remove_release(out["release"])


def test_queued_heavy_workflow_waits_for_the_stuck_one(scenario):
    queued: WorkflowResult = scenario["queued"]
    assert "lock" in queued.message.lower(), explain(queued)


def test_watchdog_marks_the_overdue_workflow(scenario):
    run: WorkflowResult = scenario["watchdog"]
    assert run.phase == "Succeeded", explain(run)
    step = run.node("enforce-deadlines")
    assert step is not None and int(step.outputs["overdue-count"]) >= 1, explain(run)
    assert PASSED in scenario["marked"], scenario["marked"]


def test_stuck_workflow_gives_up_the_semaphore_at_its_deadline(scenario):
    backup: WorkflowResult = scenario["backup"]
    assert backup.phase == "Failed", explain(backup)
    assert "deadline" in (backup.message + " ".join(n.message for n in backup.nodes)).lower(), explain(backup)
    held = (_ts(backup.finished_at) - _ts(backup.started_at)).total_seconds()
    print(f"smoke: daily-backup held the semaphore {held:.0f}s (maxHoldSeconds {HOLD}, watchdog run after {HOLD + 10}s)")
    assert held < HOLD + 120, f"held the semaphore {held:.0f}s"


def test_queued_workflow_then_runs(scenario):
    cleanup: WorkflowResult = scenario["cleanup"]
    assert cleanup.phase == "Succeeded", explain(cleanup)
    first_step = min(_ts(n.started_at) for n in cleanup.nodes if n.started_at)
    assert (first_step - _ts(scenario["backup"].finished_at)).total_seconds() >= -1, "ran while the semaphore was held"


def test_watchdog_account_cannot_rewrite_a_workflow(scenario):
    attack: dict[str, str] = scenario["attack"]
    # refused by an admission policy of this release (the watchdog's or the token routes', see _attack)
    assert "ValidatingAdmissionPolicy" in attack["account"] and f"'{scenario['release'].namespace}." in attack["account"], attack
    # refused by the watchdog's policy (the target has finished by now: "only Running workflows" comes first)
    assert "the deadline watchdog may" in attack["terminate"], attack
    assert "may not run as" in attack["route"] and "deadline-watchdog" in attack["route"], attack
    spec = scenario["after-attack"]["spec"]
    assert "serviceAccountName" not in spec or spec["serviceAccountName"].endswith("-workflow")
    assert "shutdown" not in spec, spec
