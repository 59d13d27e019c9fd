"""Workflow structure: entrypoint, called templates exist, required inputs supplied, DAG sanity,
exit-handler-only variables, duplicate names, idempotent resource steps."""

from __future__ import annotations

import difflib
import re
from typing import Any, Iterator

from ..findings import Severity
from ..documents import json_path
from ..argo.model import WorkflowSpec, dag_tasks, names, step_groups
from .registry import Hit, LintContext, rule

#: In a `depends` expression: `task.Result` (any case, so a misspelt result is reported as such) or `task`.
_DEPENDS_TOKEN = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?)\.([A-Za-z]+)\b|([a-zA-Z0-9][-a-zA-Z0-9]*)")
DEPENDS_RESULTS = {"Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed"}


def depends_results(expr: str) -> list[tuple[str, str]]:
    """(task, result) for every `task.Result` in a depends expression ('' result for a bare task)."""
    out = []
    for m in _DEPENDS_TOKEN.finditer(expr):
        if m.group(1):
            out.append((m.group(1), m.group(2)))
        else:
            out.append((m.group(3), ""))
    return out


def task_dependencies(task: dict[str, Any]) -> list[str]:
    """Names a DAG task depends on, from `dependencies` and the `depends` expression."""
    deps = [str(d) for d in task.get("dependencies") or []]
    expr = task.get("depends")
    if isinstance(expr, str):
        deps += [name for name, _ in depends_results(expr)]
    return list(dict.fromkeys(deps))


def dag_ancestors(tasks: list[dict[str, Any]]) -> dict[str, set[str]]:
    deps = {str(t.get("name")): task_dependencies(t) for t in tasks}
    memo: dict[str, set[str]] = {}

    def anc(n: str, stack: frozenset[str]) -> set[str]:
        if n in memo:
            return memo[n]
        out: set[str] = set()
        for d in deps.get(n, []):
            if d in deps and d not in stack:
                out |= {d} | anc(d, stack | {d})
        memo[n] = out
        return out

    return {n: anc(n, frozenset({n})) for n in deps}


def _required_inputs(t: dict[str, Any]) -> list[str]:
    params = (t.get("inputs") or {}).get("parameters") or []
    return [str(p["name"]) for p in params
            if isinstance(p, dict) and "name" in p and not any(k in p for k in ("value", "default", "valueFrom"))]


