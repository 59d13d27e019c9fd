"""Rules that mirror the checks of Argo's own `workflow/validate` package (3.7 and 4.0), so nothing that
Argo rejects at submit passes lint. Each message names the object, the JSON path and the fix; where
Argo 3.x and 4.0 differ the message says which version the finding is about.

tests/test_lint_differential.py proves the parity: mutants of valid workflows go through Argo's
validator and through lint, and every mutant Argo rejects must be rejected by lint.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Iterator

import yaml

from ..findings import Severity
from ..documents import json_path
from ..argo.model import POD_TYPES, TEMPLATE_TYPES, WorkflowSpec, dag_tasks, template_type
from .registry import Hit, LintContext, rule
from .structure import DEPENDS_RESULTS, depends_results

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
LEAF_TYPES = ("container", "script", "resource", "containerSet", "suspend", "data", "http", "plugin")
#: Template.IsLeaf() in Argo: input artifacts of these need a path.
ARGO_LEAF_TYPES = ("container", "script", "resource", "containerSet", "data", "http", "plugin")


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


@rule("argo/template-type", Severity.ERROR,
      "a template has exactly one type (container, script, resource, steps, dag, suspend, containerSet, ...)")
def template_type_rule(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        if "workflowTemplateRef" in w.spec and w.spec.get("templates"):
            yield Hit(w.doc, w.path("templates"), "a workflow that runs a workflowTemplateRef cannot define its "
                                                  "own templates; remove spec.templates or the workflowTemplateRef")
        for t in w.template_list:
            tn = str(t.get("name"))
            types = [k for k in TEMPLATE_TYPES if t.get(k) is not None]
            if not types:
                yield Hit(w.doc, json_path(w.tpath(tn)), f"template '{tn}' has no type: give it one of container, "
                                                         f"script, resource, steps, dag, suspend, containerSet")
            elif len(types) > 1:
                yield Hit(w.doc, json_path(w.tpath(tn)), f"template '{tn}' has several types "
                                                         f"({', '.join(types)}); keep one")


def _is_leaf(t: dict[str, Any]) -> bool:
    return template_type(t) in LEAF_TYPES


@rule("argo/template-field", Severity.ERROR,
      "fields valid only for some template types: timeout and activeDeadlineSeconds on leaf templates, "
      "parallelism on steps/dag, artifact paths on container/script templates")
def template_field(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        ttype = template_type(t)
        if not ttype:
            continue
        leaf = _is_leaf(t)
        timeout = t.get("timeout")
        if timeout not in (None, ""):
            if not leaf:
                yield Hit(w.doc, json_path(w.tpath(tn, "timeout")),
                          f"{ttype} template '{tn}' cannot have a timeout; set it on the leaf templates it "
                          f"calls, or use activeDeadlineSeconds on the workflow")
            elif isinstance(timeout, str) and re.fullmatch(r"[+-]?\d+", timeout.strip()):
                yield Hit(w.doc, json_path(w.tpath(tn, "timeout")),
                          f"template '{tn}': timeout '{timeout}' has no unit; write e.g. '{timeout}s'")
        ads = t.get("activeDeadlineSeconds")
        if ads is not None:
            if not leaf:
                yield Hit(w.doc, json_path(w.tpath(tn, "activeDeadlineSeconds")),
                          f"{ttype} template '{tn}': activeDeadlineSeconds is only valid on leaf templates")
            elif not _templated(ads):
                try:
                    bad = int(str(ads)) < 0
                except ValueError:
                    bad = True
                if bad:
                    yield Hit(w.doc, json_path(w.tpath(tn, "activeDeadlineSeconds")),
                              f"template '{tn}': activeDeadlineSeconds '{ads}' must be a whole number of "
                              f"seconds >= 0 (or a {{{{variable}}}})")
        if t.get("parallelism") is not None and leaf:
            yield Hit(w.doc, json_path(w.tpath(tn, "parallelism")),
                      f"{ttype} template '{tn}': parallelism is only valid on steps and dag templates")
        for section in ("inputs", "outputs"):
            for i, a in enumerate((t.get(section) or {}).get("artifacts") or []):
                if not isinstance(a, dict):
                    continue
                if a.get("path") and not leaf:
                    yield Hit(w.doc, json_path(w.tpath(tn, section, "artifacts", i, "path")),
                              f"{ttype} template '{tn}': {section} artifact '{a.get('name')}' has a path, which "
                              f"only container/script templates can have")
                if section == "inputs" and ttype in ARGO_LEAF_TYPES and not a.get("path"):
                    yield Hit(w.doc, json_path(w.tpath(tn, section, "artifacts", i)),
                              f"{ttype} template '{tn}': input artifact '{a.get('name')}' has no path; say where "
                              f"in the container it goes (path: /tmp/{a.get('name')})")
                if section == "inputs" and a.get("from"):
                    yield Hit(w.doc, json_path(w.tpath(tn, section, "artifacts", i, "from")),
                              f"template '{tn}': input artifact '{a.get('name')}' cannot use from; pass it as "
                              f"an argument of the step/task that calls the template")
                if isinstance(a.get("git"), dict) and not a["git"].get("repo"):
                    yield Hit(w.doc, json_path(w.tpath(tn, section, "artifacts", i, "git", "repo")),
                              f"template '{tn}': git artifact '{a.get('name')}' needs repo")


#: libyaml's safe loader when PyYAML has it (the pure-Python one took a tenth of lint's time on large streams)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _main_image_default(w: WorkflowSpec, key: str) -> bool:
    return bool(((w.spec.get("templateDefaults") or {}).get(key) or {}).get("image"))


@rule("argo/leaf-template", Severity.ERROR,
      "container/script images, distinct mount paths, a valid resource manifest, a 'main' container "
      "for containerSet inputs/outputs")
def leaf_template(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        for key in ("container", "script"):
            c = t.get(key)
            if isinstance(c, dict) and not c.get("image") and not _main_image_default(w, key):
                yield Hit(w.doc, json_path(w.tpath(tn, key, "image")),
                          f"{key} template '{tn}' has no image (and templateDefaults.{key}.image is not set)")
        c = t.get("container")
        if isinstance(c, dict):
            seen: dict[str, str] = {}
            for i, m in enumerate(c.get("volumeMounts") or []):
                mp = (m or {}).get("mountPath")
                if mp in seen:
                    yield Hit(w.doc, json_path(w.tpath(tn, "container", "volumeMounts", i, "mountPath")),
                              f"template '{tn}': mountPath '{mp}' is already used by {seen[mp]}")
                seen[str(mp)] = f"volume mount '{(m or {}).get('name')}'"
            for i, a in enumerate((t.get("inputs") or {}).get("artifacts") or []):
                p = (a or {}).get("path")
                if p and p in seen:
                    yield Hit(w.doc, json_path(w.tpath(tn, "inputs", "artifacts", i, "path")),
                              f"template '{tn}': input artifact path '{p}' is already used by {seen[p]}")
                if p:
                    seen[str(p)] = f"input artifact '{(a or {}).get('name')}'"
        cs = t.get("containerSet")
        if isinstance(cs, dict):
            ctrs = [x for x in cs.get("containers") or [] if isinstance(x, dict)]
            names = [x.get("name") for x in ctrs]
            if not ctrs:
                yield Hit(w.doc, json_path(w.tpath(tn, "containerSet", "containers")),
                          f"containerSet template '{tn}' has no containers")
            for i, x in enumerate(ctrs):
                for dep in x.get("dependencies") or []:
                    if dep not in names:
                        yield Hit(w.doc, json_path(w.tpath(tn, "containerSet", "containers", i, "dependencies")),
                                  f"containerSet template '{tn}': container '{x.get('name')}' depends on "
                                  f"'{dep}', which is not a container of the set")
            io = (t.get("inputs") or {}).get("artifacts") or (t.get("outputs") or {}).get("parameters") or \
                (t.get("outputs") or {}).get("artifacts")
            if io and "main" not in names:
                yield Hit(w.doc, json_path(w.tpath(tn, "containerSet", "containers")),
                          f"containerSet template '{tn}' has inputs/outputs, so one container must be named "
                          f"'main' (containers: {', '.join(map(str, names))})")
        res = t.get("resource")
        if isinstance(res, dict):
            action = res.get("action")
            if action not in ("delete", "get"):
                manifest, mfrom = res.get("manifest"), res.get("manifestFrom")
                if not manifest and not mfrom:
                    yield Hit(w.doc, json_path(w.tpath(tn, "resource")),
                              f"resource template '{tn}' ({action}) needs manifest or manifestFrom")
                elif manifest and mfrom:
                    yield Hit(w.doc, json_path(w.tpath(tn, "resource")),
                              f"resource template '{tn}' sets both manifest and manifestFrom; keep one")
                if isinstance(mfrom, dict) and isinstance(mfrom.get("artifact"), dict):
                    art = mfrom["artifact"].get("name")
                    if art not in [a.get("name") for a in (t.get("inputs") or {}).get("artifacts") or []
                                   if isinstance(a, dict)]:
                        yield Hit(w.doc, json_path(w.tpath(tn, "resource", "manifestFrom", "artifact", "name")),
                                  f"resource template '{tn}': manifestFrom artifact '{art}' is not an input "
                                  f"artifact of the template")
                if isinstance(manifest, str) and manifest:
                    text = re.sub(r"\{\{.*?\}\}", "x", manifest, flags=re.S)
                    try:
                        list(yaml.load_all(text, Loader=_SAFE_LOADER))
                    except yaml.YAMLError as e:
                        mark = getattr(e, "problem_mark", None)
                        where = f" (line {mark.line + 1})" if mark else ""
                        yield Hit(w.doc, json_path(w.tpath(tn, "resource", "manifest")),
                                  f"resource template '{tn}': manifest is not valid YAML{where}")


@rule("argo/output-source", Severity.ERROR,
      "each output parameter has exactly one source, of a kind its template type can produce")
def output_source(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        ttype = template_type(t)
        for i, p in enumerate((t.get("outputs") or {}).get("parameters") or []):
            if not isinstance(p, dict):
                continue
            path = json_path(w.tpath(tn, "outputs", "parameters", i))
            where = f"output parameter '{p.get('name')}' of {ttype or ''} template '{tn}'".replace("  ", " ")
            vf = p.get("valueFrom")
            if "value" in p and p.get("value") is not None and vf is not None:
                yield Hit(w.doc, path, f"{where} has both value and valueFrom; choose one")
                continue
            if p.get("value") is not None:
                continue
            if not isinstance(vf, dict):
                yield Hit(w.doc, path, f"{where} has neither value nor valueFrom")
                continue
            kinds = [k for k in ("path", "jqFilter", "jsonPath", "parameter", "expression") if vf.get(k)]
            kinds += ["supplied"] if vf.get("supplied") is not None else []
            if not kinds:
                yield Hit(w.doc, path, f"{where}: valueFrom names no source (path, jqFilter, jsonPath, "
                                       f"parameter, expression or supplied)")
                continue
            if len(kinds) > 1:
                yield Hit(w.doc, path, f"{where}: valueFrom has several sources ({', '.join(kinds)}); keep one")
                continue
            if ttype in POD_TYPES and not vf.get("path"):
                yield Hit(w.doc, path, f"{where}: a {ttype} template's outputs come from a file: use "
                                       f"valueFrom.path (not {kinds[0]})")
            elif ttype == "resource" and not (vf.get("jqFilter") or vf.get("jsonPath")):
                yield Hit(w.doc, path, f"{where}: a resource template's outputs come from the object: use "
                                       f"valueFrom.jsonPath or jqFilter (not {kinds[0]})")
            elif ttype in ("steps", "dag") and not (vf.get("parameter") or vf.get("expression")):
                yield Hit(w.doc, path, f"{where}: a {ttype} template's outputs come from its steps/tasks: use "
                                       f"valueFrom.parameter or expression (not {kinds[0]})")


@rule("argo/argument-value", Severity.ERROR,
      "arguments have a value (or valueFrom configMapKeyRef/supplied/event), a value in their enum; "
      "artifact arguments name a source")
def argument_value(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        workflow_level_empty_ok = w.doc.kind != "CronWorkflow"  # Argo validates a CronWorkflow's run as a submit
        for path, args, owner in _argument_lists(w):
            at_workflow = owner == "workflow"
            for i, p in enumerate(args.get("parameters") or []):
                if not isinstance(p, dict):
                    continue
                ppath = [*path, "parameters", i]
                name = p.get("name")
                vf = p.get("valueFrom")
                if p.get("value") is None and vf is None and not (at_workflow and workflow_level_empty_ok):
                    if not at_workflow:
                        yield Hit(w.doc, json_path(ppath), f"{owner} passes argument '{name}' without a value; "
                                                           f"set value (or valueFrom)")
                    # CronWorkflow parameters without a value: argo/missing-argument reports them
                if isinstance(vf, dict):
                    allowed = vf.get("configMapKeyRef") is not None or vf.get("event") or vf.get("supplied") is not None
                    wrong = [k for k in ("path", "jsonPath", "parameter", "expression") if vf.get(k)]
                    if not allowed or wrong:
                        yield Hit(w.doc, json_path([*ppath, "valueFrom"]),
                                  f"{owner} argument '{name}': valueFrom here only takes configMapKeyRef, supplied "
                                  f"or event (and default){' (not ' + ', '.join(wrong) + ')' if wrong else ''}")
                enum = p.get("enum")
                if enum is not None:
                    if not enum:
                        yield Hit(w.doc, json_path([*ppath, "enum"]), f"{owner} argument '{name}': enum is empty")
                    elif p.get("value") is None:
                        if not (at_workflow and workflow_level_empty_ok):
                            yield Hit(w.doc, json_path(ppath), f"{owner} argument '{name}' has an enum but no value")
                    elif str(p["value"]) not in [str(e) for e in enum]:
                        yield Hit(w.doc, json_path([*ppath, "value"]),
                                  f"{owner} argument '{name}': value '{p['value']}' is not in its enum "
                                  f"({', '.join(map(str, enum))})")
            for i, a in enumerate(args.get("artifacts") or []):
                if not isinstance(a, dict):
                    continue
                located = any(a.get(k) for k in ("s3", "git", "http", "artifactory", "hdfs", "raw", "oss", "gcs",
                                                 "azure", "plugin", "key"))
                if not a.get("from") and not located and not a.get("fromExpression"):
                    yield Hit(w.doc, json_path([*path, "artifacts", i]),
                              f"{owner} artifact argument '{a.get('name')}' needs from, a location or a key")
                if a.get("from") and a.get("fromExpression"):
                    yield Hit(w.doc, json_path([*path, "artifacts", i]),
                              f"{owner} artifact argument '{a.get('name')}' sets both from and fromExpression")


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


@rule("argo/cron-spec", Severity.ERROR,
      "CronWorkflow: one of schedule/schedules (Argo 4.0: schedules only), startingDeadlineSeconds >= 0")
def cron_spec(ctx: LintContext) -> Iterator[Hit]:
    for d in ctx.of_kind("CronWorkflow"):
        spec = d.obj.get("spec") or {}
        if not isinstance(spec, dict):
            continue
        has_one = bool(spec.get("schedule"))
        has_list = bool(spec.get("schedules"))
        if ctx.argo4 and "schedule" in spec:
            yield Hit(d, "$.spec.schedule", "Argo 4.0 removed spec.schedule (singular) and rejects it: write "
                                            "spec.schedules: [\"...\"]")
        elif has_one and has_list:
            yield Hit(d, "$.spec.schedule", f"sets both spec.schedule and spec.schedules, which Argo "
                                            f"{ctx.argo_version} rejects; keep spec.schedules")
        if ctx.argo4 and not has_list:
            yield Hit(d, "$.spec.schedules", "Argo 4.0 requires at least one entry in spec.schedules")
        sds = spec.get("startingDeadlineSeconds")
        if isinstance(sds, int) and sds < 0:
            yield Hit(d, "$.spec.startingDeadlineSeconds", f"startingDeadlineSeconds {sds} must be >= 0")


#: Integer fields of a workflow spec (a string there fails Argo's strict decoding).
INT_FIELDS = ("activeDeadlineSeconds", "parallelism", "priority")
CRON_INT_FIELDS = ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit")


@rule("argo/field-type", Severity.ERROR, "integer fields (activeDeadlineSeconds, parallelism, history limits, ...) "
                                         "hold integers")
def field_type(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        for key in INT_FIELDS:
            v = w.spec.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                yield Hit(w.doc, w.path(key), f"spec {key} '{v}' must be an integer (seconds for a deadline: "
                                              f"write 300, not '5m')")
        for t in w.template_list:
            v = t.get("parallelism")
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                yield Hit(w.doc, json_path(w.tpath(str(t.get("name")), "parallelism")),
                          f"template '{t.get('name')}': parallelism '{v}' must be an integer")
    for d in ctx.of_kind("CronWorkflow"):
        spec = d.obj.get("spec") or {}
        for key in CRON_INT_FIELDS:
            v = spec.get(key)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                yield Hit(d, f"$.spec.{key}", f"{key} '{v}' must be an integer")


_GO_DURATION = re.compile(r"[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+")


def go_duration(v: str) -> bool:
    """Go's time.ParseDuration accepts it ('30s', '1h30m', '0'; no spaces, no days)."""
    return v == "0" or bool(_GO_DURATION.fullmatch(v))


