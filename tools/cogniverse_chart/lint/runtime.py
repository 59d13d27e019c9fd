"""Run-time faults Argo's validator accepts but that a stream decides: each message says what happens
when the workflow runs. The classes no stream can decide are listed in docs/lint.md with the reason."""

from __future__ import annotations

import itertools
import re
from typing import Any, Iterator

from ..documents import json_path
from ..findings import Severity
from ..argo.model import WorkflowSpec, dag_tasks, names, step_groups
from .registry import Hit, LintContext, rule

ARTIFACT_REPOSITORIES = "artifact-repositories"
DEFAULT_REPO_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"


def _configmaps(ctx: LintContext) -> dict[str, tuple[str, set[str], dict[str, Any]]]:
    """ConfigMap name -> (namespace, keys, annotations), for the ConfigMaps of the stream."""
    out = {}
    for d in ctx.stream_of_kind("ConfigMap"):
        keys = set((d.obj.get("data") or {})) | set((d.obj.get("binaryData") or {}))
        out[d.name] = (d.namespace, keys, ((d.obj.get("metadata") or {}).get("annotations") or {}))
    return out


def _same_namespace(a: str, b: str) -> bool:
    return not a or not b or a == b


def _key_refs(w: WorkflowSpec) -> Iterator[tuple[list[Any], str, str, str]]:
    """(path, ConfigMap name, key, what reads it) for artifactRepositoryRef, semaphores and configMapKeyRef."""
    ref = w.spec.get("artifactRepositoryRef")
    if isinstance(ref, dict):
        yield ([*w.base, "artifactRepositoryRef"], str(ref.get("configMap") or ARTIFACT_REPOSITORIES),
               str(ref.get("key") or ""), "artifactRepositoryRef")
    holders = [([*w.base], w.spec)] + [(w.tpath(str(t.get("name"))), t) for t in w.template_list]
    for path, holder in holders:
        sync = holder.get("synchronization")
        if not isinstance(sync, dict):
            continue
        sems = ([("semaphore", sync["semaphore"])] if isinstance(sync.get("semaphore"), dict) else []) + \
            [(("semaphores", i), s) for i, s in enumerate(sync.get("semaphores") or []) if isinstance(s, dict)]
        for where, sem in sems:
            cm = sem.get("configMapKeyRef")
            if isinstance(cm, dict) and isinstance(cm.get("name"), str) and not cm.get("optional"):
                sub = list(where) if isinstance(where, tuple) else [where]
                yield [*path, "synchronization", *sub, "configMapKeyRef"], cm["name"], str(cm.get("key", "")), "semaphore"
    sections = [(w.spec.get("arguments"), [*w.base, "arguments"])]
    sections += [(t.get("inputs"), w.tpath(str(t.get("name")), "inputs")) for t in w.template_list]
    sections += [(c.node.get("arguments"), [*c.path, "arguments"]) for c in w.calls]
    for path, node in (found for section, at in sections for found in _value_froms(section, at)):
        cm = node.get("configMapKeyRef")
        if isinstance(cm, dict) and isinstance(cm.get("name"), str) and not cm.get("optional") \
                and "default" not in node:
            yield [*path, "configMapKeyRef"], cm["name"], str(cm.get("key", "")), "parameter valueFrom"


