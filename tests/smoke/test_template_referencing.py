"""The chart's scheduled workflows under Argo's `templateReferencing: Strict` (docs/security.md).

With that controller setting Argo runs only Workflows that reference a WorkflowTemplate, and such a
Workflow may set only a few spec fields itself. Each chart CronWorkflow runs the WorkflowTemplate of
its name, so its runs must pass. The module triggers all seven (the guide's six and the chart's deadline-watchdog) as the guide does (`argo submit --from
cronwf/<name>`, the pinned argo CLI) with Argo's default configuration, then switches the live
`argo/workflow-controller-configmap` to Strict, restarts the controller, triggers them again and
submits one inline Workflow (which Argo must refuse), and restores the configmap exactly and restarts
the controller in a `finally`. The switch is controller-wide: run it under the smoke lock only.
Under Strict the two optimizing CronWorkflows run their skip path (`-p annotation-threshold=...`, as a
user overrides a parameter of `--from cronwf/`): Strict admits or refuses a Workflow as a whole when it
starts, so the optimizer steps behind the decision add nothing here (test_workflows runs them).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any, Iterator

import pytest

from cogniverse_dev.guide import find_argo

from smokelib import CRON_TIMEOUT, SKIP_OPTIMIZATION_PARAMS, SmokeRelease, explain

from chart_utils import CRON_WORKFLOWS, OWN_CRON_WORKFLOWS

pytestmark = pytest.mark.smoke

CRONS = CRON_WORKFLOWS + OWN_CRON_WORKFLOWS
ARGO_NAMESPACE = os.environ.get("SMOKE_ARGO_NAMESPACE", "argo")
CONTROLLER = "workflow-controller"
CONFIGMAP = "workflow-controller-configmap"
STRICT = "templateReferencing: Strict\n"
# Argo's message for a Workflow without workflowTemplateRef (workflow/controller/operator.go setExecWorkflow).
REFUSED = "workflows must use workflowTemplateRef to be executed when the controller is in reference mode"


def _kubectl(smoke: SmokeRelease, *args: str, timeout: float = 300) -> str:
    proc = subprocess.run(["kubectl", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "KUBECONFIG": smoke.kubeconfig})
    assert proc.returncode == 0, f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}"
    return proc.stdout


def _restart_controller(smoke: SmokeRelease) -> None:
    """Restart the workflow-controller and wait until only new pods run it (so no old controller with
    the previous configuration picks up a Workflow)."""
    selector = _kubectl(smoke, "get", "deployment", CONTROLLER, "-n", ARGO_NAMESPACE,
                        "-o", "jsonpath={.spec.selector.matchLabels}")
    labels = ",".join(f"{k}={v}" for k, v in json.loads(selector).items())
    old = _kubectl(smoke, "get", "pods", "-n", ARGO_NAMESPACE, "-l", labels, "-o", "name").split()
    _kubectl(smoke, "rollout", "restart", f"deployment/{CONTROLLER}", "-n", ARGO_NAMESPACE)
    _kubectl(smoke, "rollout", "status", f"deployment/{CONTROLLER}", "-n", ARGO_NAMESPACE, "--timeout", "180s",
             timeout=200)
    if old:
        _kubectl(smoke, "wait", "--for=delete", *old, "-n", ARGO_NAMESPACE, "--timeout", "120s", timeout=140)


def _argo_submit_cron(smoke: SmokeRelease, name: str, parameters: dict[str, str] | None = None) -> str:
    """`argo submit --from cronwf/<name> [-p k=v ...]` with the pinned CLI (kubeconfig mode); returns the
    Workflow's name."""
    where = find_argo(os.environ.get("PATH", ""))
    assert where, "no argo CLI: run scripts/local_cluster.sh up (it installs the pinned one as .tools/bin/argo)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARGO_")}
    params = [arg for k, v in (parameters or {}).items() for arg in ("-p", f"{k}={v}")]
    proc = subprocess.run([os.path.join(where, "argo"), "submit", "--from", f"cronwf/{name}", *params,
                           "-n", smoke.namespace, "-o", "name"], capture_output=True, text=True, timeout=120,
                          env={**env, "KUBECONFIG": smoke.kubeconfig})
    assert proc.returncode == 0, f"argo submit --from cronwf/{name} failed: {proc.stderr.strip()}"
    return proc.stdout.strip().splitlines()[-1]


