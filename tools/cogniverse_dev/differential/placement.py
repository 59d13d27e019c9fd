"""Operators that put fields where Argo does not read them, break a CronWorkflow, or break what only
lint checks (beyond Argo)."""

from __future__ import annotations

import copy
from typing import Any, Iterator

from .walk import Obj, _tindex, _variants, operator


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
