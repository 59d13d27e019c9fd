"""Fields Argo decodes strictly, and label syntax (selectors, label keys and values).

`argo/unknown-field`: the field names a template, a step or a DAG task may have come from the bundled
Argo schema of the linted version (tools/cogniverse_chart/data/argo-<minor>.json.gz), the same
schema `validate` uses: Argo decodes workflows strictly and rejects any other field.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Any, Iterator

from ..documents import json_path
from ..findings import Severity
from ..argo.model import dag_tasks, step_groups
from .registry import Hit, LintContext, rule

#: Kubernetes label syntax (apimachinery validation.IsQualifiedName / IsValidLabelValue).
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
LABEL_VALUE_RE = re.compile(rf"^({_NAME})?$")
LABEL_NAME_RE = re.compile(rf"^{_NAME}$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def label_key_problem(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN_RE.match(prefix)):
        return f"prefix '{prefix}' is not a DNS subdomain"
    if not LABEL_NAME_RE.match(name):
        return "the name part must be 1-63 letters, digits, '-', '_' or '.', starting and ending alphanumeric"
    return ""


def label_value_problem(value: Any) -> str:
    if not isinstance(value, str):
        return f"a label value is a string, not {type(value).__name__}"
    if "{{" in value:
        return ""  # substituted at run time
    if not LABEL_VALUE_RE.match(value):
        return "at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric (or empty)"
    return ""


def selector_problems(sel: Any) -> Iterator[tuple[list[Any], str]]:
    """(path inside the selector, problem) for a metav1.LabelSelector, as LabelSelectorAsSelector checks it."""
    if not isinstance(sel, dict):
        return
    for k, v in (sel.get("matchLabels") or {}).items():
        problem = label_key_problem(str(k)) or label_value_problem(v)
        if problem:
            yield ["matchLabels", k], f"matchLabels '{k}: {v}': {problem}"
    for i, e in enumerate(sel.get("matchExpressions") or []):
        if not isinstance(e, dict):
            continue
        op, values = e.get("operator"), e.get("values") or []
        if op not in SELECTOR_OPERATORS:
            close = difflib.get_close_matches(str(op), SELECTOR_OPERATORS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            yield ["matchExpressions", i, "operator"], \
                f"'{op}' is not a label selector operator (use {', '.join(SELECTOR_OPERATORS)}){hint}"
        elif op in ("In", "NotIn") and not values:
            yield ["matchExpressions", i, "values"], f"operator {op} needs at least one value"
        elif op in ("Exists", "DoesNotExist") and values:
            yield ["matchExpressions", i, "values"], f"operator {op} takes no values"
        problem = label_key_problem(str(e.get("key", "")))
        if problem:
            yield ["matchExpressions", i, "key"], f"key '{e.get('key', '')}': {problem}"


@rule("argo/label-selector", Severity.ERROR,
      "podGC.labelSelector is a valid Kubernetes label selector (operators In, NotIn, Exists, DoesNotExist)")
def label_selector(ctx: LintContext) -> Iterator[Hit]:
    for w in ctx.workflows:
        sel = (w.spec.get("podGC") or {}).get("labelSelector") if isinstance(w.spec.get("podGC"), dict) else None
        for sub, problem in selector_problems(sel):
            yield Hit(w.doc, json_path([*w.base, "podGC", "labelSelector", *sub]),
                      f"podGC.labelSelector: {problem}; Argo rejects the workflow")


# --- unknown fields ------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _defs(argo_version: str) -> dict[str, Any]:
    from ..schemas import load_bundle

    return load_bundle("argo", argo_version)["definitions"]


def _deref(defs: dict[str, Any], node: Any) -> dict[str, Any]:
    while isinstance(node, dict) and "$ref" in node:
        node = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
    return node if isinstance(node, dict) else {}


def _at(defs: dict[str, Any], node: dict[str, Any], steps: tuple[str, ...]) -> dict[str, Any]:
    for step in steps:
        node = _deref(defs, node)
        node = node.get("items", {}) if step == "[]" else (node.get("properties") or {}).get(step, {})
    return _deref(defs, node)


@lru_cache(maxsize=None)
def known_fields(argo_version: str, what: str) -> frozenset[str]:
    """Field names of a template, a workflow step or a DAG task in the Argo schema of that version."""
    defs = _defs(argo_version)
    template = ("spec", "templates", "[]")
    path = {"template": template, "step": (*template, "steps", "[]", "[]"),
            "task": (*template, "dag", "tasks", "[]")}[what]
    return frozenset((_at(defs, defs["argo.Workflow"], path).get("properties") or {}))


def _unknown(ctx: LintContext, node: dict[str, Any], what: str) -> Iterator[tuple[str, str]]:
    known = known_fields(ctx.argo_version, what)
    if not known:
        return
    for key in node:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            yield str(key), f"; did you mean '{close[0]}'?" if close else ""


@rule("argo/unknown-field", Severity.ERROR,
      "templates, steps and DAG tasks have only the fields of Argo's schema (Argo decodes strictly)")
def unknown_field(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        nodes = [("template", t, w.tpath(tn))]
        nodes += [("step", s, w.tpath(tn, "steps", gi, si)) for gi, g in enumerate(step_groups(t)) for si, s in enumerate(g)]
        nodes += [("task", x, w.tpath(tn, "dag", "tasks", i)) for i, x in enumerate(dag_tasks(t))]
        for what, node, path in nodes:
            for key, hint in _unknown(ctx, node, what):
                label = f"template '{tn}'" if what == "template" else f"{what} '{node.get('name')}' of template '{tn}'"
                yield Hit(w.doc, json_path([*path, key]),
                          f"{label} has an unknown field '{key}' (Argo {ctx.argo_version} rejects the workflow){hint}")
