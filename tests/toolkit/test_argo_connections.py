"""cogniverse_chart.argo's client on a connection that misbehaves: closed without an answer (a create is
not sent twice unless it is safe), answers over the bound, stalled polls, dropped connections until the
deadline, refused connections named as such. Loopback HTTP servers and the FAKE CustomObjectsApi of
argo_fake.py (stand-ins, named as such); a live API server: the smoke suite (tests/smoke/)."""

from __future__ import annotations

import json

import pytest

from argo_fake import FakeCustomObjectsApi, workflow_status
from cogniverse_chart.argo import client as argo_client
from cogniverse_chart.argo.client import ArgoClient
from cogniverse_chart.io_limits import Deadline, LimitExceeded


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
    fake.status_script["bo-1"] = [workflow_status("Succeeded")]
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
    fake.status_script["bo-1"] = [workflow_status("Succeeded")]
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
