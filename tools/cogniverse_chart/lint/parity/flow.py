"""Argo's checks of how templates run one another: loops, lifecycle hooks, template references, the
structure of a DAG (dependencies, depends expressions) and Prometheus metrics."""

from __future__ import annotations

import difflib
from typing import Iterator

from ...documents import json_path
from ...findings import Severity
from ...argo.model import dag_tasks
from ..registry import Hit, LintContext, rule
from ..structure import DEPENDS_RESULTS, depends_results
from .names import METRIC_NAME_RE, PARAM_REF_RE

@rule("argo/loop", Severity.ERROR,
      "a step/task loops over one of withItems, withParam, withSequence; withSequence has count or end, not both")
def loop(ctx: LintContext) -> Iterator[Hit]:
    for w, c in ctx.calls():
        if c.owner not in ("step", "task"):
            continue
        kinds = [k for k in ("withItems", "withParam", "withSequence")
                 if c.node.get(k) not in (None, "", [])]
        if len(kinds) > 1:
            yield Hit(w.doc, json_path(c.path), f"{c.owner} '{c.name}' sets {' and '.join(kinds)}; use one")
        seq = c.node.get("withSequence")
        if isinstance(seq, dict) and seq.get("count") is not None and seq.get("end") is not None:
            yield Hit(w.doc, json_path([*c.path, "withSequence"]),
                      f"{c.owner} '{c.name}': withSequence sets both count and end; use one")


@rule("argo/hook", Severity.ERROR, "every lifecycle hook except `exit` needs an expression")
def hook(ctx: LintContext) -> Iterator[Hit]:
    for w, c in ctx.calls():
        if c.owner == "hook" and c.name != "exit" and not c.node.get("expression"):
            yield Hit(w.doc, json_path([*c.path, "expression"]),
                      f"hook '{c.name}' has no expression: only the `exit` hook runs without one")


@rule("argo/template-reference", Severity.ERROR,
      "a call sets template or templateRef (not both); a templateRef names a resource and a template")
def template_reference(ctx: LintContext) -> Iterator[Hit]:
    for w, c in ctx.calls():
        ref = c.node.get("templateRef")
        if not isinstance(ref, dict):
            continue
        if c.node.get("template"):
            yield Hit(w.doc, json_path(c.path), f"{c.owner} '{c.name}' sets both template and templateRef; keep one")
        for key, what in (("name", "the WorkflowTemplate name"), ("template", "the template name")):
            if not ref.get(key):
                yield Hit(w.doc, json_path([*c.path, "templateRef", key]),
                          f"{c.owner} '{c.name}': templateRef.{key} ({what}) is required")


@rule("argo/dag-structure", Severity.ERROR,
      "a DAG has tasks; it uses depends or dependencies (not both), no continueOn with depends, no task "
      "names starting with a digit, valid task results, .AnySucceeded/.AllFailed only on loops, known targets")