def _run_all_crons(smoke: SmokeRelease, skip_optimizers: bool = False) -> None:
    """Trigger every CronWorkflow at once and require every run to succeed (the optimizing ones on their
    skip path with skip_optimizers)."""
    params = SKIP_OPTIMIZATION_PARAMS if skip_optimizers else {}
    names = {cron: _argo_submit_cron(smoke, cron, params.get(cron)) for cron in CRONS}
    deadline = time.monotonic() + CRON_TIMEOUT
    failed = []
    for cron, wf in names.items():
        result = smoke.wait(wf, timeout=max(1.0, deadline - time.monotonic()))
        if not result.succeeded:
            failed.append(f"cronwf/{cron}: {explain(result)}")
    assert not failed, "\n".join(failed)


@pytest.mark.group("by-hand")  # scripts/test.sh: test_workflows' every-CronWorkflow test runs the same
def test_every_cron_workflow_runs_its_template(smoke: SmokeRelease) -> None:
    """Default controller configuration: each CronWorkflow's run (workflowTemplateRef) succeeds."""
    for cron in CRONS:
        spec = smoke.argo.get("cronworkflows", cron)["spec"]["workflowSpec"]
        assert set(spec) <= {"workflowTemplateRef", "arguments"}, f"cronwf/{cron} sets {sorted(spec)} itself"
        assert spec["workflowTemplateRef"] == {"name": cron}
    _run_all_crons(smoke)


@pytest.fixture
def strict_controller(smoke: SmokeRelease, core_api: Any) -> Iterator[None]:
    """The live controller with templateReferencing: Strict; its configmap restored exactly afterwards."""
    saved = core_api.read_namespaced_config_map(CONFIGMAP, ARGO_NAMESPACE).data
    saved = dict(saved) if saved else None
    try:
        cm = core_api.read_namespaced_config_map(CONFIGMAP, ARGO_NAMESPACE)
        cm.data = {**(saved or {}), "workflowRestrictions": STRICT}
        print(f"smoke: {time.strftime('%H:%M:%S')} {ARGO_NAMESPACE}/{CONFIGMAP}: templateReferencing: Strict", flush=True)
        core_api.replace_namespaced_config_map(CONFIGMAP, ARGO_NAMESPACE, cm)
        _restart_controller(smoke)
        yield
    finally:
        cm = core_api.read_namespaced_config_map(CONFIGMAP, ARGO_NAMESPACE)
        cm.data = saved
        core_api.replace_namespaced_config_map(CONFIGMAP, ARGO_NAMESPACE, cm)
        _restart_controller(smoke)
        print(f"smoke: {time.strftime('%H:%M:%S')} {ARGO_NAMESPACE}/{CONFIGMAP} restored", flush=True)
        restored = core_api.read_namespaced_config_map(CONFIGMAP, ARGO_NAMESPACE).data
        assert (dict(restored) if restored else None) == saved, \
            f"{ARGO_NAMESPACE}/{CONFIGMAP} not restored: {restored} != {saved}"


@pytest.mark.group("template-referencing")
def test_strict_template_referencing(smoke: SmokeRelease, strict_controller: None) -> None:
    """Strict: every CronWorkflow still succeeds; an inline Workflow is refused with Argo's message."""
    inline = smoke.argo.create_workflow({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"generateName": "inline-", "namespace": smoke.namespace},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "suspend": {"duration": "0"}}]},
    })
    refused = smoke.wait(inline, timeout=120)
    assert refused.phase == "Error" and REFUSED in refused.message, \
        f"an inline Workflow under Strict: expected Error '{REFUSED}', got {explain(refused)}"
    _run_all_crons(smoke, skip_optimizers=True)
