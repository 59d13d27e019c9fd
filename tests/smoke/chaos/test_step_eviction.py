"""Step pods evicted (the Eviction API, as `kubectl drain` and node-pressure eviction use it) while a tenant is
provisioned: the steps that write the tenant's objects are retried (Argo: "pod deleted"), the tenant ends
with exactly one namespace, one quota and its claims, and a second provisioning of the same tenant changes
nothing."""

from __future__ import annotations

import json
import time

import pytest

from chaoslib import (Figures, as_without_fault, evict, expected_steps, logical_step, missing_and_duplicated,
                      new_tenant, repeated_steps, tenant_objects)
from smokelib import explain

pytestmark = [pytest.mark.chaos, pytest.mark.group("chaos")]

#: The provisioning steps that write the tenant's Kubernetes objects (resource templates, `kubectl apply`).
WRITERS = ("create-namespace", "setup-resource-quotas", "pvc-")


def _writer(node: str) -> bool:
    return any(logical_step(node).rsplit(".", 1)[-1].startswith(w) for w in WRITERS)


def test_evicted_provisioning_steps_rerun_without_duplicates_and_a_rerun_changes_nothing(chaos):
    fig = Figures("step pods evicted during tenant provisioning")
    argo, rel, ledger = chaos.rel.argo, chaos.rel, chaos.ledger
    tenant = new_tenant(rel, "chaos_evict")
    name = argo.submit("tenant-provisioning", tenant)
    # Two evictions, each of a writing step's pod as soon as it exists (a resource step's container lives for
    # about a second, too short to catch running; a step killed while it runs is test_controller_kill's).
    evicted, steps, evicted_at = [], set(), time.monotonic()
    for _ in range(2):  # two different steps (not the first one's retry)
        pod = ledger.wait_for(f"writing a tenant object of {name}", lambda p: p["workflow"] == name and
                              _writer(p["node"]) and logical_step(p["node"]) not in steps)
        evict(chaos.core, rel.namespace, pod["name"])
        evicted.append(pod["name"])
        steps.add(logical_step(pod["node"]))
        evicted_at = time.monotonic()
    result = rel.wait(name)
    fig.faults, fig.affected = len(evicted), 1
    fig.recovery["provisioning finished after the last eviction"] = time.monotonic() - evicted_at
    fig.as_without = int(as_without_fault(result, expected_steps(argo, "tenant-provisioning")))
    values = json.loads(rel.helm_run("get", "values", rel.release, "--all", "--output", "json").stdout)
    claims = {f"pvcs/{p['name']}" for p in values["workflows"]["templates"]["tenantProvisioning"]["pvcs"]}
    wanted = {"namespaces", "quotas/tenant-quota", *claims}
    first = tenant_objects(chaos.core, tenant["tenant-id"])
    fig.lost, fig.duplicated = missing_and_duplicated(first, wanted)
    # What ran more than once: only the evicted steps may have (each at most once more).
    evicted_steps = {logical_step(p["node"]).rsplit(".", 1)[-1] for p in ledger.pods.values() if p["name"] in evicted}
    repeats = repeated_steps(result, ledger)
    fig.repeated_steps = sum(repeats.values())
    # The same tenant again, on the healed node: apply semantics, so not one object changes.
    rerun = rel.wait(argo.submit("tenant-provisioning", tenant))
    second = tenant_objects(chaos.core, tenant["tenant-id"])
    fig.report()
    assert fig.as_without == 1, explain(result)
    assert (fig.lost, fig.duplicated) == (0, 0), f"tenant objects after the evictions: {first} (wanted {wanted})"
    assert {s.rsplit(".", 1)[-1] for s in repeats} <= evicted_steps and max(repeats.values(), default=0) <= 1, (
        f"steps ran more than once beyond the evicted ones ({evicted_steps}): {repeats}")
    assert rerun.phase == "Succeeded", explain(rerun)
    assert second == first, "a second provisioning of the same tenant changed its objects"
