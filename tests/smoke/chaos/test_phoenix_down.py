"""Phoenix down (its Deployment scaled to 0: the Service stays, with no endpoint) while a tenant is provisioned:
create-phoenix-project fails, is retried by the chart's retryStrategy after its backoff (each wait longer by the
factor), then the run fails with a message that names Phoenix and its address; once Phoenix is back, provisioning
the same tenant again completes (create-phoenix-project and verify-tenant talk to the real Phoenix) and leaves one
namespace, one quota and its claims.

Its own release (the chaos profile with the real Phoenix of this node's image, data on an emptyDir) in its own
namespace: the session's release runs without Phoenix."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import datetime

import pytest

from chaoslib import (CHAOS_OVERRIDES, BACKOFF_SECONDS, Figures, PodLedger, as_without_fault, expected_steps,
                      logical_step, missing_and_duplicated, new_tenant, repeated_steps, tenant_objects)
from kubelib import kubectl
from serviceslib import PHOENIX, Services
from smokelib import explain, install_release, remove_release

pytestmark = pytest.mark.chaos

STEP = "create-phoenix-project"
RETRIES = 2  # two retries: the second backoff shows the factor
PHOENIX_OVERRIDES = ("phoenix.enabled=true", "phoenix.image.pullPolicy=Never", "phoenix.persistence.enabled=false",
                     "phoenix.resources.requests.cpu=50m", "phoenix.resources.requests.memory=384Mi",
                     f"workflows.retry.limit={RETRIES}")


@pytest.fixture
def phoenix_release():
    from kubernetes import client

    rel = install_release(os.environ["KUBECONFIG"], prefix="cvphx", overrides=CHAOS_OVERRIDES + PHOENIX_OVERRIDES)
    ledger = PodLedger(client.CoreV1Api(), rel.namespace)
    try:
        yield rel, ledger, Services(rel, client.CoreV1Api(), client.AppsV1Api())
    finally:
        ledger.stop()
        remove_release(rel)


def _stamp(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _scale(rel, replicas: int) -> None:
    kubectl("-n", rel.namespace, "scale", f"deployment/{PHOENIX}", f"--replicas={replicas}")
    if replicas == 0:
        kubectl("-n", rel.namespace, "wait", "--for=delete", "pod", "-l", "app.kubernetes.io/component=phoenix",
                "--timeout=120s")


def test_phoenix_down_retries_with_backoff_fails_naming_phoenix_and_a_rerun_completes(phoenix_release):
    rel, ledger, services = phoenix_release
    fig = Figures("Phoenix down during tenant provisioning")
    argo = rel.argo
    _scale(rel, 0)
    fig.faults = 1
    tenant = new_tenant(rel, "chaos_phx")
    down = rel.wait(argo.submit("tenant-provisioning", tenant))
    fig.affected = 1
    attempts = sorted((n for n in down.raw["status"]["nodes"].values()
                       if n.get("type") == "Pod" and logical_step(n["name"]).endswith(f".{STEP}")), key=lambda n: n["startedAt"])
    gaps = [(_stamp(b["startedAt"]) - _stamp(a["finishedAt"])).total_seconds() for a, b in zip(attempts, attempts[1:])]
    for i, gap in enumerate(gaps, 1):
        fig.recovery[f"retry {i} after"] = gap
    message = attempts[-1].get("message", "") if attempts else ""
    print(f"  {STEP} attempts: {len(attempts)}; last message: {message!r}\n{explain(down)}")
    # Phoenix back: the same tenant again.
    back_at = time.monotonic()
    _scale(rel, 1)
    services.wait_ready(PHOENIX)
    fig.recovery["Phoenix Ready again"] = time.monotonic() - back_at
    rerun = rel.wait(argo.submit("tenant-provisioning", tenant))
    fig.recovery["re-run finished after Phoenix came back"] = time.monotonic() - back_at
    fig.as_without = int(as_without_fault(down, expected_steps(argo, "tenant-provisioning")))
    repeats = {**repeated_steps(down, ledger, allowed=Counter({STEP: RETRIES})), **repeated_steps(rerun, ledger)}
    fig.repeated_steps = sum(repeats.values())
    values = json.loads(rel.helm_run("get", "values", rel.release, "--all", "--output", "json").stdout)
    claims = {f"pvcs/{p['name']}" for p in values["workflows"]["templates"]["tenantProvisioning"]["pvcs"]}
    fig.lost, fig.duplicated = missing_and_duplicated(tenant_objects(services.core, tenant["tenant-id"]),
                                                      {"namespaces", "quotas/tenant-quota", *claims})
    fig.report()
    assert down.phase == "Failed", explain(down)
    assert len(attempts) == RETRIES + 1, f"{STEP} ran {len(attempts)} times, not once plus {RETRIES} retries"
    assert all(a["phase"] in ("Failed", "Error") for a in attempts), [a["phase"] for a in attempts]
    assert "phoenix" in message.lower() and f"{PHOENIX}." in message, f"the failure does not name Phoenix: {message!r}"
    # Argo's backoff: duration x factor^(n-1), measured from the failure (a second of slack for the clock's rounding).
    assert gaps[0] >= BACKOFF_SECONDS - 1 and gaps[1] >= 2 * BACKOFF_SECONDS - 1, f"retries came too soon: {gaps}"
    assert rerun.phase == "Succeeded" and rerun.node("verify-tenant").phase == "Succeeded", explain(rerun)
    assert (fig.lost, fig.duplicated) == (0, 0), tenant_objects(services.core, tenant["tenant-id"])
    assert not repeats, f"steps ran more than once beyond {STEP}'s retries: {repeats}"
