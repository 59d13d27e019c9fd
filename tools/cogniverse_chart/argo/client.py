"""Argo Workflows through the Kubernetes API (the `kubernetes` package's CustomObjectsApi).

No `argo` CLI and no Argo Server needed: everything goes through the cluster's API server, with the
same objects `argo submit` creates (built by `cogniverse_chart.argo.manifests`).

- `ArgoClient.submit(template, parameters, labels)`, `.trigger(cron)`: create a Workflow;
- `.wait(name)`: poll until the Workflow finishes; returns a `WorkflowResult`;
- `.list_workflows(selector, phase)`;
- `WorkflowStream(api, namespace)`: every Workflow of a namespace kept current by one watch stream, so
  callers wait on events (`.wait(name)`, `.phase_of(name)`) instead of polling.

Bounds (`cogniverse_chart.io_limits`): a client from `connect`/`load_api` sends every request under one
`Deadline` (the command's --timeout) with connect and read timeouts, retries only while time is left and
never after a read timeout, and reads every answer up to `MAX_RESPONSE_BYTES`; the kubeconfig's own files
(token, certificates, key) are checked first (`check_kubeconfig_refs`): no FIFO, no device, no giant file.

Exercised by the smoke suite against a real cluster.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

from .. import io_limits
from ..io_limits import Deadline, DeadlineExceeded, LimitExceeded
from .bounds import BoundedPool, bounded_exec_plugins, check_kubeconfig_refs  # noqa: F401 (re-exported)
from .manifests import (GROUP, PHASES, VERSION, ArgoError, WaitTimeout, WorkflowResult, check_parameters,
                        declared_parameters, parse_workflow, progress_line, workflow_from_cron,
                        workflow_from_template)


class ApiTimeout(ArgoError):
    """The API server did not answer a call in time (its connect or read timeout, or the deadline)."""


class ApiUnreachable(ArgoError):
    """The API server could not be reached, or answered that it is not ready yet (connection reset, HTTP 503:
    e.g. while it restarts)."""


def retry_dropped_connections() -> None:
    """Let every API client made from now on resend a request, of any method, once when its pooled
    keep-alive connection was closed under it.

    The API server closes a connection after 90 s idle. A client that waits that long (on a watch
    stream, or a workflow) and then creates something can send its POST just as the server closes:
    "Remote end closed connection without response", which urllib3 retries for GET but not for POST or
    PATCH (a smoke run failed that way on a loaded machine). The server has not read such a request, so
    sending it again is safe; a request that did reach a server which then died is resent at most once,
    and a named create answers 409 rather than creating twice."""
    from kubernetes import client
    from urllib3.util.retry import Retry

    conf = client.Configuration.get_default_copy()
    conf.retries = Retry(total=3, connect=3, read=1, status=0, allowed_methods=None, backoff_factor=0.2)
    client.Configuration.set_default(conf)


def load_kube_config(kubeconfig: str | None = None, context: str | None = None,
                     deadline: Deadline | None = None) -> None:
    """Load kubeconfig (default: $KUBECONFIG, ~/.kube/config; else the in-cluster account) as the
    `kubernetes` package's default, with `retry_dropped_connections`; a credential plugin it runs is
    stopped at the deadline."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    try:
        with bounded_exec_plugins(deadline or Deadline(float("inf"))):
            config.load_kube_config(config_file=kubeconfig, context=context)
    except (ConfigException, OSError, TypeError) as exc:
        try:
            config.load_incluster_config()
        except ConfigException:
            raise ArgoError(f"no usable kubeconfig ({exc}); set KUBECONFIG or pass --kubeconfig") from None
    retry_dropped_connections()


def load_api(kubeconfig: str | None = None, context: str | None = None, deadline: Deadline | None = None) -> Any:
    """A CustomObjectsApi for the cluster in kubeconfig (see `load_kube_config`), whose every request is
    bounded by `BoundedPool` (no whole deadline when none is given: each call still has its timeouts)."""
    from kubernetes import client

    try:
        load_kube_config(kubeconfig, context, deadline)
    except DeadlineExceeded as exc:
        raise ApiTimeout(str(exc)) from None
    api = client.CustomObjectsApi()
    rest = api.api_client.rest_client
    rest.pool_manager = BoundedPool(rest.pool_manager, deadline or Deadline(float("inf")))
    return api


def _parse(obj: dict[str, Any], what: str) -> WorkflowResult:
    """parse_workflow of what the API server sent; fields of the wrong type are an ArgoError, not a traceback."""
    try:
        return parse_workflow(obj)
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise ArgoError(f"{what}: the API server sent a Workflow with fields of the wrong type ({exc}); "
                        f"is KUBECONFIG's server a Kubernetes API server with Argo's CRDs?") from None


