"""`{{...}}` references: inputs, workflow parameters, step/task outputs, where each is valid."""

from __future__ import annotations

import difflib
import re
from typing import Any, Iterator

from ..findings import Severity
from ..documents import json_path
from ..argo.model import _TAG_RE, Site, WorkflowSpec, dag_tasks, names, step_groups, template_type
from .registry import Hit, LintContext, rule
from .structure import dag_ancestors

_STEP_FIELDS = {"outputs", "status", "exitCode", "startedAt", "finishedAt", "id", "ip", "hostNodeName"}
_OUTPUT_FIELDS = {"parameters", "artifacts", "result", "exitCode"}


def _where(w: WorkflowSpec, s: Site) -> str:
    owner = f", {s.call.owner} '{s.call.name}'" if s.call else ""
    return f"template '{s.template}'{owner}"


def _ref(s: Site) -> str:
    return "{{" + ".".join(s.var) + "}}"


@rule("argo/unknown-input", Severity.ERROR,
      "{{inputs.parameters.X}} / {{inputs.artifacts.X}} must name an input the template declares")
def unknown_input(ctx: LintContext, expr: bool = False) -> Iterator[Hit]:
    declared_in: dict[tuple[int, str, str], list[str]] = {}
    for w, s in ctx.sites(expr):
        if s.var[:1] != ("inputs",) or len(s.var) < 3 or s.var[1] not in ("parameters", "artifacts"):
            continue
        key = (id(w), s.template, s.var[1])
        if key not in declared_in:
            declared_in[key] = names((w.templates[s.template].get("inputs") or {}).get(s.var[1]))
        declared = declared_in[key]
        if s.var[2] not in declared:
            have = ", ".join(declared) or "none"
            yield Hit(w.doc, json_path(s.path),
                      f"{_ref(s)} in {_where(w, s)}: the template declares no input {s.var[1][:-1]} "
                      f"'{s.var[2]}' (declared: {have}); add it to inputs.{s.var[1]} or fix the name")


@rule("argo/unknown-workflow-parameter", Severity.ERROR,
      "{{workflow.parameters.X}} must name a parameter in spec.arguments.parameters (of the calling "
      "workflow, for templates reached through templateRef)")
def unknown_workflow_parameter(ctx: LintContext, expr: bool = False, templates: bool = False) -> Iterator[Hit]:
    for w in ctx.workflows:
        if (w.doc.kind in ("WorkflowTemplate", "ClusterWorkflowTemplate")) != templates:
            continue  # Argo validates a WorkflowTemplate alone without checking these: a separate rule
        if "workflowTemplateRef" in w.spec:
            # A run of a WorkflowTemplate (e.g. each chart CronWorkflow): check what it executes, the
            # template's spec with the run's arguments merged in; findings point into the template.
            if ctx.referenced(w) is None:
                continue
            w = ctx.run_spec(w)
        # {{workflow.parameters.json}}: every workflow parameter as one JSON object (Argo sets it)
        declared = w.params | {"json"} | (ctx.event_parameters(w.doc.name) if templates else set())
        for s in w.sites_by_scope[expr]:
            if templates and s.var[0] == "workflow" and len(s.var) >= 2 and s.var[1].startswith("parameters") \
                    and s.var[1] != "parameters":
                yield Hit(w.doc, json_path(s.path), f"{_ref(s)} in {_where(w, s)}: there is no workflow.{s.var[1]}; "
                                                    f"did you mean 'workflow.parameters'?")
            elif s.var[:2] == ("workflow", "parameters") and len(s.var) >= 3 and s.var[2] not in declared:
                have = ", ".join(sorted(w.params)) or "none"
                yield Hit(w.doc, json_path(s.path),
                          f"{_ref(s)} in {_where(w, s)}: no workflow parameter '{s.var[2]}' in "
                          f"{w.path('arguments', 'parameters')} (declared: {have})")
        if expr or templates:
            continue
        # A template called through templateRef runs inside *this* workflow: its workflow.parameters
        # resolve against this workflow's arguments, not those of the WorkflowTemplate it lives in.
        for c in w.calls:
            if not isinstance(c.node.get("templateRef"), dict):
                continue
            target = ctx.resolve(w, c.node)
            if target is None or target[0] is w:
                continue
            lib, t = target
            reach = lib.reachable(str(t.get("name")))
            used = sorted({s.var[2] for s in lib.sites if s.template in reach
                           and s.var[:2] == ("workflow", "parameters") and len(s.var) >= 3} - w.params - {"json"})
            if used:
                yield Hit(w.doc, json_path([*c.path, "templateRef"]),
                          f"{c.owner} '{c.name}' calls template '{t.get('name')}' of {lib.doc.kind} "
                          f"'{lib.doc.name}', which reads workflow parameter(s) {', '.join(used)}; through "
                          f"templateRef they resolve against this workflow, which does not declare them. "
                          f"Pass the values as inputs instead")


