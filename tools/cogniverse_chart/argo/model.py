"""A read-only model of Argo workflow specs for the lint rules: templates, calls, `{{...}}` references.

Every Argo object that carries a workflow spec is seen the same way: Workflow, WorkflowTemplate and
ClusterWorkflowTemplate at `$.spec`, CronWorkflow at `$.spec.workflowSpec`. A Workflow or CronWorkflow
that runs a WorkflowTemplate (`workflowTemplateRef`) executes that template's spec with its own
arguments merged in: `resolved_run()` builds that spec, so rules check what actually runs.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterator

from ..documents import Document, json_path, walk_strings

ARGO_API_PREFIX = "argoproj.io/"
SPEC_AT = {"Workflow": ("spec",), "WorkflowTemplate": ("spec",), "ClusterWorkflowTemplate": ("spec",),
           "CronWorkflow": ("spec", "workflowSpec")}
TEMPLATE_TYPES = ("steps", "dag", "container", "script", "resource", "containerSet", "suspend", "data",
                  "http", "plugin")
POD_TYPES = ("container", "script", "containerSet")

_TAG_RE = re.compile(r"\{\{(.*?)\}\}", re.S)
_SIMPLE_VAR_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]*?)\s*$")
# Inside `{{= expr }}`: variables written with dots or ['brackets'] (hyphens need brackets there).
_EXPR_VAR_RE = re.compile(
    r"(?<![\w.'\"])(inputs|outputs|workflow|steps|tasks|item|pod|node|retries|lastRetry)"
    r"((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\s*['\"][^'\"]+['\"]\s*\])*)")
_EXPR_PART_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([^'\"]+)['\"]\s*\]")


def variables(text: str) -> Iterator[tuple[str, ...]]:
    """Variable paths referenced in a string: '{{inputs.parameters.x}}' -> ('inputs', 'parameters', 'x')."""
    for var, _ in tagged_variables(text):
        yield var


def tagged_variables(text: str) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """(variable path, inside an `{{= expression}}`?) for every variable a string references. Templates repeat
    the same short strings (`{{inputs.parameters.x}}`): those are scanned once (a bounded cache)."""
    found = _SCANNED.get(text)
    if found is None:
        found = tuple(_scan_variables(text))
        if len(text) <= _SCAN_CACHE_TEXT:
            if len(_SCANNED) >= _SCAN_CACHE_SIZE:
                _SCANNED.clear()
            _SCANNED[text] = found
    return found


_SCANNED: dict[str, tuple[tuple[tuple[str, ...], bool], ...]] = {}
_SCAN_CACHE_SIZE = 8192
_SCAN_CACHE_TEXT = 1024  # longer texts (scripts) are scanned each time: the cache stays under ~10 MB


def _scan_variables(text: str) -> Iterator[tuple[tuple[str, ...], bool]]:
    for m in _TAG_RE.finditer(text):
        inner = m.group(1)
        if inner.lstrip().startswith("="):
            for vm in _EXPR_VAR_RE.finditer(inner.lstrip()[1:]):
                parts = [vm.group(1)] + [a or b for a, b in _EXPR_PART_RE.findall(vm.group(2))]
                yield tuple(parts), True
        else:
            sm = _SIMPLE_VAR_RE.match(inner)
            if sm:
                yield tuple(sm.group(1).split(".")), False


def template_type(t: dict[str, Any]) -> str:
    for k in TEMPLATE_TYPES:
        if k in t:
            return k
    return ""


def names(items: Any) -> list[str]:
    """Names of a list of {name: ...} entries (parameters, artifacts, steps, tasks)."""
    return [str(i["name"]) for i in items or [] if isinstance(i, dict) and "name" in i]


def step_groups(t: dict[str, Any]) -> list[list[dict[str, Any]]]:
    groups = t.get("steps") or []
    return [[s for s in (g if isinstance(g, list) else [g]) if isinstance(s, dict)] for g in groups]


def dag_tasks(t: dict[str, Any]) -> list[dict[str, Any]]:
    return [x for x in ((t.get("dag") or {}).get("tasks") or []) if isinstance(x, dict)]


@dataclass
class Call:
    """A step, DAG task, hook or onExit that calls a template."""

    owner: str  # "step" | "task" | "hook" | "onExit"
    name: str
    node: dict[str, Any]
    path: list[Any]
    template: str  # the calling template's name ("" for workflow-level onExit/hooks)
    group: int = 0  # steps: index of the parallel group


@dataclass
class Site:
    """One `{{variable}}` use: where it is, and which step/task (if any) it belongs to."""

    template: str
    path: list[Any]
    var: tuple[str, ...]
    text: str
    call: Call | None  # the step/task whose fields hold the string, if any
    key: str  # first key under the step/task ('when', 'arguments', ...) or under the template
    expr: bool = False  # inside an `{{= expression}}` (Argo's validator does not check those)
    #: in a field of a steps/DAG template outside its steps, tasks and outputs (synchronization, metadata,
    #: inputs ...), which Argo's validator does not resolve either
    unchecked: bool = False

    @property
    def beyond_argo(self) -> bool:
        """A use Argo's validator never looks at: faults here pass it and break the run."""
        return self.expr or self.unchecked


