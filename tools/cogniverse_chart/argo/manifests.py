"""Argo Workflow manifests and status, as pure functions (unit-tested without a cluster).

- `workflow_from_template(template, parameters, labels)`: a Workflow with `workflowTemplateRef` (like
  `argo submit --from workflowtemplate/NAME -p k=v -l k=v`);
- `workflow_from_cron(cron)`: a Workflow from a CronWorkflow's workflowSpec and workflowMetadata,
  labelled `workflows.argoproj.io/cron-workflow=NAME` (like `argo submit --from cronwf/NAME`);
- `parse_workflow(obj)`: a Workflow's status as a `WorkflowResult` (phase, message, workflow-level
  output parameters, nodes by displayName); `progress_line` for watchers.

The live client that sends these to the cluster is `cogniverse_chart.argo.client`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ..errors import ToolkitError

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


