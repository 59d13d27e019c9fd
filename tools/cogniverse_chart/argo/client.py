"""Argo Workflows through the Kubernetes API (the `kubernetes` package's CustomObjectsApi).

No `argo` CLI and no Argo Server needed: everything goes through the cluster's API server, with the
same objects `argo submit` creates (built by `cogniverse_chart.argo.manifests`).

- `ArgoClient.submit(template, parameters, labels)`, `.trigger(cron)`: create a Workflow;
- `.wait(name)`: poll until the Workflow finishes; returns a `WorkflowResult`;
- `.list_workflows(selector, phase)`.

Exercised by the smoke suite against a real cluster.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from .manifests import (GROUP, PHASES, VERSION, ArgoError, WaitTimeout, WorkflowResult, check_parameters,
                        declared_parameters, parse_workflow, progress_line, workflow_from_cron,
                        workflow_from_template)


def load_api(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """A CustomObjectsApi for the cluster in kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        config.load_kube_config(config_file=kubeconfig, context=context)
    except (ConfigException, OSError, TypeError) as exc:
        try:
            config.load_incluster_config()
        except ConfigException:
            raise ArgoError(f"no usable kubeconfig ({exc}); set KUBECONFIG or pass --kubeconfig") from None
    return client.CustomObjectsApi()


class ArgoClient:
    """Argo Workflows objects in one namespace, through a CustomObjectsApi."""

    def __init__(self, api: Any, namespace: str):
        self.api = api
        self.namespace = namespace

    @classmethod
    def connect(cls, namespace: str, kubeconfig: str | None = None, context: str | None = None) -> "ArgoClient":
        return cls(load_api(kubeconfig, context), namespace)

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return fn(GROUP, VERSION, self.namespace, *args, **kw)
        except ApiException as exc:
            reason = exc.reason
            if exc.status == 404:
                raise ArgoError(f"{what}: not found in namespace {self.namespace} "
                                "(is the chart installed there, with workflows enabled?)") from None
            try:
                reason = json.loads(exc.body).get("message", reason)
            except (TypeError, ValueError, AttributeError):
                pass
            raise ArgoError(f"{what}: API error {exc.status}: {reason}") from None
        except (OSError, HTTPError) as exc:  # connection refused, DNS, TLS, ...
            raise ArgoError(f"{what}: cannot reach the cluster: {exc}") from None

    def get(self, plural: str, name: str) -> dict[str, Any]:
        kind = {"workflows": "Workflow", "workflowtemplates": "WorkflowTemplate",
                "cronworkflows": "CronWorkflow"}.get(plural, plural)
        return self._call(f"{kind} {name}", self.api.get_namespaced_custom_object, plural, name)

    def names(self, plural: str) -> set[str]:
        """Names of the objects of one kind (workflowtemplates, cronworkflows, workflows) in the namespace."""
        items = self._call(f"list {plural}", self.api.list_namespaced_custom_object, plural)["items"]
        return {i["metadata"]["name"] for i in items}

    def create_workflow(self, manifest: dict[str, Any]) -> str:
        created = self._call("create Workflow", self.api.create_namespaced_custom_object, "workflows", manifest)
        return created["metadata"]["name"]

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
        return parse_workflow(self.get("workflows", name))

    def wait(self, name: str, timeout: float = 600, poll: float = 2.0,
             on_progress: Callable[[str], None] | None = None) -> WorkflowResult:
        """Poll until the workflow is Succeeded, Failed or Error. Raises WaitTimeout after `timeout` s."""
        start = time.monotonic()
        last = ""
        while True:
            result = self.status(name)
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
            time.sleep(poll)

    def list_workflows(self, selector: str | None = None, phase: str | None = None) -> list[WorkflowResult]:
        """Workflows matching a label selector (and phase), newest first."""
        if phase is not None and phase not in PHASES:
            raise ArgoError(f"phase {phase!r} is not one of {', '.join(PHASES)}")
        kw = {"label_selector": selector} if selector else {}
        items = self._call("list Workflows", self.api.list_namespaced_custom_object, "workflows", **kw)["items"]
        results = [parse_workflow(i) for i in items]
        if phase:
            results = [r for r in results if r.phase == phase]
        results.sort(key=lambda r: (r.raw.get("metadata", {}).get("creationTimestamp") or ""), reverse=True)
        return results