def _value_froms(node: Any, path: list[Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "valueFrom" and isinstance(v, dict):
                yield [*path, k], v
            else:
                yield from _value_froms(v, [*path, k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _value_froms(v, [*path, i])


@rule("argo/configmap-key", Severity.ERROR,
      "artifactRepositoryRef, semaphores and configMapKeyRef parameters name a key their ConfigMap has, when the "
      "ConfigMap is in the stream", beyond_argo=True)
def configmap_key(ctx: LintContext) -> Iterator[Hit]:
    if not ctx.workflows:
        return
    cms = ctx.shared("configmaps", lambda: _configmaps(ctx))
    if not cms:
        return
    for w in ctx.workflows:
        for path, name, key, what in _key_refs(w):
            found = cms.get(name)
            if found is None or not _same_namespace(found[0], w.doc.namespace):
                continue
            if what == "artifactRepositoryRef" and not key:
                if DEFAULT_REPO_ANNOTATION in found[2]:
                    key = str(found[2][DEFAULT_REPO_ANNOTATION])
                else:
                    yield Hit(w.doc, json_path(path),
                              f"artifactRepositoryRef names no key and ConfigMap '{name}' has no "
                              f"{DEFAULT_REPO_ANNOTATION} annotation: the workflow fails at start "
                              f"('error getting artifact repository')")
                    continue
            if key not in found[1]:
                effect = {"artifactRepositoryRef": "the workflow fails at start (its artifact repository is not found)",
                          "semaphore": "the workflow (or template) errors when it tries to acquire the semaphore",
                          "parameter valueFrom": "the step fails when Argo resolves the parameter"}[what]
                yield Hit(w.doc, json_path(path),
                          f"{what} reads key '{key}' of ConfigMap '{name}', which has no such key "
                          f"(keys: {', '.join(sorted(found[1])) or 'none'}): {effect}")


# --- when ------------------------------------------------------------------------------------------------

_WHEN_TOKEN = re.compile(r"""\s*(?:(?P<str>'[^']*'|"[^"]*")|(?P<num>-?\d+(?:\.\d+)?)(?![\w.])|(?P<op>==|!=|<=|>=|<|>|=~|!~|&&|\|\||[()!])|(?P<word>[^\s()=!<>&|'"]+))""")


def when_problems(when: str) -> Iterator[str]:
    """Comparisons in a `when` that govaluate decides the same way for every value, or cannot evaluate."""
    text = re.sub(r"\{\{.*?\}\}", "\x00", when, flags=re.S)  # a placeholder: unknown until run time
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _WHEN_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            return
        kind = next(k for k, v in m.groupdict().items() if v is not None)
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    for i in range(1, len(tokens) - 1):
        kind, op = tokens[i]
        if kind != "op" or op not in ("==", "!=", "<", ">", "<=", ">="):
            continue
        (lk, lv), (rk, rv) = tokens[i - 1], tokens[i + 1]
        sides = {lk, rk}
        if sides != {"num", "str"} and sides != {"num", "word"}:
            continue
        if "\x00" in (lv if lk != "num" else rv) and (lk == "word" or rk == "word"):
            continue  # an unquoted placeholder: a number or a word, decided by the value
        text_side = (lv if lk != "num" else rv).replace("\x00", "{{...}}")
        num = lv if lk == "num" else rv
        what = "the string" if "str" in sides else "the unquoted word (a string to Argo)"
        if op in ("==", "!="):
            yield (f"compares {what} {text_side} with the number {num}: govaluate never finds a string equal to a "
                   f"number, so the condition is always {'false' if op == '==' else 'true'}; quote both sides or neither")
        else:
            yield (f"compares {what} {text_side} with the number {num} using {op}: govaluate cannot order a string "
                   f"and a number, so the step fails at run time ('cannot be used with the comparator'); unquote it")


@rule("argo/when-comparison", Severity.ERROR,
      "a `when` compares like with like: a quoted value or a word with a number is always false (==) or an error (<, >)",
      beyond_argo=True)
def when_comparison(ctx: LintContext) -> Iterator[Hit]:
    for w, c in ctx.calls():
        when = c.node.get("when")
        if isinstance(when, str) and not when.lstrip().startswith("{{="):
            for problem in when_problems(when):
                yield Hit(w.doc, json_path([*c.path, "when"]), f"when of {c.owner} '{c.name}' {problem}")


# --- outputs of a dependency skipped by design ------------------------------------------------------------

_ATOM = re.compile(r"([A-Za-z0-9][\w-]*)(?:\.(\w+))?")
_RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed")


def admits_skipped(depends: str, task: str) -> bool:
    """True if a `depends` expression can hold while `task` is Skipped (a bare name means
    Succeeded || Skipped || Daemoned). Other tasks' results are free: some combination must satisfy it."""
    if len(depends) > 4000 or depends.count("(") > 50:
        return False  # not a depends a person writes: say nothing rather than evaluate it
    expr = depends.replace("&&", " and ").replace("||", " or ").replace("!", " not ")
    others: list[str] = []

    def atom(m: re.Match[str]) -> str:
        name, result = m.group(1), m.group(2)
        if name in ("and", "or", "not"):
            return name
        if name == task:
            return "True" if result in (None, "Skipped") else "False"
        key = f"v{len(others)}"
        others.append(key)
        return key

    py = _ATOM.sub(atom, expr)
    if not re.fullmatch(r"[\sA-Za-z0-9()]*", py) or len(others) > 12:
        return False  # not an expression we can read: say nothing
    try:
        code = compile(py, "<depends>", "eval")
        return any(eval(code, {"__builtins__": {}}, dict(zip(others, combo)))  # noqa: S307 (names and booleans only)
                   for combo in itertools.product((False, True), repeat=len(others)))
    except (SyntaxError, NameError, TypeError, ValueError, RecursionError, MemoryError):
        return False


def _producer_default(ctx: LintContext, w: WorkflowSpec, node: dict[str, Any], output: tuple[str, ...]) -> bool | None:
    """Whether the producer's template gives the read output a default (None: template not in the stream)."""
    target = ctx.resolve(w, node)
    if target is None:
        return None
    _, t = target
    for p in (t.get("outputs") or {}).get("parameters") or []:
        if isinstance(p, dict) and p.get("name") == output[1]:
            return isinstance(p.get("valueFrom"), dict) and "default" in p["valueFrom"]
    return None


def _consumer_default(ctx: LintContext, w: WorkflowSpec, node: dict[str, Any], param: str) -> bool:
    target = ctx.resolve(w, node)
    if target is None:
        return True  # unknown template: assume the input may have a default
    for p in (target[1].get("inputs") or {}).get("parameters") or []:
        if isinstance(p, dict) and p.get("name") == param:
            return "default" in p or "value" in p
    return True


@rule("argo/skipped-output", Severity.ERROR,
      "a step/task reads outputs of a step/task with a `when` only if it cannot run while that one is skipped, "
      "or a default covers the absent value", beyond_argo=True)
def skipped_output(ctx: LintContext) -> Iterator[Hit]:
    for w, tn, t in ctx.templates():
        groups = step_groups(t)
        nodes = {str(s.get("name")): (s, gi) for gi, g in enumerate(groups) for s in g}
        tasks = {str(x.get("name")): (x, 0) for x in dag_tasks(t)}
        root, members = ("steps", nodes) if groups else ("tasks", tasks)
        calls = [c for c in w.calls if c.template == tn and c.owner in ("step", "task")]
        for c in calls:
            if root == "steps" and c.node.get("when"):
                continue  # a guard of its own may match the producer's: cannot tell
            args = c.node.get("arguments") if isinstance(c.node.get("arguments"), dict) else {}
            for i, p in enumerate(args.get("parameters") or []):
                value = p.get("value") if isinstance(p, dict) else None
                m = re.fullmatch(rf"\{{\{{\s*{root}\.([\w-]+)\.outputs\.(parameters\.[\w-]+)\s*\}}\}}", str(value or ""))
                pure = m is not None
                m = m or re.search(rf"\{{\{{\s*{root}\.([\w-]+)\.outputs\.(parameters\.[\w-]+)\s*\}}\}}", str(value or ""))
                if m is None or m.group(1) not in members or not members[m.group(1)][0].get("when"):
                    continue
                producer = m.group(1)
                if root == "tasks":
                    deps = c.node.get("dependencies")
                    depends = str(c.node.get("depends") or (" && ".join(deps) if isinstance(deps, list) else ""))
                    if producer not in re.findall(r"[\w-]+", depends) or not admits_skipped(depends, producer):
                        continue
                elif members[producer][1] >= c.group:
                    continue  # argo/step-order
                output = tuple(m.group(2).split("."))
                if _producer_default(ctx, w, members[producer][0], output) is not False:
                    continue
                if pure and _consumer_default(ctx, w, c.node, str(p.get("name"))):
                    continue
                how = "the reference is inside other text" if not pure else \
                    f"the input '{p.get('name')}' has no default either"
                yield Hit(w.doc, json_path([*c.path, "arguments", "parameters", i, "value"]),
                          f"{c.owner} '{c.name}' reads outputs.{'.'.join(output)} of '{producer}', which its `when` "
                          f"can skip, and '{c.name}' still runs then: a skipped node has no outputs and {how}, so "
                          f"'{c.name}' fails at run time. Give the output a valueFrom.default, the input a default, "
                          f"or run '{c.name}' only when '{producer}' succeeded")
