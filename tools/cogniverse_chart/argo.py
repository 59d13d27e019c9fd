"""Argo Workflows through the Kubernetes API (the `kubernetes` package's CustomObjectsApi).

No `argo` CLI and no Argo Server needed: everything goes through the cluster's API server, with
the same objects `argo submit` creates.

- `submit(template, parameters, labels)`: a Workflow with `workflowTemplateRef` (like
  `argo submit --from workflowtemplate/NAME -p k=v -l k=v`);
- `trigger(cron)`: a Workflow from a CronWorkflow's workflowSpec and workflowMetadata, labelled
  `workflows.argoproj.io/cron-workflow=NAME` (like `argo submit --from cronwf/NAME`);
- `wait(name)`: poll until the Workflow finishes; returns a `WorkflowResult` (phase, message,
  workflow-level output parameters, nodes by displayName);
- `list_workflows(selector, phase)`.

The manifest builders and status parsing are pure functions (unit-tested without a cluster);
the `ArgoClient` methods are exercised by the smoke suite against a real cluster.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .errors import ToolkitError

GROUP = "argoproj.io"
VERSION = "v1alpha1"
CRON_LABEL = "workflows.argoproj.io/cron-workflow"
PHASE_LABEL = "workflows.argoproj.io/phase"
TEMPLATE_LABEL = "workflows.argoproj.io/workflow-template"
CREATOR_LABEL = "cogniverse.dev/submitted-by"
FINISHED = frozenset({"Succeeded", "Failed", "Error"})
PHASES = ("Pending", "Running", "Succeeded", "Failed", "Error")


class ArgoError(ToolkitError):
    """An Argo API call failed or an object is not what was expected."""


class WaitTimeout(ArgoError):
    """The workflow did not finish in time; `.result` holds its last state."""

    def __init__(self, message: str, result: "WorkflowResult"):
        super().__init__(message)
        self.result = result


# ---- pure logic: manifests ----------------------------------------------------------------------

def parse_pairs(items: Iterable[str], what: str) -> dict[str, str]:
    """['a=1', 'b=x=y'] -> {'a': '1', 'b': 'x=y'}; a bad item raises naming it."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ArgoError(f"{what} {item!r} must be NAME=VALUE")
        out[key] = value
    return out


def declared_parameters(template: dict[str, Any]) -> list[str]:
    """Names of the workflow parameters a WorkflowTemplate (or workflowSpec) declares."""
    spec = template.get("spec", template)
    return [p["name"] for p in (spec.get("arguments") or {}).get("parameters") or []]


def check_parameters(what: str, declared: list[str], parameters: dict[str, str]) -> None:
    """Raise naming every parameter that `what` (e.g. 'WorkflowTemplate x') does not declare."""
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ArgoError(f"{what} has no parameter {', '.join(unknown)} "
                        f"(it declares: {', '.join(declared) or 'none'})")


def apply_parameters(params: list[dict[str, Any]], overrides: dict[str, str], what: str) -> list[dict[str, Any]]:
    """A copy of a spec's `arguments.parameters` with `overrides` as values (unknown names raise)."""
    check_parameters(what, [p["name"] for p in params], overrides)
    return [{"name": p["name"], "value": str(overrides[p["name"]])} if p["name"] in overrides else dict(p)
            for p in params]


def workflow_from_template(template_name: str, parameters: dict[str, str] | None = None,
                           labels: dict[str, str] | None = None, *,
                           generate_name: str | None = None) -> dict[str, Any]:
    """A Workflow manifest that runs a WorkflowTemplate (workflowTemplateRef) with parameters and labels."""
    wf: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Workflow",
        "metadata": {
            "generateName": generate_name or f"{template_name}-",
            "labels": {TEMPLATE_LABEL: template_name, CREATOR_LABEL: "cogniverse-chart", **(labels or {})},
        },
        "spec": {"workflowTemplateRef": {"name": template_name}},
    }
    if parameters:
        wf["spec"]["arguments"] = {"parameters": [{"name": k, "value": str(v)} for k, v in parameters.items()]}
    return wf


