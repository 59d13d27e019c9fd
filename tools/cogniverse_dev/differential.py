"""Differential testing of lint against Argo's own validator.

Valid seed workflows (the chart's rendered WorkflowTemplates and CronWorkflows, plus a varied set in
tests/fixtures/lint/_differential/seeds.yaml) are mutated the way people break workflows: renamed or
removed references, wrong enum case, durations without units, names Argo forbids, duplicates, mixed DAG
fields, missing values, misplaced fields. Each mutant goes through Argo's validator (oracle.py) and
through lint's argo/ rules; `compare` tallies the agreement.

    seeds = load_seeds()
    muts = mutants(seeds)                          # every mutant, in a stable order
    table = compare("4.0", sample(muts, 200, seed=7))
"""

from __future__ import annotations

import copy
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import yaml

from cogniverse_chart import REPO_ROOT
from cogniverse_chart.chart import render_profiles
from cogniverse_chart.documents import Document
from cogniverse_chart.findings import Severity
from cogniverse_chart.lint import RULES, lint

from .oracle import validate_cases

SEEDS = REPO_ROOT / "tests" / "fixtures" / "lint" / "_differential" / "seeds.yaml"
Obj = dict[str, Any]


@dataclass
class Mutant:
    id: str  # "<seed>/<operator>/<n>"
    seed: str
    operator: str
    what: str  # the change, for reports
    objects: list[Obj]


def load_seeds(with_chart: bool = True) -> dict[str, list[Obj]]:
    """case name -> stream. The chart contributes one case per rendered Argo object."""
    cases: dict[str, list[Obj]] = {}
    name = ""
    chunks: dict[str, list[str]] = {}
    for line in SEEDS.read_text(encoding="utf-8").splitlines(keepends=True):
        m = re.match(r"# case: (\S+)", line)
        if m:
            name = m.group(1)
            chunks[name] = []
        elif name:
            chunks[name].append(line)
    for n, lines in chunks.items():
        cases[n] = [d for d in yaml.safe_load_all("".join(lines)) if d]
    if with_chart:

        docs = [d for d in render_profiles(["k3s"])["k3s"] if d.kind in ("WorkflowTemplate", "CronWorkflow")]
        library = [d.obj for d in docs if d.kind == "WorkflowTemplate"]
        for d in docs:  # the mutated object first, then the chart's WorkflowTemplates its templateRefs name
            cases[f"chart-{d.name}"] = [d.obj] + [o for o in library if o is not d.obj]
    return cases


# --- walking -----------------------------------------------------------------------------------------

def _specs(obj: Obj) -> Iterator[Obj]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronWorkflow":
        spec = spec.get("workflowSpec") or {}
    if isinstance(spec, dict):
        yield spec


def _templates(obj: Obj) -> Iterator[Obj]:
    for spec in _specs(obj):
        for t in spec.get("templates") or []:
            if isinstance(t, dict):
                yield t


def _calls(t: Obj) -> Iterator[Obj]:
    for g in t.get("steps") or []:
        for s in g if isinstance(g, list) else []:
            if isinstance(s, dict):
                yield s
    for task in (t.get("dag") or {}).get("tasks") or []:
        if isinstance(task, dict):
            yield task