@rule("argo/missing-entrypoint", Severity.ERROR, "the entrypoint (and onExit) must name a template of the workflow")
def missing_entrypoint(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        if "workflowTemplateRef" in w.spec:
            lib = _referenced_template(ctx, w)
            ep = w.spec.get("entrypoint") or (lib.spec.get("entrypoint") if lib else None)
            if lib is not None and not ep and w.doc.kind in ("Workflow", "CronWorkflow"):
                yield Hit(w.doc, w.path("entrypoint"), f"no entrypoint here nor in {lib.doc.kind} '{lib.doc.name}': "
                                                       f"set {w.path('entrypoint')} (templates: "
                                                       f"{', '.join(lib.templates) or 'none'})")
            for key in ("entrypoint", "onExit"):
                name = w.spec.get(key) or (ep if key == "entrypoint" else None)
                if lib is not None and isinstance(name, str) and name and name not in lib.templates:
                    yield Hit(w.doc, w.path(key), f"{key} '{name}' is not a template of {lib.doc.kind} "
                                                  f"'{lib.doc.name}' (templates: {', '.join(lib.templates)})")
            continue
        ep = w.spec.get("entrypoint")
        if not ep:
            if w.doc.kind in ("Workflow", "CronWorkflow"):
                yield Hit(w.doc, w.path("entrypoint"),
                          f"no entrypoint: set {w.path('entrypoint')} to the template to run "
                          f"(templates: {', '.join(w.templates) or 'none'})")
            continue
        if ep not in w.templates:
            yield Hit(w.doc, w.path("entrypoint"),
                      f"entrypoint '{ep}' is not a template of this workflow (templates: {', '.join(w.templates)})")


@rule("argo/missing-template", Severity.ERROR,
      "steps, tasks, hooks and onExit must call templates that exist (templateRef checked within the stream)")
def missing_template(ctx: LintContext) -> Iterator[Hit]:
    for w, c in ctx.calls():
        if c.owner == "onExit" and c.node["template"] not in w.templates:
            yield Hit(w.doc, json_path(c.path),
                      f"onExit '{c.node['template']}' is not a template of this workflow")
            continue
        name = c.node.get("template")
        ref = c.node.get("templateRef")
        if isinstance(name, str):
            if name not in w.templates:
                yield Hit(w.doc, json_path([*c.path, "template"]),
                          f"{c.owner} '{c.name}' calls template '{name}', which does not exist in this "
                          f"workflow (templates: {', '.join(w.templates)})")
        elif isinstance(ref, dict):
            cluster = bool(ref.get("clusterScope"))
            lib = ctx.library.get((cluster, str(ref.get("name", ""))))
            kind = "ClusterWorkflowTemplate" if cluster else "WorkflowTemplate"
            if lib is None:
                close = ctx.shared(("close-library", cluster, str(ref.get("name", ""))), lambda: difflib.get_close_matches(
                    str(ref.get("name", "")), [n for (cl, n) in ctx.library if cl == cluster], n=1))
                if close:
                    yield Hit(w.doc, json_path([*c.path, "templateRef", "name"]),
                              f"{c.owner} '{c.name}' calls {kind} '{ref.get('name')}', which does not exist; "
                              f"did you mean '{close[0]}' (in this stream)?")
                else:
                    yield Hit(w.doc, json_path([*c.path, "templateRef"]),
                              f"{c.owner} '{c.name}' calls {kind} '{ref.get('name')}', which is not in the "
                              f"checked stream: not verified", Severity.INFO)
            elif not ref.get("template"):
                continue  # argo/template-reference: templateRef.template is required
            elif str(ref.get("template", "")) not in lib.templates:
                yield Hit(w.doc, json_path([*c.path, "templateRef", "template"]),
                          f"{c.owner} '{c.name}' calls template '{ref.get('template')}' of {kind} "
                          f"'{ref.get('name')}', which has no such template "
                          f"(templates: {', '.join(lib.templates)})")
        elif c.owner in ("step", "task", "hook") and "inline" not in c.node:
            yield Hit(w.doc, json_path(c.path), f"{c.owner} '{c.name}' calls no template "
                                                f"(set template, templateRef or inline)")


def _supplied(node: dict[str, Any]) -> list[str]:
    return names((node.get("arguments") or {}).get("parameters"))


@rule("argo/missing-argument", Severity.ERROR,
      "every input parameter without a default must be supplied by the caller (or workflow arguments)")
def missing_argument(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        for c in w.calls:
            if c.owner == "onExit":
                continue
            target = ctx.resolve(w, c.node)
            if target is None:
                continue
            _, t = target
            missing = [p for p in _required_inputs(t) if p not in _supplied(c.node)]
            if missing:
                yield Hit(w.doc, json_path([*c.path, "arguments"]),
                          f"{c.owner} '{c.name}' calls template '{t.get('name')}' without its required "
                          f"input(s) {', '.join(missing)}; add them to arguments.parameters")
        ep = w.spec.get("entrypoint")
        # A (Cluster)WorkflowTemplate is validated with placeholder arguments: its entrypoint inputs are
        # given when it is run (argo submit --from, workflowTemplateRef, an event binding).
        if ("workflowTemplateRef" not in w.spec and isinstance(ep, str) and ep in w.templates
                and w.doc.kind not in ("WorkflowTemplate", "ClusterWorkflowTemplate")):
            missing = [p for p in _required_inputs(w.templates[ep]) if p not in w.params]
            if missing:
                yield Hit(w.doc, w.path("arguments", "parameters"),
                          f"entrypoint template '{ep}' needs input(s) {', '.join(missing)}, which "
                          f"{w.path('arguments', 'parameters')} does not declare")
        ref_lib = _referenced_template(ctx, w)
        if ref_lib is not None:
            wanted = [str(p["name"]) for p in (ref_lib.spec.get("arguments") or {}).get("parameters") or []
                      if isinstance(p, dict) and "name" in p and not any(k in p for k in ("value", "default", "valueFrom"))]
            missing = [p for p in wanted if p not in w.params]
            if missing and w.doc.kind == "Workflow":  # may still get them at submit time (argo submit -p)
                yield Hit(w.doc, w.path("arguments", "parameters"),
                          f"runs {ref_lib.doc.kind} '{ref_lib.doc.name}' without a value for its required "
                          f"parameter(s) {', '.join(missing)}: give them at submit time "
                          f"(argo submit -p {missing[0]}=...) or the run fails", Severity.WARNING)
            elif missing:
                yield Hit(w.doc, w.path("arguments", "parameters"),
                          f"runs {ref_lib.doc.kind} '{ref_lib.doc.name}' without its required parameter(s) "
                          f"{', '.join(missing)} (they have no value there, and a {w.doc.kind} cannot be given "
                          f"them at submit time); add them to arguments.parameters")
        if w.doc.kind == "CronWorkflow":
            for i, p in enumerate((w.spec.get("arguments") or {}).get("parameters") or []):
                if isinstance(p, dict) and not any(k in p for k in ("value", "default", "valueFrom")):
                    yield Hit(w.doc, w.path("arguments", "parameters", i),
                              f"workflow parameter '{p.get('name')}' has no value; a CronWorkflow cannot "
                              f"be given one at submit time, so every run would fail")


def _referenced_template(ctx: LintContext, w: WorkflowSpec) -> WorkflowSpec | None:
    """The (Cluster)WorkflowTemplate a `workflowTemplateRef` spec runs, when it is in the stream."""
    ref = w.spec.get("workflowTemplateRef")
    if not isinstance(ref, dict):
        return None
    return ctx.library.get((bool(ref.get("clusterScope")), str(ref.get("name", ""))))


@rule("argo/unknown-argument", Severity.WARNING, "arguments passed to a template should be declared by it",
      beyond_argo=True)
def unknown_argument(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        ref_lib = _referenced_template(ctx, w)
        if ref_lib is not None:
            extra = sorted(w.params - ref_lib.params)
            if extra:
                yield Hit(w.doc, w.path("arguments", "parameters"),
                          f"passes {', '.join(extra)} to {ref_lib.doc.kind} '{ref_lib.doc.name}', which does not "
                          f"declare them (declared: {', '.join(sorted(ref_lib.params)) or 'none'})")
        for c in w.calls:
            target = ctx.resolve(w, c.node)
            if target is None or c.owner == "onExit":
                continue
            _, t = target
            declared = names((t.get("inputs") or {}).get("parameters"))
            extra = [p for p in _supplied(c.node) if p not in declared]
            if extra:
                yield Hit(w.doc, json_path([*c.path, "arguments", "parameters"]),
                          f"{c.owner} '{c.name}' passes {', '.join(extra)} to template '{t.get('name')}', "
                          f"which does not declare them (ignored by Argo); remove them or declare the inputs")


@rule("argo/dag-dependency", Severity.ERROR, "DAG dependencies must name tasks of the same DAG")
def dag_dependency(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        tasks = dag_tasks(t)
        known = [str(x.get("name")) for x in tasks]
        for i, task in enumerate(tasks):
            for d in task_dependencies(task):
                if d not in known:
                    yield Hit(w.doc, json_path(w.tpath(tn, "dag", "tasks", i)),
                              f"task '{task.get('name')}' depends on '{d}', which is not a task of DAG "
                              f"'{t.get('name')}' (tasks: {', '.join(known)})")
            # Argo reads an argument that starts with '{{tasks.' as a dependency on the text up to the next
            # dot: '{{tasks.name}}' needs a task 'name}}' (references to real tasks: argo/step-order)
            args = task.get("arguments") if isinstance(task.get("arguments"), dict) else {}
            for kind, field in (("parameters", "value"), ("artifacts", "from")):
                for j, a in enumerate(args.get(kind) or []):
                    v = a.get(field) if isinstance(a, dict) else None
                    if isinstance(v, str) and v.startswith("{{tasks.") and v.split(".")[1] not in known:
                        yield Hit(w.doc, json_path(w.tpath(tn, "dag", "tasks", i, "arguments", kind, j, field)),
                                  f"task '{task.get('name')}': argument '{a.get('name')}' = '{v}' starts with "
                                  f"'{{{{tasks.', so Argo reads it as output of a task '{v.split('.')[1]}', which "
                                  f"this task does not depend on, and rejects the workflow. ({{{{tasks.name}}}} "
                                  f"is set inside the called template: use it there)")


@rule("argo/dag-cycle", Severity.ERROR, "DAG dependencies must not form a cycle")
def dag_cycle(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        tasks = dag_tasks(t)
        deps = {str(x.get("name")): [d for d in task_dependencies(x)] for x in tasks}
        state: dict[str, int] = {}
        reported: set[frozenset[str]] = set()

        def visit(n: str, stack: list[str]) -> Iterator[list[str]]:
            state[n] = 1
            for d in deps.get(n, []):
                if d not in deps:
                    continue
                if state.get(d) == 1:
                    yield stack[stack.index(d):] + [d]
                elif d not in state:
                    yield from visit(d, [*stack, d])
            state[n] = 2

        for n in deps:
            if n not in state:
                for cycle in visit(n, [n]):
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        yield Hit(w.doc, json_path(w.tpath(tn, "dag", "tasks")),
                                  f"DAG '{t.get('name')}' has a dependency cycle: {' -> '.join(cycle)}")


@rule("argo/status-outside-exit-handler", Severity.ERROR,
      "{{workflow.status}} / {{workflow.failures}} only in exit handlers (onExit or exit hooks)", beyond_argo=True)
def status_outside_exit_handler(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        exit_templates = w.exit_templates
        for s in w.sites:
            if s.var[:2] not in (("workflow", "status"), ("workflow", "failures")):
                continue
            if s.template in exit_templates:
                continue
            if s.call is not None and s.call.owner == "step" and "hooks" in s.path:
                continue
            yield Hit(w.doc, json_path(s.path),
                      f"{{{{{'.'.join(s.var)}}}}} in template '{s.template}', which is not an exit handler: the "
                      f"workflow is still running there; read it in the onExit template instead")


@rule("argo/duplicate-name", Severity.ERROR, "template names, and step/task names within a template, must be unique")
def duplicate_name(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        seen: set[str] = set()
        for i, t in enumerate(w.spec.get("templates") or []):
            n = str((t or {}).get("name"))
            if n in seen:
                yield Hit(w.doc, json_path([*w.base, "templates", i, "name"]), f"duplicate template name '{n}'")
            seen.add(n)
        for t in w.template_list:
            inner = [s for g in step_groups(t) for s in g] + dag_tasks(t)
            counts: dict[str, int] = {}
            for s in inner:
                counts[str(s.get("name"))] = counts.get(str(s.get("name")), 0) + 1
            for n, k in counts.items():
                if k > 1:
                    yield Hit(w.doc, json_path(w.tpath(str(t.get("name")))),
                              f"template '{t.get('name')}' has {k} steps/tasks named '{n}'; "
                              f"references to it are ambiguous")


@rule("argo/resource-not-idempotent", Severity.WARNING,
      "resource templates should use action apply (create fails when re-run)", beyond_argo=True)
def resource_not_idempotent(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        res = t.get("resource")
        if isinstance(res, dict) and res.get("action") == "create":
            yield Hit(w.doc, json_path(w.tpath(tn, "resource", "action")),
                      f"template '{t.get('name')}' creates a resource with action create, which fails "
                      f"when the object exists (re-runs are not idempotent); use action apply")