def workflow_from_cron(cron: dict[str, Any], labels: dict[str, str] | None = None,
                       parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """A Workflow manifest built from a CronWorkflow object, as `argo submit --from cronwf/NAME` does:
    its workflowSpec, its workflowMetadata labels/annotations, the cron-workflow label and an
    ownerReference to the CronWorkflow (so the run is deleted with it)."""
    meta = cron.get("metadata") or {}
    spec = cron.get("spec") or {}
    name = meta.get("name")
    if not name or "workflowSpec" not in spec:
        raise ArgoError(f"object {name or '<unnamed>'} is not a CronWorkflow with a workflowSpec")
    wf_meta = spec.get("workflowMetadata") or {}
    metadata: dict[str, Any] = {
        "generateName": f"{name}-",
        "labels": {**(wf_meta.get("labels") or {}), CRON_LABEL: name, CREATOR_LABEL: "cogniverse-chart",
                   **(labels or {})},
    }
    if wf_meta.get("annotations"):
        metadata["annotations"] = dict(wf_meta["annotations"])
    if meta.get("uid"):
        metadata["ownerReferences"] = [{
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "CronWorkflow", "name": name, "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True,
        }]
    wf_spec = copy.deepcopy(spec["workflowSpec"])
    if parameters:
        args = wf_spec.setdefault("arguments", {})
        args["parameters"] = apply_parameters(args.get("parameters") or [], parameters, f"CronWorkflow {name}")
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Workflow", "metadata": metadata, "spec": wf_spec}


# ---- pure logic: status -------------------------------------------------------------------------

@dataclass
class Node:
    id: str
    display_name: str
    type: str
    phase: str
    template: str = ""
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    exit_code: str | None = None
    started_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "displayName": self.display_name, "type": self.type, "phase": self.phase,
                "template": self.template, "message": self.message, "outputs": self.outputs,
                "exitCode": self.exit_code, "startedAt": self.started_at}


@dataclass
class WorkflowResult:
    name: str
    namespace: str
    phase: str
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def succeeded(self) -> bool:
        return self.phase == "Succeeded"

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED

    def node(self, display_name: str) -> Node | None:
        """The node with this displayName; with several (retries), the one that is not a retry child
        (its outputs are the step's outputs)."""
        matches = [n for n in self.nodes if n.display_name == display_name]
        if not matches:
            return None
        preferred = [n for n in matches if n.type not in ("Pod",)] or matches
        return preferred[0]

    def steps(self) -> list[Node]:
        """The workflow's steps in start order: one entry per step (a retried step's attempts
        `name(0)`, `name(1)` fold into the step), without the structural Steps/StepGroup/DAG nodes."""
        names = {n.display_name for n in self.nodes}
        out = []
        for n in sorted(self.nodes, key=lambda n: (n.started_at or "~", n.display_name)):
            if n.type in ("Steps", "StepGroup", "DAG", "TaskGroup"):
                continue
            base, paren, rest = n.display_name.partition("(")
            if paren and rest.rstrip(")").isdigit() and base in names:
                continue
            out.append(n)
        return out

    def nodes_by_display_name(self) -> dict[str, Node]:
        out: dict[str, Node] = {}
        for n in self.nodes:
            if n.display_name not in out:
                out[n.display_name] = self.node(n.display_name)  # type: ignore[assignment]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "phase": self.phase, "message": self.message,
                "outputs": self.outputs, "labels": self.labels, "startedAt": self.started_at,
                "finishedAt": self.finished_at,
                "nodes": {k: v.to_dict() for k, v in self.nodes_by_display_name().items()}}


def _params(outputs: dict[str, Any] | None) -> dict[str, str]:
    return {p["name"]: str(p.get("value", "")) for p in (outputs or {}).get("parameters") or [] if "name" in p}


def parse_workflow(wf: dict[str, Any]) -> WorkflowResult:
    """Read a Workflow object's status: phase ('Pending' until the controller picks it up), message,
    workflow-level output parameters and every node."""
    meta = wf.get("metadata") or {}
    status = wf.get("status") or {}
    nodes = []
    for node_id, n in (status.get("nodes") or {}).items():
        outputs = n.get("outputs") or {}
        nodes.append(Node(id=node_id, display_name=n.get("displayName", ""), type=n.get("type", ""),
                          phase=n.get("phase", ""), template=n.get("templateName", ""),
                          message=n.get("message", ""), outputs=_params(outputs),
                          exit_code=outputs.get("exitCode"), started_at=n.get("startedAt") or ""))
    nodes.sort(key=lambda n: (n.id != meta.get("name"), n.display_name))
    return WorkflowResult(name=meta.get("name", ""), namespace=meta.get("namespace", ""),
                          phase=status.get("phase") or "Pending", message=status.get("message", ""),
                          outputs=_params(status.get("outputs")), nodes=nodes,
                          labels=dict(meta.get("labels") or {}), started_at=status.get("startedAt"),
                          finished_at=status.get("finishedAt"), raw=wf)


def progress_line(result: WorkflowResult, elapsed: float) -> str:
    """One line for watchers: phase, finished pods / pods, running steps."""
    pods = [n for n in result.nodes if n.type == "Pod"]
    done = sum(1 for n in pods if n.phase in ("Succeeded", "Skipped", "Omitted"))
    running = sorted({n.display_name for n in pods if n.phase in ("Running", "Pending")})
    line = f"[{elapsed:5.0f}s] {result.name} {result.phase}: {done}/{len(pods)} steps done"
    if running:
        line += f"; running {', '.join(running)}"
    failed = sorted({n.display_name for n in pods if n.phase in ("Failed", "Error")})
    if failed:
        line += f"; failed {', '.join(failed)}"
    return line


# ---- the client ---------------------------------------------------------------------------------

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