def _rename(obj: Any, old: str, new: str) -> Any:
    """Rename a name everywhere it appears as a whole name in string values (definitions, references,
    {{...}} paths); mapping keys stay as they are."""
    pat = re.compile(r"(?<![\w-])" + re.escape(old) + r"(?![\w-])")
    if isinstance(obj, dict):
        return {k: _rename(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rename(v, old, new) for v in obj]
    return pat.sub(new, obj) if isinstance(obj, str) else obj


# --- operators: each takes (objects, index of the object to mutate) and yields (what, new objects) ------

Op = Callable[[list[Obj], int], Iterator[tuple[str, list[Obj]]]]
OPERATORS: dict[str, Op] = {}


def operator(name: str) -> Callable[[Op], Op]:
    def reg(fn: Op) -> Op:
        OPERATORS[name] = fn
        return fn
    return reg


def _clone(o: Any) -> Any:
    return json.loads(json.dumps(o))


def _variants(objs: list[Obj], i: int) -> tuple[list[Obj], Obj]:
    """A copy of the stream in which object i (only) may be changed."""
    new = list(objs)
    new[i] = _clone(objs[i])
    return new, new[i]


def _string_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from ((path + (k,), v),) if isinstance(v, str) else _string_paths(v, path + (k,))
    elif isinstance(node, list):
        for j, v in enumerate(node):
            yield from ((path + (j,), v),) if isinstance(v, str) else _string_paths(v, path + (j,))


def _set(node: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def _tindex(obj: Obj) -> list[Obj]:
    return list(_templates(obj))


@operator("reference-typo")
def reference_typo(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    """One segment of a {{a.b.c}} reference misspelt (a typo, or '-' written as '_')."""
    for path, s in _string_paths(objs[i]):
        if "{{" not in s:
            continue
        for m in re.finditer(r"\{\{\s*([A-Za-z][\w.-]*)\s*\}\}", s):
            parts = m.group(1).split(".")
            for pi in range(len(parts)):
                if pi == 0 and parts[0] in ("item",):
                    continue
                for variant in sorted({parts[pi] + "x"} | ({parts[pi].replace("-", "_")} - {parts[pi]})):
                    new, o = _variants(objs, i)
                    ref = ".".join(parts[:pi] + [variant] + parts[pi + 1:])
                    _set(o, path, s.replace(m.group(0), "{{" + ref + "}}", 1))
                    yield f"{{{{{m.group(1)}}}}} -> {{{{{ref}}}}}", new


@operator("template-typo")
def template_typo(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    for ti, t in enumerate(_tindex(objs[i])):
        for ci, c in enumerate(_calls(t)):
            if isinstance(c.get("template"), str):
                new, o = _variants(objs, i)
                call = list(_calls(_tindex(o)[ti]))[ci]
                call["template"] += "-x"
                yield f"{c.get('name')} calls {call['template']}", new
            if isinstance(c.get("templateRef"), dict):
                for key in ("name", "template"):
                    new, o = _variants(objs, i)
                    call = list(_calls(_tindex(o)[ti]))[ci]
                    call["templateRef"][key] = str(call["templateRef"].get(key)) + "-x"
                    yield f"{c.get('name')} templateRef.{key} typo", new
    for spec_key in ("entrypoint", "onExit"):
        new, o = _variants(objs, i)
        for spec in _specs(o):
            if isinstance(spec.get(spec_key), str):
                spec[spec_key] += "-x"
                yield f"{spec_key} typo", new


@operator("template-removed")
def template_removed(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    for ti, t in enumerate(_tindex(objs[i])):
        new, o = _variants(objs, i)
        for spec in _specs(o):
            del spec["templates"][ti]
        yield f"template {t.get('name')} removed", new


@operator("forbidden-name")
def forbidden_name(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    """Template, step, task and parameter names with '_', a leading digit, or a dot."""
    names: list[str] = []
    for t in _tindex(objs[i]):
        names.append(str(t.get("name")))
        names += [str(c.get("name")) for c in _calls(t)]
        for p in ((t.get("inputs") or {}).get("parameters") or []) + ((t.get("outputs") or {}).get("parameters") or []):
            names.append(str(p.get("name")))
    for n in dict.fromkeys(names):
        if len(n) < 3:
            continue
        for new_name in (n.replace("-", "_") if "-" in n else n + "_x", "1" + n, n + ".v2"):
            yield f"{n} renamed {new_name}", [*objs[:i], _rename(objs[i], n, new_name), *objs[i + 1:]]


@operator("duplicate")
def duplicate(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    for ti, t in enumerate(_tindex(objs[i])):
        new, o = _variants(objs, i)
        for spec in _specs(o):
            spec["templates"].append(copy.deepcopy(spec["templates"][ti]))
        yield f"template {t.get('name')} twice", new
        for section in ("inputs", "outputs"):
            for pi, p in enumerate((t.get(section) or {}).get("parameters") or []):
                new, o = _variants(objs, i)
                ps = _tindex(o)[ti][section]["parameters"]
                ps.append(copy.deepcopy(ps[pi]))
                yield f"{section} parameter {p.get('name')} twice in {t.get('name')}", new
        for ci, c in enumerate(_calls(t)):
            new, o = _variants(objs, i)
            tt = _tindex(o)[ti]
            if "dag" in tt:
                tt["dag"]["tasks"].append(copy.deepcopy(tt["dag"]["tasks"][ci]))
            else:
                call = list(_calls(tt))[ci]
                tt["steps"].append([copy.deepcopy(call)])
            yield f"{c.get('name')} twice in {t.get('name')}", new
            for ai, a in enumerate((c.get("arguments") or {}).get("parameters") or []):
                new, o = _variants(objs, i)
                ps = list(_calls(_tindex(o)[ti]))[ci]["arguments"]["parameters"]
                ps.append(copy.deepcopy(ps[ai]))
                yield f"argument {a.get('name')} twice in {c.get('name')}", new
    for spec in _specs(objs[i]):
        for ai, a in enumerate((spec.get("arguments") or {}).get("parameters") or []):
            new, o = _variants(objs, i)
            ps = list(_specs(o))[0]["arguments"]["parameters"]
            ps.append(copy.deepcopy(ps[ai]))
            yield f"workflow parameter {a.get('name')} twice", new


#: Fields with a fixed set of values, and wrong spellings people write.
ENUM_KEYS = {"retryPolicy", "concurrencyPolicy", "action", "strategy", "imagePullPolicy", "mergeStrategy"}


@operator("enum-case")
def enum_case(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    for path, s in _string_paths(objs[i]):
        k = path[-1]
        variants: list[str] = []
        if k in ENUM_KEYS and s and "{{" not in s:
            variants = [s[0].swapcase() + s[1:], s.upper()]
        elif k == "depends":
            variants = [re.sub(r"\.(Succeeded|Failed|Skipped|Errored)\b", lambda m: "." + {
                "Succeeded": "Success", "Failed": "failed", "Skipped": "Skip", "Errored": "Error"}[m.group(1)], s, count=1)]
            if "." not in s:
                variants.append(s.split()[0] + ".Succeded")
        for v in dict.fromkeys(variants):
            if v == s:
                continue
            new, o = _variants(objs, i)
            _set(o, path, v)
            yield f"{k}: {s} -> {v}", new


DURATION_KEYS = {"timeout", "duration", "maxDuration", "activeDeadlineSeconds"}


@operator("bad-duration")
def bad_duration(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    """Durations without units or in words; negative and non-numeric deadlines; broken cron/time zones."""
    def walk(node: Any, path: list[Any]) -> Iterator[list[Any]]:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in DURATION_KEYS | {"startingDeadlineSeconds", "schedules", "schedule", "timezone"}:
                    yield [*path, k]
                yield from walk(v, [*path, k])
        elif isinstance(node, list):
            for j, v in enumerate(node):
                yield from walk(v, [*path, j])

    def get(o: Any, path: list[Any]) -> Any:
        for p in path[:-1]:
            o = o[p]
        return o

    for path in walk(objs[i], []):
        key = path[-1]
        if key in ("timeout", "duration", "maxDuration"):
            choices = ["300", "5 minutes", "1d", "-5m", "5mins"]
        elif key == "activeDeadlineSeconds":
            choices = ["5m", -300, "ten"]
        elif key == "startingDeadlineSeconds":
            choices = [-1]
        elif key == "timezone":
            choices = ["Europe/Berln", "UTC+2", "utc", "EST5EDT", "Mars/Olympus"]
        elif key == "schedules":
            choices = [["0 2 * *"], ["0 2 * * * *"], ["61 2 * * *"], ["0 2 * * MON-FRI"], ["@daily"], ["@every 1h"],
                       ["0 2 * * 7"], ["CRON_TZ=Asia/Tokyo 0 2 * * *"], []]
        else:  # schedule
            choices = ["0 2 * *", "@hourly"]
        for v in choices:
            new, _ = _variants(objs, i)
            get(new[i], path)[key] = v
            yield f"{'.'.join(map(str, path))} = {v!r}", new


@operator("dag-fields")
def dag_fields(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    for ti, t in enumerate(_tindex(objs[i])):
        tasks = (t.get("dag") or {}).get("tasks") or []
        if not tasks:
            continue
        uses_depends = any("depends" in x for x in tasks)
        names = [x.get("name") for x in tasks]
        for ki, task in enumerate(tasks):
            other = names[0] if ki else names[-1]
            muts: list[tuple[str, Callable[[Obj], None]]] = []
            if uses_depends:
                muts.append(("dependencies added", lambda x, o=other: x.__setitem__("dependencies", [o])))
                muts.append(("continueOn added", lambda x: x.__setitem__("continueOn", {"failed": True})))
            else:
                muts.append(("depends added", lambda x, o=other: x.__setitem__("depends", f"{o}.Succeeded")))
            muts.append(("depends on unknown task", lambda x: x.__setitem__("depends", "nosuchtask")
                         if "depends" in x or uses_depends else x.__setitem__("dependencies", ["nosuchtask"])))
            muts.append(("depends on self", lambda x, n=task.get("name"): x.__setitem__("depends", str(n))
                         if uses_depends else x.__setitem__("dependencies", [n])))
            muts.append(("AnySucceeded on a task without items", lambda x, o=other: x.__setitem__("depends", f"{o}.AnySucceeded")
                         if uses_depends else None))
            muts.append(("items and param", lambda x: x.update(withItems=[1], withParam="[1]")))
            muts.append(("sequence count and end", lambda x: x.__setitem__("withSequence", {"count": "2", "end": "4"})))
            for what, fn in muts:
                new, o = _variants(objs, i)
                fn(_tindex(o)[ti]["dag"]["tasks"][ki])
                yield f"{task.get('name')}: {what}", new
        new, o = _variants(objs, i)
        _tindex(o)[ti]["dag"]["target"] = "nosuchtask"
        yield f"{t.get('name')}: unknown target", new
        new, o = _variants(objs, i)
        _tindex(o)[ti]["dag"]["tasks"] = []
        yield f"{t.get('name')}: no tasks", new


@operator("missing-value")
def missing_value(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    for ti, t in enumerate(_tindex(objs[i])):
        for ci, c in enumerate(_calls(t)):
            args = (c.get("arguments") or {}).get("parameters") or []
            for ai, a in enumerate(args):
                new, o = _variants(objs, i)
                del list(_calls(_tindex(o)[ti]))[ci]["arguments"]["parameters"][ai]["value"]
                yield f"argument {a.get('name')} of {c.get('name')} without value", new
                new, o = _variants(objs, i)
                del list(_calls(_tindex(o)[ti]))[ci]["arguments"]["parameters"][ai]
                yield f"argument {a.get('name')} of {c.get('name')} not passed", new
        for key in ("container", "script"):
            if isinstance(t.get(key), dict) and "image" in t[key]:
                new, o = _variants(objs, i)
                del _tindex(o)[ti][key]["image"]
                yield f"{t.get('name')}: no image", new
        if isinstance(t.get("resource"), dict):
            new, o = _variants(objs, i)
            _tindex(o)[ti]["resource"].pop("manifest", None)
            yield f"{t.get('name')}: no manifest", new
            new, o = _variants(objs, i)
            _tindex(o)[ti]["resource"]["manifest"] = "kind: [unclosed"
            yield f"{t.get('name')}: manifest not YAML", new
        for oi, p in enumerate((t.get("outputs") or {}).get("parameters") or []):
            new, o = _variants(objs, i)
            _tindex(o)[ti]["outputs"]["parameters"][oi].pop("valueFrom", None)
            _tindex(o)[ti]["outputs"]["parameters"][oi].pop("value", None)
            yield f"output {p.get('name')} without value", new
            new, o = _variants(objs, i)
            _tindex(o)[ti]["outputs"]["parameters"][oi]["valueFrom"] = {"path": "/tmp/x", "jsonPath": "{.x}"}
            yield f"output {p.get('name')} with two sources", new
        for ci, c in enumerate(_calls(t)):
            for hk, h in (c.get("hooks") or {}).items():
                if "expression" in h:
                    new, o = _variants(objs, i)
                    del list(_calls(_tindex(o)[ti]))[ci]["hooks"][hk]["expression"]
                    yield f"hook {hk} of {c.get('name')} without expression", new
    for spec in _specs(objs[i]):
        if "entrypoint" in spec:
            new, o = _variants(objs, i)
            del list(_specs(new[i]))[0]["entrypoint"]
            yield "no entrypoint", new
        for ai, a in enumerate((spec.get("arguments") or {}).get("parameters") or []):
            new, o = _variants(objs, i)
            ps = list(_specs(new[i]))[0]["arguments"]["parameters"]
            ps[ai]["enum"] = ["one", "two"]
            yield f"workflow parameter {a.get('name')} value outside its enum", new
            new, o = _variants(objs, i)
            ps = list(_specs(new[i]))[0]["arguments"]["parameters"]
            ps[ai]["enum"] = []
            yield f"workflow parameter {a.get('name')} empty enum", new
            new, o = _variants(objs, i)
            ps = list(_specs(new[i]))[0]["arguments"]["parameters"]
            ps[ai].pop("value", None)
            yield f"workflow parameter {a.get('name')} without value", new
            new, o = _variants(objs, i)
            ps = list(_specs(new[i]))[0]["arguments"]["parameters"]
            ps[ai]["valueFrom"] = {"path": "/tmp/x"}
            yield f"workflow parameter {a.get('name')} valueFrom path", new


@operator("misplaced")
def misplaced(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    """Fields on a template type that does not take them."""
    for ti, t in enumerate(_tindex(objs[i])):
        leaf = not ("steps" in t or "dag" in t)
        adds: list[tuple[str, dict[str, Any]]] = []
        if leaf:
            adds.append(("parallelism on a leaf", {"parallelism": 2}))
            if "suspend" not in t:
                adds.append(("output valueFrom.parameter on a leaf",
                             {"outputs": {"parameters": [{"name": "o", "valueFrom": {"parameter": "x"}}]}}))
            adds.append(("second template type", {"suspend": {}} if "suspend" not in t else {"container": {"image": "a"}}))
        else:
            adds.append(("activeDeadlineSeconds on steps/dag", {"activeDeadlineSeconds": 60}))
            adds.append(("timeout on steps/dag", {"timeout": "5m"}))
            adds.append(("output with path on steps/dag",
                         {"outputs": {"parameters": [{"name": "o", "valueFrom": {"path": "/tmp/o"}}]}}))
            adds.append(("output artifact path on steps/dag", {"outputs": {"artifacts": [{"name": "a", "path": "/tmp/a"}]}}))
            adds.append(("input artifact path on steps/dag", {"inputs": {"artifacts": [{"name": "a", "path": "/tmp/a"}]}}))
        adds.append(("input artifact with from", {"inputs": {"artifacts": [{"name": "a", "path": "/tmp/a", "from": "x"}]}}))
        adds.append(("retryPolicy unknown", {"retryStrategy": {"limit": "1", "retryPolicy": "Sometimes"}}))
        adds.append(("metric name with '-'", {"metrics": {"prometheus": [{"name": "bad-name", "help": "h", "counter": {"value": "1"}}]}}))
        adds.append(("metric without help", {"metrics": {"prometheus": [{"name": "m", "counter": {"value": "1"}}]}}))
        adds.append(("init container without name", {"initContainers": [{"image": "alpine:3.20"}]}))
        for what, patch in adds:
            new, o = _variants(objs, i)
            _tindex(o)[ti].update(copy.deepcopy(patch))
            yield f"{t.get('name')}: {what}", new
        if isinstance(t.get("container"), dict):
            new, o = _variants(objs, i)
            c = _tindex(o)[ti]["container"]
            c["volumeMounts"] = [{"name": "a", "mountPath": "/m"}, {"name": "b", "mountPath": "/m"}]
            yield f"{t.get('name')}: same mountPath twice", new


@operator("cron")
def cron_ops(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    o = objs[i]
    if o.get("kind") != "CronWorkflow":
        return
    spec = o["spec"]
    new, n = _variants(objs, i)
    n["spec"]["schedule"] = (spec.get("schedules") or ["0 1 * * *"])[0]
    yield "schedule and schedules both", new
    new, n = _variants(objs, i)
    n["spec"]["schedule"] = n["spec"].pop("schedules", ["0 1 * * *"])[0]
    yield "schedules written as singular schedule", new
    new, n = _variants(objs, i)
    n["spec"].pop("schedules", None)
    yield "no schedule", new
    new, n = _variants(objs, i)
    n["spec"]["concurrencyPolicy"] = "Queue"
    yield "concurrencyPolicy Queue", new
    new, n = _variants(objs, i)
    n["metadata"]["name"] = (o["metadata"]["name"] + "-" + "x" * 60)[:53]
    yield "name longer than 52", new


@operator("beyond-argo")
def beyond_argo(objs: list[Obj], i: int) -> Iterator[tuple[str, list[Obj]]]:
    """Faults Argo's validator lets through and that break the run (lint must catch them too)."""
    for ti, t in enumerate(_tindex(objs[i])):
        for key in ("container", "script"):
            if isinstance(t.get(key), dict):
                new, o = _variants(objs, i)
                c = _tindex(o)[ti][key]
                c["args"] = list(c.get("args") or []) + ["{{retries}}"]
                if "retryStrategy" not in t:
                    yield f"{t.get('name')}: {{{{retries}}}} without retryStrategy", new
                new, o = _variants(objs, i)
                c = _tindex(o)[ti][key]
                c["args"] = list(c.get("args") or []) + ["{{workflow.status}}"]
                yield f"{t.get('name')}: {{{{workflow.status}}}} in a template", new
                new, o = _variants(objs, i)
                c = _tindex(o)[ti][key]
                c["args"] = list(c.get("args") or []) + ["{{item}}"]
                yield f"{t.get('name')}: {{{{item}}}} outside a loop", new
        if isinstance(t.get("suspend"), dict):
            for v in ("30 seconds", "1 hour", "5x"):
                new, o = _variants(objs, i)
                _tindex(o)[ti]["suspend"]["duration"] = v
                yield f"{t.get('name')}: suspend duration {v!r}", new
        for pi, p in enumerate((t.get("inputs") or {}).get("parameters") or []):
            name = str(p.get("name"))
            for key in ("container", "script"):
                if isinstance(t.get(key), dict):
                    if "-" in name:
                        new, o = _variants(objs, i)
                        c = _tindex(o)[ti][key]
                        c["args"] = list(c.get("args") or []) + ["{{=inputs.parameters." + name + "}}"]
                        yield f"{t.get('name')}: expression reads {name} as subtraction", new
                    new, o = _variants(objs, i)
                    c = _tindex(o)[ti][key]
                    c["args"] = list(c.get("args") or []) + ["{{=inputs.parameters['" + name + "x']}}"]
                    yield f"{t.get('name')}: expression names unknown input", new
                    new, o = _variants(objs, i)
                    c = _tindex(o)[ti][key]
                    c["command"] = ["sh", "-c", "echo {{inputs.parameters." + name + "}}"]
                    c.pop("args", None)
                    c.pop("source", None)
                    if key == "script":
                        c["source"] = "echo {{inputs.parameters." + name + "}}"
                    yield f"{t.get('name')}: {name} pasted into shell source", new
        groups = t.get("steps") or []
        for gi, g in enumerate(groups):
            if len(g) >= 2 and isinstance(g, list):
                new, o = _variants(objs, i)
                s = _tindex(o)[ti]["steps"][gi][1]
                s["when"] = "{{steps." + str(g[0].get("name")) + ".status}} == Succeeded"
                yield f"{g[1].get('name')}: reads a step of its own group", new


def mutants(seeds: dict[str, list[Obj]] | None = None) -> list[Mutant]:
    """Every mutant of every seed, in a stable order (ids are stable across runs)."""
    seeds = load_seeds() if seeds is None else seeds
    out: list[Mutant] = []
    for seed, objs in seeds.items():
        for i in range(1 if seed.startswith("chart-") else len(objs)):
            for op_name, op in OPERATORS.items():
                for n, (what, new) in enumerate(op(objs, i)):
                    out.append(Mutant(f"{seed}/{i}/{op_name}/{n}", seed, op_name, what, new))
    return out


def sample(muts: list[Mutant], k: int, seed: int = 20261201) -> list[Mutant]:
    """A fixed-seed sample that keeps every operator represented."""
    if k >= len(muts):
        return list(muts)
    rng = random.Random(seed)
    by_op: dict[str, list[Mutant]] = {}
    for m in muts:
        by_op.setdefault(m.operator, []).append(m)
    per = max(1, k // len(by_op))
    return [m for ms in by_op.values() for m in rng.sample(ms, min(per, len(ms)))]


def beyond_argo_rules() -> set[str]:
    return {r.id for r in RULES.values() if r.beyond_argo}


def lint_errors(objects: list[Obj], argo_version: str) -> list[Any]:
    docs = [Document(o, f"mutant#{j}") for j, o in enumerate(objects)]
    off = [r for r in RULES if not r.startswith("argo/")]
    return [f for f in lint(docs, disable=off, argo_version=argo_version) if f.severity is Severity.ERROR]


@dataclass
class Outcome:
    mutant: Mutant
    argo_error: str  # "" when Argo accepts
    lint_rules: list[str]
    lint_messages: list[str]


@dataclass
class Table:
    argo_version: str
    outcomes: list[Outcome] = field(default_factory=list)
    argo_seconds: float = 0.0
    lint_seconds: float = 0.0

    def cell(self, argo_rejects: bool, lint_rejects: bool) -> list[Outcome]:
        return [o for o in self.outcomes if bool(o.argo_error) == argo_rejects and bool(o.lint_rules) == lint_rejects]

    @property
    def missed(self) -> list[Outcome]:
        """Argo rejects, lint accepts: must be empty."""
        return self.cell(True, False)

    @property
    def unexplained(self) -> list[Outcome]:
        """Lint rejects, Argo accepts, and no beyond-Argo rule fired: must be empty."""
        beyond = beyond_argo_rules()
        return [o for o in self.cell(False, True) if not set(o.lint_rules) & beyond]

    def format(self) -> str:
        rows = [("", "lint rejects", "lint accepts"),
                ("Argo rejects", len(self.cell(True, True)), len(self.cell(True, False))),
                ("Argo accepts", len(self.cell(False, True)), len(self.cell(False, False)))]
        out = [f"Argo {self.argo_version}: {len(self.outcomes)} mutants "
               f"(Argo {self.argo_seconds:.1f}s, lint {self.lint_seconds:.1f}s)"]
        out += [f"  {a:<14}{b!s:>14}{c!s:>14}" for a, b, c in rows]
        ops: dict[str, list[int]] = {}
        for o in self.outcomes:
            row = ops.setdefault(o.mutant.operator, [0, 0, 0, 0])
            row[(0 if o.argo_error else 2) + (0 if o.lint_rules else 1)] += 1
        out.append(f"  {'operator':<18}{'both':>6}{'argo-only':>10}{'lint-only':>10}{'neither':>8}")
        for op, (both, argo_only, lint_only, neither) in sorted(ops.items()):
            out.append(f"  {op:<18}{both:>6}{argo_only:>10}{lint_only:>10}{neither:>8}")
        return "\n".join(out)


def compare(argo_version: str, muts: list[Mutant]) -> Table:
    table = Table(argo_version)
    t0 = time.perf_counter()
    argo = validate_cases(argo_version, {m.id: m.objects for m in muts},
                          {m.id: [0] for m in muts if m.seed.startswith("chart-")})
    table.argo_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    for m in muts:
        errs = lint_errors(m.objects, argo_version)
        first = next((e for _, _, e in argo[m.id] if e), "")
        table.outcomes.append(Outcome(m, first, sorted({f.rule for f in errs}), [f.format() for f in errs]))
    table.lint_seconds = time.perf_counter() - t0
    return table
