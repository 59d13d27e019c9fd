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

from cogniverse_chart.argo import manifests as argo
from chart_utils import by_kind, render_chart
from cogniverse_chart.argo import client as argo_client
from cogniverse_chart.argo.client import ArgoClient
from cogniverse_chart.argo.manifests import ArgoError, WaitTimeout, parse_workflow
from cogniverse_chart.commands.options import parse_pairs
from cogniverse_chart.errors import ToolkitError
from cogniverse_chart.io_limits import Deadline, LimitExceeded
from cogniverse_chart.cli import main


class FakeCustomObjectsApi:
    """FAKE (in-memory) stand-in for kubernetes.client.CustomObjectsApi: stores objects, names
    generateName objects, and replays scripted status updates on each get. Not a cluster."""

    def __init__(self, objects: dict[tuple[str, str], dict[str, Any]] | None = None):
        self.objects = objects or {}
        self.created: list[dict[str, Any]] = []
        self.status_script: dict[str, list[dict[str, Any]]] = {}
        self.list_calls: list[dict[str, Any]] = []

    def get_namespaced_custom_object(self, group, version, namespace, plural, name):
        from kubernetes.client.exceptions import ApiException

        assert (group, version) == ("argoproj.io", "v1alpha1")
        obj = self.objects.get((plural, name))
        if obj is None:
            raise ApiException(status=404, reason="Not Found")
        script = self.status_script.get(name)
        if script:
            obj["status"] = script.pop(0)
        return copy.deepcopy(obj)

    def create_namespaced_custom_object(self, group, version, namespace, plural, body):
        body = copy.deepcopy(body)
        name = body["metadata"].get("name") or body["metadata"]["generateName"] + f"x{len(self.created)}"
        body["metadata"].update(name=name, namespace=namespace)
        self.objects[(plural, name)] = body
        self.created.append(body)
        return body

    def list_namespaced_custom_object(self, group, version, namespace, plural, **kw):
        self.list_calls.append(kw)
        return {"items": [copy.deepcopy(o) for (p, _), o in self.objects.items() if p == plural]}


def _status(phase: str, *, outputs: dict[str, str] | None = None, nodes: dict[str, Any] | None = None,
            message: str = "") -> dict[str, Any]:
    st: dict[str, Any] = {"phase": phase, "startedAt": "2026-11-27T10:00:00Z", "nodes": nodes or {}}
    if outputs:
        st["outputs"] = {"parameters": [{"name": k, "value": v} for k, v in outputs.items()]}
    if message:
        st["message"] = message
    if phase in argo.FINISHED:
        st["finishedAt"] = "2026-11-27T10:01:00Z"
    return st


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
          "status": _status("Succeeded", outputs={"improvement": "10"}, nodes=OPTIMIZATION_NODES)}
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
    r = parse_workflow({"metadata": {"name": "bo-1"}, "status": _status("Running", nodes=nodes)})
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
    fake.status_script["bo-1"] = [_status("Running", nodes=OPTIMIZATION_NODES), _status("Running", nodes=OPTIMIZATION_NODES),
                                  _status("Failed", message="child failed", nodes=OPTIMIZATION_NODES)]
    lines: list[str] = []
    r = ArgoClient(fake, "cv").wait("bo-1", timeout=10, poll=0, on_progress=lines.append)
    assert r.phase == "Failed" and r.message == "child failed"
    assert len(lines) == 2, "an unchanged state is not printed twice"
    fake.status_script["bo-1"] = [_status("Running")] * 3
    with pytest.raises(WaitTimeout, match="Workflow bo-1 still Running after 0s") as exc:
        ArgoClient(fake, "cv").wait("bo-1", timeout=0, poll=0)
    assert exc.value.result.phase == "Running"


def test_client_list_filters_by_phase_and_passes_the_selector():
    fake = FakeCustomObjectsApi({
        ("workflows", "a"): {"metadata": {"name": "a", "creationTimestamp": "2026-11-27T10:00:00Z"},
                             "status": _status("Succeeded")},
        ("workflows", "b"): {"metadata": {"name": "b", "creationTimestamp": "2026-11-27T11:00:00Z"},
                             "status": _status("Failed")},
    })
    client = ArgoClient(fake, "cv")
    assert [r.name for r in client.list_workflows("workflow-type=optimization")] == ["b", "a"]
    assert fake.list_calls[-1] == {"label_selector": "workflow-type=optimization"}
    assert [r.name for r in client.list_workflows(phase="Succeeded")] == ["a"]
    with pytest.raises(ArgoError, match="phase 'Done' is not one of"):
        client.list_workflows(phase="Done")


def test_cli_wait_prints_json_result_and_exit_code(monkeypatch, capsys):
    fake = FakeCustomObjectsApi({("workflows", "bo-1"): {"metadata": {"name": "bo-1", "namespace": "cv"}}})
    fake.status_script["bo-1"] = [_status("Succeeded", outputs={"improvement": "10"}, nodes=OPTIMIZATION_NODES)]
    monkeypatch.setattr(argo_client, "load_api", lambda *a, **k: fake)
    assert main(["wait", "bo-1", "-n", "cv", "--output", "json", "-q"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["phase"] == "Succeeded" and out["outputs"] == {"improvement": "10"}
    assert out["nodes"]["run-optimization"]["outputs"]["improvement"] == "10"
    fake.status_script["bo-1"] = [_status("Failed", message="deploy-model failed", nodes=OPTIMIZATION_NODES)]
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
    r = parse_workflow({"metadata": {"name": "w"}, "status": _status("Succeeded", nodes=nodes)})
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


@pytest.fixture
def closes_first_connection():
    """A loopback HTTP server that reads the first request and closes the connection without an answer
    (what a client sees when the API server closes an idle keep-alive connection as a request arrives),
    then answers every later create with 201. Yields (api_url, names of the requests received)."""
    import http.server
    import threading

    from kubernetes import client

    received: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body)["metadata"]["name"])
            if len(received) == 1:
                self.close_connection = True
                return
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    saved = client.Configuration.get_default_copy()
    conf = client.Configuration()
    conf.host = f"http://127.0.0.1:{server.server_address[1]}"
    client.Configuration.set_default(conf)
    try:
        yield received
    finally:
        client.Configuration.set_default(saved)
        server.shutdown()
        server.server_close()