class ArgoClient:
    """Argo Workflows objects in one namespace, through a CustomObjectsApi."""

    def __init__(self, api: Any, namespace: str, deadline: Deadline | None = None):
        self.api = api
        self.namespace = namespace
        self.deadline = deadline or Deadline(float("inf"))

    @classmethod
    def connect(cls, namespace: str, kubeconfig: str | None = None, context: str | None = None,
                deadline: Deadline | None = None) -> "ArgoClient":
        return cls(load_api(kubeconfig, context, deadline), namespace, deadline)

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError, ReadTimeoutError

        try:
            out = fn(GROUP, VERSION, self.namespace, *args, **kw)
        except DeadlineExceeded as exc:
            raise ApiTimeout(f"{what}: {exc}") from None
        except LimitExceeded as exc:
            raise ArgoError(f"{what}: {exc}") from None
        except ValueError:  # the client's JSON decoding of an answer that is not JSON
            raise ArgoError(f"{what}: the API server's answer is not JSON (is KUBECONFIG's server a "
                            f"Kubernetes API server?)") from None
        except ApiException as exc:
            reason = exc.reason
            if exc.status == 404:
                raise ArgoError(f"{what}: not found in namespace {self.namespace} "
                                "(is the chart installed there, with workflows enabled?)") from None
            try:
                reason = json.loads(exc.body).get("message", reason)
            except (TypeError, ValueError, AttributeError):
                pass
            if exc.status == 503:  # a starting API server: "... before all known HTTP paths have been installed"
                raise ApiUnreachable(f"{what}: the API server is not ready (HTTP 503: {reason})") from None
            raise ArgoError(f"{what}: API error {exc.status}: {reason}") from None
        except (OSError, HTTPError) as exc:  # connection refused, DNS, TLS, timeouts ...
            reason = exc.reason if isinstance(exc, MaxRetryError) else exc
            # urllib3's NewConnectionError (refused, no route) is a ConnectTimeoutError, but nothing timed out
            timed_out = isinstance(reason, (ReadTimeoutError, ConnectTimeoutError, TimeoutError))
            if timed_out and not (isinstance(reason, NewConnectionError) and "timed out" not in str(reason)):
                waited = "" if self.deadline.seconds == float("inf") else f" (--timeout {self.deadline.seconds:g} s)"
                verb = "accept a connection" if isinstance(reason, ConnectTimeoutError) else "answer"
                cap = io_limits.CONNECT_TIMEOUT if verb != "answer" else io_limits.READ_TIMEOUT
                raise ApiTimeout(f"{what}: the API server did not {verb} in time{waited or f' ({cap:g} s)'}") from None
            raise ApiUnreachable(f"{what}: cannot reach the cluster: {' '.join(str(exc).split())[:300]}") from None
        if not isinstance(out, dict):
            raise ArgoError(f"{what}: the API server answered with {type(out).__name__}, not a Kubernetes "
                            f"object (is KUBECONFIG's server a Kubernetes API server?)")
        return out

    def _items(self, what: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> list[dict[str, Any]]:
        """The `items` of a list answer; entries that are not objects with a name are an error."""
        items = self._call(what, fn, *args, **kw).get("items")
        if not isinstance(items, list) or not all(
                isinstance(i, dict) and isinstance(i.get("metadata"), dict)
                and isinstance(i["metadata"].get("name"), str) for i in items):
            raise ArgoError(f"{what}: the API server's list has no items of named objects")
        return items

    def get(self, plural: str, name: str) -> dict[str, Any]:
        kind = {"workflows": "Workflow", "workflowtemplates": "WorkflowTemplate",
                "cronworkflows": "CronWorkflow"}.get(plural, plural)
        return self._call(f"{kind} {name}", self.api.get_namespaced_custom_object, plural, name)

    def names(self, plural: str) -> set[str]:
        """Names of the objects of one kind (workflowtemplates, cronworkflows, workflows) in the namespace."""
        items = self._items(f"list {plural}", self.api.list_namespaced_custom_object, plural)
        return {i["metadata"]["name"] for i in items}

    def create_workflow(self, manifest: dict[str, Any]) -> str:
        created = self._call("create Workflow", self.api.create_namespaced_custom_object, "workflows", manifest)
        name = (created.get("metadata") or {}).get("name")
        if not isinstance(name, str) or not name:
            raise ArgoError("create Workflow: the API server's answer names no Workflow")
        return name

    def submit(self, template: str, parameters: dict[str, str] | None = None,
               labels: dict[str, str] | None = None) -> str:
        """Run a WorkflowTemplate; returns the new Workflow's name. Unknown parameters fail before submitting."""
        tmpl = self.get("workflowtemplates", template)
        check_parameters(f"WorkflowTemplate {template}", declared_parameters(tmpl), parameters or {})
        return self.create_workflow(workflow_from_template(template, parameters, labels))

    def trigger(self, cron: str, labels: dict[str, str] | None = None,
                parameters: dict[str, str] | None = None) -> str:
        """Run a CronWorkflow now; returns the new Workflow's name."""
        return self.create_workflow(workflow_from_cron(self.get("cronworkflows", cron), labels, parameters))

    def status(self, name: str) -> WorkflowResult:
        return _parse(self.get("workflows", name), f"Workflow {name}")

    def wait(self, name: str, timeout: float = 600, poll: float = 2.0,
             on_progress: Callable[[str], None] | None = None) -> WorkflowResult:
        """Poll until the workflow is Succeeded, Failed or Error. Raises WaitTimeout after `timeout` s."""
        start = time.monotonic()
        last = ""
        while True:
            try:
                result = self.status(name)
            except (ApiTimeout, ApiUnreachable):
                # One stalled poll, or an API server that restarts (it refused connections for 14 s in
                # tests/smoke/chaos/test_apiserver_restart.py), is not the end of a long wait: poll again while
                # the deadline allows, then the last error is the answer.
                if time.monotonic() - start + poll >= timeout:
                    raise
                time.sleep(poll)
                continue
            elapsed = time.monotonic() - start
            if on_progress:
                line = progress_line(result, elapsed)
                if line.split("]", 1)[1] != last:
                    on_progress(line)
                    last = line.split("]", 1)[1]
            if result.finished:
                return result
            if elapsed >= timeout:
                raise WaitTimeout(f"Workflow {name} still {result.phase} after {timeout:.0f}s "
                                  f"({progress_line(result, elapsed).split('] ', 1)[1]})", result)
            time.sleep(max(0.0, min(poll, timeout - elapsed)))

    def list_workflows(self, selector: str | None = None, phase: str | None = None) -> list[WorkflowResult]:
        """Workflows matching a label selector (and phase), newest first."""
        if phase is not None and phase not in PHASES:
            raise ArgoError(f"phase {phase!r} is not one of {', '.join(PHASES)}")
        kw = {"label_selector": selector} if selector else {}
        items = self._items("list Workflows", self.api.list_namespaced_custom_object, "workflows", **kw)
        results = [_parse(i, "list Workflows") for i in items]
        if phase:
            results = [r for r in results if r.phase == phase]
        results.sort(key=lambda r: (r.raw.get("metadata", {}).get("creationTimestamp") or ""), reverse=True)
        return results


class WorkflowStream:
    """Every Workflow of one namespace as the API server reports it, kept current by one watch stream
    (a background thread). `cond` is notified on every event; hold it to read `objects` consistently.
    A Workflow deleted meanwhile (a CronWorkflow's history limit, a TTL) stays in `deleted` with its
    last state, so a wait that starts after the deletion still gets the result."""

    def __init__(self, custom_api: Any, namespace: str):
        self.api = custom_api
        self.namespace = namespace
        self.objects: dict[str, dict[str, Any]] = {}
        self.deleted: dict[str, dict[str, Any]] = {}
        self.cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"watch-{namespace}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        from kubernetes import watch

        version = ""
        while not self._stop.is_set():
            w = watch.Watch()
            try:
                kw = {"resource_version": version} if version else {}
                for event in w.stream(self.api.list_namespaced_custom_object, GROUP, VERSION,
                                      self.namespace, "workflows", timeout_seconds=30,
                                      _request_timeout=(io_limits.CONNECT_TIMEOUT, 60), **kw):
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        version = ""  # expired: list again
                        break
                    version = obj["metadata"].get("resourceVersion", version)
                    self.apply(event["type"], obj)
                    if self._stop.is_set():
                        break
            except Exception:  # connection reset, 410 Gone: start over from a fresh list
                version = ""
                self._stop.wait(1)
            finally:
                w.stop()

    def apply(self, kind: str, obj: dict[str, Any]) -> None:
        """One watch event (ADDED, MODIFIED, DELETED) into `objects`/`deleted`; wakes the waiters."""
        with self.cond:
            name = obj["metadata"]["name"]
            if kind == "DELETED":
                self.objects.pop(name, None)
                self.deleted[name] = obj
            else:
                self.objects[name] = obj
                self.deleted.pop(name, None)
            self.cond.notify_all()

    def stop(self) -> None:
        self._stop.set()

    def phase_of(self, name: str) -> str | None:
        """The Workflow's phase as last seen ("" before the controller set one), None if never seen."""
        obj = self.objects.get(name)
        return None if obj is None else parse_workflow(obj).phase

    def wait(self, name: str, timeout: float, until: Callable[[WorkflowResult], bool] | None = None) -> WorkflowResult:
        """The workflow once it has finished (or `until` holds); raises WaitTimeout with its last state."""
        done = until or (lambda r: r.finished)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                obj = self.objects.get(name) or self.deleted.get(name)
                result = parse_workflow(obj) if obj else None
                if result is not None and done(result):
                    return result
                if name in self.deleted:
                    raise WaitTimeout(f"Workflow {name} was deleted while {result.phase or 'Pending'}", result)
                left = deadline - time.monotonic()
                if left <= 0:
                    last = result or parse_workflow({"metadata": {"name": name}})
                    raise WaitTimeout(f"Workflow {name} still {last.phase} after {timeout:.0f}s: "
                                      f"{progress_line(last, timeout).split('] ', 1)[1]}", last)
                self.cond.wait(min(left, 5))
