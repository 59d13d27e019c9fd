"""Argo's checks of names and declarations: enum values, the formats and lengths of template, step, task,
parameter and artifact names, and names declared twice."""

from __future__ import annotations

import re
from typing import Any, Iterator

from ...documents import json_path
from ...findings import Severity
from ...argo.model import WorkflowSpec, dag_tasks
from ..registry import Hit, LintContext, rule

#: Names of templates, steps, tasks, containers (Argo's workflowFieldNameFmt, at most 128 characters).
FIELD_NAME_RE = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
#: Names of parameters and artifacts.
PARAM_NAME_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
#: Prometheus metric and label names (no ':' either, as Argo adds).
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
#: A globalName that is itself a parameter ({{...}}) is only resolved at run time.
PARAM_REF_RE = re.compile(r"\{\{[-a-zA-Z0-9]+(\.[-a-zA-Z0-9_]+)*\}\}")

ENUMS = {
    "retryPolicy": ("Always", "OnError", "OnFailure", "OnTransientError"),
    "podGC.strategy": ("OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess"),
    "resource.action": ("get", "create", "apply", "delete", "replace", "patch"),
    "concurrencyPolicy": ("Allow", "Forbid", "Replace"),
}


def _templated(v: Any) -> bool:
    return isinstance(v, str) and "{{" in v


def _enum_hit(w: WorkflowSpec, path: list[Any], key: str, value: Any, where: str) -> Iterator[Hit]:
    allowed = ENUMS[key]
    if value in (None, "") or _templated(value) or value in allowed:
        return
    close = [a for a in allowed if a.lower() == str(value).lower()]
    hint = f"; did you mean '{close[0]}' (values are case-sensitive)?" if close else ""
    yield Hit(w.doc, json_path(path), f"{where}: {key.split('.')[-1]} '{value}' is not one of "
                                      f"{', '.join(allowed)}{hint}")


@rule("argo/enum-value", Severity.ERROR,
      "retryPolicy, podGC.strategy, resource.action and concurrencyPolicy take only Argo's exact values")
