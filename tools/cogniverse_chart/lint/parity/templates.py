"""Argo's checks of one template: exactly one type, the fields its type allows, what a leaf template
must hold, where its outputs come from, and the arguments passed to it."""

from __future__ import annotations

import re
from typing import Any, Iterator

import yaml

from ...documents import json_path
from ...findings import Severity
from ...argo.model import POD_TYPES, TEMPLATE_TYPES, WorkflowSpec, template_type
from ..registry import Hit, LintContext, rule
from .names import _argument_lists, _templated

LEAF_TYPES = ("container", "script", "resource", "containerSet", "suspend", "data", "http", "plugin")
#: Template.IsLeaf() in Argo: input artifacts of these need a path.
ARGO_LEAF_TYPES = ("container", "script", "resource", "containerSet", "data", "http", "plugin")


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