def dag_structure(ctx: LintContext) -> Iterator[Hit]:
    for w, _, t in ctx.templates():
        dag = t.get("dag")
        if not isinstance(dag, dict):
            continue
        tn = str(t.get("name"))
        tasks = dag_tasks(t)
        if not tasks:
            yield Hit(w.doc, json_path(w.tpath(tn, "dag", "tasks")), f"DAG '{tn}' has no tasks")
            continue
        by_name = {str(x.get("name")): x for x in tasks}
        depends = [x for x in tasks if x.get("depends")]
        deps = [x for x in tasks if x.get("dependencies")]
        if depends and deps:
            yield Hit(w.doc, json_path(w.tpath(tn, "dag", "tasks")),
                      f"DAG '{tn}' mixes depends (task '{depends[0].get('name')}') and dependencies (task "
                      f"'{deps[0].get('name')}'); use one style in a DAG")
        for i, x in enumerate(tasks):
            name = str(x.get("name"))
            if depends and x.get("continueOn") is not None:
                yield Hit(w.doc, json_path(w.tpath(tn, "dag", "tasks", i, "continueOn")),
                          f"DAG '{tn}' uses depends, so task '{name}' cannot use continueOn; write "
                          f"'{name}.Failed' / '{name}.Errored' in the depends of the tasks after it")
            if (depends or deps) and name[:1].isdigit():
                yield Hit(w.doc, json_path(w.tpath(tn, "dag", "tasks", i, "name")),
                          f"task '{name}' of DAG '{tn}' starts with a digit, which depends/dependencies cannot "
                          f"name")
            if isinstance(x.get("depends"), str):
                for dep, result in depends_results(x["depends"]):
                    if result and result not in DEPENDS_RESULTS:
                        close = [r for r in DEPENDS_RESULTS if r.lower() == result.lower()] or \
                            difflib.get_close_matches(result, sorted(DEPENDS_RESULTS), n=1)
                        hint = f"; did you mean '{dep}.{close[0]}'?" if close else ""
                        yield Hit(w.doc, json_path(w.tpath(tn, "dag", "tasks", i, "depends")),
                                  f"task '{name}' depends on '{dep}.{result}': '{result}' is not a valid task "
                                  f"result (results: {', '.join(sorted(DEPENDS_RESULTS))}){hint}")
                    elif result in ("AnySucceeded", "AllFailed") and dep in by_name and not any(
                            by_name[dep].get(k) not in (None, "", []) for k in ("withItems", "withParam", "withSequence")):
                        yield Hit(w.doc, json_path(w.tpath(tn, "dag", "tasks", i, "depends")),
                                  f"task '{name}' depends on '{dep}.{result}', but task '{dep}' does not loop "
                                  f"(no withItems/withParam/withSequence); use {dep}.Succeeded / {dep}.Failed")
        target = dag.get("target")
        if isinstance(target, str) and target:
            for name in target.split(" "):
                if name and not PARAM_REF_RE.search(name) and name not in by_name:
                    yield Hit(w.doc, json_path(w.tpath(tn, "dag", "target")),
                              f"DAG '{tn}': target '{name}' is not a task (tasks: {', '.join(by_name)})")


@rule("argo/metrics", Severity.ERROR,
      "Prometheus metrics: names and label keys of letters, digits and '_', a help text, a value")
def metrics(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        for i, m in enumerate(((t.get("metrics") or {}).get("prometheus")) or []):
            if not isinstance(m, dict):
                continue
            path = w.tpath(tn, "metrics", "prometheus", i)
            name = str(m.get("name") or "")
            if not METRIC_NAME_RE.match(name):
                yield Hit(w.doc, json_path([*path, "name"]),
                          f"template '{tn}': metric name '{name}' is invalid: only letters, digits and '_'")
            for j, lab in enumerate(m.get("labels") or []):
                key = str((lab or {}).get("key") or "")
                if not METRIC_NAME_RE.match(key):
                    yield Hit(w.doc, json_path([*path, "labels", j, "key"]),
                              f"template '{tn}': metric '{name}' label '{key}' is invalid: only letters, digits "
                              f"and '_'")
            if not m.get("help"):
                yield Hit(w.doc, json_path([*path, "help"]), f"template '{tn}': metric '{name}' needs a help text")
            for kind in ("gauge", "counter"):
                if isinstance(m.get(kind), dict) and not m[kind].get("value"):
                    yield Hit(w.doc, json_path([*path, kind, "value"]),
                              f"template '{tn}': metric '{name}' {kind} needs a value")
            g = m.get("gauge")
            if isinstance(g, dict) and g.get("realtime") and "resourcesDuration." in str(g.get("value")):
                yield Hit(w.doc, json_path([*path, "gauge", "value"]),
                          f"template '{tn}': metric '{name}': resourcesDuration.* cannot be used in a realtime "
                          f"gauge")
            h = m.get("histogram")
            if isinstance(h, dict) and (not h.get("value") or not h.get("buckets")):
                yield Hit(w.doc, json_path([*path, "histogram"]),
                          f"template '{tn}': metric '{name}' histogram needs a value and buckets")