def argo_duration(v: str) -> bool:
    """Argo's ParseStringToDuration accepts it: whole seconds or a Go duration."""
    return bool(re.fullmatch(r"[-+]?\d+", v)) or go_duration(v)


@rule("argo/suspend-duration", Severity.ERROR,
      "suspend.duration is seconds or a Go duration ('30s', '1h'); Argo's validator passes any text and the "
      "node fails when it resumes", beyond_argo=True)
def suspend_duration(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        sus = t.get("suspend")
        if not isinstance(sus, dict) or sus.get("duration") in (None, ""):
            continue
        v = str(sus["duration"])
        if "{{" not in v and not argo_duration(v):
            yield Hit(w.doc, json_path(w.tpath(tn, "suspend", "duration")),
                      f"suspend template '{t.get('name')}': duration '{v}' is not a number of seconds or a "
                      f"duration like 30s, 5m, 1h (no spaces, no days)")


@rule("argo/duration-format", Severity.ERROR,
      "template timeout and retryStrategy.backoff durations parse as Argo parses them at run time "
      "('30s', '1h30m'; backoff also whole seconds); Argo's validator passes them unchecked", beyond_argo=True)
def duration_format(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        timeout = t.get("timeout")
        if isinstance(timeout, str) and timeout and "{{" not in timeout \
                and not re.fullmatch(r"[+-]?\d+", timeout.strip()) and not go_duration(timeout):
            yield Hit(w.doc, json_path(w.tpath(tn, "timeout")),
                      f"template '{tn}': timeout '{timeout}' is not a duration like 30s, 5m, 1h30m (no spaces, "
                      f"no days); the node fails when it starts")
        backoff = (t.get("retryStrategy") or {}).get("backoff") if isinstance(t.get("retryStrategy"), dict) else None
        if isinstance(backoff, dict):
            for key in ("duration", "maxDuration"):
                v = backoff.get(key)
                if v is None or isinstance(v, int) or "{{" in str(v):
                    continue
                if not argo_duration(str(v)):
                    yield Hit(w.doc, json_path(w.tpath(tn, "retryStrategy", "backoff", key)),
                              f"template '{tn}': retryStrategy.backoff.{key} '{v}' is not seconds or a duration "
                              f"like 30s, 5m, 1h (no spaces, no days); the retry fails at run time")


@rule("argo/item-field", Severity.ERROR,
      "{{item.KEY}} in a withItems loop names a key the items have (withParam items are only known at run time)")
def item_field(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        for s in w.sites:
            if s.expr or s.var[0] != "item" or len(s.var) < 2 or s.call is None:
                continue
            node = s.call.node
            if node.get("withParam") or not isinstance(node.get("withItems"), list) or not node["withItems"]:
                if isinstance(node.get("withSequence"), dict) and not node.get("withItems") and not node.get("withParam"):
                    yield Hit(w.doc, json_path(s.path), f"{{{{{'.'.join(s.var)}}}}} in {s.call.owner} '{s.call.name}': "
                                                        f"withSequence items are numbers; use {{{{item}}}}")
                continue
            keys: set[str] = set()
            for j, item in enumerate(node["withItems"]):
                if isinstance(item, dict):
                    keys |= {str(k) for k in item}
                elif isinstance(item, list):
                    keys |= {f"[{k}]" for k in range(len(item))}
            if s.var[1] not in keys:
                have = ", ".join(sorted(keys)) or "none: the items are plain values, use {{item}}"
                yield Hit(w.doc, json_path(s.path),
                          f"{{{{{'.'.join(s.var)}}}}} in {s.call.owner} '{s.call.name}': the withItems items have no "
                          f"key '{s.var[1]}' (keys: {have})")