def enum_value(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        gc = w.spec.get("podGC")
        if isinstance(gc, dict):
            yield from _enum_hit(w, [*w.base, "podGC", "strategy"], "podGC.strategy", gc.get("strategy"), "podGC")
        for t in w.template_list:
            tn = str(t.get("name"))
            rs = t.get("retryStrategy")
            if isinstance(rs, dict):
                yield from _enum_hit(w, w.tpath(tn, "retryStrategy", "retryPolicy"), "retryPolicy",
                                     rs.get("retryPolicy"), f"template '{tn}'")
            res = t.get("resource")
            if isinstance(res, dict):
                yield from _enum_hit(w, w.tpath(tn, "resource", "action"), "resource.action",
                                     res.get("action"), f"resource template '{tn}'")
    for d in ctx.of_kind("CronWorkflow"):
        spec = d.obj.get("spec") or {}
        val = spec.get("concurrencyPolicy")
        if val not in (None, "") and val not in ENUMS["concurrencyPolicy"]:
            close = [a for a in ENUMS["concurrencyPolicy"] if a.lower() == str(val).lower()]
            hint = f"; did you mean '{close[0]}' (values are case-sensitive)?" if close else ""
            yield Hit(d, "$.spec.concurrencyPolicy",
                      f"concurrencyPolicy '{val}' is not one of Allow, Forbid, Replace{hint}")


def _name_problem(name: Any, regex: re.Pattern[str], kind: str) -> str:
    if not isinstance(name, str) or name == "":
        return f"{kind} has no name"
    if regex is FIELD_NAME_RE and len(name) > 128:
        return f"{kind} name '{name[:40]}...' is longer than 128 characters"
    if not regex.match(name):
        if regex is FIELD_NAME_RE:
            return (f"{kind} name '{name}' is invalid: only letters, digits and '-', starting with a letter or "
                    f"digit (so no '_' or '.')")
        return f"{kind} name '{name}' is invalid: only letters, digits, '-' and '_'"
    return ""


def _named(items: Any, base: list[Any], regex: re.Pattern[str], kind: str) -> Iterator[tuple[list[Any], str]]:
    for i, item in enumerate(items or []):
        if isinstance(item, dict):
            problem = _name_problem(item.get("name"), regex, kind)
            if problem:
                yield [*base, i, "name"], problem


def _argument_lists(w: WorkflowSpec) -> Iterator[tuple[list[Any], dict[str, Any], str]]:
    """(path, arguments, owner) for the workflow's arguments and every step/task's arguments."""
    if isinstance(w.spec.get("arguments"), dict):
        yield [*w.base, "arguments"], w.spec["arguments"], "workflow"
    for c in w.calls:
        if c.owner in ("step", "task") and isinstance(c.node.get("arguments"), dict):
            yield [*c.path, "arguments"], c.node["arguments"], f"{c.owner} '{c.name}'"


@rule("argo/invalid-name", Severity.ERROR,
      "template, step, task and container names: letters, digits, '-' (no '_', no leading '-'); "
      "parameter and artifact names: letters, digits, '-', '_'")
def invalid_name(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        hits: list[tuple[list[Any], str]] = []
        hits += _named(w.spec.get("templates"), [*w.base, "templates"], FIELD_NAME_RE, "template")
        for path, args, owner in _argument_lists(w):
            hits += _named(args.get("parameters"), [*path, "parameters"], PARAM_NAME_RE, f"{owner} argument")
            hits += _named(args.get("artifacts"), [*path, "artifacts"], PARAM_NAME_RE, f"{owner} artifact")
        for t in w.template_list:
            tn = str(t.get("name"))
            for section in ("inputs", "outputs"):
                for what in ("parameters", "artifacts"):
                    declared = (t.get(section) or {}).get(what)
                    if not declared:
                        continue
                    hits += _named(declared, w.tpath(tn, section, what), PARAM_NAME_RE,
                                   f"template '{tn}' {section[:-1]} {what[:-1]}")
                    for i, p in enumerate(declared):
                        g = p.get("globalName") if isinstance(p, dict) else None
                        if isinstance(g, str) and g and not PARAM_REF_RE.search(g) and not PARAM_NAME_RE.match(g):
                            hits.append((w.tpath(tn, section, what, i, "globalName"),
                                         f"template '{tn}' globalName '{g}' is invalid: only letters, digits, "
                                         f"'-' and '_'"))
            for gi, g in enumerate(t.get("steps") or []):
                for si, s in enumerate(g if isinstance(g, list) else []):
                    if isinstance(s, dict):
                        name = s.get("name")
                        problem = _name_problem(name, FIELD_NAME_RE, f"step of template '{tn}'")
                        if problem and not (isinstance(name, str) and "{{" in name and ctx.argo4):
                            hits.append((w.tpath(tn, "steps", gi, si, "name"), problem))
            tasks = dag_tasks(t)
            if tasks:
                hits += _named(tasks, w.tpath(tn, "dag", "tasks"), FIELD_NAME_RE, f"task of DAG '{tn}'")
            cs = t.get("containerSet")
            if isinstance(cs, dict):
                hits += _named(cs.get("containers"), w.tpath(tn, "containerSet", "containers"), FIELD_NAME_RE,
                               f"container of template '{tn}'")
            for i, c in enumerate(t.get("initContainers") or []):
                if isinstance(c, dict) and not c.get("name"):
                    hits.append((w.tpath(tn, "initContainers", i, "name"),
                                 f"init container {i} of template '{tn}' has no name; every initContainer needs one"))
        for path, msg in hits:
            yield Hit(w.doc, json_path(path), msg)


@rule("argo/name-length", Severity.ERROR,
      "metadata.name at most 63 characters (52 for a CronWorkflow, which appends a timestamp)")
def name_length(ctx: LintContext) -> Iterator[Hit]:
    limits = {"Workflow": 63, "WorkflowTemplate": 63, "ClusterWorkflowTemplate": 63, "CronWorkflow": 52}
    for w in ctx.workflows:
        name = str((w.doc.obj.get("metadata") or {}).get("name") or "")
        limit = limits[w.doc.kind]
        if len(name) > limit:
            why = " (its runs append a 10-digit timestamp)" if w.doc.kind == "CronWorkflow" else ""
            yield Hit(w.doc, "$.metadata.name", f"{w.doc.kind} name '{name}' is {len(name)} characters; at most "
                                                f"{limit}{why}")


def _dupes(items: Any) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out = []
    for i, item in enumerate(items or []):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            if item["name"] in seen:
                out.append((i, item["name"]))
            seen.add(item["name"])
    return out


@rule("argo/duplicate-declaration", Severity.ERROR,
      "a parameter or artifact is declared once per list (inputs, outputs, arguments)")
def duplicate_declaration(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        lists: list[tuple[list[Any], Any, str]] = []
        for path, args, owner in _argument_lists(w):
            if owner == "workflow" and "workflowTemplateRef" in w.spec:
                continue  # Argo merges these with the template's arguments, which drops the repeat
            lists += [([*path, k], args.get(k), f"{owner} arguments.{k}") for k in ("parameters", "artifacts")]
        for t in w.template_list:
            tn = str(t.get("name"))
            for section in ("inputs", "outputs"):
                for k in ("parameters", "artifacts"):
                    declared = (t.get(section) or {}).get(k)
                    if declared:  # (an empty or missing list repeats nothing: no path built for it)
                        lists.append((w.tpath(tn, section, k), declared, f"template '{tn}' {section}.{k}"))
            cs = t.get("containerSet")
            if isinstance(cs, dict):
                lists.append((w.tpath(tn, "containerSet", "containers"), cs.get("containers"),
                              f"template '{tn}' containerSet.containers"))
        for path, items, where in lists:
            for i, name in _dupes(items):
                yield Hit(w.doc, json_path([*path, i, "name"]), f"{where} declares '{name}' twice; remove one")
