"""Operators that break field values: the wrong case of an enum, durations without units or in words,
mixed DAG dependency fields, missing values."""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from .walk import Obj, _calls, _set, _specs, _string_paths, _tindex, _variants, operator


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