@dataclass
class WorkflowSpec:
    doc: Document
    spec: dict[str, Any]
    base: list[Any]  # path of the spec inside the object

    @cached_property
    def template_list(self) -> list[dict[str, Any]]:
        return [t for t in self.spec.get("templates") or [] if isinstance(t, dict)]

    @cached_property
    def templates(self) -> dict[str, dict[str, Any]]:
        return {str(t.get("name")): t for t in self.template_list}

    @cached_property
    def template_index(self) -> dict[str, int]:
        return {str(t.get("name")): i for i, t in enumerate(self.spec.get("templates") or []) if isinstance(t, dict)}

    def tpath(self, name: str, *rest: Any) -> list[Any]:
        return [*self.base, "templates", self.template_index.get(name, 0), *rest]

    def path(self, *rest: Any) -> str:
        return json_path([*self.base, *rest])

    @cached_property
    def params(self) -> set[str]:
        return set(names((self.spec.get("arguments") or {}).get("parameters")))

    @cached_property
    def calls(self) -> list[Call]:
        out: list[Call] = []
        for t in self.template_list:
            tn = str(t.get("name"))
            for gi, group in enumerate(step_groups(t)):
                for si, s in enumerate(group):
                    out.append(Call("step", str(s.get("name", "")), s, self.tpath(tn, "steps", gi, si), tn, gi))
                    out += self._hooks(s, self.tpath(tn, "steps", gi, si), tn)
            for ti, task in enumerate(dag_tasks(t)):
                out.append(Call("task", str(task.get("name", "")), task, self.tpath(tn, "dag", "tasks", ti), tn))
                out += self._hooks(task, self.tpath(tn, "dag", "tasks", ti), tn)
        if isinstance(self.spec.get("onExit"), str):
            out.append(Call("onExit", "onExit", {"template": self.spec["onExit"]}, [*self.base, "onExit"], ""))
        out += self._hooks(self.spec, list(self.base), "")
        return out

    @staticmethod
    def _hooks(node: dict[str, Any], path: list[Any], template: str) -> list[Call]:
        hooks = node.get("hooks")
        if not isinstance(hooks, dict):
            return []
        return [Call("hook", str(k), h, [*path, "hooks", k], template) for k, h in hooks.items() if isinstance(h, dict)]

    @cached_property
    def callees(self) -> dict[str, list[str]]:
        """Template name -> the templates its steps, tasks and hooks call by name (`template:`), in order."""
        out: dict[str, list[str]] = {}
        for c in self.calls:
            callee = c.node.get("template")
            if isinstance(callee, str):
                out.setdefault(c.template, []).append(callee)
        return out

    def reachable(self, name: str) -> set[str]:
        """Template `name` and every template of the same spec it calls, transitively (computed once per name)."""
        memo = self.__dict__.setdefault("_reachable", {})
        if name not in memo:
            seen: set[str] = set()
            todo = [name]
            while todo:
                n = todo.pop()
                if n in seen or n not in self.templates:
                    continue
                seen.add(n)
                todo += self.callees.get(n, ())
            memo[name] = seen
        return memo[name]

    @cached_property
    def exit_templates(self) -> set[str]:
        """Templates that run as exit handlers (onExit, hooks), and every template they call."""
        roots = [c.node.get("template") for c in self.calls if c.owner in ("onExit", "hook")]
        seen: set[str] = set()
        for root in roots:
            if isinstance(root, str):
                seen |= self.reachable(root)
        return seen

    @cached_property
    def sites(self) -> list[Site]:
        """Every `{{...}}` variable use inside templates (with the step/task it belongs to)."""
        out: list[Site] = []
        by_path = {tuple(c.path[len(self.base) + 1:]): c for c in self.calls if c.owner in ("step", "task")}
        for t in self.template_list:
            tn = str(t.get("name"))
            tp = self.tpath(tn)
            ti = tp[-1]  # where tpath() points (the last template of that name)
            outer = template_type(t) in ("steps", "dag")
            for rel, text in walk_strings(t, [], "{{"):
                call = None
                key = str(rel[0]) if rel else ""
                if len(rel) >= 3 and (rel[0] == "steps" or (rel[0] == "dag" and rel[1] == "tasks")):
                    call = by_path.get((ti, *rel[:3]))
                    key = str(rel[3]) if len(rel) > 3 else ""
                unchecked = outer and str(rel[0]) not in ("steps", "dag", "outputs")
                path = [*tp, *rel]
                for var, expr in tagged_variables(text):
                    out.append(Site(tn, path, var, text, call, key, expr, unchecked))
        return out

    @cached_property
    def sites_by_scope(self) -> tuple[list[Site], list[Site]]:
        """sites split by Site.beyond_argo: (the uses Argo's validator resolves too, those it never looks at)."""
        scopes: tuple[list[Site], list[Site]] = ([], [])
        for site in self.sites:
            scopes[site.beyond_argo].append(site)
        return scopes