@rule("argo/template-workflow-parameter", Severity.ERROR,
      "{{workflow.parameters.X}} in a WorkflowTemplate names one of its spec.arguments.parameters (Argo "
      "accepts the template; every run fails unless the submitter happens to pass X)", beyond_argo=True)
def template_workflow_parameter(ctx: LintContext, expr: bool = False) -> Iterator[Hit]:
    yield from unknown_workflow_parameter(ctx, expr, templates=True)


@rule("argo/ref-scope", Severity.ERROR,
      "steps.X references only inside a steps template, tasks.X only inside a DAG template")
def ref_scope(ctx: LintContext, expr: bool = False) -> Iterator[Hit]:
    for w, s in ctx.sites(expr):
        root = s.var[0]
        if root not in ("steps", "tasks") or len(s.var) < 2 or s.var == (root, "name"):
            continue  # {{steps.name}} / {{tasks.name}}: the calling step's/task's name, in the template it calls
        ttype = template_type(w.templates[s.template])
        want = "steps" if root == "steps" else "dag"
        if ttype != want:
            kind = f"a {ttype} template" if ttype else "a template"
            yield Hit(w.doc, json_path(s.path),
                      f"{_ref(s)} used in {kind} ('{s.template}'): {root}.* only resolves inside a "
                      f"{want} template; pass the value in as an input parameter instead")


def _siblings(w: WorkflowSpec, s: Site, root: str) -> tuple[dict[str, Any], dict[str, int]]:
    """(name -> step/task node, name -> group index) of the template the site is in (once per template)."""
    memo = w.__dict__.setdefault("_siblings", {})
    if (s.template, root) not in memo:
        t = w.templates[s.template]
        if root == "steps":
            nodes, groups = {}, {}
            for gi, g in enumerate(step_groups(t)):
                for st in g:
                    nodes[str(st.get("name"))] = st
                    groups[str(st.get("name"))] = gi
            memo[(s.template, root)] = nodes, groups
        else:
            memo[(s.template, root)] = {str(x.get("name")): x for x in dag_tasks(t)}, {}
    return memo[(s.template, root)]


@rule("argo/unknown-step", Severity.ERROR,
      "{{steps.X...}} / {{tasks.X...}} must name a step or task of the same template")
def unknown_step(ctx: LintContext, expr: bool = False) -> Iterator[Hit]:
    for w, s in ctx.sites(expr):
        root = s.var[0]
        if root not in ("steps", "tasks") or len(s.var) < 2 or s.key == "when" or s.var == (root, "name"):
            continue  # {{steps.name}} / {{tasks.name}}: Argo's name of the current step/task
        ttype = template_type(w.templates[s.template])
        if ttype != ("steps" if root == "steps" else "dag"):
            continue  # argo/ref-scope reports it
        nodes, _ = _siblings(w, s, root)
        if s.var[1] not in nodes:
            what = "step" if root == "steps" else "task"
            yield Hit(w.doc, json_path(s.path),
                      f"{_ref(s)} in {_where(w, s)}: there is no {what} '{s.var[1]}' in template "
                      f"'{s.template}' ({what}s: {', '.join(nodes) or 'none'})")


@rule("argo/when-unknown-step", Severity.ERROR, "a `when` expression must only name existing steps/tasks")
def when_unknown_step(ctx: LintContext, expr: bool = False) -> Iterator[Hit]:
    for w, s in ctx.sites(expr):
        root = s.var[0]
        if s.key != "when" or root not in ("steps", "tasks") or len(s.var) < 2 or s.var == (root, "name"):
            continue
        nodes, _ = _siblings(w, s, root)
        if s.var[1] not in nodes:
            what = "step" if root == "steps" else "task"
            yield Hit(w.doc, json_path(s.path),
                      f"when of {_where(w, s)} refers to {what} '{s.var[1]}', which does not exist in "
                      f"template '{s.template}' ({what}s: {', '.join(nodes) or 'none'}); the condition "
                      f"can never be evaluated")


@rule("argo/unknown-output", Severity.ERROR,
      "{{steps.X.outputs.parameters.P}} / tasks...: P must be an output the called template declares")
