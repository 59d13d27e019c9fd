"""Run-time faults in values Argo passes through unchecked: podSpecPatch, withParam, label values.
Values with `{{...}}` are checked after substituting the workflow parameters the stream declares; what is
still a placeholder then is decided at run time (docs/lint.md lists those classes)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Callable, Iterator

from ..documents import json_path, load_document
from ..errors import ToolkitError
from ..findings import Severity
from ..argo.model import WorkflowSpec
from .fields import label_key_problem, label_value_problem
from .registry import Hit, LintContext, rule

_WF_PARAM = re.compile(r"\{\{\s*workflow\.parameters\.([\w-]+)\s*\}\}")


def known_values(w: WorkflowSpec) -> dict[str, str]:
    """Workflow parameters with a literal value in spec.arguments."""
    out = {}
    for p in (w.spec.get("arguments") or {}).get("parameters") or []:
        if isinstance(p, dict) and isinstance(p.get("value"), (str, int, float)) and "{{" not in str(p["value"]):
            out[str(p.get("name"))] = str(p["value"])
    return out


def substitute(text: str, values: dict[str, str]) -> str | None:
    """text with the known workflow parameters filled in; None if a placeholder remains."""
    out = _WF_PARAM.sub(lambda m: values.get(m.group(1), m.group(0)), text)
    return None if "{{" in out else out


def resolved_problems(items: Iterator[tuple[Any, Any]], values: dict[str, str],
                      problem_of: Callable[[str], str]) -> Iterator[tuple[Any, str, str]]:
    """(item, resolved text, problem) for each (item, value) whose value is a string that, with the known
    workflow parameters filled in (none left as a placeholder), has a problem (problem_of: "" for none)."""
    for item, text in items:
        if not isinstance(text, str):
            continue
        resolved = substitute(text, values)
        if resolved is None:
            continue
        problem = problem_of(resolved)
        if problem:
            yield item, resolved, problem


# --- podSpecPatch ------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _k8s_defs() -> dict[str, Any]:
    from .. import versions
    from ..schemas import load_bundle

    return load_bundle("k8s", "%d.%d" % versions.kube_newest_minor())["definitions"]


_JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}


def type_problems(value: Any, schema: dict[str, Any], path: list[Any]) -> Iterator[tuple[list[Any], str]]:
    """Where a value has the wrong JSON type for the Kubernetes schema (what Go's json.Unmarshal refuses).
    Unknown fields are ignored, as Argo's decoding of the patch ignores them."""
    defs = _k8s_defs()
    while "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if isinstance(value, str) and "{{" in value:
        return
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if schema.get("x-kubernetes-int-or-string") or schema.get("format") in ("int-or-string", "quantity"):
        types = ["string", "integer", "number"]
    wanted: list[type] = []
    for name in types:
        t = _JSON_TYPES.get(name)
        if t is None:
            return  # a type this check does not know: no judgement
        wanted += list(t) if isinstance(t, tuple) else [t]
    if value is None or not wanted:
        return
    if not isinstance(value, tuple(wanted)) or (isinstance(value, bool) and bool not in wanted):
        yield path, f"expected {'/'.join(types)}, got {type(value).__name__}"
        return
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for k, v in value.items():
            sub = props.get(k) or (schema.get("additionalProperties") if isinstance(schema.get("additionalProperties"), dict) else None)
            if sub:
                yield from type_problems(v, sub, [*path, k])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            yield from type_problems(v, schema["items"], [*path, i])


def patch_problem(text: str) -> str:
    try:  # the toolkit's hardened loader: an alias bomb or absurd nesting in the patch is refused, not expanded
        patches = load_document(text, "podSpecPatch")
    except ToolkitError as exc:
        return f"is not YAML/JSON ({str(exc).splitlines()[0].removeprefix('podSpecPatch')[:160].lstrip(':')})"
    if len(patches) > 1:
        return "holds several YAML documents, not one PodSpec"
    patch = patches[0] if patches else None
    if patch is None:
        return ""
    if not isinstance(patch, dict):
        return f"is a {type(patch).__name__}, not a PodSpec mapping"
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for i, c in enumerate(patch.get(key) or [] if isinstance(patch.get(key), list) else []):
            if isinstance(c, dict) and "name" not in c:
                return f"{key}[{i}] has no name: a strategic merge patch matches containers by name"
    for path, problem in type_problems(patch, {"$ref": "#/definitions/io.k8s.api.core.v1.PodSpec"}, []):
        return f"{json_path(path)[1:].lstrip('.') or 'the patch'}: {problem}"
    return ""


@rule("argo/pod-spec-patch", Severity.ERROR,
      "podSpecPatch is a PodSpec in YAML or JSON (Argo applies it when it creates the pod)", beyond_argo=True)
def pod_spec_patch(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        values = known_values(ctx.run_spec(w)) if "workflowTemplateRef" in w.spec else known_values(w)
        holders = [(list(w.base), w.spec, "the workflow")] + \
            [(w.tpath(str(t.get("name"))), t, f"template '{t.get('name')}'") for t in w.template_list]
        patches = (((path, who), holder.get("podSpecPatch")) for path, holder, who in holders)
        for (path, who), _, problem in resolved_problems(patches, values, patch_problem):
            yield Hit(w.doc, json_path([*path, "podSpecPatch"]),
                      f"podSpecPatch of {who} {problem}: every pod of it fails to start "
                      f"('invalid podSpecPatch'); write a PodSpec fragment")


# --- withParam ---------------------------------------------------------------------------------------------

def list_problem(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return "is not JSON"
    if not isinstance(value, list):
        return f"is a JSON {type(value).__name__}, not a list"
    return ""


@rule("argo/with-param", Severity.ERROR,
      "withParam is a JSON list, when its value is known from the stream (a literal or a declared workflow parameter)",
      beyond_argo=True)
def with_param(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        values = known_values(w)
        params = ((c, c.node.get("withParam")) for c in w.calls)
        for c, resolved, problem in resolved_problems(params, values, list_problem):
            shown = resolved if len(resolved) <= 60 else resolved[:57] + "..."
            yield Hit(w.doc, json_path([*c.path, "withParam"]),
                      f"withParam of {c.owner} '{c.name}' expands to '{shown}', which {problem}: the "
                      f"{c.owner} fails at run time ('withParam value could not be parsed as a JSON list'); "
                      f"give a JSON list such as [\"a\", \"b\"]")


# --- label values ------------------------------------------------------------------------------------------

def _label_sets(w: WorkflowSpec) -> Iterator[tuple[list[Any], Any, str]]:
    """(path, labels mapping, what carries them) for the labels Argo puts on run-time objects."""
    meta = w.spec.get("workflowMetadata")
    if isinstance(meta, dict):
        yield [*w.base, "workflowMetadata", "labels"], meta.get("labels"), "the Workflow"
    pod = w.spec.get("podMetadata")
    if isinstance(pod, dict):
        yield [*w.base, "podMetadata", "labels"], pod.get("labels"), "every pod"
    for t in w.template_list:
        m = t.get("metadata")
        if isinstance(m, dict):
            yield w.tpath(str(t.get("name")), "metadata", "labels"), m.get("labels"), f"the pods of template '{t.get('name')}'"


@rule("argo/label-value", Severity.ERROR,
      "labels Argo sets on the Workflow or its pods (workflowMetadata, podMetadata, template metadata) are valid "
      "Kubernetes labels", beyond_argo=True)
def label_value(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        values = known_values(w)
        for path, labels, carrier in _label_sets(w):
            if not isinstance(labels, dict):
                continue
            for k, v in labels.items():
                text = substitute(str(v), values) if isinstance(v, str) else v
                if text is None:
                    continue
                problem = label_key_problem(str(k))
                if not problem:
                    problem = label_value_problem(text)
                    if problem:
                        problem = f"value '{text}': {problem}"
                else:
                    problem = f"key '{k}': {problem}"
                if problem:
                    yield Hit(w.doc, json_path([*path, k]),
                              f"label {problem}: the API server refuses {carrier} with it, so the run fails when "
                              f"Argo creates it")