def workflow_specs(doc: Document) -> list[WorkflowSpec]:
    if not doc.api_version.startswith(ARGO_API_PREFIX) or doc.kind not in SPEC_AT:
        return []
    node: Any = doc.obj
    for k in SPEC_AT[doc.kind]:
        node = node.get(k) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return []
    return [WorkflowSpec(doc, node, list(SPEC_AT[doc.kind]))]


#: WorkflowSpec fields a `workflowTemplateRef` run may set itself under Argo's templateReferencing
#: Strict/Secure (3.7 workflow/util/merge.go allowedUserOverrides); everything else comes from the template.
RUN_OVERRIDES = ("arguments", "entrypoint", "shutdown", "suspend", "activeDeadlineSeconds", "priority",
                 "ttlStrategy", "podGC", "volumeClaimGC", "archiveLogs", "workflowMetadata", "metrics",
                 "artifactGC")


def resolved_run(run: WorkflowSpec, template: WorkflowSpec) -> WorkflowSpec:
    """The spec a `workflowTemplateRef` run executes: the template's, with the run's fields above laid over
    it and its arguments merged by name (the run's value wins), as Argo's JoinWorkflowSpec does. Paths
    point into the template's document (where the templates are written)."""
    spec = dict(template.spec)  # the rules only read specs: share the template's values, copy what changes
    for key in RUN_OVERRIDES:
        if key in run.spec and key != "arguments":
            spec[key] = copy.deepcopy(run.spec[key])
    mine = [p for p in (run.spec.get("arguments") or {}).get("parameters") or [] if isinstance(p, dict)]
    if mine:
        params = [p for p in (spec.get("arguments") or {}).get("parameters") or [] if isinstance(p, dict)]
        by_name = {str(p.get("name")): i for i, p in enumerate(params)}
        for p in mine:
            i = by_name.get(str(p.get("name")))
            if i is None:
                params.append(copy.deepcopy(p))
            else:
                params[i] = {**params[i], **copy.deepcopy(p)}
        spec["arguments"] = {**(spec.get("arguments") or {}), "parameters": params}
    out = WorkflowSpec(template.doc, spec, list(template.base))
    # same templates, onExit and hooks: share the template's indexes instead of walking them again
    for name in ("template_list", "templates", "template_index", "calls", "callees", "sites", "sites_by_scope",
                 "exit_templates"):
        out.__dict__[name] = getattr(template, name)
    return out


@dataclass
class Cron:
    """A CronWorkflow's schedule facts."""

    doc: Document
    schedules: list[tuple[str, list[Any]]] = field(default_factory=list)  # (expression, path)
    timezone: str = ""


def cron_of(doc: Document) -> Cron | None:
    if doc.kind != "CronWorkflow" or not doc.api_version.startswith(ARGO_API_PREFIX):
        return None
    spec = doc.obj.get("spec") or {}
    c = Cron(doc, timezone=str(spec.get("timezone") or ""))
    if isinstance(spec.get("schedules"), list):
        c.schedules += [(str(s), ["spec", "schedules", i]) for i, s in enumerate(spec["schedules"])]
    if isinstance(spec.get("schedule"), str) and spec["schedule"].strip():
        c.schedules.append((spec["schedule"], ["spec", "schedule"]))
    return c
