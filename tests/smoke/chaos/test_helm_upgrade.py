"""`helm upgrade` of the release while its workflows run, changing what every step pod gets (the memory limit of
the steps, workflows.resources.limits.memory): Argo stores a run's templates in its status when the run starts,
so the pods that running workflows create after the upgrade keep the old limit, a workflow submitted after the
upgrade gets the new one, and nothing fails or runs twice because of the upgrade. The release gets its values
back afterwards (a second upgrade)."""

from __future__ import annotations

import contextlib
import time

import pytest

from chaoslib import WORKFLOW_LABEL, Figures, as_without_fault, expected_steps, new_tenant, repeated_steps
from cogniverse_chart import CHART_DIR
from smokelib import Background, explain

pytestmark = pytest.mark.chaos

KEY = "workflows.resources.limits.memory"
OLD, NEW = "64Mi", "80Mi"  # values/smoke.yaml's limit, and the upgrade's
SUBMIT_EVERY = 30


def _upgrade(rel, memory: str) -> float:
    start = time.monotonic()
    rel.helm_run("upgrade", rel.release, str(CHART_DIR), "--reuse-values", "--set", f"{KEY}={memory}",
                 "--wait", "--timeout", "5m")
    return time.monotonic() - start


def _changed(argo, upgrade: Background) -> bool:
    """The upgrade has put the new limit in tenant-provisioning's WorkflowTemplate (raises what helm raised)."""
    if upgrade.error is not None:
        raise upgrade.error
    return NEW in str(argo.get("workflowtemplates", "tenant-provisioning"))


def _step_limits(core, namespace: str, workflow: str) -> dict[str, str]:
    """The memory limit of each step pod of the workflow that runs the step image (not Argo's resource steps)."""
    out = {}
    for pod in core.list_namespaced_pod(namespace, label_selector=f"{WORKFLOW_LABEL}={workflow}").items:
        main = next((c for c in pod.spec.containers if c.name == "main"), None)
        if main is not None and "smoke-runner" in main.image:
            out[pod.metadata.name] = (main.resources.limits or {}).get("memory", "")
    return out


def test_helm_upgrade_leaves_running_workflows_on_their_templates_and_new_ones_on_the_new(chaos):
    fig = Figures("helm upgrade while workflows run")
    argo, rel, core, ns = chaos.rel.argo, chaos.rel, chaos.core, chaos.rel.namespace
    values = rel.helm_run("get", "values", rel.release, "--all", "--output", "json").stdout
    assert f'"memory":"{OLD}"' in values.replace(" ", ""), f"the chaos release's step limit is not {OLD}"
    start, upgrade = time.monotonic(), Background("helm-upgrade", lambda: _upgrade(rel, NEW))
    before: dict[str, str] = {}
    last = 0.0
    try:
        # The upgrade takes effect once the WorkflowTemplate carries the new limit (after helm's pre-upgrade hooks,
        # 57 to 95 s in on this node): a tenant provisioning submitted every SUBMIT_EVERY seconds until then, so some
        # are halfway when it happens. What runs then is what the upgrade could disturb.
        while not _changed(argo, upgrade):
            if time.monotonic() - start > 300:
                raise AssertionError(f"the WorkflowTemplate did not get the new step limit {NEW} within 300 s of helm upgrade")
            if time.monotonic() - last >= SUBMIT_EVERY:
                before[argo.submit("tenant-provisioning", new_tenant(rel, "chaos_upg"))] = "tenant-provisioning"
                last = time.monotonic()
            time.sleep(0.2)
        fig.recovery["templates changed after"] = time.monotonic() - start
        at_upgrade = {w: set(_step_limits(core, ns, w)) for w in before}
        running = [w for w in before if not argo.status(w).finished]
        fig.faults = 1
        after = argo.submit("tenant-provisioning", new_tenant(rel, "chaos_upg"))
        results = {w: rel.wait(w) for w in [*before, after]}
        fig.recovery["helm upgrade took"] = upgrade.join(600)
    finally:
        with contextlib.suppress(Exception):
            upgrade.join(600)  # never two upgrades of the release at once
        fig.recovery["helm upgrade back took"] = _upgrade(rel, OLD)
    templates = {**before, after: "tenant-provisioning"}
    fig.affected = len(running)
    fig.as_without = sum(1 for w in running if as_without_fault(results[w], expected_steps(argo, templates[w])))
    repeats = {w: repeated_steps(r, chaos.ledger) for w, r in results.items()}
    fig.repeated_steps = sum(sum(r.values()) for r in repeats.values())
    later = {w: {p: m for p, m in _step_limits(core, ns, w).items() if p not in at_upgrade[w]} for w in running}
    new = _step_limits(core, ns, after)
    fig.report()
    print(f"  step pods created after the upgrade by the running workflows: {later}; by the new one: {new}")
    assert running, "every workflow had finished before the upgrade ended: the scenario proved nothing"
    assert any(later.values()), "no running workflow created a step pod after the upgrade: nothing was shown"
    assert all(m == OLD for pods in later.values() for m in pods.values()), (
        f"running workflows' pods after the upgrade did not keep their templates' limit {OLD}: {later}")
    assert new and set(new.values()) == {NEW}, f"the workflow submitted after the upgrade did not get {NEW}: {new}"
    for w, result in results.items():
        assert as_without_fault(result, expected_steps(argo, templates[w])), explain(result)
    assert not any(repeats.values()), f"steps ran more than once across the upgrade: {repeats}"