def unknown_output(ctx: LintContext, expr: bool = False) -> Iterator[Hit]:
    for w, s in ctx.sites(expr):
        root = s.var[0]
        if root not in ("steps", "tasks") or len(s.var) < 3:
            continue
        nodes, _ = _siblings(w, s, root)
        node = nodes.get(s.var[1])
        if node is None:
            continue
        if s.var[2] not in _STEP_FIELDS:
            yield Hit(w.doc, json_path(s.path),
                      f"{_ref(s)}: '{s.var[2]}' is not a {root[:-1]} field "
                      f"(use one of: {', '.join(sorted(_STEP_FIELDS))})")
            continue
        if s.var[2] != "outputs" or len(s.var) < 4:
            continue
        if s.var[3] not in _OUTPUT_FIELDS:
            yield Hit(w.doc, json_path(s.path),
                      f"{_ref(s)}: outputs.{s.var[3]} does not exist (use parameters, artifacts or result)")
            continue
        if s.var[3] not in ("parameters", "artifacts") or len(s.var) < 5:
            continue
        target = ctx.resolve(w, node)
        if target is None:
            continue  # missing or external template: argo/missing-template says so
        tw, t = target
        declared = names((t.get("outputs") or {}).get(s.var[3]))
        if s.var[4] not in declared:
            yield Hit(w.doc, json_path(s.path),
                      f"{_ref(s)} in {_where(w, s)}: template '{t.get('name')}' (called by "
                      f"{root[:-1]} '{s.var[1]}') declares no output {s.var[3][:-1]} '{s.var[4]}' "
                      f"(declared: {', '.join(declared) or 'none'})")


@rule("argo/step-order", Severity.ERROR,
      "a step may only read outputs of earlier step groups; a task only of tasks it depends on", beyond_argo=True)
