"""Pure logic of cogniverse_chart.argo: building Workflow manifests, parsing Workflow status,
and the CLI's formatting, with a FAKE CustomObjectsApi (an in-memory stand-in, named as such).

What a fake cannot show (the controller accepting these manifests, real node names and outputs,
waiting on a live workflow) is covered by the smoke suite (tests/smoke/) on a real cluster.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from argo_fake import FakeCustomObjectsApi, workflow_status
from cogniverse_chart.argo import manifests as argo
from chart_utils import by_kind, render_chart
from cogniverse_chart.argo import client as argo_client
from cogniverse_chart.argo.client import ArgoClient
from cogniverse_chart.argo.manifests import ArgoError, WaitTimeout, parse_workflow
from cogniverse_chart.commands.options import parse_pairs
from cogniverse_chart.errors import ToolkitError
from cogniverse_chart.cli import main


def _node(name: str, type_: str, phase: str, outputs: dict[str, str] | None = None, **extra) -> dict[str, Any]:
    n = {"displayName": name, "type": type_, "phase": phase, "templateName": name, **extra}
    if outputs is not None:
        n["outputs"] = {"parameters": [{"name": k, "value": v} for k, v in outputs.items()], "exitCode": "0"}
    return n


OPTIMIZATION_NODES = {
    "bo-1": _node("bo-1", "Steps", "Succeeded"),
    "bo-1-r": _node("run-optimization", "Retry", "Succeeded", {"improvement": "10", "baseline-score": "0.6"}),
    "bo-1-p": _node("run-optimization(0)", "Pod", "Succeeded", {"improvement": "10", "baseline-score": "0.6"}),
    "bo-1-d": _node("deploy-model", "Skipped", "Omitted", message="when 'false' evaluated false"),
    "bo-1-v": _node("validate-config", "Pod", "Running"),
}


# ---- manifests ----------------------------------------------------------------------------------

def test_submit_manifest_references_the_template_with_parameters_and_labels():
    wf = argo.workflow_from_template("batch-optimization", {"tenant-id": "acme_corp", "max-iterations": "100"},
                                     {"workflow-type": "optimization"})
    assert wf["kind"] == "Workflow" and wf["apiVersion"] == "argoproj.io/v1alpha1"
    assert wf["metadata"]["generateName"] == "batch-optimization-"
    assert wf["metadata"]["labels"]["workflow-type"] == "optimization"
    assert wf["metadata"]["labels"]["workflows.argoproj.io/workflow-template"] == "batch-optimization"
    assert wf["spec"] == {"workflowTemplateRef": {"name": "batch-optimization"},
                          "arguments": {"parameters": [{"name": "tenant-id", "value": "acme_corp"},
                                                       {"name": "max-iterations", "value": "100"}]}}


def test_a_hostile_parameter_value_is_passed_as_data_unchanged():
    wf = argo.workflow_from_template("tenant-provisioning", {"tenant-id": "x; rm -rf /"})
    assert wf["spec"]["arguments"]["parameters"] == [{"name": "tenant-id", "value": "x; rm -rf /"}]


@pytest.fixture(scope="module")
def rendered_crons() -> dict[str, dict[str, Any]]:
    return by_kind(render_chart(), "CronWorkflow")


def test_trigger_manifest_is_built_from_the_charts_real_cronworkflow(rendered_crons):
    cron = copy.deepcopy(rendered_crons["daily-backup"])
    cron["metadata"]["uid"] = "1234-uid"
    wf = argo.workflow_from_cron(cron)
    assert wf["metadata"]["generateName"] == "daily-backup-"
    labels = wf["metadata"]["labels"]
    assert labels["workflows.argoproj.io/cron-workflow"] == "daily-backup"
    for k, v in (cron["spec"].get("workflowMetadata") or {}).get("labels", {}).items():
        assert labels[k] == v
    assert wf["spec"] == cron["spec"]["workflowSpec"]
    assert wf["metadata"]["ownerReferences"] == [{"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow",
                                                  "name": "daily-backup", "uid": "1234-uid",
                                                  "controller": True, "blockOwnerDeletion": True}]
    # the CronWorkflow itself is not modified
    assert "ownerReferences" not in rendered_crons["daily-backup"]["metadata"]


def test_trigger_can_override_a_declared_cron_parameter_and_rejects_unknown_ones(rendered_crons):
    cron = rendered_crons["daily-optimization-check"]
    wf = argo.workflow_from_cron(cron, parameters={"tenant-id": "acme_corp"})
    values = {p["name"]: p.get("value") for p in wf["spec"]["arguments"]["parameters"]}
    assert values["tenant-id"] == "acme_corp"
    with pytest.raises(ArgoError, match="has no parameter nope"):
        argo.workflow_from_cron(cron, parameters={"nope": "1"})


def test_trigger_rejects_an_object_that_is_not_a_cronworkflow():
    with pytest.raises(ArgoError, match="not a CronWorkflow"):
        argo.workflow_from_cron({"metadata": {"name": "x"}, "spec": {}})


@pytest.mark.parametrize("items, message", [
    (["novalue"], "--parameter 'novalue' must be NAME=VALUE"),
    (["=x"], "--parameter '=x' must be NAME=VALUE"),
])
def test_bad_pairs_name_the_item(items, message):
    with pytest.raises(ToolkitError, match=message):
        parse_pairs(items, "--parameter")


def test_pairs_keep_equals_signs_in_values():
    assert parse_pairs(["a=b=c", "e="], "-p") == {"a": "b=c", "e": ""}


# ---- status ---------------------------------------------------------------------------------------

def test_parse_workflow_reads_phase_outputs_and_nodes_by_display_name():
    wf = {"metadata": {"name": "bo-1", "namespace": "cogniverse", "labels": {"workflow-type": "optimization"}},
          "status": workflow_status("Succeeded", outputs={"improvement": "10"}, nodes=OPTIMIZATION_NODES)}
    r = parse_workflow(wf)
    assert (r.name, r.namespace, r.phase, r.succeeded, r.finished) == ("bo-1", "cogniverse", "Succeeded", True, True)
    assert r.outputs == {"improvement": "10"}
    # the guide's step name finds the step (the Retry node, which carries the step's outputs)
    assert r.node("run-optimization").outputs["improvement"] == "10"
    assert r.node("deploy-model").phase == "Omitted"
    assert r.node("no-such-step") is None
    assert set(r.nodes_by_display_name()) == {"bo-1", "run-optimization", "run-optimization(0)", "deploy-model",
                                              "validate-config"}


def test_a_workflow_without_status_is_pending():
    r = parse_workflow({"metadata": {"name": "x"}})
    assert r.phase == "Pending" and not r.finished and r.nodes == []


def test_progress_line_counts_pods_and_names_running_and_failed_steps():
    nodes = dict(OPTIMIZATION_NODES)
    nodes["bo-1-f"] = _node("prepare-dataset", "Pod", "Failed")
    r = parse_workflow({"metadata": {"name": "bo-1"}, "status": workflow_status("Running", nodes=nodes)})
    assert argo.progress_line(r, 12) == ("[   12s] bo-1 Running: 1/3 steps done; running validate-config; "
                                         "failed prepare-dataset")


# ---- the client over the FAKE api -----------------------------------------------------------------

def _fake_with_template() -> FakeCustomObjectsApi:
    tmpl = {"metadata": {"name": "batch-optimization"},
            "spec": {"arguments": {"parameters": [{"name": "tenant-id"}, {"name": "max-iterations", "value": "100"}]}}}
    return FakeCustomObjectsApi({("workflowtemplates", "batch-optimization"): tmpl})


def test_client_submit_checks_parameters_against_the_template_before_creating():
    fake = _fake_with_template()
    client = ArgoClient(fake, "cogniverse")
    with pytest.raises(ArgoError, match=r"has no parameter max-iteration \(it declares: tenant-id, max-iterations\)"):
        client.submit("batch-optimization", {"max-iteration": "5"})
    assert fake.created == []
    name = client.submit("batch-optimization", {"tenant-id": "acme_corp"}, {"team": "a"})
    assert name == "batch-optimization-x0" and fake.created[0]["metadata"]["labels"]["team"] == "a"


def test_client_names_a_missing_template_and_namespace():
    with pytest.raises(ArgoError, match="WorkflowTemplate nope: not found in namespace cogniverse"):
        ArgoClient(FakeCustomObjectsApi(), "cogniverse").submit("nope")


def test_client_wait_reports_progress_until_finished_and_times_out():
    fake = FakeCustomObjectsApi({("workflows", "bo-1"): {"metadata": {"name": "bo-1", "namespace": "cv"}}})
    fake.status_script["bo-1"] = [workflow_status("Running", nodes=OPTIMIZATION_NODES), workflow_status("Running", nodes=OPTIMIZATION_NODES),
                                  workflow_status("Failed", message="child failed", nodes=OPTIMIZATION_NODES)]
    lines: list[str] = []
    r = ArgoClient(fake, "cv").wait("bo-1", timeout=10, poll=0, on_progress=lines.append)
    assert r.phase == "Failed" and r.message == "child failed"
    assert len(lines) == 2, "an unchanged state is not printed twice"
    fake.status_script["bo-1"] = [workflow_status("Running")] * 3
    with pytest.raises(WaitTimeout, match="Workflow bo-1 still Running after 0s") as exc:
        ArgoClient(fake, "cv").wait("bo-1", timeout=0, poll=0)
    assert exc.value.result.phase == "Running"


def test_client_list_filters_by_phase_and_passes_the_selector():
    fake = FakeCustomObjectsApi({
        ("workflows", "a"): {"metadata": {"name": "a", "creationTimestamp": "2026-11-27T10:00:00Z"},
                             "status": workflow_status("Succeeded")},
        ("workflows", "b"): {"metadata": {"name": "b", "creationTimestamp": "2026-11-27T11:00:00Z"},
                             "status": workflow_status("Failed")},
    })
    client = ArgoClient(fake, "cv")
    assert [r.name for r in client.list_workflows("workflow-type=optimization")] == ["b", "a"]
    assert fake.list_calls[-1] == {"label_selector": "workflow-type=optimization"}
    assert [r.name for r in client.list_workflows(phase="Succeeded")] == ["a"]
    with pytest.raises(ArgoError, match="phase 'Done' is not one of"):
        client.list_workflows(phase="Done")


def test_cli_wait_prints_json_result_and_exit_code(monkeypatch, capsys):
    fake = FakeCustomObjectsApi({("workflows", "bo-1"): {"metadata": {"name": "bo-1", "namespace": "cv"}}})
    fake.status_script["bo-1"] = [workflow_status("Succeeded", outputs={"improvement": "10"}, nodes=OPTIMIZATION_NODES)]
    monkeypatch.setattr(argo_client, "load_api", lambda *a, **k: fake)
    assert main(["wait", "bo-1", "-n", "cv", "--output", "json", "-q"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["phase"] == "Succeeded" and out["outputs"] == {"improvement": "10"}
    assert out["nodes"]["run-optimization"]["outputs"]["improvement"] == "10"
    fake.status_script["bo-1"] = [workflow_status("Failed", message="deploy-model failed", nodes=OPTIMIZATION_NODES)]
    assert main(["wait", "bo-1", "-n", "cv", "-q"]) == 1
    human = capsys.readouterr().out
    assert "Workflow bo-1 (namespace cv): Failed" in human and "Message: deploy-model failed" in human
    assert "run-optimization" in human and "improvement=10" in human


def test_cli_submit_unknown_parameter_is_one_line_exit_2(monkeypatch, capsys):
    monkeypatch.setattr(argo_client, "load_api", lambda *a, **k: _fake_with_template())
    assert main(["submit", "batch-optimization", "-p", "bogus=1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no parameter bogus" in err[0]


def test_client_names_lists_one_kind():
    fake = _fake_with_template()
    assert ArgoClient(fake, "cv").names("workflowtemplates") == {"batch-optimization"}
    assert ArgoClient(fake, "cv").names("cronworkflows") == set()


def test_steps_fold_retry_attempts_and_follow_start_order():
    nodes = {
        "w": _node("w", "Steps", "Succeeded", startedAt="2026-11-27T10:00:00Z"),
        "g": _node("[0]", "StepGroup", "Succeeded", startedAt="2026-11-27T10:00:00Z"),
        "r": _node("run-optimization", "Retry", "Succeeded", {"improvement": "10"}, startedAt="2026-11-27T10:00:20Z"),
        "p": _node("run-optimization(0)", "Pod", "Succeeded", {"improvement": "10"}, startedAt="2026-11-27T10:00:20Z"),
        "v": _node("validate-config", "Pod", "Succeeded", startedAt="2026-11-27T10:00:01Z"),
        "d": _node("deploy-model", "Skipped", "Skipped", startedAt="2026-11-27T10:00:40Z"),
        "o": _node("optimize(0:category:routing,type:modality)", "Steps", "Succeeded", startedAt="2026-11-27T10:00:50Z"),
    }
    r = parse_workflow({"metadata": {"name": "w"}, "status": workflow_status("Succeeded", nodes=nodes)})
    assert [n.display_name for n in r.steps()] == ["validate-config", "run-optimization", "deploy-model"]


class _NoWatchApi:
    """FAKE CustomObjectsApi whose list always fails: the stream's thread idles and the test feeds
    events itself with WorkflowStream.apply (what the thread does with each watch event)."""

    def list_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("no cluster in this test")


def _wf_state(name: str, phase: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"}, "status": {"phase": phase}}


def test_a_workflow_deleted_after_it_finished_is_still_waited_for():
    """A CronWorkflow's history limit can delete a finished run before anyone waits on it."""
    stream = argo_client.WorkflowStream(_NoWatchApi(), "ns")
    try:
        stream.apply("ADDED", _wf_state("cron-run", "Running"))
        stream.apply("MODIFIED", _wf_state("cron-run", "Succeeded"))
        stream.apply("DELETED", _wf_state("cron-run", "Succeeded"))
        assert stream.wait("cron-run", timeout=1).phase == "Succeeded"
        stream.apply("ADDED", _wf_state("gone", "Running"))
        stream.apply("DELETED", _wf_state("gone", "Running"))
        with pytest.raises(WaitTimeout, match="gone was deleted while Running"):
            stream.wait("gone", timeout=30)  # at once, not after the timeout
        stream.apply("ADDED", _wf_state("gone", "Succeeded"))  # a new one of the same name
        assert stream.wait("gone", timeout=1).phase == "Succeeded"
    finally:
        stream.stop()

