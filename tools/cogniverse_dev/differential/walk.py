"""Walking the Argo objects a mutant changes, and the operator registry: each operator takes (objects,
index of the object to mutate) and yields (what changed, new objects)."""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator

Obj = dict[str, Any]


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