def step_order(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        for s in w.sites:
            root = s.var[0]
            if root not in ("steps", "tasks") or len(s.var) < 2 or s.call is None:
                continue
            if s.call.owner not in ("step", "task"):
                continue
            nodes, groups = _siblings(w, s, root)
            if s.var[1] not in nodes:
                continue
            if s.key == "hooks" and s.var[1] == s.call.name:
                continue  # a step's/task's own hooks run after it and read its outputs (Argo >= 3.1)
            if root == "steps" and s.call.owner == "step":
                if groups[s.var[1]] >= s.call.group:
                    yield Hit(w.doc, json_path(s.path),
                              f"{_ref(s)} in step '{s.call.name}': step '{s.var[1]}' runs in the same or a "
                              f"later group, so its result is not available yet; move it to an earlier group")
            elif root == "tasks" and s.call.owner == "task":
                t = w.templates[s.template]
                ancestors = dag_ancestors(dag_tasks(t)).get(s.call.name, set())
                if s.var[1] not in ancestors:
                    yield Hit(w.doc, json_path(s.path),
                              f"{_ref(s)} in task '{s.call.name}': the task does not depend on "
                              f"'{s.var[1]}'; add it to dependencies/depends")


@rule("argo/item-without-loop", Severity.ERROR, "{{item}} only inside a step/task with withItems/withParam/withSequence",
      beyond_argo=True)
def item_without_loop(ctx: LintContext) -> Iterator[Hit]:
    loops = ("withItems", "withParam", "withSequence")
    for w in ctx.workflows:
        for s in w.sites:
            if s.var[0] != "item":
                continue
            if s.call is not None and any(k in s.call.node for k in loops):
                continue
            yield Hit(w.doc, json_path(s.path),
                      f"{_ref(s)} in {_where(w, s)}: no withItems, withParam or withSequence here, so "
                      f"there is no item; pass the value as an argument")


#: Variable roots Argo substitutes in templates, and the fields of `workflow.`.
KNOWN_ROOTS = {"inputs", "outputs", "workflow", "steps", "tasks", "item", "pod", "node", "retries", "lastRetry"}
#: Variables Argo substitutes only in a template's metrics (emitted after the node ran).
METRIC_ROOTS = {"duration", "status", "exitCode", "resourcesDuration"}
WORKFLOW_FIELDS = {"name", "namespace", "uid", "serviceAccountName", "mainEntrypoint", "parameters", "annotations",
                   "labels", "creationTimestamp", "priority", "duration", "scheduledTime", "status", "failures",
                   "outputs"}


@rule("argo/unknown-variable", Severity.ERROR,
      "{{inputs.X}} and {{workflow.X}} name fields Argo has (inputs.parameters/artifacts; workflow.name, ...)")
def unknown_variable(ctx: LintContext, expr: bool = False) -> Iterator[Hit]:
    for w, s in ctx.sites(expr):
        root = s.var[0]
        if (root == "workflow" and len(s.var) >= 2 and s.var[1].startswith("parameters")
                and w.doc.kind in ("WorkflowTemplate", "ClusterWorkflowTemplate")):
            continue  # Argo lets workflow.parameters* through in templates: argo/template-workflow-parameter
        if root == "workflow" and len(s.var) >= 2 and s.var[1] not in WORKFLOW_FIELDS:
            close = difflib.get_close_matches(s.var[1], sorted(WORKFLOW_FIELDS), n=1)
            hint = f"; did you mean 'workflow.{close[0]}'?" if close else ""
            yield Hit(w.doc, json_path(s.path),
                      f"{_ref(s)} in {_where(w, s)}: there is no workflow.{s.var[1]}{hint}")
        elif root == "inputs" and len(s.var) >= 2 and s.var[1] not in ("parameters", "artifacts"):
            close = difflib.get_close_matches(s.var[1], ["parameters", "artifacts"], n=1)
            hint = f"; did you mean 'inputs.{close[0]}'?" if close else ""
            yield Hit(w.doc, json_path(s.path),
                      f"{_ref(s)} in {_where(w, s)}: there is no inputs.{s.var[1]}{hint}")


@rule("argo/unknown-variable-root", Severity.ERROR,
      "{{X...}} starts with a variable Argo knows (inputs, outputs, workflow, steps, tasks, item, pod, node, "
      "retries, lastRetry); Argo's validator passes unknown roots and the run fails", beyond_argo=True)
def unknown_variable_root(ctx: LintContext, expr: bool = False) -> Iterator[Hit]:
    for w, s in ctx.sites(expr):
        root = s.var[0]
        if s.key == "metrics" and root in METRIC_ROOTS:
            continue
        if root not in KNOWN_ROOTS:
            close = difflib.get_close_matches(root, sorted(KNOWN_ROOTS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            yield Hit(w.doc, json_path(s.path),
                      f"{_ref(s)} in {_where(w, s)}: Argo has no variable '{root}'{hint} The workflow "
                      f"fails when it reaches this template")


@rule("argo/retries-without-retry-strategy", Severity.ERROR,
      "{{retries}} / {{lastRetry.*}} only in templates with a retryStrategy (elsewhere they never resolve)",
      beyond_argo=True)
def retries_without_retry_strategy(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        for s in w.sites:
            if s.var[0] in ("retries", "lastRetry") and w.templates[s.template].get("retryStrategy") is None:
                if s.key == "retryStrategy":
                    continue
                yield Hit(w.doc, json_path(s.path),
                          f"{_ref(s)} in {_where(w, s)}: the template has no retryStrategy, so Argo never sets "
                          f"{s.var[0]} and the pod gets the text unresolved; add a retryStrategy or drop it")


_HYPHEN_IN_EXPR = re.compile(r"(?<![\w.'\"])((?:inputs|outputs|workflow|steps|tasks)(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
                             r"\.[A-Za-z_][A-Za-z0-9_]*-[A-Za-z][\w-]*)")


@rule("argo/expression-reference", Severity.ERROR,
      "names inside {{= expressions}}, and references in the fields of steps/DAG templates Argo's validator "
      "skips (synchronization, metadata, inputs), resolve; a hyphenated name after a dot in an expression is "
      "read as a subtraction", beyond_argo=True)
def expression_reference(ctx: LintContext) -> Iterator[Hit]:
    hyphen_paths: set[str] = set()
    expr_paths: set[str] = set()
    for w in ctx.workflows:
        expr_paths |= {json_path(s.path) for s in w.sites if s.expr}
        seen: set[tuple[str, str]] = set()
        for s in w.sites:
            if not s.expr:
                continue
            bodies = [m.group(1).lstrip()[1:] for m in _TAG_RE.finditer(s.text) if m.group(1).lstrip().startswith("=")]
            for m in (m for body in bodies for m in _HYPHEN_IN_EXPR.finditer(body)):
                key = (json_path(s.path), m.group(1))
                if key in seen:
                    continue
                seen.add(key)
                hyphen_paths.add(key[0])
                head, _, last = m.group(1).rpartition(".")
                first, _, rest = last.partition("-")
                yield Hit(w.doc, json_path(s.path),
                          f"expression in {_where(w, s)} reads '{m.group(1)}' as '{head}.{first}' minus '{rest}': "
                          f"write {head}['{last}'] for a hyphenated name")
    for check in (unknown_input, unknown_workflow_parameter, template_workflow_parameter, ref_scope, unknown_step,
                  when_unknown_step, unknown_output, unknown_variable, unknown_variable_root):
        for hit in check(ctx, True):
            if hit.path not in hyphen_paths:
                where = "in an {{= expression}}" if hit.path in expr_paths else \
                    "in a field Argo's validator does not check (it fails at run time)"
                yield hit._replace(message=f"{where}: {hit.message}")