def _create_config_map() -> None:
    from kubernetes import client

    client.CoreV1Api().create_namespaced_config_map(
        "ns", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm")))


def test_a_create_whose_connection_closed_without_an_answer_fails_without_the_retry(closes_first_connection):
    from urllib3.exceptions import ProtocolError

    with pytest.raises(ProtocolError, match="without response"):
        _create_config_map()
    assert closes_first_connection == ["cm"]


def test_a_create_whose_connection_closed_without_an_answer_is_sent_once_more(closes_first_connection):
    argo_client.retry_dropped_connections()
    _create_config_map()
    assert closes_first_connection == ["cm", "cm"]


def test_the_dropped_connection_retry_still_works_under_a_deadline(closes_first_connection):
    """BoundedPool (every CLI client) sends each request with its own deadline-aware retries: the resend of
    a create whose keep-alive connection was closed under it must survive that."""
    from kubernetes import client

    api = client.CoreV1Api()
    rest = api.api_client.rest_client
    rest.pool_manager = argo_client.BoundedPool(rest.pool_manager, Deadline(30))
    api.create_namespaced_config_map("ns", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm")))
    assert closes_first_connection == ["cm", "cm"]


def test_an_answer_over_the_bound_is_refused(closes_first_connection, monkeypatch):
    """The answer (here the created object echoed back) is read up to the bound, never whole."""
    from kubernetes import client

    api = client.CoreV1Api()
    rest = api.api_client.rest_client
    rest.pool_manager = argo_client.BoundedPool(rest.pool_manager, Deadline(30), limit=64)
    with pytest.raises(LimitExceeded, match="larger than 64 bytes, the limit for this answer"):
        api.create_namespaced_config_map("ns", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c" * 80)))


def test_wait_outlives_one_stalled_poll_but_not_the_deadline():
    """A poll that times out (ApiTimeout) is retried while the wait has time left; at the end it is the error."""
    fake = FakeCustomObjectsApi({("workflows", "bo-1"): {"metadata": {"name": "bo-1", "namespace": "cv"}}})
    fake.status_script["bo-1"] = [_status("Succeeded")]
    real_get, calls = fake.get_namespaced_custom_object, []

    def stalls_once(*args):
        from urllib3.exceptions import ReadTimeoutError
        calls.append(args)
        if len(calls) == 1:
            raise ReadTimeoutError(None, "/", "Read timed out.")
        return real_get(*args)

    fake.get_namespaced_custom_object = stalls_once
    assert ArgoClient(fake, "cv").wait("bo-1", timeout=10, poll=0.01).phase == "Succeeded" and len(calls) == 2

    def always_stalls(*args):
        from urllib3.exceptions import ReadTimeoutError
        raise ReadTimeoutError(None, "/", "Read timed out.")

    fake.get_namespaced_custom_object = always_stalls
    with pytest.raises(argo_client.ApiTimeout, match="did not answer in time"):
        ArgoClient(fake, "cv").wait("bo-1", timeout=0.05, poll=0.01)


def test_wait_rides_out_an_api_server_that_drops_connections_until_its_deadline():
    """An API server that restarts drops its connections, then refuses new ones for a while (tests/smoke/chaos):
    the wait polls again while it has time, and names the cluster it could not reach when the time is up."""
    from urllib3.exceptions import ProtocolError

    fake = FakeCustomObjectsApi({("workflows", "bo-1"): {"metadata": {"name": "bo-1", "namespace": "cv"}}})
    fake.status_script["bo-1"] = [_status("Succeeded")]
    real_get, calls = fake.get_namespaced_custom_object, []

    def refused(*args):
        raise ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))

    def starting(*args):
        from kubernetes.client.exceptions import ApiException
        exc = ApiException(status=503, reason="Service Unavailable")
        exc.body = json.dumps({"message": "the request has been made before all known HTTP paths have been installed"})
        raise exc

    def refused_twice(*args):  # dropped, then not ready yet, then the answer
        calls.append(args)
        return (refused, starting, real_get)[min(len(calls), 3) - 1](*args)

    fake.get_namespaced_custom_object = refused_twice
    assert ArgoClient(fake, "cv").wait("bo-1", timeout=10, poll=0.01).phase == "Succeeded" and len(calls) == 3
    fake.get_namespaced_custom_object = refused
    with pytest.raises(argo_client.ApiUnreachable, match="Workflow bo-1: cannot reach the cluster: .*Connection reset by peer"):
        ArgoClient(fake, "cv").wait("bo-1", timeout=0.05, poll=0.01)


def test_a_refused_connection_is_named_as_such_not_as_a_timeout():
    """urllib3 makes a refused connection a ConnectTimeoutError: the message must not claim a timeout (seen when a
    submit met an API server that was restarting: "did not accept a connection in time (--timeout 60 s)" after 3 s)."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    def refused(*args):
        raise MaxRetryError(None, "/apis", NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused"))

    fake = FakeCustomObjectsApi({})
    fake.get_namespaced_custom_object = refused
    with pytest.raises(argo_client.ApiUnreachable, match="cannot reach the cluster: .*Connection refused") as err:
        ArgoClient(fake, "cv").get("workflowtemplates", "batch-optimization")
    assert "in time" not in str(err.value)
